// anima/cuda/interpolate.cuh — CUDA entries of the resize kernel tags (anima/ops/interpolate_kernels.hpp):
// nearest / bilinear forward and backward, run on anima::cuda::current_stream(). Kernels, numerics and
// determinism (the backward uses atomics): anima/kernels/cuda/interpolate.cuh. Including this header
// registers them (and the CUDA runtime).
#pragma once

#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/cuda/runtime.cuh>
#include <anima/kernels/cuda/interpolate.cuh>
#include <anima/ops/interpolate_kernels.hpp>

namespace anima::cuda {

inline void interpolate2d_forward(DType dtype, kernels::InterpMode mode, const void* x, const kernels::Interp2dGeometry& g,
                                  void* y) {
  ANIMA_DISPATCH_FLOATING(dtype, Interpolate2dForwardKernel::name, [&] {
    kernels::cuda::interpolate2d_forward<scalar_t>(mode, static_cast<const scalar_t*>(x), g, static_cast<scalar_t*>(y),
                                                   current_stream());
  });
}

inline void interpolate2d_backward(DType dtype, kernels::InterpMode mode, const void* gy,
                                   const kernels::Interp2dGeometry& g, void* gx) {
  ANIMA_DISPATCH_FLOATING(dtype, Interpolate2dBackwardKernel::name, [&] {
    kernels::cuda::interpolate2d_backward<scalar_t>(mode, static_cast<const scalar_t*>(gy), g,
                                                    static_cast<scalar_t*>(gx), current_stream());
  });
}

inline const bool kInterpolate2dForwardRegistered =
    (KernelRegistry<Interpolate2dForwardKernel>::cuda = &interpolate2d_forward, true);
inline const bool kInterpolate2dBackwardRegistered =
    (KernelRegistry<Interpolate2dBackwardKernel>::cuda = &interpolate2d_backward, true);

}  // namespace anima::cuda
