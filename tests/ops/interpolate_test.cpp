// interpolate (anima/ops/interpolate.hpp) on every backend: values worked out by hand from PyTorch
// 1.13's index rules (nearest by size and by scale factor, bilinear with and without align_corners),
// float32 against the float64 reference (forward and input gradient), gradcheck, and argument errors.
// The CPU kernels against their reference loops: tests/core/interpolate_kernels_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "ops/backend_harness.hpp"
#include "ops/interpolate_cases.hpp"

namespace anima {
namespace {

using namespace testing;  // tests/ops/backend_harness.hpp and the helpers it includes

ANIMA_BACKEND_SUITE(Interpolate);

TEST_P(Interpolate, NearestByHand) {
  const Tensor x = from_vector<double>({10, 11, 12, 13}, {1, 1, 1, 4}, options(DType::Float64));
  // By size 6: ratio 4/6, sources floor(i·2/3) = 0 0 1 2 2 3.
  EXPECT_EQ(to_vector<double>(interpolate(x, by_size(1, 6, kNearest))), (std::vector<double>{10, 10, 11, 12, 12, 13}));
  // By scale 1.7: output floor(4·1.7) = 6, ratio 1/1.7, sources floor(i/1.7) = 0 0 1 1 2 2.
  const Tensor y = interpolate(x, by_scale(1, 1.7, kNearest));
  EXPECT_EQ(y.shape(), (Shape{1, 1, 1, 6}));
  EXPECT_EQ(to_vector<double>(y), (std::vector<double>{10, 10, 11, 11, 12, 12}));
  // Down by size 2: ratio 2, sources 0 2.
  EXPECT_EQ(to_vector<double>(interpolate(x, by_size(1, 2, kNearest))), (std::vector<double>{10, 12}));
}

TEST_P(Interpolate, BilinearByHand) {
  const Tensor x = from_vector<double>({0, 4}, {1, 1, 1, 2}, options(DType::Float64));
  // Half-pixel: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (upper neighbour clamped to 1).
  EXPECT_EQ(to_vector<double>(interpolate(x, by_size(1, 4, kBilinear))), (std::vector<double>{0, 1, 3, 4}));
  // align_corners: sources 0, 1/3, 2/3, 1.
  const auto a = to_vector<double>(interpolate(x, by_size(1, 4, kBilinear, true)));
  const std::vector<double> ea = {0, 4.0 / 3, 8.0 / 3, 4};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(a[i], ea[i], 1e-12);
  // Scale factor 1.5 on width 3: ratio 1/1.5 (not 3/4): sources 0, 0.5, 7/6, 11/6.
  const Tensor z = from_vector<double>({0, 3, 6}, {1, 1, 1, 3}, options(DType::Float64));
  const auto b = to_vector<double>(interpolate(z, by_scale(1, 1.5, kBilinear)));
  const std::vector<double> eb = {0, 1.5, 3.5, 5.5};
  ASSERT_EQ(b.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(b[i], eb[i], 1e-12);
  // Same size: a copy.
  const Tensor r = to_backend(uniform64({2, 3, 4, 5}, 3, -1, 1, false));
  EXPECT_EQ(to_vector<double>(interpolate(r, by_size(4, 5, kBilinear))), to_vector<double>(r));
}

TEST_P(Interpolate, Gradcheck) {
  for (Shape s : {Shape{1, 3, 4, 5}, Shape{2, 2, 5, 3}})
    for (const auto& o : interpolate_cases()) {
      const Tensor x = uniform64(s, 7);
      expect_gradcheck(shape_str(s), [&](const std::vector<Tensor>& in) { return interpolate(in[0], o); }, {x});
    }
}

// float32 against float64 of the same values. Nearest copies values: exact, as long as the float ratio
// picks the same source as the double one (it does for these sizes: no source coordinate lands on an
// integer). Bilinear: the ratio is rounded to float (T(in) / T(out), as PyTorch), so the source
// coordinate (up to max(H, W) pixels; formed in double from that ratio) and each weight are off by up to
// 2^-24·max(H, W) plus the weight's own rounding, and an output (a difference of values within [-1, 1)
// times a weight, twice) by less than 2^-21·max(H, W); plus the final rounding (1e-6 of the scale). A
// coordinate that lands exactly on an integer in one type may land just below it in the other: the
// neighbouring cell with a weight of ~1e-7, the same value to float rounding. The backward adds up to
// ~9 contributions of |λ·g| per input pixel, in an atomic (varying) order on CUDA: <= n·2^-24 of their
// magnitudes, 1e-5 of the scale more.
Tolerance interp_tolerance(const Shape& s) {
  const double coordinate = std::ldexp(1.0, -21) * static_cast<double>(std::max(s[2], s[3]));
  return {1e-6 + coordinate, 1e-5 + coordinate};
}

TEST_P(Interpolate, Float32MatchesFloat64Reference) {
  const std::vector<InterpolateOptions> cases = {by_size(13, 9, kNearest),
                                                 by_scale(2, 2, kNearest),
                                                 by_scale(1.7, 0.6, kNearest),
                                                 by_size(13, 9, kBilinear),
                                                 by_size(13, 9, kBilinear, true),
                                                 by_scale(2, 1.5, kBilinear),
                                                 by_scale(0.5, 2.5, kBilinear, true),
                                                 by_size(1, 6, kBilinear, true)};
  for (Shape s : {Shape{2, 3, 5, 6}, Shape{1, 3, 6, 7}, Shape{2, 5, 9, 4}, Shape{8, 256, 25, 25}}) {
    for (const auto& o : cases)
      expect_matches_reference(
          "interpolate " + shape_str(s), [&](auto& in) { return interpolate(in[0], o); }, {uniform(s, 1)},
          interp_tolerance(s));
    for (const auto& o : interpolate_cases())
      expect_matches_reference(
          "interpolate " + shape_str(s), [&](auto& in) { return interpolate(in[0], o); }, {uniform(s, 9)},
          interp_tolerance(s));
  }
}

TEST_P(Interpolate, Errors) {
  const Tensor x = zeros({2, 3, 4, 4}, options());
  InterpolateOptions both = by_size(8, 8, kNearest);
  both.scale_factor = std::array<double, 2>{2, 2};
  expect_error([&] { interpolate(x, both); }, {"anima::interpolate", "exactly one of size and scale_factor", "both"});
  expect_error([&] { interpolate(x, InterpolateOptions{}); }, {"anima::interpolate", "neither", "[2, 3, 4, 4]"});
  expect_error([&] { interpolate(x, by_size(0, 3, kNearest)); }, {"anima::interpolate", "size", "[2, 3, 4, 4]"});
  expect_error([&] { interpolate(x, by_scale(-1, 2, kBilinear)); }, {"anima::interpolate", "scale_factor"});
  expect_error([&] { interpolate(x, by_scale(0.1, 2, kBilinear)); }, {"anima::interpolate", "empty output"});
  expect_error([&] { interpolate(x, by_size(8, 8, kNearest, true)); }, {"anima::interpolate", "align_corners"});
  expect_error(
      [&] {
        interpolate(zeros({3, 4, 4}, options()), by_size(8, 8, kNearest));
      },
      {"anima::interpolate", "4-D", "[3, 4, 4]"});
  expect_error(
      [&] {
        interpolate(zeros({1, 1, 2, 2}, options(DType::Int64)), by_size(4, 4, kNearest));
      },
      {"anima::interpolate", "int64"});
  // Without a CUDA device a CUDA tensor is refused by name before any kernel runs.
  if (!cuda_is_available()) {
    const Tensor on_gpu = foreign({2, 3, 4, 4});
    expect_error([&] { interpolate(on_gpu, by_size(8, 8, kNearest)); }, {"anima::interpolate", "cuda:0"});
  }
}

}  // namespace
}  // namespace anima
