// interpolate (anima/ops/interpolate.hpp): parallel CPU kernels against the reference loops, values
// worked out by hand from PyTorch 1.13's index rules (nearest by size and by scale factor, bilinear
// with and without align_corners), gradients by gradcheck (float64, tolerances in
// anima/autograd/gradcheck.hpp), and argument errors.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/kernels/cpu/interpolate.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/interpolate.hpp>

#include "expect_error.hpp"

namespace anima {
namespace {

Tensor f64(const Shape& s, std::uint64_t seed, double lo = -1.0, double hi = 1.0, bool grad = true) {
  Generator g(seed);
  return rand(s, TensorOptions(DType::Float64).with_requires_grad(grad), g, lo, hi);
}

using anima::testing::expect_error;

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

constexpr InterpolateMode kNearest = InterpolateMode::Nearest;
constexpr InterpolateMode kBilinear = InterpolateMode::Bilinear;

std::vector<InterpolateOptions> cases() {
  return {by_size(7, 5, kNearest),         by_scale(2, 2, kNearest),          by_scale(1.7, 0.6, kNearest),
          by_size(9, 4, kBilinear),        by_size(9, 4, kBilinear, true),    by_scale(2, 1.5, kBilinear),
          by_scale(0.5, 2.5, kBilinear, true), by_size(3, 3, kBilinear),      by_size(1, 6, kBilinear, true)};
}

TEST(Interpolate, PlanesKernelsMatchReference) {
  namespace kc = kernels::cpu;
  const Tensor x = f64({2, 5, 6, 7}, 1, -1, 1, false);
  for (const auto& o : cases()) {
    const Tensor y = interpolate(x, o);
    kernels::Interp2dGeometry g;
    g.planes = 10;
    g.in_h = 6;
    g.in_w = 7;
    g.out_h = y.shape()[2];
    g.out_w = y.shape()[3];
    if (o.scale_factor) {
      g.scale_h = (*o.scale_factor)[0];
      g.scale_w = (*o.scale_factor)[1];
    }
    g.align_corners = o.align_corners;
    const auto mode = o.mode == kNearest ? kernels::InterpMode::Nearest : kernels::InterpMode::Bilinear;
    std::vector<double> y_ref(y.numel()), y_fast(y.numel()), gx_ref(x.numel()), gx_fast(x.numel());
    kc::interpolate2d_forward_reference(mode, x.data<double>(), g, y_ref.data());
    kc::interpolate2d_forward_planes(mode, x.data<double>(), g, y_fast.data());
    EXPECT_EQ(y_ref, y_fast);
    EXPECT_EQ(y_ref, to_vector<double>(y));
    kc::interpolate2d_backward_reference(mode, y_ref.data(), g, gx_ref.data());
    kc::interpolate2d_backward_planes(mode, y_ref.data(), g, gx_fast.data());
    EXPECT_EQ(gx_ref, gx_fast);
  }
}

TEST(Interpolate, NearestByHand) {
  const Tensor x = from_vector<double>({10, 11, 12, 13}, {1, 1, 1, 4});
  // By size 6: ratio 4/6, sources floor(i·2/3) = 0 0 1 2 2 3.
  EXPECT_EQ(to_vector<double>(interpolate(x, by_size(1, 6, kNearest))), (std::vector<double>{10, 10, 11, 12, 12, 13}));
  // By scale 1.7: output floor(4·1.7) = 6, ratio 1/1.7, sources floor(i/1.7) = 0 0 1 1 2 2.
  const Tensor y = interpolate(x, by_scale(1, 1.7, kNearest));
  EXPECT_EQ(y.shape(), (Shape{1, 1, 1, 6}));
  EXPECT_EQ(to_vector<double>(y), (std::vector<double>{10, 10, 11, 11, 12, 12}));
  // Down by size 2: ratio 2, sources 0 2.
  EXPECT_EQ(to_vector<double>(interpolate(x, by_size(1, 2, kNearest))), (std::vector<double>{10, 12}));
}

TEST(Interpolate, BilinearByHand) {
  const Tensor x = from_vector<double>({0, 4}, {1, 1, 1, 2});
  // Half-pixel: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (upper neighbour clamped to 1).
  EXPECT_EQ(to_vector<double>(interpolate(x, by_size(1, 4, kBilinear))), (std::vector<double>{0, 1, 3, 4}));
  // align_corners: sources 0, 1/3, 2/3, 1.
  const auto a = to_vector<double>(interpolate(x, by_size(1, 4, kBilinear, true)));
  const std::vector<double> ea = {0, 4.0 / 3, 8.0 / 3, 4};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(a[i], ea[i], 1e-12);
  // Scale factor 1.5 on width 3: ratio 1/1.5 (not 3/4): sources 0, 0.5, 7/6, 11/6.
  const Tensor z = from_vector<double>({0, 3, 6}, {1, 1, 1, 3});
  const auto b = to_vector<double>(interpolate(z, by_scale(1, 1.5, kBilinear)));
  const std::vector<double> eb = {0, 1.5, 3.5, 5.5};
  ASSERT_EQ(b.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(b[i], eb[i], 1e-12);
  // Same size: a copy.
  const Tensor r = f64({2, 3, 4, 5}, 3, -1, 1, false);
  EXPECT_EQ(to_vector<double>(interpolate(r, by_size(4, 5, kBilinear))), to_vector<double>(r));
}

TEST(Interpolate, Gradcheck) {
  for (Shape s : {Shape{1, 3, 4, 5}, Shape{2, 2, 5, 3}})
    for (const auto& o : cases()) {
      const Tensor x = f64(s, 7);
      auto r = gradcheck([&](const std::vector<Tensor>& in) { return interpolate(in[0], o); }, {x});
      EXPECT_TRUE(r.ok) << shape_str(s) << "\n" << r.report;
    }
}

TEST(Interpolate, Float32MatchesFloat64) {
  const Tensor x = f64({2, 3, 5, 6}, 9, -1, 1, false);
  for (const auto& o : cases()) {
    const auto a = to_vector<double>(interpolate(x, o));
    const auto b = to_vector<double>(interpolate(cast_copy(x, DType::Float32), o));
    // Indices from a float ratio can differ from the double ones only at exact .0 boundaries, which
    // these sizes avoid; the weights differ by float rounding (~1e-7).
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6);
  }
}

TEST(Interpolate, Errors) {
  const Tensor x = zeros({2, 3, 4, 4});
  InterpolateOptions both = by_size(8, 8, kNearest);
  both.scale_factor = std::array<double, 2>{2, 2};
  expect_error([&] { interpolate(x, both); }, {"anima::interpolate", "exactly one of size and scale_factor", "both"});
  expect_error([&] { interpolate(x, InterpolateOptions{}); }, {"anima::interpolate", "neither", "[2, 3, 4, 4]"});
  expect_error([&] { interpolate(x, by_size(0, 3, kNearest)); }, {"anima::interpolate", "size", "[2, 3, 4, 4]"});
  expect_error([&] { interpolate(x, by_scale(-1, 2, kBilinear)); }, {"anima::interpolate", "scale_factor"});
  expect_error([&] { interpolate(x, by_scale(0.1, 2, kBilinear)); }, {"anima::interpolate", "empty output"});
  expect_error([&] { interpolate(x, by_size(8, 8, kNearest, true)); }, {"anima::interpolate", "align_corners"});
  expect_error([&] { interpolate(zeros({3, 4, 4}), by_size(8, 8, kNearest)); }, {"anima::interpolate", "4-D", "[3, 4, 4]"});
  expect_error([&] { interpolate(zeros({1, 1, 2, 2}, DType::Int64), by_size(4, 4, kNearest)); },
               {"anima::interpolate", "int64"});
  if (!cuda_is_available()) {
    float fake[96];
    const Tensor on_gpu = view_of_buffer(fake, {2, 3, 4, 4}, Device::cuda(0));
    expect_error([&] { interpolate(on_gpu, by_size(8, 8, kNearest)); }, {"anima::interpolate", "cuda:0"});
  }
}

}  // namespace
}  // namespace anima
