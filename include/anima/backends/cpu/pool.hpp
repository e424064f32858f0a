// anima/backends/cpu/pool.hpp — dispatch tags of the 2-D pooling kernels, with their CPU implementations
// (anima/kernels/cpu/pool.hpp, the *_planes versions). CUDA: anima/backends/cuda/pool.cuh.
//
// Contract shared by every backend: x/gx are contiguous [planes, in_h, in_w], y/gy/idx contiguous
// [planes, out_h, out_w] (geometry in anima/kernels/pool_math.hpp); dtype float32 or float64 for the
// values, idx int64 (flat h·in_w + w in the plane). Backward kernels overwrite every element of gx.
#pragma once

#include <cstdint>

#include <anima/core/dtype.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/pool.hpp>
#include <anima/kernels/pool_math.hpp>

namespace anima {

struct MaxPool2dForwardKernel {
  using Fn = void(DType dtype, const void* x, const kernels::Pool2dGeometry& g, void* y, std::int64_t* idx);
  static constexpr const char* name = "max_pool2d";
  static void cpu(DType dtype, const void* x, const kernels::Pool2dGeometry& g, void* y, std::int64_t* idx) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::max_pool2d_forward_planes<scalar_t>(static_cast<const scalar_t*>(x), g, static_cast<scalar_t*>(y),
                                                        idx, default_parallel());
    });
  }
};

struct MaxPool2dBackwardKernel {
  using Fn = void(DType dtype, const void* gy, const std::int64_t* idx, const kernels::Pool2dGeometry& g, void* gx);
  static constexpr const char* name = "max_pool2d_backward";
  static void cpu(DType dtype, const void* gy, const std::int64_t* idx, const kernels::Pool2dGeometry& g, void* gx) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::max_pool2d_backward_planes<scalar_t>(static_cast<const scalar_t*>(gy), idx, g,
                                                         static_cast<scalar_t*>(gx), default_parallel());
    });
  }
};

struct AvgPool2dForwardKernel {
  using Fn = void(DType dtype, const void* x, const kernels::Pool2dGeometry& g, bool count_include_pad, void* y);
  static constexpr const char* name = "avg_pool2d";
  static void cpu(DType dtype, const void* x, const kernels::Pool2dGeometry& g, bool count_include_pad, void* y) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::avg_pool2d_forward_planes<scalar_t>(static_cast<const scalar_t*>(x), g, count_include_pad,
                                                        static_cast<scalar_t*>(y), default_parallel());
    });
  }
};

struct AvgPool2dBackwardKernel {
  using Fn = void(DType dtype, const void* gy, const kernels::Pool2dGeometry& g, bool count_include_pad, void* gx);
  static constexpr const char* name = "avg_pool2d_backward";
  static void cpu(DType dtype, const void* gy, const kernels::Pool2dGeometry& g, bool count_include_pad, void* gx) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::avg_pool2d_backward_planes<scalar_t>(static_cast<const scalar_t*>(gy), g, count_include_pad,
                                                         static_cast<scalar_t*>(gx), default_parallel());
    });
  }
};

// Adaptive average pooling: g.kernel/stride/pad are unused.
struct AdaptiveAvgPool2dForwardKernel {
  using Fn = void(DType dtype, const void* x, const kernels::Pool2dGeometry& g, void* y);
  static constexpr const char* name = "adaptive_avg_pool2d";
  static void cpu(DType dtype, const void* x, const kernels::Pool2dGeometry& g, void* y) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::adaptive_avg_pool2d_forward_planes<scalar_t>(static_cast<const scalar_t*>(x), g,
                                                                 static_cast<scalar_t*>(y), default_parallel());
    });
  }
};

struct AdaptiveAvgPool2dBackwardKernel {
  using Fn = void(DType dtype, const void* gy, const kernels::Pool2dGeometry& g, void* gx);
  static constexpr const char* name = "adaptive_avg_pool2d_backward";
  static void cpu(DType dtype, const void* gy, const kernels::Pool2dGeometry& g, void* gx) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::adaptive_avg_pool2d_backward_planes<scalar_t>(static_cast<const scalar_t*>(gy), g,
                                                                  static_cast<scalar_t*>(gx), default_parallel());
    });
  }
};

}  // namespace anima
