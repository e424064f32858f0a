// anima/cuda/softmax.cuh — CUDA entries of SoftmaxForwardKernel / SoftmaxBackwardKernel
// (anima/ops/softmax_kernels.hpp), run on anima::cuda::current_stream(). Numerics and determinism:
// anima/kernels/cuda/softmax.cuh. Including this header registers them (and the CUDA runtime).
#pragma once

#include <cstdint>

#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/cuda/runtime.cuh>
#include <anima/kernels/cuda/softmax.cuh>
#include <anima/ops/softmax_kernels.hpp>

namespace anima::cuda {

inline void softmax_forward(DType dtype, bool log, const void* x, void* y, std::int64_t outer, std::int64_t dim,
                            std::int64_t inner) {
  ANIMA_DISPATCH_FLOATING(dtype, SoftmaxForwardKernel::name, [&] {
    kernels::cuda::softmax_forward<scalar_t>(log, static_cast<const scalar_t*>(x), static_cast<scalar_t*>(y), outer,
                                             dim, inner, current_stream());
  });
}

inline void softmax_backward(DType dtype, bool log, const void* y, const void* dy, void* dx, std::int64_t outer,
                             std::int64_t dim, std::int64_t inner) {
  ANIMA_DISPATCH_FLOATING(dtype, SoftmaxBackwardKernel::name, [&] {
    kernels::cuda::softmax_backward<scalar_t>(log, static_cast<const scalar_t*>(y), static_cast<const scalar_t*>(dy),
                                              static_cast<scalar_t*>(dx), outer, dim, inner, current_stream());
  });
}

inline const bool kSoftmaxForwardRegistered = (KernelRegistry<SoftmaxForwardKernel>::cuda = &softmax_forward, true);
inline const bool kSoftmaxBackwardRegistered = (KernelRegistry<SoftmaxBackwardKernel>::cuda = &softmax_backward, true);

}  // namespace anima::cuda
