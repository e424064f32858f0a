// RoIAlign benchmarks (CPU, float32) on Mask R-CNN shapes (bench/roi_align_shapes.hpp):
//
//   BM_roi_align/<case>/<impl>/<pass>
//     <case>  single (1024 RoIs, one map [2, 256, 50, 50], 14x14), box (MultiScaleRoIAlign, FPN maps
//             200/100/50/25, 1000 RoIs, 7x7), mask (the same maps, 2x512 RoIs, 14x14); sampling 2.
//     <impl>  reference (CpuReference forward and backward: plain loops, one thread) or nhwc (CpuNhwc:
//             the default; ANIMA_NUM_THREADS sets the pool size).
//     <pass>  fwd (forward) or fwdbwd (forward, then backward of a fixed upstream gradient into x).
// Counter samples_per_second: bilinear samples per second, K·C·PH·PW·grid² per pass (fwdbwd counts
// both passes). fwd rows also print the memory traffic floor: floor_ms = (bytes of the output, written
// once, + bytes of the maps, each read once) / the machine's copy bandwidth on the op's thread count
// (bench/memory_bandwidth.hpp), and of_floor = the row's time / floor_ms (2.0: twice the floor). Every
// map is read once at least because these cases' RoIs cover all of each map. Wall time (UseRealTime). The op-level API is timed (what a model pays: validation,
// output allocation, workspace from the allocator, the autograd record).
// bench/compare_roi_align.py runs this binary and times torchvision on the same shapes in the same run.
//
//
//   BM_memory_copy
//     the copy bandwidth the floors are computed from (bytes read + written per second) on the op's
//     thread count (ANIMA_NUM_THREADS, default: the cores; the label names it).
//
//   BM_roi_align_gather_plan/<case>[/L<l>]
//     the host build of the deterministic gather backward's plan (kernels::roi_gather_build_plan; the
//     CUDA CudaDeterministic backward builds it on the host per call and per level), float32, for the
//     case's RoIs split by level exactly as MultiScaleRoIAlign does (detection::map_levels); without
//     /L<l>: every level of the case in one iteration (what one MultiScaleRoIAlign backward pays).
//     Counter rois: RoIs planned per iteration.
//
// Run: anima_bench_roi_align [--benchmark_filter=single] [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/grad_mode.hpp>
#include <anima/core/generator.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/detection/multiscale_roi_align.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/roi_align.hpp>
#include <anima/kernels/roi_align_gather_math.hpp>

#include "memory_bandwidth.hpp"
#include "roi_align_problem.hpp"
#include "roi_align_shapes.hpp"

namespace {

using namespace anima;

void BM_roi_align(benchmark::State& state, bench::RoiAlignCase c, bool reference, bool with_backward) {
  const bench::RoiAlignProblem p = bench::make_roi_align_problem(c, Device::cpu());
  const RoiAlignAlgorithms alg =
      reference
          ? RoiAlignAlgorithms{{CpuRoiAlignForwardAlgorithm::Reference, CpuRoiAlignBackwardAlgorithm::Reference}, {}}
          : RoiAlignAlgorithms{{CpuRoiAlignForwardAlgorithm::Nhwc, CpuRoiAlignBackwardAlgorithm::Nhwc}, {}};
  const Tensor gy = with_backward ? bench::roi_align_upstream_gradient(p, Device::cpu()) : Tensor();
  const double bandwidth = with_backward ? 0.0 : bench::memory_bandwidth_bytes_per_second(default_num_threads());
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const std::vector<Tensor> maps = bench::roi_align_leaves(p, with_backward);
    Tensor y = bench::roi_align_forward(p, maps, alg);
    if (with_backward) {
      backward(y, gy);
      benchmark::DoNotOptimize(maps[0].grad().raw_data());
    }
    benchmark::DoNotOptimize(y.raw_data());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  state.counters["samples_per_second"] = benchmark::Counter(bench::roi_align_samples(c) * (with_backward ? 2.0 : 1.0),
                                                            benchmark::Counter::kIsIterationInvariantRate);
  if (bandwidth > 0 && state.iterations() > 0) {
    double bytes = double(p.num_rois) * double(c.channels) * double(c.out * c.out) * sizeof(float);
    for (const std::int64_t s : c.map_sizes)
      bytes += double(c.batch) * double(c.channels) * double(s * s) * sizeof(float);
    const double floor_seconds = bytes / bandwidth;
    state.counters["floor_ms"] = floor_seconds * 1e3;
    state.counters["of_floor"] = seconds / double(state.iterations()) / floor_seconds;
  }
}

void BM_memory_copy(benchmark::State& state) {
  const int threads = default_num_threads();
  double rate = 0;
  for (auto _ : state) rate = bench::memory_bandwidth_bytes_per_second(threads);
  state.counters["bytes_per_second"] = rate;
  state.SetLabel("threads:" + std::to_string(threads) + ", best of 5 copies of 256 MiB");
}

// Per level l of case c: the level's rois [K_l, 5] (float32, level order as MultiScaleRoIAlign) and
// the geometry roi_align gets for them.
struct PlanLevel {
  std::vector<float> rois;
  kernels::RoiAlignGeometry g;
};

std::vector<PlanLevel> plan_levels(const bench::RoiAlignCase& c) {
  std::vector<double> rows, flat;  // [K, 5], [K, 4]
  for (std::int64_t i = 0; i < c.batch; ++i) {
    const std::vector<double> b = bench::bench_boxes(i, c.rois_per_image);
    for (std::size_t k = 0; k * 4 < b.size(); ++k) {
      rows.push_back(static_cast<double>(i));
      for (int m = 0; m < 4; ++m) rows.push_back(static_cast<double>(static_cast<float>(b[k * 4 + m])));
    }
  }
  for (std::size_t k = 0; k * 5 < rows.size(); ++k)
    flat.insert(flat.end(), rows.begin() + k * 5 + 1, rows.begin() + k * 5 + 5);
  const std::size_t L = c.map_sizes.size();
  std::vector<double> scales;
  for (const auto s : c.map_sizes) scales.push_back(std::exp2(std::round(std::log2(static_cast<double>(s) / 800.0))));
  const auto k_min = static_cast<std::int64_t>(-std::log2(scales.front()));
  const auto k_max = static_cast<std::int64_t>(-std::log2(scales.back()));
  const std::vector<std::int64_t> levels =
      L == 1 ? std::vector<std::int64_t>(rows.size() / 5, k_min) : detection::map_levels(flat, k_min, k_max);
  std::vector<PlanLevel> out(L);
  for (std::size_t l = 0; l < L; ++l) {
    for (std::size_t k = 0; k < levels.size(); ++k)
      if (levels[k] - k_min == static_cast<std::int64_t>(l))
        for (int m = 0; m < 5; ++m) out[l].rois.push_back(static_cast<float>(rows[k * 5 + m]));
    kernels::RoiAlignGeometry& g = out[l].g;
    g.batch = c.batch;
    g.channels = c.channels;
    g.height = g.width = c.map_sizes[l];
    g.num_rois = static_cast<std::int64_t>(out[l].rois.size() / 5);
    g.pooled_h = g.pooled_w = c.out;
    g.spatial_scale = scales[l];
    g.sampling_ratio = c.sampling;
    g.aligned = false;
  }
  return out;
}

void BM_roi_align_gather_plan(benchmark::State& state, bench::RoiAlignCase c, int level) {
  std::vector<PlanLevel> levels = plan_levels(c);
  if (level >= 0) levels = {levels[static_cast<std::size_t>(level)]};
  std::int64_t rois = 0;
  for (const auto& l : levels) rois += l.g.num_rois;
  for (auto _ : state)
    for (const auto& l : levels) {
      const auto plan = kernels::roi_gather_build_plan(l.rois.data(), l.g, default_parallel());
      benchmark::DoNotOptimize(plan.bytes.data());
    }
  state.counters["rois"] = static_cast<double>(rois);
}

const bool kRegistered = [] {
  benchmark::RegisterBenchmark("BM_memory_copy", BM_memory_copy)->Iterations(1)->Unit(benchmark::kMillisecond);
  for (const auto& c : bench::roi_align_cases())
    for (int level = -1; level < static_cast<int>(c.map_sizes.size() > 1 ? c.map_sizes.size() : 0); ++level) {
      const std::string name = "BM_roi_align_gather_plan/" + c.name + (level >= 0 ? "/L" + std::to_string(level) : "");
      benchmark::RegisterBenchmark(name.c_str(), BM_roi_align_gather_plan, c, level)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
  for (const auto& c : bench::roi_align_cases())
    for (bool reference : {false, true})
      for (bool bwd : {false, true}) {
        const std::string name =
            "BM_roi_align/" + c.name + "/" + (reference ? "reference" : "nhwc") + "/" + (bwd ? "fwdbwd" : "fwd");
        benchmark::RegisterBenchmark(name.c_str(), BM_roi_align, c, reference, bwd)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
  return true;
}();

}  // namespace
