// anima/backends/cpu/roi_align.hpp — dispatch tags of the RoIAlign kernels and their CPU entries
// (anima/kernels/cpu/roi_align.hpp), which run RoiAlignAlgorithms::cpu
// (anima/backends/roi_align_algorithms.hpp). CUDA: anima/backends/cuda/roi_align.cuh.
//
// Contract shared by every backend: x / gx contiguous [N, C, H, W], rois contiguous [K, 5] of the same
// dtype (float32 or float64) and device, y / gy (/ argmax, int64) contiguous [K, C, PH, PW]; geometry
// in kernels::RoiAlignGeometry. Backward kernels overwrite every element of gx. CPU workspaces come
// from the CPU allocator here; kernels never allocate.
#pragma once

#include <cstddef>
#include <cstdint>

#include <anima/core/allocator.hpp>
#include <anima/core/dtype.hpp>
#include <anima/core/error.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/core/workspace.hpp>
#include <anima/backends/roi_align_algorithms.hpp>
#include <anima/kernels/cpu/roi_align.hpp>
#include <anima/kernels/roi_align_math.hpp>

namespace anima {

struct RoiAlignForwardKernel {
  using Fn = void(DType dtype, const RoiAlignAlgorithms& algorithms, const void* x, const void* rois,
                  const kernels::RoiAlignGeometry& g, void* y);
  static constexpr const char* name = "roi_align";
  static void cpu(DType dtype, const RoiAlignAlgorithms& algorithms, const void* x, const void* rois,
                  const kernels::RoiAlignGeometry& g, void* y) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      const auto* xs = static_cast<const scalar_t*>(x);
      const auto* rs = static_cast<const scalar_t*>(rois);
      auto* ys = static_cast<scalar_t*>(y);
      switch (algorithms.cpu.forward) {
        case CpuRoiAlignForwardAlgorithm::Reference: kernels::cpu::roi_align_forward_reference(xs, rs, g, ys); return;
        case CpuRoiAlignForwardAlgorithm::Auto:
        case CpuRoiAlignForwardAlgorithm::Nhwc: {
          const kernels::ParallelFor parallel = default_parallel();
          const ScopedWorkspace work =
              cpu_workspace(kernels::cpu::roi_align_forward_nhwc_workspace_bytes<scalar_t>(g, parallel.size()));
          kernels::cpu::roi_align_forward_nhwc(xs, rs, g, ys, work.get(), parallel);
          return;
        }
      }
      fail(name, "unknown CpuRoiAlignForwardAlgorithm ", static_cast<int>(algorithms.cpu.forward));
    });
  }
};

// host_rois: nullptr, or the same rois as `rois`, bit for bit, in host memory (contiguous [K, 5], same
// dtype): the CUDA gather then builds its plan from them without reading the device copy back (no
// stream synchronisation). The CPU ignores it (its rois are on the host).
struct RoiAlignBackwardKernel {
  using Fn = void(DType dtype, const RoiAlignAlgorithms& algorithms, const void* gy, const void* rois,
                  const void* host_rois, const kernels::RoiAlignGeometry& g, void* gx);
  static constexpr const char* name = "roi_align_backward";
  static void cpu(DType dtype, const RoiAlignAlgorithms& algorithms, const void* gy, const void* rois,
                  const void* /*host_rois*/, const kernels::RoiAlignGeometry& g, void* gx) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      const auto* gys = static_cast<const scalar_t*>(gy);
      const auto* rs = static_cast<const scalar_t*>(rois);
      auto* gxs = static_cast<scalar_t*>(gx);
      switch (algorithms.cpu.backward) {
        case CpuRoiAlignBackwardAlgorithm::Reference:
          kernels::cpu::roi_align_backward_reference(gys, rs, g, gxs);
          return;
        case CpuRoiAlignBackwardAlgorithm::Auto:
        case CpuRoiAlignBackwardAlgorithm::Nhwc: {
          const kernels::ParallelFor parallel = default_parallel();
          const ScopedWorkspace work =
              cpu_workspace(kernels::cpu::roi_align_backward_nhwc_workspace_bytes<scalar_t>(g, parallel.size()));
          kernels::cpu::roi_align_backward_nhwc(gys, rs, g, gxs, work.get(), parallel);
          return;
        }
      }
      fail(name, "unknown CpuRoiAlignBackwardAlgorithm ", static_cast<int>(algorithms.cpu.backward));
    });
  }
};

}  // namespace anima
