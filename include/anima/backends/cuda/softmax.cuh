// anima/backends/cuda/softmax.cuh — CUDA entries of SoftmaxForwardKernel / SoftmaxBackwardKernel
// (anima/backends/cpu/softmax.hpp), run on anima::cuda::current_stream(). Numerics and determinism:
// anima/kernels/cuda/softmax.cuh.
#pragma once

#include <cstdint>

#include <anima/backends/cuda/check.cuh>
#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/kernels/cuda/softmax.cuh>
#include <anima/backends/cpu/softmax.hpp>

namespace anima::cuda {

inline void softmax_forward(DType dtype, bool log, const void* x, void* y, std::int64_t outer, std::int64_t dim,
                            std::int64_t inner) {
  ANIMA_DISPATCH_FLOATING(dtype, SoftmaxForwardKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::softmax_forward<scalar_t>(
        log, static_cast<const scalar_t*>(x), static_cast<scalar_t*>(y), outer, dim, inner, current_stream()));
  });
}

inline void softmax_backward(DType dtype, bool log, const void* y, const void* dy, void* dx, std::int64_t outer,
                             std::int64_t dim, std::int64_t inner) {
  ANIMA_DISPATCH_FLOATING(dtype, SoftmaxBackwardKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::softmax_backward<scalar_t>(
        log, static_cast<const scalar_t*>(y), static_cast<const scalar_t*>(dy), static_cast<scalar_t*>(dx), outer, dim,
        inner, current_stream()));
  });
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_softmax_kernels() {
  KernelRegistry<SoftmaxForwardKernel>::cuda = &softmax_forward;
  KernelRegistry<SoftmaxBackwardKernel>::cuda = &softmax_backward;
}

}  // namespace anima::cuda
