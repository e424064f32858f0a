// anima/backends/cpu/roi_align.hpp — dispatch tags of the RoIAlign and RoIPool kernels, the algorithm
// choices, and their CPU implementations (anima/kernels/cpu/roi_align.hpp, roi_pool.hpp). CUDA:
// anima/backends/cuda/roi_align.cuh.
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
#include <anima/kernels/cpu/roi_align.hpp>
#include <anima/kernels/roi_align_math.hpp>

namespace anima {

// Which RoIAlign implementation runs. Auto = the fastest for the device: CPU Nhwc forward and
// backward; CUDA V2 forward and Deterministic backward. Asking a CPU tensor for a CUDA algorithm (or
// the reverse) is an Error.
enum class RoiAlignForwardAlgorithm {
  Auto,
  CpuReference,  // plain loops (kernels/cpu/roi_align.hpp, *_reference)
  CpuNhwc,       // NHWC workspace, channel-vectorised, RoIs over the thread pool
  CudaV1,        // roi_align_fwd_v1: one thread per output element
  CudaV2,        // roi_align_fwd_v2: one block per (RoI, channel tile), sample taps in shared memory
};
enum class RoiAlignBackwardAlgorithm {
  Auto,
  CpuReference,       // plain loops
  CpuNhwc,            // NHWC workspace, channel-parallel, deterministic
  CudaAtomic,         // roi_align_bwd_atomic_v1: float atomicAdd, like torchvision (not bitwise reproducible)
  CudaDeterministic,  // roi_align_bwd_gather: per-pixel gather, no atomics, bitwise reproducible (the default)
  CudaFixedPoint,     // roi_align_bwd_fixed_point: int64 fixed-point atomics, bitwise reproducible (slower)
  CudaDeterministicDevicePlan,  // roi_align_bwd_gather_device_plan: the same gather and bits, plan built on
                                // the device (no host work or copies; fixed sampling ratios, else the host plan)
};

struct RoiAlignAlgorithms {
  RoiAlignForwardAlgorithm forward = RoiAlignForwardAlgorithm::Auto;
  RoiAlignBackwardAlgorithm backward = RoiAlignBackwardAlgorithm::Auto;
};

inline const char* roi_align_algorithm_name(RoiAlignForwardAlgorithm a) {
  switch (a) {
    case RoiAlignForwardAlgorithm::Auto: return "Auto";
    case RoiAlignForwardAlgorithm::CpuReference: return "CpuReference";
    case RoiAlignForwardAlgorithm::CpuNhwc: return "CpuNhwc";
    case RoiAlignForwardAlgorithm::CudaV1: return "CudaV1";
    case RoiAlignForwardAlgorithm::CudaV2: return "CudaV2";
  }
  return "?";
}
inline const char* roi_align_algorithm_name(RoiAlignBackwardAlgorithm a) {
  switch (a) {
    case RoiAlignBackwardAlgorithm::Auto: return "Auto";
    case RoiAlignBackwardAlgorithm::CpuReference: return "CpuReference";
    case RoiAlignBackwardAlgorithm::CpuNhwc: return "CpuNhwc";
    case RoiAlignBackwardAlgorithm::CudaAtomic: return "CudaAtomic";
    case RoiAlignBackwardAlgorithm::CudaDeterministic: return "CudaDeterministic";
    case RoiAlignBackwardAlgorithm::CudaFixedPoint: return "CudaFixedPoint";
    case RoiAlignBackwardAlgorithm::CudaDeterministicDevicePlan: return "CudaDeterministicDevicePlan";
  }
  return "?";
}

struct RoiAlignForwardKernel {
  using Fn = void(DType dtype, RoiAlignForwardAlgorithm algorithm, const void* x, const void* rois,
                  const kernels::RoiAlignGeometry& g, void* y);
  static constexpr const char* name = "roi_align";
  static void cpu(DType dtype, RoiAlignForwardAlgorithm algorithm, const void* x, const void* rois,
                  const kernels::RoiAlignGeometry& g, void* y) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      const auto* xs = static_cast<const scalar_t*>(x);
      const auto* rs = static_cast<const scalar_t*>(rois);
      auto* ys = static_cast<scalar_t*>(y);
      switch (algorithm) {
        case RoiAlignForwardAlgorithm::CpuReference: kernels::cpu::roi_align_forward_reference(xs, rs, g, ys); return;
        case RoiAlignForwardAlgorithm::Auto:
        case RoiAlignForwardAlgorithm::CpuNhwc: {
          const int threads = default_thread_pool().size();
          const ScopedWorkspace work =
              cpu_workspace(kernels::cpu::roi_align_forward_nhwc_workspace_bytes<scalar_t>(g, threads));
          kernels::cpu::roi_align_forward_nhwc(xs, rs, g, ys, work.get(), threads);
          return;
        }
        default:
          fail(name, "RoiAlignForwardAlgorithm::", roi_align_algorithm_name(algorithm),
               " runs on CUDA tensors only (the tensors are on the CPU)");
      }
    });
  }
};

// host_rois: nullptr, or the same rois as `rois`, bit for bit, in host memory (contiguous [K, 5], same
// dtype): the CUDA gather then builds its plan from them without reading the device copy back (no
// stream synchronisation). The CPU ignores it (its rois are on the host).
struct RoiAlignBackwardKernel {
  using Fn = void(DType dtype, RoiAlignBackwardAlgorithm algorithm, const void* gy, const void* rois,
                  const void* host_rois, const kernels::RoiAlignGeometry& g, void* gx);
  static constexpr const char* name = "roi_align_backward";
  static void cpu(DType dtype, RoiAlignBackwardAlgorithm algorithm, const void* gy, const void* rois,
                  const void* /*host_rois*/, const kernels::RoiAlignGeometry& g, void* gx) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      const auto* gys = static_cast<const scalar_t*>(gy);
      const auto* rs = static_cast<const scalar_t*>(rois);
      auto* gxs = static_cast<scalar_t*>(gx);
      switch (algorithm) {
        case RoiAlignBackwardAlgorithm::CpuReference:
          kernels::cpu::roi_align_backward_reference(gys, rs, g, gxs);
          return;
        case RoiAlignBackwardAlgorithm::Auto:
        case RoiAlignBackwardAlgorithm::CpuNhwc: {
          const int threads = default_thread_pool().size();
          const ScopedWorkspace work =
              cpu_workspace(kernels::cpu::roi_align_backward_nhwc_workspace_bytes<scalar_t>(g, threads));
          kernels::cpu::roi_align_backward_nhwc(gys, rs, g, gxs, work.get(), threads);
          return;
        }
        default:
          fail(name, "RoiAlignBackwardAlgorithm::", roi_align_algorithm_name(algorithm),
               " runs on CUDA tensors only (the tensors are on the CPU)");
      }
    });
  }
};

}  // namespace anima
