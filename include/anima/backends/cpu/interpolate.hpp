// anima/backends/cpu/interpolate.hpp — dispatch tags of the 2-D resize kernels, with their CPU
// implementations (anima/kernels/cpu/interpolate.hpp, the *_planes versions). CUDA:
// anima/backends/cuda/interpolate.cuh.
//
// Contract shared by every backend: x/gx contiguous [planes, in_h, in_w], y/gy contiguous
// [planes, out_h, out_w] (geometry and index math in anima/kernels/interpolate_math.hpp); float32 or
// float64. The backward kernel overwrites every element of gx.
#pragma once

#include <anima/core/dtype.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/interpolate.hpp>
#include <anima/kernels/interpolate_math.hpp>

namespace anima {

struct Interpolate2dForwardKernel {
  using Fn = void(DType dtype, kernels::InterpMode mode, const void* x, const kernels::Interp2dGeometry& g, void* y);
  static constexpr const char* name = "interpolate";
  static void cpu(DType dtype, kernels::InterpMode mode, const void* x, const kernels::Interp2dGeometry& g, void* y) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::interpolate2d_forward_planes<scalar_t>(mode, static_cast<const scalar_t*>(x), g,
                                                           static_cast<scalar_t*>(y), default_parallel());
    });
  }
};

struct Interpolate2dBackwardKernel {
  using Fn = void(DType dtype, kernels::InterpMode mode, const void* gy, const kernels::Interp2dGeometry& g, void* gx);
  static constexpr const char* name = "interpolate_backward";
  static void cpu(DType dtype, kernels::InterpMode mode, const void* gy, const kernels::Interp2dGeometry& g, void* gx) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::interpolate2d_backward_planes<scalar_t>(mode, static_cast<const scalar_t*>(gy), g,
                                                            static_cast<scalar_t*>(gx), default_parallel());
    });
  }
};

}  // namespace anima
