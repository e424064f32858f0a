// bench/cuda_roi_align_bench.cu — RoIAlign on the GPU (float32), Mask R-CNN shapes of
// bench/roi_align_shapes.hpp (single: one [2,256,50,50] map, 1024 RoIs, 14x14; box: FPN maps
// 200/100/50/25, 1000 RoIs, 7x7; mask: the same maps, 2x512 RoIs, 14x14; sampling 2):
//
//   BM_cuda_roi_align_kernel/<case>/<kernel>   the kernels alone, on the case's finest map with all its
//                                              RoIs (single: its one map): fwd_v1, fwd_v2,
//                                              bwd_atomic_v1, bwd_fixed_point, bwd_gather (workspace
//                                              preallocated; bwd_gather includes its plan: the copy
//                                              of the rois to the host, the host build, the upload),
//                                              bwd_gather_device (the same gather, plan built on the
//                                              device: its 4 plan kernels and memset included;
//                                              _c1 / _c4 force 1 or 4 channels per gather thread
//                                              (tile-aligned kernel), _flat: the flat gather kernel)
//   BM_cuda_roi_align/<case>/<impl>/<pass>     the op (roi_align, or MultiScaleRoIAlign for box / mask)
//                                              as a model calls it: <impl> v1 / v2 for fwd;
//                                              v1_atomic, v2_atomic, v2_deterministic (the default:
//                                              gather backward, host plan), v2_deterministic_device
//                                              (gather, device plan), v2_fixed_point for fwdbwd (forward,
//                                              then backward of a fixed gradient)
// Counter samples_per_second: bilinear samples per second (K·C·PH·PW·grid² per pass). Each iteration is
// timed with CUDA events (UseManualTime) after a warm-up, with the L2 (50 MB on an H100) flushed before
// each (bench/cuda_timer.cuh). The op rows include the host work (validation, MultiScaleRoIAlign's
// level split, copies of the per-level RoIs). Tensors and the op's call: bench/roi_align_problem.hpp.
// bench/compare_roi_align.py --cuda times torchvision on the same shapes in the same run. With no GPU
// every benchmark reports "no CUDA device".
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include <anima/autograd/engine.hpp>
#include <anima/core/generator.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/backends/cuda/backend.cuh>
#include <anima/detection/multiscale_roi_align.hpp>
#include <anima/kernels/cuda/roi_align.cuh>
#include <anima/ops/factory.hpp>
#include <anima/ops/roi_align.hpp>

#include "cuda_device_required.cuh"
#include "cuda_timer.cuh"
#include "roi_align_problem.hpp"
#include "roi_align_shapes.hpp"

namespace {

using namespace anima;
namespace kc = anima::kernels::cuda;

// Times `launch` (bench/cuda_timer.cuh); reports samples_per_second for `samples` per launch.
template <class Launch>
void time_launches(benchmark::State& state, double samples, Launch launch) {
  bench::time_cuda_iterations(state, launch);
  state.counters["samples_per_second"] = benchmark::Counter(samples, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_kernel(benchmark::State& state, bench::RoiAlignCase c, std::string kernel) {
  if (bench::skip_without_cuda_device(state)) return;
  const bench::RoiAlignProblem p = bench::make_roi_align_problem(c, Device::cuda(0));
  const Tensor& x = p.maps[0];
  kernels::RoiAlignGeometry g;
  g.batch = c.batch;
  g.channels = c.channels;
  g.height = g.width = c.map_sizes[0];
  g.num_rois = p.num_rois;
  g.pooled_h = g.pooled_w = c.out;
  g.spatial_scale = static_cast<double>(c.map_sizes[0]) / 800.0;
  g.sampling_ratio = c.sampling;
  g.aligned = false;
  Tensor y =
      Tensor::empty({p.num_rois, c.channels, c.out, c.out}, TensorOptions(DType::Float32).with_device(Device::cuda(0)));
  Tensor gx = Tensor::empty(x.shape(), TensorOptions(DType::Float32).with_device(Device::cuda(0)));
  const auto gather_plan = [&g](const float* rois) {
    kernels::RoiGatherPlan<float> plan;
    ANIMA_CUDA_CHECK(kc::roi_align_bwd_gather_plan(rois, g, nullptr, default_parallel(), &plan));
    return plan;
  };
  const std::size_t ws_bytes =
      std::max({kc::roi_align_bwd_fixed_point_workspace_bytes(g), gather_plan(p.rois.data<float>()).workspace_bytes(),
                kc::roi_align_bwd_gather_device_layout<float>(g).bytes});
  Tensor ws = Tensor::empty({static_cast<std::int64_t>((ws_bytes + 7) / 8)},
                            TensorOptions(DType::Int64).with_device(Device::cuda(0)));
  const float* xs = x.data<float>();
  const float* rs = p.rois.data<float>();
  float* ys = y.data<float>();
  float* gxs = gx.data<float>();
  void* w = ws.raw_data();
  std::function<void()> launch;
  if (kernel == "fwd_v1") launch = [&] { ANIMA_CUDA_CHECK(kc::roi_align_fwd_v1(xs, rs, g, ys, nullptr)); };
  if (kernel == "fwd_v2") launch = [&] { ANIMA_CUDA_CHECK(kc::roi_align_fwd_v2(xs, rs, g, ys, nullptr)); };
  if (kernel == "bwd_atomic_v1")
    launch = [&] { ANIMA_CUDA_CHECK(kc::roi_align_bwd_atomic_v1<float>(ys, rs, g, gxs, nullptr)); };
  if (kernel == "bwd_fixed_point")
    launch = [&] { ANIMA_CUDA_CHECK(kc::roi_align_bwd_fixed_point<float>(ys, rs, g, gxs, w, nullptr)); };
  if (kernel == "bwd_gather")
    launch = [&] { ANIMA_CUDA_CHECK(kc::roi_align_bwd_gather<float>(ys, gather_plan(rs), g, gxs, w, nullptr)); };
  if (kernel == "bwd_gather_device")
    launch = [&] { ANIMA_CUDA_CHECK(kc::roi_align_bwd_gather_device_plan<float>(ys, rs, g, gxs, w, nullptr)); };
  if (kernel == "bwd_gather_device_c1")
    launch = [&] {
      ANIMA_CUDA_CHECK(kc::roi_align_bwd_gather_device_plan<float>(ys, rs, g, gxs, w, nullptr, {1, true}));
    };
  if (kernel == "bwd_gather_device_c4")
    launch = [&] {
      ANIMA_CUDA_CHECK(
          kc::roi_align_bwd_gather_device_plan<float>(ys, rs, g, gxs, w, nullptr, {kernels::kRoiGatherChannels, true}));
    };
  if (kernel == "bwd_gather_device_flat")
    launch = [&] {
      ANIMA_CUDA_CHECK(kc::roi_align_bwd_gather_device_plan<float>(ys, rs, g, gxs, w, nullptr, {0, false}));
    };
  ANIMA_CUDA_CHECK(
      kc::roi_align_fwd_v2(xs, rs, g, ys, nullptr));  // y doubles as the upstream gradient of the bwd kernels
  time_launches(state, bench::roi_align_samples(c), launch);
}

void BM_op(benchmark::State& state, bench::RoiAlignCase c, RoiAlignAlgorithms alg, bool with_backward) {
  if (bench::skip_without_cuda_device(state)) return;
  const bench::RoiAlignProblem p = bench::make_roi_align_problem(c, Device::cuda(0));
  const Tensor gy = with_backward ? bench::roi_align_upstream_gradient(p, Device::cuda(0)) : Tensor();
  auto launch = [&] {
    const std::vector<Tensor> maps = bench::roi_align_leaves(p, with_backward);
    Tensor y = bench::roi_align_forward(p, maps, alg);
    if (with_backward) backward(y, gy);
  };
  time_launches(state, bench::roi_align_samples(c) * (with_backward ? 2.0 : 1.0), launch);
}

const bool kRegistered = [] {
  using F = CudaRoiAlignForwardAlgorithm;
  using B = CudaRoiAlignBackwardAlgorithm;
  for (const auto& c : bench::roi_align_cases()) {
    for (const char* k : {"fwd_v1", "fwd_v2", "bwd_atomic_v1", "bwd_fixed_point", "bwd_gather", "bwd_gather_device",
                          "bwd_gather_device_c1", "bwd_gather_device_c4", "bwd_gather_device_flat"})
      benchmark::RegisterBenchmark(("BM_cuda_roi_align_kernel/" + c.name + "/" + k).c_str(), BM_kernel, c,
                                   std::string(k))
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    const struct {
      const char* name;
      CudaRoiAlignAlgorithms alg;
      bool bwd;
    } ops[] = {{"v1", {F::V1, B::Atomic}, false},
               {"v2", {F::V2, B::Deterministic}, false},
               {"v1_atomic", {F::V1, B::Atomic}, true},
               {"v2_atomic", {F::V2, B::Atomic}, true},
               {"v2_deterministic", {F::V2, B::Deterministic}, true},
               {"v2_deterministic_device", {F::V2, B::DeterministicDevicePlan}, true},
               {"v2_fixed_point", {F::V2, B::FixedPoint}, true}};
    for (const auto& o : ops)
      benchmark::RegisterBenchmark(
          ("BM_cuda_roi_align/" + c.name + "/" + o.name + "/" + (o.bwd ? "fwdbwd" : "fwd")).c_str(), BM_op, c,
          RoiAlignAlgorithms{{}, o.alg}, o.bwd)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

}  // namespace
