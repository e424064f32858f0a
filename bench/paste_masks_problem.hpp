// bench/paste_masks_problem.hpp — the problem of the paste_masks_in_image benchmarks
// (bench/paste_masks_bench.cpp on the CPU, bench/cuda_paste_masks_bench.cu on the GPU), so that their
// GB/s compare: R = 100 soft 28x28 masks (uniform in [0, 1)) pasted into an 800x800 image (Mask
// R-CNN's post-processing of one COCO-sized image), boxes 20..300 px, some crossing the borders
// (std::mt19937 seed 7), padding 1.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include <anima/detection/paste_masks.hpp>

namespace anima::bench {

constexpr std::int64_t kPasteMasks = 100, kPasteMaskSize = 28, kPasteImage = 800;

struct PasteMasksProblem {
  std::vector<float> masks, boxes;  // [R, M, M], [R, 4] (x1, y1, x2, y2)
};

inline PasteMasksProblem make_paste_masks_problem() {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  PasteMasksProblem p;
  p.masks.resize(static_cast<std::size_t>(kPasteMasks * kPasteMaskSize * kPasteMaskSize));
  for (float& v : p.masks) v = unit(rng);
  for (std::int64_t r = 0; r < kPasteMasks; ++r) {
    const float w = 20.0f + 280.0f * unit(rng), h = 20.0f + 280.0f * unit(rng);
    const float x1 = -40.0f + (kPasteImage + 40.0f - w * 0.5f) * unit(rng);
    const float y1 = -40.0f + (kPasteImage + 40.0f - h * 0.5f) * unit(rng);
    p.boxes.insert(p.boxes.end(), {x1, y1, x1 + w, y1 + h});
  }
  return p;
}

inline kernels::PasteMasksGeometry paste_masks_geometry() {
  kernels::PasteMasksGeometry g;
  g.masks = kPasteMasks;
  g.mask_size = kPasteMaskSize;
  g.padding = 1;
  g.image_h = g.image_w = kPasteImage;
  return g;
}

// Bytes counted per paste (bytes_per_second): the output written once (R·800·800·4 bytes = 256 MB)
// plus the masks read once; the op is bound by writing the mostly-zero output planes.
inline std::int64_t paste_masks_bytes() {
  return (kPasteMasks * kPasteImage * kPasteImage + kPasteMasks * kPasteMaskSize * kPasteMaskSize) *
         static_cast<std::int64_t>(sizeof(float));
}

}  // namespace anima::bench
