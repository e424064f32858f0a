// anima/backends/roi_align_algorithms.hpp — the RoIAlign implementations each backend offers.
//
// Each backend has its own enum listing only what it runs, so a choice for one backend can never be
// asked of the other; RoiAlignAlgorithms carries one choice per backend and each backend reads its
// own. Auto is the backend's fastest: CPU Nhwc forward and backward; CUDA V2 forward and
// Deterministic backward. Kernels: anima/kernels/cpu/roi_align.hpp, anima/kernels/cuda/roi_align.cuh.
#pragma once

namespace anima {

enum class CpuRoiAlignForwardAlgorithm {
  Auto,
  Reference,  // plain loops (roi_align_forward_reference)
  Nhwc,       // NHWC workspace, channel-vectorised, RoIs over the thread pool
};
enum class CpuRoiAlignBackwardAlgorithm {
  Auto,
  Reference,  // plain loops
  Nhwc,       // NHWC workspace, channel-parallel, deterministic
};
enum class CudaRoiAlignForwardAlgorithm {
  Auto,
  V1,  // roi_align_fwd_v1: one thread per output element
  V2,  // roi_align_fwd_v2: one block per (RoI, channel tile), sample taps in shared memory
};
enum class CudaRoiAlignBackwardAlgorithm {
  Auto,
  Atomic,         // roi_align_bwd_atomic_v1: float atomicAdd, like torchvision (not bitwise reproducible)
  Deterministic,  // roi_align_bwd_gather: per-pixel gather planned on the host, no atomics, bitwise reproducible
  DeterministicDevicePlan,  // roi_align_bwd_gather_device_plan: the same gather and bits, planned on the device
                            // (fixed sampling ratios; otherwise it runs as Deterministic)
  FixedPoint,               // roi_align_bwd_fixed_point: int64 fixed-point atomics, bitwise reproducible (slower)
};

struct CpuRoiAlignAlgorithms {
  CpuRoiAlignForwardAlgorithm forward = CpuRoiAlignForwardAlgorithm::Auto;
  CpuRoiAlignBackwardAlgorithm backward = CpuRoiAlignBackwardAlgorithm::Auto;
};
struct CudaRoiAlignAlgorithms {
  CudaRoiAlignForwardAlgorithm forward = CudaRoiAlignForwardAlgorithm::Auto;
  CudaRoiAlignBackwardAlgorithm backward = CudaRoiAlignBackwardAlgorithm::Auto;
};
// What runs on each backend; the tensors' device picks the field that applies.
struct RoiAlignAlgorithms {
  CpuRoiAlignAlgorithms cpu;
  CudaRoiAlignAlgorithms cuda;
};

inline const char* roi_align_algorithm_name(CpuRoiAlignForwardAlgorithm a) {
  switch (a) {
    case CpuRoiAlignForwardAlgorithm::Auto: return "Auto";
    case CpuRoiAlignForwardAlgorithm::Reference: return "Reference";
    case CpuRoiAlignForwardAlgorithm::Nhwc: return "Nhwc";
  }
  return "?";
}
inline const char* roi_align_algorithm_name(CpuRoiAlignBackwardAlgorithm a) {
  switch (a) {
    case CpuRoiAlignBackwardAlgorithm::Auto: return "Auto";
    case CpuRoiAlignBackwardAlgorithm::Reference: return "Reference";
    case CpuRoiAlignBackwardAlgorithm::Nhwc: return "Nhwc";
  }
  return "?";
}
inline const char* roi_align_algorithm_name(CudaRoiAlignForwardAlgorithm a) {
  switch (a) {
    case CudaRoiAlignForwardAlgorithm::Auto: return "Auto";
    case CudaRoiAlignForwardAlgorithm::V1: return "V1";
    case CudaRoiAlignForwardAlgorithm::V2: return "V2";
  }
  return "?";
}
inline const char* roi_align_algorithm_name(CudaRoiAlignBackwardAlgorithm a) {
  switch (a) {
    case CudaRoiAlignBackwardAlgorithm::Auto: return "Auto";
    case CudaRoiAlignBackwardAlgorithm::Atomic: return "Atomic";
    case CudaRoiAlignBackwardAlgorithm::Deterministic: return "Deterministic";
    case CudaRoiAlignBackwardAlgorithm::DeterministicDevicePlan: return "DeterministicDevicePlan";
    case CudaRoiAlignBackwardAlgorithm::FixedPoint: return "FixedPoint";
  }
  return "?";
}

}  // namespace anima
