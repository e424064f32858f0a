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
// timed with CUDA events (UseManualTime) after a warm-up; L2 (50 MB) is not flushed. The op rows
// include the host work (validation, MultiScaleRoIAlign's level split, copies of the per-level RoIs).
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
#include <anima/cuda/backend.cuh>
#include <anima/detection/multiscale_roi_align.hpp>
#include <anima/kernels/cuda/roi_align.cuh>
#include <anima/ops/factory.hpp>
#include <anima/ops/roi_align.hpp>

#include "roi_align_shapes.hpp"

namespace {

using namespace anima;
namespace kc = anima::kernels::cuda;

bool have_device() { return cuda_is_available(); }

void time_launches(benchmark::State& state, double samples, const std::function<void()>& launch) {
  cudaEvent_t start = nullptr, stop = nullptr;
  ANIMA_CUDA_CHECK(cudaEventCreate(&start));
  ANIMA_CUDA_CHECK(cudaEventCreate(&stop));
  launch();  // warm-up
  ANIMA_CUDA_CHECK(cudaDeviceSynchronize());
  for (auto _ : state) {
    ANIMA_CUDA_CHECK(cudaEventRecord(start, nullptr));
    launch();
    ANIMA_CUDA_CHECK(cudaEventRecord(stop, nullptr));
    ANIMA_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    ANIMA_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms * 1e-3);
  }
  state.counters["samples_per_second"] = benchmark::Counter(samples, benchmark::Counter::kIsIterationInvariantRate);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

struct Problem {
  bench::RoiAlignCase c;
  std::vector<Tensor> maps;   // on cuda:0
  std::vector<Tensor> boxes;  // on cuda:0
  Tensor rois;                // [K, 5] on cuda:0
  std::int64_t num_rois = 0;
};

Problem make_problem(const bench::RoiAlignCase& c) {
  Problem p;
  p.c = c;
  Generator gen(1);
  for (std::int64_t s : c.map_sizes)
    p.maps.push_back(device_copy(randn({c.batch, c.channels, s, s}, TensorOptions(DType::Float32), gen), Device::cuda(0)));
  for (std::int64_t i = 0; i < c.batch; ++i)
    p.boxes.push_back(device_copy(
        cast_copy(from_vector<double>(bench::bench_boxes(i, c.rois_per_image), {c.rois_per_image, 4}), DType::Float32),
        Device::cuda(0)));
  p.rois = boxes_to_rois(p.boxes);
  p.num_rois = c.batch * c.rois_per_image;
  return p;
}

double samples_of(const bench::RoiAlignCase& c) {
  return static_cast<double>(c.batch * c.rois_per_image * c.channels * c.out * c.out * c.sampling * c.sampling);
}

void BM_kernel(benchmark::State& state, bench::RoiAlignCase c, std::string kernel) {
  if (!have_device()) return state.SkipWithError("no CUDA device");
  const Problem p = make_problem(c);
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
  Tensor y = Tensor::empty({p.num_rois, c.channels, c.out, c.out}, TensorOptions(DType::Float32).with_device(Device::cuda(0)));
  Tensor gx = Tensor::empty(x.shape(), TensorOptions(DType::Float32).with_device(Device::cuda(0)));
  const std::size_t ws_bytes = std::max({kc::roi_align_bwd_fixed_point_workspace_bytes(g),
                                         kc::roi_align_bwd_gather_plan(p.rois.data<float>(), g, nullptr).workspace_bytes(),
                                         kc::roi_align_bwd_gather_device_layout<float>(g).bytes});
  Tensor ws = Tensor::empty({static_cast<std::int64_t>((ws_bytes + 7) / 8)},
                            TensorOptions(DType::Int64).with_device(Device::cuda(0)));
  const float* xs = x.data<float>();
  const float* rs = p.rois.data<float>();
  float* ys = y.data<float>();
  float* gxs = gx.data<float>();
  void* w = ws.raw_data();
  std::function<void()> launch;
  if (kernel == "fwd_v1") launch = [&] { kc::roi_align_fwd_v1(xs, rs, g, ys, nullptr); };
  if (kernel == "fwd_v2") launch = [&] { kc::roi_align_fwd_v2(xs, rs, g, ys, nullptr); };
  if (kernel == "bwd_atomic_v1") launch = [&] { kc::roi_align_bwd_atomic_v1<float>(ys, rs, g, gxs, nullptr); };
  if (kernel == "bwd_fixed_point") launch = [&] { kc::roi_align_bwd_fixed_point<float>(ys, rs, g, gxs, w, nullptr); };
  if (kernel == "bwd_gather")
    launch = [&] { kc::roi_align_bwd_gather<float>(ys, kc::roi_align_bwd_gather_plan(rs, g, nullptr), g, gxs, w, nullptr); };
  if (kernel == "bwd_gather_device")
    launch = [&] { kc::roi_align_bwd_gather_device_plan<float>(ys, rs, g, gxs, w, nullptr); };
  if (kernel == "bwd_gather_device_c1")
    launch = [&] { kc::roi_align_bwd_gather_device_plan<float>(ys, rs, g, gxs, w, nullptr, {1, true}); };
  if (kernel == "bwd_gather_device_c4")
    launch = [&] {
      kc::roi_align_bwd_gather_device_plan<float>(ys, rs, g, gxs, w, nullptr, {kernels::kRoiGatherChannels, true});
    };
  if (kernel == "bwd_gather_device_flat")
    launch = [&] { kc::roi_align_bwd_gather_device_plan<float>(ys, rs, g, gxs, w, nullptr, {0, false}); };
  kc::roi_align_fwd_v2(xs, rs, g, ys, nullptr);  // y doubles as the upstream gradient of the bwd kernels
  time_launches(state, samples_of(c), launch);
}

void BM_op(benchmark::State& state, bench::RoiAlignCase c, RoiAlignAlgorithms alg, bool with_backward) {
  if (!have_device()) return state.SkipWithError("no CUDA device");
  const Problem p = make_problem(c);
  Generator gen(2);
  const Tensor gy = with_backward ? device_copy(randn({p.num_rois, c.channels, c.out, c.out}, TensorOptions(DType::Float32), gen),
                                                Device::cuda(0))
                                  : Tensor();
  auto launch = [&] {
    std::vector<Tensor> maps;
    for (const auto& m : p.maps) {
      Tensor leaf = detach(m);
      if (with_backward) leaf.set_requires_grad(true);
      maps.push_back(leaf);
    }
    Tensor y;
    if (maps.size() == 1) {
      y = roi_align(maps[0], p.rois, {c.out, c.out}, 1.0 / 16.0, c.sampling, false, alg);
    } else {
      detection::MultiScaleRoIAlignOptions o;
      detection::FeatureMaps named;
      for (std::size_t l = 0; l < maps.size(); ++l) {
        o.featmap_names.push_back(std::to_string(l));
        named.push_back({std::to_string(l), maps[l]});
      }
      o.output_size = {c.out, c.out};
      o.sampling_ratio = c.sampling;
      o.algorithms = alg;
      y = detection::MultiScaleRoIAlign(o).forward(
          named, p.boxes, std::vector<std::array<std::int64_t, 2>>(static_cast<std::size_t>(c.batch), {800, 800}));
    }
    if (with_backward) backward(y, gy);
  };
  time_launches(state, samples_of(c) * (with_backward ? 2.0 : 1.0), launch);
}

const bool kRegistered = [] {
  using F = RoiAlignForwardAlgorithm;
  using B = RoiAlignBackwardAlgorithm;
  for (const auto& c : bench::roi_align_cases()) {
    for (const char* k : {"fwd_v1", "fwd_v2", "bwd_atomic_v1", "bwd_fixed_point", "bwd_gather", "bwd_gather_device",
                          "bwd_gather_device_c1", "bwd_gather_device_c4", "bwd_gather_device_flat"})
      benchmark::RegisterBenchmark(("BM_cuda_roi_align_kernel/" + c.name + "/" + k).c_str(), BM_kernel, c, std::string(k))
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    const struct {
      const char* name;
      RoiAlignAlgorithms alg;
      bool bwd;
    } ops[] = {{"v1", {F::CudaV1, B::CudaAtomic}, false},
               {"v2", {F::CudaV2, B::CudaDeterministic}, false},
               {"v1_atomic", {F::CudaV1, B::CudaAtomic}, true},
               {"v2_atomic", {F::CudaV2, B::CudaAtomic}, true},
               {"v2_deterministic", {F::CudaV2, B::CudaDeterministic}, true},
               {"v2_deterministic_device", {F::CudaV2, B::CudaDeterministicDevicePlan}, true},
               {"v2_fixed_point", {F::CudaV2, B::CudaFixedPoint}, true}};
    for (const auto& o : ops)
      benchmark::RegisterBenchmark(
          ("BM_cuda_roi_align/" + c.name + "/" + o.name + "/" + (o.bwd ? "fwdbwd" : "fwd")).c_str(), BM_op, c, o.alg, o.bwd)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

}  // namespace
