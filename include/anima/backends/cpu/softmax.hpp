// anima/backends/cpu/softmax.hpp — dispatch tags of the softmax / log_softmax kernels, with their CPU
// implementations (anima/kernels/cpu/softmax.hpp). The CUDA implementations are registered by
// anima/backends/cuda/softmax.cuh. The differentiable ops are in anima/ops/softmax.hpp.
//
// Contract shared by every backend: all arrays contiguous, viewed as [outer, dim, inner], the softmax
// runs over dim; `log` picks log_softmax. dtype float32 or float64. The backward reads the forward's
// output y and the upstream gradient dy and writes dx.
#pragma once

#include <cstdint>

#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/softmax.hpp>

namespace anima {

struct SoftmaxForwardKernel {
  using Fn = void(DType dtype, bool log, const void* x, void* y, std::int64_t outer, std::int64_t dim,
                  std::int64_t inner);
  static constexpr const char* name = "softmax_forward";
  static void cpu(DType dtype, bool log, const void* x, void* y, std::int64_t outer, std::int64_t dim,
                  std::int64_t inner) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::softmax_forward_columns<scalar_t>(log, static_cast<const scalar_t*>(x), static_cast<scalar_t*>(y),
                                                      outer, dim, inner, default_parallel());
    });
  }
};

struct SoftmaxBackwardKernel {
  using Fn = void(DType dtype, bool log, const void* y, const void* dy, void* dx, std::int64_t outer, std::int64_t dim,
                  std::int64_t inner);
  static constexpr const char* name = "softmax_backward";
  static void cpu(DType dtype, bool log, const void* y, const void* dy, void* dx, std::int64_t outer, std::int64_t dim,
                  std::int64_t inner) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::softmax_backward_columns<scalar_t>(log, static_cast<const scalar_t*>(y),
                                                       static_cast<const scalar_t*>(dy), static_cast<scalar_t*>(dx),
                                                       outer, dim, inner, default_parallel());
    });
  }
};

}  // namespace anima
