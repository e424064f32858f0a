// anima/backends/cuda/roi_align.cuh — CUDA entries of the RoIAlign kernel tags
// (anima/backends/cpu/roi_align.hpp), run on anima::cuda::current_stream().
//
//   RoiAlignAlgorithms::cuda.forward    Auto, V2 -> roi_align_fwd_v2;  V1 -> roi_align_fwd_v1
//   RoiAlignAlgorithms::cuda.backward   Auto, Deterministic -> roi_align_bwd_gather (builds its plan on the
//                               host from host_rois when the op has them, else copies the rois to the
//                               host: one stream synchronisation per backward);
//                               DeterministicDevicePlan -> roi_align_bwd_gather_device_plan (the
//                               same gather and bits, its plan built on the device: nothing read back,
//                               nothing built on the host; with an adaptive sampling ratio or a plan
//                               over kRoiGatherDevicePlanMaxBytes, the host plan as Deterministic);
//                               FixedPoint -> roi_align_bwd_fixed_point; Atomic ->
//                               roi_align_bwd_atomic_v1. Workspaces come from the device's caching
//                               allocator, returned once the kernels are enqueued: the allocator hands
//                               memory out in stream order on the one stream we use.
// Kernels, numerics and determinism: anima/kernels/cuda/roi_align.cuh.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include <anima/backends/cuda/check.cuh>
#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/core/error.hpp>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/kernels/cuda/roi_align.cuh>
#include <anima/backends/cpu/roi_align.hpp>

namespace anima::cuda {

inline void roi_align_forward(DType dtype, const RoiAlignAlgorithms& algorithms, const void* x, const void* rois,
                              const kernels::RoiAlignGeometry& g, void* y) {
  const bool v1 = algorithms.cuda.forward == CudaRoiAlignForwardAlgorithm::V1;
  ANIMA_DISPATCH_FLOATING(dtype, RoiAlignForwardKernel::name, [&] {
    const auto* xs = static_cast<const scalar_t*>(x);
    const auto* rs = static_cast<const scalar_t*>(rois);
    auto* ys = static_cast<scalar_t*>(y);
    if (v1)
      ANIMA_CUDA_CHECK(kernels::cuda::roi_align_fwd_v1(xs, rs, g, ys, current_stream()));
    else
      ANIMA_CUDA_CHECK(kernels::cuda::roi_align_fwd_v2(xs, rs, g, ys, current_stream()));
  });
}

inline void roi_align_backward(DType dtype, const RoiAlignAlgorithms& algorithms, const void* gy, const void* rois,
                               const void* host_rois, const kernels::RoiAlignGeometry& g, void* gx) {
  const CudaRoiAlignBackwardAlgorithm algorithm = algorithms.cuda.backward;
  const bool atomic = algorithm == CudaRoiAlignBackwardAlgorithm::Atomic;
  const bool fixed_point = algorithm == CudaRoiAlignBackwardAlgorithm::FixedPoint;
  const bool device_plan = algorithm == CudaRoiAlignBackwardAlgorithm::DeterministicDevicePlan;
  ANIMA_DISPATCH_FLOATING(dtype, RoiAlignBackwardKernel::name, [&] {
    const auto* gys = static_cast<const scalar_t*>(gy);
    const auto* rs = static_cast<const scalar_t*>(rois);
    auto* gxs = static_cast<scalar_t*>(gx);
    if (atomic) {
      ANIMA_CUDA_CHECK(kernels::cuda::roi_align_bwd_atomic_v1(gys, rs, g, gxs, current_stream()));
      return;
    }
    if (fixed_point) {
      const ScopedWorkspace work = device_workspace(kernels::cuda::roi_align_bwd_fixed_point_workspace_bytes(g));
      ANIMA_CUDA_CHECK(kernels::cuda::roi_align_bwd_fixed_point(gys, rs, g, gxs, work.get(), current_stream()));
      return;
    }
    if (device_plan) {
      const auto layout = kernels::cuda::roi_align_bwd_gather_device_layout<scalar_t>(g);
      if (layout.supported) {
        const ScopedWorkspace work = device_workspace(layout.bytes);
        ANIMA_CUDA_CHECK(
            kernels::cuda::roi_align_bwd_gather_device_plan(gys, rs, g, gxs, work.get(), current_stream()));
        return;
      }
    }
    // Rois already on the host (bit-identical copy given by the op): no read-back, no synchronisation.
    kernels::RoiGatherPlan<scalar_t> plan;
    if (host_rois != nullptr)
      plan = kernels::roi_gather_build_plan(static_cast<const scalar_t*>(host_rois), g, default_parallel());
    else
      ANIMA_CUDA_CHECK(kernels::cuda::roi_align_bwd_gather_plan(rs, g, current_stream(), default_parallel(), &plan));
    const ScopedWorkspace work = device_workspace(plan.workspace_bytes());
    ANIMA_CUDA_CHECK(kernels::cuda::roi_align_bwd_gather(gys, plan, g, gxs, work.get(), current_stream()));
  });
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_roi_align_kernels() {
  KernelRegistry<RoiAlignForwardKernel>::cuda = &roi_align_forward;
  KernelRegistry<RoiAlignBackwardKernel>::cuda = &roi_align_backward;
}

}  // namespace anima::cuda
