// paste_masks_in_image benchmark (CPU, float32): R = 100 soft 28x28 masks pasted into an 800x800
// image (Mask R-CNN's post-processing of one COCO-sized image), boxes 20..300 px, some crossing the borders.
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
#include <random>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/detection/paste_masks.hpp>
#include <anima/kernels/cpu/paste_masks.hpp>
#include <anima/ops/factory.hpp>

namespace {

namespace kc = anima::kernels::cpu;
constexpr std::int64_t kMasks = 100, kM = 28, kImage = 800;

struct Problem {
  std::vector<float> masks, boxes;  // [R, M, M], [R, 4]
};

Problem make_problem() {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  Problem p;
  p.masks.resize(static_cast<std::size_t>(kMasks * kM * kM));
  for (float& v : p.masks) v = unit(rng);
  for (std::int64_t r = 0; r < kMasks; ++r) {
    const float w = 20.0f + 280.0f * unit(rng), h = 20.0f + 280.0f * unit(rng);
    const float x1 = -40.0f + (kImage + 40.0f - w * 0.5f) * unit(rng), y1 = -40.0f + (kImage + 40.0f - h * 0.5f) * unit(rng);
    p.boxes.insert(p.boxes.end(), {x1, y1, x1 + w, y1 + h});
  }
  return p;
}

anima::kernels::PasteMasksGeometry geometry() {
  anima::kernels::PasteMasksGeometry g;
  g.masks = kMasks;
  g.mask_size = kM;
  g.padding = 1;
  g.image_h = g.image_w = kImage;
  return g;
}

void set_bytes(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * (kMasks * kImage * kImage + kMasks * kM * kM) *
                          static_cast<std::int64_t>(sizeof(float)));
}

enum class Version { Reference, Rows };

void BM_paste_masks(benchmark::State& state, Version v) {
  const Problem p = make_problem();
  const auto g = geometry();
  const anima::Tensor boxes = anima::from_vector(p.boxes, {kMasks, 4});
  const std::vector<std::int64_t> ib = anima::detail::paste_integer_boxes(boxes, g);
  std::vector<float> out(static_cast<std::size_t>(kMasks * kImage * kImage));
  for (auto _ : state) {
    if (v == Version::Reference)
      kc::paste_masks_reference(p.masks.data(), ib.data(), g, out.data());
    else
      kc::paste_masks_rows(p.masks.data(), ib.data(), g, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state);
}
BENCHMARK_CAPTURE(BM_paste_masks, reference, Version::Reference)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_paste_masks, rows, Version::Rows)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_paste_masks_op(benchmark::State& state) {
  const Problem p = make_problem();
  const anima::Tensor masks = anima::from_vector(p.masks, {kMasks, 1, kM, kM});
  const anima::Tensor boxes = anima::from_vector(p.boxes, {kMasks, 4});
  for (auto _ : state) {
    anima::Tensor out = anima::paste_masks_in_image(masks, boxes, kImage, kImage);
    benchmark::DoNotOptimize(out.raw_data());
  }
  set_bytes(state);
}
BENCHMARK(BM_paste_masks_op)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
