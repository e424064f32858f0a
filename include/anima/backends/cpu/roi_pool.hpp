// anima/backends/cpu/roi_pool.hpp — dispatch tags of the RoIPool kernels (anima/ops/roi_pool.hpp) and
// their CPU entries (anima/kernels/cpu/roi_pool.hpp). CUDA: anima/backends/cuda/roi_pool.cuh.
//
// Contract shared by every backend: x / gx contiguous [N, C, H, W], rois contiguous [K, 5] of the same
// dtype (float32 or float64) and device, y / gy and argmax (int64) contiguous [K, C, PH, PW]; geometry
// in kernels::RoiAlignGeometry. The backward overwrites every element of gx.
#pragma once

#include <cstdint>

#include <anima/core/dtype.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/roi_pool.hpp>
#include <anima/kernels/roi_align_math.hpp>

namespace anima {

struct RoiPoolForwardKernel {
  using Fn = void(DType dtype, const void* x, const void* rois, const kernels::RoiAlignGeometry& g, void* y,
                  std::int64_t* argmax);
  static constexpr const char* name = "roi_pool";
  static void cpu(DType dtype, const void* x, const void* rois, const kernels::RoiAlignGeometry& g, void* y,
                  std::int64_t* argmax) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::roi_pool_forward(static_cast<const scalar_t*>(x), static_cast<const scalar_t*>(rois), g,
                                     static_cast<scalar_t*>(y), argmax, default_parallel());
    });
  }
};

struct RoiPoolBackwardKernel {
  using Fn = void(DType dtype, const void* gy, const std::int64_t* argmax, const void* rois,
                  const kernels::RoiAlignGeometry& g, void* gx);
  static constexpr const char* name = "roi_pool_backward";
  static void cpu(DType dtype, const void* gy, const std::int64_t* argmax, const void* rois,
                  const kernels::RoiAlignGeometry& g, void* gx) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::roi_pool_backward(static_cast<const scalar_t*>(gy), argmax, static_cast<const scalar_t*>(rois), g,
                                      static_cast<scalar_t*>(gx), default_parallel());
    });
  }
};

}  // namespace anima
