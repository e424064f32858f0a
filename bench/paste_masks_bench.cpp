// paste_masks_in_image benchmark (CPU, float32): R = 100 soft 28x28 masks pasted into an 800x800
// image (Mask R-CNN's post-processing of one COCO-sized image), boxes 20..300 px, some crossing the
// borders (bench/paste_masks_problem.hpp).
//
//   BM_paste_masks/<version>    version: reference (every output pixel through paste_pixel, one thread)
//                               or rows (zero each plane, then only the box's pixels; masks in parallel
//                               on the thread pool; ANIMA_NUM_THREADS sets its size)
//   BM_paste_masks_op           the op (anima/detection/paste_masks.hpp): integer boxes on the host,
//                               output allocation, the rows kernel
// bytes_per_second counts the output written once (R·800·800·4 bytes = 256 MB) plus the masks read once:
// the op is bound by writing the mostly-zero output planes.
// Wall time (UseRealTime).
//
// Run: anima_bench_paste_masks [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/detection/paste_masks.hpp>
#include <anima/kernels/cpu/paste_masks.hpp>
#include <anima/ops/factory.hpp>

#include "paste_masks_problem.hpp"

namespace {

namespace kc = anima::kernels::cpu;
using anima::bench::kPasteImage;
using anima::bench::kPasteMasks;
using anima::bench::kPasteMaskSize;

void set_bytes(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * anima::bench::paste_masks_bytes());
}

enum class Version { Reference, Rows };

void BM_paste_masks(benchmark::State& state, Version v) {
  const anima::bench::PasteMasksProblem p = anima::bench::make_paste_masks_problem();
  const auto g = anima::bench::paste_masks_geometry();
  const anima::Tensor boxes = anima::from_vector(p.boxes, {kPasteMasks, 4});
  const std::vector<std::int64_t> ib = anima::detail::paste_integer_boxes(boxes, g);
  std::vector<float> out(static_cast<std::size_t>(kPasteMasks * kPasteImage * kPasteImage));
  for (auto _ : state) {
    if (v == Version::Reference)
      kc::paste_masks_reference(p.masks.data(), ib.data(), g, out.data());
    else
      kc::paste_masks_rows(p.masks.data(), ib.data(), g, out.data(), anima::default_parallel());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state);
}
BENCHMARK_CAPTURE(BM_paste_masks, reference, Version::Reference)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_paste_masks, rows, Version::Rows)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_paste_masks_op(benchmark::State& state) {
  const anima::bench::PasteMasksProblem p = anima::bench::make_paste_masks_problem();
  const anima::Tensor masks = anima::from_vector(p.masks, {kPasteMasks, 1, kPasteMaskSize, kPasteMaskSize});
  const anima::Tensor boxes = anima::from_vector(p.boxes, {kPasteMasks, 4});
  for (auto _ : state) {
    anima::Tensor out = anima::paste_masks_in_image(masks, boxes, kPasteImage, kPasteImage);
    benchmark::DoNotOptimize(out.raw_data());
  }
  set_bytes(state);
}
BENCHMARK(BM_paste_masks_op)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
