// anima/backends/cuda/roi_pool.cuh — CUDA entries of the RoIPool kernel tags (anima/backends/cpu/roi_pool.hpp),
// run on anima::cuda::current_stream(). Kernels: anima/kernels/cuda/roi_align.cuh (roi_pool_fwd,
// roi_pool_bwd_atomic).
#pragma once

#include <cstdint>

#include <anima/backends/cuda/check.cuh>
#include <anima/backends/cpu/roi_pool.hpp>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/kernels/cuda/roi_align.cuh>

namespace anima::cuda {

inline void roi_pool_forward(DType dtype, const void* x, const void* rois, const kernels::RoiAlignGeometry& g, void* y,
                             std::int64_t* argmax) {
  ANIMA_DISPATCH_FLOATING(dtype, RoiPoolForwardKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::roi_pool_fwd(static_cast<const scalar_t*>(x), static_cast<const scalar_t*>(rois), g,
                                                 static_cast<scalar_t*>(y), argmax, current_stream()));
  });
}

inline void roi_pool_backward(DType dtype, const void* gy, const std::int64_t* argmax, const void* rois,
                              const kernels::RoiAlignGeometry& g, void* gx) {
  ANIMA_DISPATCH_FLOATING(dtype, RoiPoolBackwardKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::roi_pool_bwd_atomic(static_cast<const scalar_t*>(gy), argmax,
                                                        static_cast<const scalar_t*>(rois), g,
                                                        static_cast<scalar_t*>(gx), current_stream()));
  });
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_roi_pool_kernels() {
  KernelRegistry<RoiPoolForwardKernel>::cuda = &roi_pool_forward;
  KernelRegistry<RoiPoolBackwardKernel>::cuda = &roi_pool_backward;
}

}  // namespace anima::cuda
