// tests/detect/roi_align_test.cpp — RoIAlign and RoIPool on the CPU: a value worked out by hand, the
// fast (CpuNhwc) kernels against the reference loops for every option (aligned, sampling ratio fixed /
// adaptive, boxes partly outside the map, degenerate and zero-size boxes, no RoIs), gradcheck in
// float64 (tolerances in anima/autograd/gradcheck.hpp), determinism, and bad inputs.
// Values against torchvision: tests/detect/roi_golden_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/roi_align.hpp>
#include <anima/ops/roi_pool.hpp>

#include "core/expect_error.hpp"

namespace anima {
namespace roi_align_test {

using testing::contains;
using testing::error_of;

// RoIs for a [2, C, 9, 11] map at spatial_scale 0.5 (image 18 x 22): inside, partly outside on every
// side, larger than the map, degenerate (zero width / height / both), inverted, tiny.
std::vector<double> test_rois() {
  return {
      0, 2.0,   3.0,   12.5, 14.0,  // inside
      1, -6.0,  -4.0,  5.0,  7.0,   // top-left outside
      1, 15.0,  10.0,  30.0, 25.0,  // bottom-right outside
      0, -10.0, -10.0, 40.0, 40.0,  // covers more than the map
      1, 4.0,   4.0,   4.0,  9.0,   // zero width
      0, 3.0,   8.0,   11.0, 8.0,   // zero height
      1, 7.0,   7.0,   7.0,  7.0,   // a point
      0, 9.0,   9.0,   5.0,  6.0,   // inverted (x2 < x1)
      1, 21.9,  17.9,  22.0, 18.0,  // tiny box at the far corner
      0, 0.3,   0.7,   1.1,  1.6,   // small box near the origin
  };
}

Tensor rois_tensor(DType dtype) {
  const std::vector<double> r = test_rois();
  return cast_copy(from_vector<double>(r, {static_cast<std::int64_t>(r.size() / 5), 5}), dtype);
}

void expect_near_all(const Tensor& a, const Tensor& b, double tol, const char* what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  const auto va = to_vector<double>(a), vb = to_vector<double>(b);
  double scale = 0;
  for (double v : vb) scale = std::max(scale, std::fabs(v));
  int bad = 0;
  for (std::size_t i = 0; i < va.size(); ++i)
    if (!(std::fabs(va[i] - vb[i]) <= tol * std::max(scale, 1e-30)) && bad++ < 5)
      ADD_FAILURE() << what << " element " << i << ": " << va[i] << " vs " << vb[i];
}

TEST(RoiAlign, HandWorkedValue) {
  // 1 x 1 x 3 x 3 map x = [[0,1,2],[3,4,5],[6,7,8]] (x[h][w] = 3h + w, bilinear reproduces it exactly).
  std::vector<double> v(9);
  for (int i = 0; i < 9; ++i) v[static_cast<std::size_t>(i)] = i;
  Tensor x = from_vector<double>(v, {1, 1, 3, 3}, TensorOptions(DType::Float64));
  // Box (0.5, 0.5)-(1.5, 1.5), one bin, sampling 1: the sample sits at (1, 1): value 4.
  Tensor rois = from_vector<double>({0, 0.5, 0.5, 1.5, 1.5}, {1, 5}, TensorOptions(DType::Float64));
  EXPECT_DOUBLE_EQ(to_vector<double>(roi_align(x, rois, {1, 1}, 1.0, 1, false))[0], 4.0);
  // aligned: the box shifts by -0.5, the sample sits at (0.5, 0.5): 3·0.5 + 0.5 = 2.
  EXPECT_DOUBLE_EQ(to_vector<double>(roi_align(x, rois, {1, 1}, 1.0, 1, true))[0], 2.0);
  // Box (0,0)-(2,2), 2x2 bins, sampling 2: bin (0,0) samples at 0.25/0.75 -> mean position (0.5, 0.5):
  // 3·0.5 + 0.5 = 2.
  Tensor r2 = from_vector<double>({0, 0, 0, 2, 2}, {1, 5}, TensorOptions(DType::Float64));
  const auto y = to_vector<double>(roi_align(x, r2, {2, 2}, 1.0, 2, false));
  EXPECT_DOUBLE_EQ(y[0], 2.0);
  EXPECT_DOUBLE_EQ(y[3], 3 * 1.5 + 1.5);
  // A sample beyond the map (y > H) contributes 0 but still counts in the average: box far below.
  Tensor r3 = from_vector<double>({0, 0, 10, 1, 11}, {1, 5}, TensorOptions(DType::Float64));
  EXPECT_DOUBLE_EQ(to_vector<double>(roi_align(x, r3, {1, 1}, 1.0, 2, false))[0], 0.0);
}

struct Options {
  bool aligned;
  std::int64_t sampling;
  std::array<std::int64_t, 2> out;
  double scale;
};

std::vector<Options> all_options() {
  std::vector<Options> o;
  for (bool aligned : {false, true})
    for (std::int64_t s : {-1, 0, 1, 2, 3}) o.push_back({aligned, s, {3, 4}, 0.5});
  o.push_back({false, 2, {7, 7}, 0.5});
  o.push_back({true, -1, {1, 1}, 0.25});
  o.push_back({true, 2, {14, 14}, 1.0});
  return o;
}

void fast_vs_reference(DType dtype, std::int64_t channels, double tol) {
  Generator gen(7);
  Tensor x = randn({2, channels, 9, 11}, TensorOptions(dtype), gen);
  Tensor rois = rois_tensor(dtype);
  for (const Options& o : all_options()) {
    SCOPED_TRACE(::testing::Message() << "aligned " << o.aligned << " sampling " << o.sampling << " out " << o.out[0]
                                      << "x" << o.out[1] << " scale " << o.scale << " C " << channels);
    RoiAlignAlgorithms ref, fast;
    ref.cpu = {CpuRoiAlignForwardAlgorithm::Reference, CpuRoiAlignBackwardAlgorithm::Reference};
    fast.cpu = {CpuRoiAlignForwardAlgorithm::Nhwc, CpuRoiAlignBackwardAlgorithm::Nhwc};
    Tensor xr = contiguous_copy(x), xf = contiguous_copy(x);
    xr.set_requires_grad(true);
    xf.set_requires_grad(true);
    Tensor yr = roi_align(xr, rois, o.out, o.scale, o.sampling, o.aligned, ref);
    Tensor yf = roi_align(xf, rois, o.out, o.scale, o.sampling, o.aligned, fast);
    expect_near_all(yf, yr, tol, "forward");
    Tensor gy = randn(yr.shape(), TensorOptions(dtype), gen);
    backward(yr, gy);
    backward(yf, gy);
    expect_near_all(xf.grad(), xr.grad(), tol, "backward");
    // The output is not trivially zero: boxes overlapping the map produce values.
    double m = 0;
    for (double v : to_vector<double>(yr)) m = std::max(m, std::fabs(v));
    EXPECT_GT(m, 0.1);
  }
}

// Reference and fast differ only in the order of additions (and FMA): float64 ~1e-15 relative,
// float32 ~ a few ulps of the output scale over <= 4·grid² terms; 1e-12 and 1e-5 bound them.
TEST(RoiAlign, FastMatchesReferenceFloat64) { fast_vs_reference(DType::Float64, 5, 1e-12); }
TEST(RoiAlign, FastMatchesReferenceFloat32ManyChannels) { fast_vs_reference(DType::Float32, 67, 1e-5); }

TEST(RoiAlign, Gradcheck) {
  Generator gen(11);
  Tensor x = randn({2, 3, 9, 11}, TensorOptions(DType::Float64), gen);
  x.set_requires_grad(true);
  Tensor rois = rois_tensor(DType::Float64);
  for (const Options& o : all_options()) {
    for (auto bwd : {CpuRoiAlignBackwardAlgorithm::Reference, CpuRoiAlignBackwardAlgorithm::Nhwc}) {
      SCOPED_TRACE(::testing::Message() << "aligned " << o.aligned << " sampling " << o.sampling << " bwd "
                                        << roi_align_algorithm_name(bwd));
      RoiAlignAlgorithms alg;
      alg.cpu.backward = bwd;
      auto r = gradcheck(
          [&](const std::vector<Tensor>& in) {
            return roi_align(in[0], rois, o.out, o.scale, o.sampling, o.aligned, alg);
          },
          {x});
      EXPECT_TRUE(r.ok) << r.report;
    }
  }
}

TEST(RoiAlign, RoisGetNoGradient) {
  Tensor x = randn({1, 2, 5, 5}, TensorOptions(DType::Float64));
  x.set_requires_grad(true);
  Tensor rois = from_vector<double>({0, 1, 1, 3, 3}, {1, 5}, TensorOptions(DType::Float64));
  rois.set_requires_grad(true);
  backward(roi_align(x, rois, {2, 2}, 1.0, 2, false), ones({1, 2, 2, 2}, TensorOptions(DType::Float64)));
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(rois.grad().defined());
}

TEST(RoiAlign, EmptyRois) {
  Tensor x = randn({2, 3, 6, 6}, TensorOptions(DType::Float32));
  x.set_requires_grad(true);
  Tensor rois = Tensor::empty({0, 5}, TensorOptions(DType::Float32));
  Tensor y = roi_align(x, rois, {7, 7}, 1.0, 2, true);
  EXPECT_EQ(y.shape(), (Shape{0, 3, 7, 7}));
  backward(y, Tensor::empty({0, 3, 7, 7}, TensorOptions(DType::Float32)));
  for (double v : to_vector<double>(x.grad())) EXPECT_EQ(v, 0.0);
}

TEST(RoiAlign, ListOfBoxes) {
  Generator gen(3);
  Tensor x = randn({2, 4, 8, 8}, TensorOptions(DType::Float64), gen);
  Tensor b0 = from_vector<double>({1, 1, 5, 6, 0, 0, 3, 3}, {2, 4}, TensorOptions(DType::Float64));
  Tensor b1 = from_vector<double>({2, 1, 7, 4}, {1, 4}, TensorOptions(DType::Float64));
  Tensor rois =
      from_vector<double>({0, 1, 1, 5, 6, 0, 0, 0, 3, 3, 1, 2, 1, 7, 4}, {3, 5}, TensorOptions(DType::Float64));
  const auto a = to_vector<double>(roi_align(x, std::vector<Tensor>{b0, b1}, {2, 2}, 1.0, 2, false));
  const auto b = to_vector<double>(roi_align(x, rois, {2, 2}, 1.0, 2, false));
  EXPECT_EQ(a, b);
}

TEST(RoiAlign, DeterministicBackward) {
  Generator gen(5);
  Tensor x = randn({2, 33, 12, 12}, TensorOptions(DType::Float32), gen);
  std::vector<double> r;
  for (int k = 0; k < 40; ++k) {  // many overlapping RoIs
    const double x1 = (k * 7) % 9, y1 = (k * 5) % 8;
    r.insert(r.end(), {static_cast<double>(k % 2), x1, y1, x1 + 3 + k % 5, y1 + 2 + k % 4});
  }
  Tensor rois = cast_copy(from_vector<double>(r, {40, 5}), DType::Float32);
  Tensor gy = randn({40, 33, 5, 5}, TensorOptions(DType::Float32), gen);
  std::vector<float> first;
  for (int rep = 0; rep < 3; ++rep) {
    Tensor xi = contiguous_copy(x);
    xi.set_requires_grad(true);
    backward(roi_align(xi, rois, {5, 5}, 1.0, -1, true), gy);
    const auto g = to_vector<float>(xi.grad());
    if (rep == 0)
      first = g;
    else
      EXPECT_EQ(g, first) << "backward differs between runs";
  }
}

TEST(RoiAlign, BadInputs) {
  Tensor x = randn({2, 3, 6, 6}, TensorOptions(DType::Float32));
  auto rois_of = [](std::vector<double> v) {
    return cast_copy(from_vector<double>(v, {static_cast<std::int64_t>(v.size() / 5), 5}), DType::Float32);
  };
  const Tensor good = rois_of({0, 1, 1, 4, 4});
  EXPECT_TRUE(contains(error_of([&] {
                         roi_align(x, Tensor::empty({3, 4}, TensorOptions(DType::Float32)), {2, 2});
                       }),
                       "expected rois [K, 5]"));
  EXPECT_TRUE(contains(error_of([&] {
                         roi_align(x, Tensor::empty({5}, TensorOptions(DType::Float32)), {2, 2});
                       }),
                       "roi_align"));
  EXPECT_TRUE(contains(error_of([&] { roi_align(randn({3, 6, 6}), good, {2, 2}); }), "[N, C, H, W]"));
  EXPECT_TRUE(contains(error_of([&] { roi_align(x, cast_copy(good, DType::Float64), {2, 2}); }), "dtype"));
  EXPECT_TRUE(contains(error_of([&] { roi_align(x, good, {0, 2}); }), "output_size"));
  EXPECT_TRUE(contains(error_of([&] { roi_align(x, good, {2, 2}, -1.0); }), "spatial_scale"));
  const std::string oob = error_of([&] { roi_align(x, rois_of({0, 1, 1, 4, 4, 2, 1, 1, 4, 4}), {2, 2}); });
  EXPECT_TRUE(contains(oob, "RoI 1")) << oob;
  EXPECT_TRUE(contains(oob, "batch index 2")) << oob;
  EXPECT_TRUE(contains(error_of([&] { roi_align(x, rois_of({-1, 1, 1, 4, 4}), {2, 2}); }), "batch index -1"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(contains(error_of([&] { roi_align(x, rois_of({nan, 1, 1, 4, 4}), {2, 2}); }), "batch index"));
  EXPECT_TRUE(contains(error_of([&] { roi_align(x, rois_of({0, 1, nan, 4, 4}), {2, 2}); }), "non-finite"));
  EXPECT_TRUE(contains(error_of([&] { roi_align(x, rois_of({0, 1, 1, INFINITY, 4}), {2, 2}); }), "non-finite"));
  // A finite but absurd box with the adaptive grid: an Error naming it (no endless loop), while a fixed
  // sampling ratio keeps it (its samples fall outside the map: zeros).
  const Tensor huge = rois_of({0, 1, 1, 4, 4, 1, -1e12f, 0, 1e12f, 4});
  const std::string grid_error = error_of([&] { roi_align(x, huge, {2, 2}, 1.0, -1); });
  EXPECT_TRUE(contains(grid_error, "RoI 1")) << grid_error;
  EXPECT_TRUE(contains(grid_error, "samples per bin")) << grid_error;
  EXPECT_EQ(roi_align(x, huge, {2, 2}, 1.0, 2).shape(), (Shape{2, 3, 2, 2}));
  // A CUDA choice leaves the CPU on its own (Auto) algorithm.
  RoiAlignAlgorithms cuda_only;
  cuda_only.cuda = {CudaRoiAlignForwardAlgorithm::V1, CudaRoiAlignBackwardAlgorithm::Atomic};
  EXPECT_EQ(to_vector<double>(roi_align(x, good, {2, 2}, 1.0, -1, false, cuda_only)),
            to_vector<double>(roi_align(x, good, {2, 2}, 1.0, -1, false)));
  EXPECT_TRUE(contains(error_of([&] { roi_pool(x, rois_of({3, 1, 1, 4, 4}), {2, 2}); }), "roi_pool"));
}

// The adaptive grid: ceil(size / P) as torchvision; 0 for a non-positive size; clamped, not an
// undefined cast, for an absurd one (the kernels' safety net behind the op's Error).
TEST(RoiAlign, AdaptiveGridRule) {
  using kernels::roi_adaptive_grid;
  EXPECT_EQ(roi_adaptive_grid(7.0, 7), 1);
  EXPECT_EQ(roi_adaptive_grid(7.5, 7), 2);
  EXPECT_EQ(roi_adaptive_grid(0.5f, 7), 1);
  EXPECT_EQ(roi_adaptive_grid(0.0, 7), 0);
  EXPECT_EQ(roi_adaptive_grid(-3.0f, 7), 0);
  EXPECT_EQ(roi_adaptive_grid(-1e30, 7), 0);
  EXPECT_EQ(roi_adaptive_grid(1e20, 7), kernels::kRoiMaxAdaptiveGrid);
  EXPECT_EQ(roi_adaptive_grid(3e38f, 7), kernels::kRoiMaxAdaptiveGrid);
  EXPECT_EQ(roi_adaptive_grid(7.0 * 65535, 7), 65535);
}

// ---- RoIPool ------------------------------------------------------------------------------------

TEST(RoiPool, HandWorkedValue) {
  std::vector<double> v(16);
  for (int i = 0; i < 16; ++i) v[static_cast<std::size_t>(i)] = (i * 7) % 16;  // distinct values
  Tensor x = from_vector<double>(v, {1, 1, 4, 4}, TensorOptions(DType::Float64));
  // Box (0,0)-(3,3) at scale 1: 4x4 pixels, 2x2 bins of 2x2 pixels each.
  Tensor rois = from_vector<double>({0, 0, 0, 3, 3}, {1, 5}, TensorOptions(DType::Float64));
  const auto y = to_vector<double>(roi_pool(x, rois, {2, 2}));
  auto at = [&](int h, int w) { return v[static_cast<std::size_t>(h * 4 + w)]; };
  EXPECT_EQ(y[0], std::max({at(0, 0), at(0, 1), at(1, 0), at(1, 1)}));
  EXPECT_EQ(y[3], std::max({at(2, 2), at(2, 3), at(3, 2), at(3, 3)}));
}

TEST(RoiPool, Gradcheck) {
  // Distinct values (a random permutation scaled) so no bin has a tie: max is differentiable.
  std::vector<double> v(2 * 3 * 9 * 11);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>((i * 37) % v.size()) / 50.0;
  Tensor x = from_vector<double>(v, {2, 3, 9, 11}, TensorOptions(DType::Float64));
  x.set_requires_grad(true);
  Tensor rois = rois_tensor(DType::Float64);
  auto r = gradcheck([&](const std::vector<Tensor>& in) { return roi_pool(in[0], rois, {3, 2}, 0.5); }, {x});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(RoiPool, EmptyBinsAndOutsideBoxes) {
  Tensor x = ones({1, 1, 4, 4}, TensorOptions(DType::Float64));
  x.set_requires_grad(true);
  // Entirely outside the map: every bin is empty -> 0 and no gradient.
  Tensor rois = from_vector<double>({0, 10, 10, 12, 12}, {1, 5}, TensorOptions(DType::Float64));
  Tensor y = roi_pool(x, rois, {2, 2});
  for (double v : to_vector<double>(y)) EXPECT_EQ(v, 0.0);
  backward(y, ones({1, 1, 2, 2}, TensorOptions(DType::Float64)));
  for (double v : to_vector<double>(x.grad())) EXPECT_EQ(v, 0.0);
}

}  // namespace roi_align_test
}  // namespace anima
