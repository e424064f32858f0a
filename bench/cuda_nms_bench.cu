// NMS benchmarks (CUDA, float32) on RPN-like boxes (bench/nms_boxes.hpp): 1000, 5000, 20000 boxes,
// IoU threshold 0.7, boxes and scores already on the device.
//
//   BM_nms_cuda/<n>              the op anima::nms on cuda:0 (anima/cuda/nms.cuh nms): radix sort of the
//                                scores, gather, nms_mask_v1 and the greedy pass all on the device; the
//                                count and keep list copied back, the result copied to the device. What
//                                bench/compare_nms.py --cuda compares with torchvision.ops.nms.
//   BM_nms_cuda_host_reduce/<n>  the kernel entry anima::cuda::nms_host_reduce (same sort and mask on the
//                                device, the mask (8·n·n/64 bytes: 50 MB at 20000) copied back and reduced
//                                on the host), for comparison; not parsed by compare_nms.py.
// Wall time (UseRealTime): both synchronise (they read the count / the mask on the host).
//
// Run: anima_bench_cuda_nms ; compare: python3 bench/compare_nms.py --cuda
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/cuda/backend.cuh>
#include <anima/ops/factory.hpp>
#include <anima/ops/nms.hpp>

#include "nms_boxes.hpp"

namespace {

void BM_nms_cuda(benchmark::State& state) {
  if (!anima::cuda_is_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const std::int64_t n = state.range(0);
  std::vector<float> b, s;
  anima::bench::nms_bench_boxes(n, b, s);
  const anima::Device dev = anima::Device::cuda(0);
  const anima::Tensor boxes = anima::from_vector(b, {n, 4}, dev), scores = anima::from_vector(s, {n}, dev);
  std::int64_t kept = 0;
  for (auto _ : state) {
    const anima::Tensor keep = anima::nms(boxes, scores, 0.7);
    anima::synchronize(dev);
    kept = keep.numel();
  }
  state.counters["kept"] = static_cast<double>(kept);
  state.SetItemsProcessed(state.iterations() * n);
}

BENCHMARK(BM_nms_cuda)->Arg(1000)->Arg(5000)->Arg(20000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_nms_cuda_host_reduce(benchmark::State& state) {
  if (!anima::cuda_is_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const std::int64_t n = state.range(0);
  std::vector<float> b, s;
  anima::bench::nms_bench_boxes(n, b, s);
  const anima::Device dev = anima::Device::cuda(0);
  const anima::Tensor boxes = anima::from_vector(b, {n, 4}, dev), scores = anima::from_vector(s, {n}, dev);
  std::vector<std::int64_t> keep(static_cast<std::size_t>(n));
  std::int64_t kept = 0;
  for (auto _ : state) {
    kept = anima::cuda::nms_host_reduce(dev, anima::DType::Float32, boxes.raw_data(), scores.raw_data(), n, 0.7,
                                        keep.data());
    benchmark::DoNotOptimize(keep.data());
  }
  state.counters["kept"] = static_cast<double>(kept);
  state.SetItemsProcessed(state.iterations() * n);
}

BENCHMARK(BM_nms_cuda_host_reduce)->Arg(1000)->Arg(5000)->Arg(20000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
