// bench/roi_align_shapes.hpp — the Mask R-CNN RoIAlign shapes that bench/roi_align_bench.cpp,
// bench/cuda_roi_align_bench.cu and bench/compare_roi_align.py (which mirrors this file) time.
//
//   single   one map [2, 256, 50, 50] (stride 16 of an 800x800 image, spatial_scale 1/16),
//            1024 RoIs (512 per image), 14x14, sampling 2: the "1024 RoIs x 256 x 14x14" case.
//   box      MultiScaleRoIAlign over FPN maps 200, 100, 50, 25 (256 channels, batch 2) of 800x800
//            images, 1000 RoIs (500 per image), 7x7, sampling 2 (the box head at test time).
//   mask     the same maps, 2 x 512 RoIs, 14x14, sampling 2 (the mask head).
// aligned = false (torchvision's Mask R-CNN). Box j of image i (x1, y1, x2, y2) in image pixels:
//   u_m = mix32(j·2654435761 + m·40503 + i·97) / 2^32 for m = 0..3 (mix32: murmur3's finaliser),
//   size = 16·2^(5.6·u_0) (16 .. ~780), ratio = 2^(2·u_1 - 1), w = size·sqrt(ratio), h = size / sqrt(ratio),
//   centre (800·u_2, 800·u_3): boxes cover every FPN level and some stick out of the image.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace anima::bench {

struct RoiAlignCase {
  std::string name;
  std::vector<std::int64_t> map_sizes;  // square maps, finest first
  std::int64_t channels = 256, batch = 2, rois_per_image = 512, out = 14, sampling = 2;
};

inline std::vector<RoiAlignCase> roi_align_cases() {
  return {
      {"single", {50}, 256, 2, 512, 14, 2},
      {"box", {200, 100, 50, 25}, 256, 2, 500, 7, 2},
      {"mask", {200, 100, 50, 25}, 256, 2, 512, 14, 2},
  };
}

inline std::uint32_t mix32(std::uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// [K, 4] boxes of image i, flat.
inline std::vector<double> bench_boxes(std::int64_t image, std::int64_t count) {
  std::vector<double> b;
  for (std::int64_t j = 0; j < count; ++j) {
    double u[4];
    for (std::uint32_t m = 0; m < 4; ++m)
      u[m] = mix32(static_cast<std::uint32_t>(j) * 2654435761u + m * 40503u + static_cast<std::uint32_t>(image) * 97u) /
             4294967296.0;
    const double size = 16.0 * std::exp2(5.6 * u[0]), ratio = std::exp2(2.0 * u[1] - 1.0);
    const double w = size * std::sqrt(ratio), h = size / std::sqrt(ratio), cx = 800.0 * u[2], cy = 800.0 * u[3];
    b.insert(b.end(), {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2});
  }
  return b;
}

}  // namespace anima::bench
