// tests/ops/interpolate_cases.hpp — the interpolate options the interpolate tests share
// (tests/ops/interpolate_test.cpp on every backend, tests/core/interpolate_kernels_test.cpp for the CPU
// kernels): nearest by size and by scale factor (integer and not), bilinear with and without
// align_corners, up and down.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <anima/ops/interpolate.hpp>

namespace anima::testing {

constexpr InterpolateMode kNearest = InterpolateMode::Nearest;
constexpr InterpolateMode kBilinear = InterpolateMode::Bilinear;

inline InterpolateOptions by_size(std::int64_t h, std::int64_t w, InterpolateMode mode, bool align = false) {
  InterpolateOptions o;
  o.size = std::array<std::int64_t, 2>{h, w};
  o.mode = mode;
  o.align_corners = align;
  return o;
}
inline InterpolateOptions by_scale(double sh, double sw, InterpolateMode mode, bool align = false) {
  InterpolateOptions o;
  o.scale_factor = std::array<double, 2>{sh, sw};
  o.mode = mode;
  o.align_corners = align;
  return o;
}

inline std::vector<InterpolateOptions> interpolate_cases() {
  return {by_size(7, 5, kNearest),
          by_scale(2, 2, kNearest),
          by_scale(1.7, 0.6, kNearest),
          by_size(9, 4, kBilinear),
          by_size(9, 4, kBilinear, true),
          by_scale(2, 1.5, kBilinear),
          by_scale(0.5, 2.5, kBilinear, true),
          by_size(3, 3, kBilinear),
          by_size(1, 6, kBilinear, true)};
}

}  // namespace anima::testing
