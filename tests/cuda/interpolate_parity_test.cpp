// CPU-vs-CUDA parity of interpolate (anima/ops/interpolate.hpp), nearest by size and by scale factor,
// bilinear with and without align_corners, forward and input gradient (skipped without a CUDA device).
#include <gtest/gtest.h>

#include <vector>

#include <anima/core/copy.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/interpolate.hpp>

#include "parity.hpp"

namespace anima {
namespace {

using testing::expect_parity;
using testing::Tolerance;

Tensor input(const Shape& s, std::uint64_t seed) {
  Generator g(seed);
  return rand(s, TensorOptions().with_requires_grad(true), g, -1.0, 1.0);
}

InterpolateOptions by_size(std::int64_t h, std::int64_t w, InterpolateMode mode, bool align = false) {
  InterpolateOptions o;
  o.size = std::array<std::int64_t, 2>{h, w};
  o.mode = mode;
  o.align_corners = align;
  return o;
}
InterpolateOptions by_scale(double sh, double sw, InterpolateMode mode, bool align = false) {
  InterpolateOptions o;
  o.scale_factor = std::array<double, 2>{sh, sw};
  o.mode = mode;
  o.align_corners = align;
  return o;
}

// Indices come from the same float formulas on both sides; bilinear values are 4 products (an FMA on
// the GPU changes the last ulp, and may move a source coordinate that lands exactly on an integer to
// the neighbouring cell with a weight of ~1e-7: the same value to float rounding). The backward adds up
// to ~9 contributions of |λ·g| <= ~3 per input pixel in an atomic (varying) order: a reordered float
// sum differs by <= n·2^-24·Σ|t| ~ 5e-6 where the terms cancel, so absolute 1e-5, relative 1e-5.
constexpr Tolerance kInterp{1e-5, 1e-5};

TEST(CudaParity, Interpolate) {
  ANIMA_REQUIRE_CUDA();
  constexpr auto kN = InterpolateMode::Nearest;
  constexpr auto kB = InterpolateMode::Bilinear;
  const std::vector<InterpolateOptions> cases = {
      by_size(13, 9, kN),  by_scale(2, 2, kN),       by_scale(1.7, 0.6, kN), by_size(13, 9, kB),
      by_size(13, 9, kB, true), by_scale(2, 1.5, kB), by_scale(0.5, 2.5, kB, true), by_size(1, 6, kB, true)};
  for (Shape s : {Shape{1, 3, 6, 7}, Shape{2, 5, 9, 4}, Shape{8, 256, 25, 25}})
    for (const auto& o : cases)
      expect_parity("interpolate " + shape_str(s), [&](auto& in) { return interpolate(in[0], o); }, {input(s, 1)},
                    kInterp);
}

}  // namespace
}  // namespace anima
