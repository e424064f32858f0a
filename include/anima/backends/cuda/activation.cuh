// anima/backends/cuda/activation.cuh — CUDA entry of ActivationBackwardKernel (anima/backends/cpu/activation.hpp),
// run on anima::cuda::current_stream().
#pragma once

#include <cstdint>

#include <anima/backends/cuda/check.cuh>
#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/kernels/cuda/activation.cuh>
#include <anima/backends/cpu/activation.hpp>

namespace anima::cuda {

inline void activation_backward(DType dtype, kernels::UnaryOp grad_op, double p0, const void* s,
                                const kernels::Layout& ls, const void* g, const kernels::Layout& lg, void* dx,
                                std::int64_t n) {
  ANIMA_DISPATCH_FLOATING(dtype, ActivationBackwardKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::activation_backward<scalar_t>(
        grad_op, static_cast<scalar_t>(p0), static_cast<const scalar_t*>(s), ls, static_cast<const scalar_t*>(g), lg,
        static_cast<scalar_t*>(dx), n, current_stream()));
  });
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_activation_kernels() { KernelRegistry<ActivationBackwardKernel>::cuda = &activation_backward; }

}  // namespace anima::cuda
