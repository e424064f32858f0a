// anima/backends/cuda/interpolate.cuh — CUDA entries of the resize kernel tags (anima/backends/cpu/interpolate.hpp):
// nearest / bilinear forward and backward, run on anima::cuda::current_stream(). Kernels, numerics and
// determinism (the backward uses atomics): anima/kernels/cuda/interpolate.cuh.
#pragma once

#include <anima/backends/cuda/check.cuh>
#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/kernels/cuda/interpolate.cuh>
#include <anima/backends/cpu/interpolate.hpp>

namespace anima::cuda {

inline void interpolate2d_forward(DType dtype, kernels::InterpMode mode, const void* x,
                                  const kernels::Interp2dGeometry& g, void* y) {
  ANIMA_DISPATCH_FLOATING(dtype, Interpolate2dForwardKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::interpolate2d_forward<scalar_t>(mode, static_cast<const scalar_t*>(x), g,
                                                                    static_cast<scalar_t*>(y), current_stream()));
  });
}

inline void interpolate2d_backward(DType dtype, kernels::InterpMode mode, const void* gy,
                                   const kernels::Interp2dGeometry& g, void* gx) {
  ANIMA_DISPATCH_FLOATING(dtype, Interpolate2dBackwardKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::interpolate2d_backward<scalar_t>(mode, static_cast<const scalar_t*>(gy), g,
                                                                     static_cast<scalar_t*>(gx), current_stream()));
  });
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_interpolate_kernels() {
  KernelRegistry<Interpolate2dForwardKernel>::cuda = &interpolate2d_forward;
  KernelRegistry<Interpolate2dBackwardKernel>::cuda = &interpolate2d_backward;
}

}  // namespace anima::cuda
