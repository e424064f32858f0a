// anima/cuda/activation.cuh — CUDA entry of ActivationBackwardKernel (anima/ops/activation_kernels.hpp),
// run on anima::cuda::current_stream(). Including this header registers it (and the CUDA runtime).
#pragma once

#include <cstdint>

#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/cuda/runtime.cuh>
#include <anima/kernels/cuda/activation.cuh>
#include <anima/ops/activation_kernels.hpp>

namespace anima::cuda {

inline void activation_backward(DType dtype, kernels::UnaryOp grad_op, double p0, const void* s,
                                const kernels::Layout& ls, const void* g, const kernels::Layout& lg, void* dx,
                                std::int64_t n) {
  ANIMA_DISPATCH_FLOATING(dtype, ActivationBackwardKernel::name, [&] {
    kernels::cuda::activation_backward<scalar_t>(grad_op, static_cast<scalar_t>(p0), static_cast<const scalar_t*>(s),
                                                 ls, static_cast<const scalar_t*>(g), lg, static_cast<scalar_t*>(dx), n,
                                                 current_stream());
  });
}

inline const bool kActivationBackwardRegistered =
    (KernelRegistry<ActivationBackwardKernel>::cuda = &activation_backward, true);

}  // namespace anima::cuda
