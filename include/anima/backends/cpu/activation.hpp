// anima/backends/cpu/activation.hpp — dispatch tag of the fused activation backward, with its CPU
// implementation (anima/kernels/cpu/activation.hpp); the CUDA one is registered by
// anima/backends/cuda/activation.cuh. The ops are in anima/ops/activation.hpp.
//
// Contract shared by every backend: dx[i] = g[lg(i)] · apply_unary(grad_op, s[ls(i)], p0, 0); dx
// contiguous with n elements; dtype float32 or float64.
#pragma once

#include <cstdint>

#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/activation.hpp>
#include <anima/kernels/elementwise_math.hpp>
#include <anima/kernels/layout.hpp>

namespace anima {

struct ActivationBackwardKernel {
  using Fn = void(DType dtype, kernels::UnaryOp grad_op, double p0, const void* s, const kernels::Layout& ls,
                  const void* g, const kernels::Layout& lg, void* dx, std::int64_t n);
  static constexpr const char* name = "activation_backward";
  static void cpu(DType dtype, kernels::UnaryOp grad_op, double p0, const void* s, const kernels::Layout& ls,
                  const void* g, const kernels::Layout& lg, void* dx, std::int64_t n) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::activation_backward<scalar_t>(grad_op, static_cast<scalar_t>(p0), static_cast<const scalar_t*>(s),
                                                  ls, static_cast<const scalar_t*>(g), lg, static_cast<scalar_t*>(dx),
                                                  n, default_parallel());
    });
  }
};

}  // namespace anima
