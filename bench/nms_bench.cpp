// NMS benchmarks (CPU, float32) on RPN-like boxes (bench/nms_boxes.hpp): 1000, 5000, 20000 boxes,
// IoU threshold 0.7.
//
//   BM_nms/<n>              the op anima::nms (score sort + greedy kernel + result tensor): what
//                           bench/compare_nms.py compares with torchvision.ops.nms
//   BM_nms_greedy/<n>       the greedy reference kernel alone (order precomputed)
//   BM_nms_greedy_sorted/<n> the kernel the op runs: gathered into score order, branch-free inner loop
//   BM_nms_mask_blocks/<n>  the bitmask algorithm on the CPU (the CUDA path's; every pair is tested,
//                           so it is O(n^2): up to 5000 boxes only)
// items_per_second = boxes per second. Single-threaded (NMS's greedy pass is sequential; torchvision's
// CPU kernel is too). Caches warm.
//
// Run: anima_bench_nms [--benchmark_filter=BM_nms/] ; compare: bench/compare_nms.py
#include <benchmark/benchmark.h>

#include <cstdint>
#include <utility>
#include <vector>

#include <anima/kernels/cpu/nms.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/nms.hpp>

#include "nms_box_tensors.hpp"
#include "nms_boxes.hpp"

namespace {

namespace kc = anima::kernels::cpu;
constexpr double kThreshold = 0.7;

void BM_nms(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const anima::bench::NmsBoxTensors in = anima::bench::nms_bench_box_tensors(n, anima::Device::cpu());
  std::int64_t kept = 0;
  for (auto _ : state) {
    const anima::Tensor keep = anima::nms(in.boxes, in.scores, kThreshold);
    kept = keep.numel();
    benchmark::DoNotOptimize(keep.raw_data());
  }
  state.counters["kept"] = static_cast<double>(kept);
  state.SetItemsProcessed(state.iterations() * n);
}

// The boxes of bench/nms_boxes.hpp with their score order (what the op computes before its kernel),
// and room for the kept indices.
struct OrderedBoxes {
  std::vector<float> boxes, scores;
  std::vector<std::int64_t> order, keep;
};

OrderedBoxes ordered_boxes(std::int64_t n) {
  OrderedBoxes o;
  anima::bench::nms_bench_boxes(n, o.boxes, o.scores);
  o.order.resize(n);
  o.keep.resize(n);
  std::vector<std::pair<float, std::int64_t>> pairs(n);
  kc::nms_score_order(o.scores.data(), n, pairs.data(), o.order.data());
  return o;
}

// A greedy kernel alone (order precomputed): kernel(boxes, order, n, threshold, work, suppressed, keep),
// with work_per_box floats of scratch per box.
template <class Kernel>
void run_greedy(benchmark::State& state, Kernel kernel, std::int64_t work_per_box) {
  const std::int64_t n = state.range(0);
  OrderedBoxes o = ordered_boxes(n);
  std::vector<float> work(work_per_box * n);
  std::vector<std::uint8_t> suppressed(n);
  for (auto _ : state)
    benchmark::DoNotOptimize(
        kernel(o.boxes.data(), o.order.data(), n, kThreshold, work.data(), suppressed.data(), o.keep.data()));
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_nms_greedy(benchmark::State& state) {
  run_greedy(
      state, [](auto... a) { return kc::nms_greedy(a...); }, 1);
}

void BM_nms_greedy_sorted(benchmark::State& state) {
  run_greedy(
      state, [](auto... a) { return kc::nms_greedy_sorted(a...); }, 5);
}

void BM_nms_mask_blocks(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  OrderedBoxes o = ordered_boxes(n);
  std::vector<float> sorted(4 * n);
  for (std::int64_t p = 0; p < n; ++p)
    for (int k = 0; k < 4; ++k) sorted[4 * p + k] = o.boxes[4 * o.order[p] + k];
  const std::int64_t blocks = anima::kernels::nms_blocks(n);
  std::vector<std::uint64_t> mask(n * blocks), removed(blocks);
  for (auto _ : state) {
    kc::nms_mask_blocks(sorted.data(), n, kThreshold, mask.data());
    benchmark::DoNotOptimize(kc::nms_reduce_mask(mask.data(), o.order.data(), n, removed.data(), o.keep.data()));
  }
  state.SetItemsProcessed(state.iterations() * n);
}

BENCHMARK(BM_nms)->Arg(1000)->Arg(5000)->Arg(20000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_nms_greedy)->Arg(1000)->Arg(5000)->Arg(20000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_nms_greedy_sorted)->Arg(1000)->Arg(5000)->Arg(20000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_nms_mask_blocks)->Arg(1000)->Arg(5000)->Unit(benchmark::kMillisecond);

}  // namespace
