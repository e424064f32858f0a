// NMS benchmarks (CUDA, float32) on RPN-like boxes (bench/nms_boxes.hpp): 1000, 5000, 20000 boxes,
// IoU threshold 0.7, boxes and scores already on the device.
//
//   BM_nms_cuda/<n>              the op anima::nms on cuda:0 (anima/backends/cuda/nms.cuh nms): radix sort of the
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

#include <anima/core/dispatch.hpp>
#include <anima/backends/cuda/backend.cuh>
#include <anima/ops/nms.hpp>

#include "cuda_device_required.cuh"
#include "nms_box_tensors.hpp"

namespace {

const anima::Device kDevice = anima::Device::cuda(0);

void BM_nms_cuda(benchmark::State& state) {
  if (anima::bench::skip_without_cuda_device(state)) return;
  const std::int64_t n = state.range(0);
  const anima::bench::NmsBoxTensors in = anima::bench::nms_bench_box_tensors(n, kDevice);
  std::int64_t kept = 0;
  for (auto _ : state) {
    const anima::Tensor keep = anima::nms(in.boxes, in.scores, 0.7);
    anima::synchronize(kDevice);
    kept = keep.numel();
  }
  state.counters["kept"] = static_cast<double>(kept);
  state.SetItemsProcessed(state.iterations() * n);
}

BENCHMARK(BM_nms_cuda)->Arg(1000)->Arg(5000)->Arg(20000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_nms_cuda_host_reduce(benchmark::State& state) {
  if (anima::bench::skip_without_cuda_device(state)) return;
  const std::int64_t n = state.range(0);
  const anima::bench::NmsBoxTensors in = anima::bench::nms_bench_box_tensors(n, kDevice);
  std::vector<std::int64_t> keep(static_cast<std::size_t>(n));
  std::int64_t kept = 0;
  for (auto _ : state) {
    kept = anima::cuda::nms_host_reduce(kDevice, anima::DType::Float32, in.boxes.raw_data(), in.scores.raw_data(), n,
                                        0.7, keep.data());
    benchmark::DoNotOptimize(keep.data());
  }
  state.counters["kept"] = static_cast<double>(kept);
  state.SetItemsProcessed(state.iterations() * n);
}

BENCHMARK(BM_nms_cuda_host_reduce)->Arg(1000)->Arg(5000)->Arg(20000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
