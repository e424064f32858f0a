// Batch norm (anima/ops/batch_norm.hpp): parallel CPU kernels against the reference loops, values and
// the running-statistics update checked by hand (unbiased variance), gradients by gradcheck (float64,
// tolerances in anima/autograd/gradcheck.hpp) in training and eval, frozen BN, and argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/kernels/cpu/batch_norm.hpp>
#include <anima/ops/batch_norm.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

#include "expect_error.hpp"

namespace anima {
namespace {

Tensor f64(const Shape& s, std::uint64_t seed, double lo = -1.0, double hi = 1.0, bool grad = true) {
  Generator g(seed);
  return rand(s, TensorOptions(DType::Float64).with_requires_grad(grad), g, lo, hi);
}

using anima::testing::expect_error;

// The parallel kernels split each sum into interleaved partial sums (double): they differ from the
// reference's single accumulator by double rounding, ~m·2^-53 relative for m <= 252 values: 1e-13.
void expect_near_all(const std::vector<double>& a, const std::vector<double>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-13 * (1 + std::fabs(a[i]))) << what << " " << i;
}

TEST(BatchNorm, ChannelsKernelsMatchReference) {
  namespace kc = kernels::cpu;
  for (Shape s : {Shape{1, 3, 5, 7}, Shape{4, 13, 3, 3}, Shape{2, 67, 1, 9}}) {
    const std::int64_t N = s[0], C = s[1], HW = s[2] * s[3];
    const Tensor x = f64(s, 1, -2, 3, false), gy = f64(s, 2, -1, 1, false);
    const Tensor w = f64({C}, 3, 0.5, 1.5, false), b = f64({C}, 4, -1, 1, false);
    std::vector<double> m1(C), v1(C), m2(C), v2(C);
    kc::batch_norm_stats_reference(x.data<double>(), N, C, HW, m1.data(), v1.data());
    kc::batch_norm_stats_channels(x.data<double>(), N, C, HW, m2.data(), v2.data());
    expect_near_all(m1, m2, "mean");
    expect_near_all(v1, v2, "var");
    std::vector<double> y1(x.numel()), y2(x.numel());
    kc::batch_norm_transform_reference(x.data<double>(), N, C, HW, m1.data(), v1.data(), w.data<double>(),
                                       b.data<double>(), 1e-5, y1.data());
    kc::batch_norm_transform_channels(x.data<double>(), N, C, HW, m1.data(), v1.data(), w.data<double>(),
                                      b.data<double>(), 1e-5, y2.data());
    EXPECT_EQ(y1, y2);  // same statistics in, same per-element formula
    for (bool training : {true, false}) {
      std::vector<double> gx1(x.numel()), gx2(x.numel()), gw1(C), gw2(C), gb1(C), gb2(C);
      kc::batch_norm_backward_reference(x.data<double>(), gy.data<double>(), N, C, HW, m1.data(), v1.data(),
                                        w.data<double>(), 1e-5, training, gx1.data(), gw1.data(), gb1.data());
      kc::batch_norm_backward_channels(x.data<double>(), gy.data<double>(), N, C, HW, m1.data(), v1.data(),
                                       w.data<double>(), 1e-5, training, gx2.data(), gw2.data(), gb2.data());
      expect_near_all(gx1, gx2, "gx");
      expect_near_all(gw1, gw2, "gw");
      expect_near_all(gb1, gb2, "gb");
    }
  }
}

TEST(BatchNorm, TrainingValuesAndRunningStatsByHand) {
  // One channel of values {1, 2, 3, 6} (N 2, H 1, W 2), another {0, 0, 4, 4}.
  // ch0: mean 3, biased var (4 + 1 + 0 + 9)/4 = 3.5, unbiased 14/3.
  // ch1: mean 2, biased var 4, unbiased 16/3.
  const Tensor x = from_vector<double>({1, 2, 0, 0, 3, 6, 4, 4}, {2, 2, 1, 2});
  Tensor rm = from_vector<double>({0.5, -1.0}, {2});
  Tensor rv = from_vector<double>({2.0, 1.0}, {2});
  const Tensor w = from_vector<double>({2.0, 0.5}, {2});
  const Tensor b = from_vector<double>({0.25, -1.0}, {2});
  const double eps = 1e-5, m = 0.1;
  const Tensor y = batch_norm2d(x, w, b, rm, rv, true, m, eps);
  const auto rmv = to_vector<double>(rm), rvv = to_vector<double>(rv);
  EXPECT_NEAR(rmv[0], 0.9 * 0.5 + 0.1 * 3.0, 1e-15);
  EXPECT_NEAR(rmv[1], 0.9 * -1.0 + 0.1 * 2.0, 1e-15);
  EXPECT_NEAR(rvv[0], 0.9 * 2.0 + 0.1 * 14.0 / 3.0, 1e-15);
  EXPECT_NEAR(rvv[1], 0.9 * 1.0 + 0.1 * 16.0 / 3.0, 1e-15);
  const auto yv = to_vector<double>(y);
  const double s0 = 1.0 / std::sqrt(3.5 + eps), s1 = 1.0 / std::sqrt(4.0 + eps);
  const std::vector<double> expected = {(1 - 3) * s0 * 2 + 0.25, (2 - 3) * s0 * 2 + 0.25, (0 - 2) * s1 * 0.5 - 1,
                                        (0 - 2) * s1 * 0.5 - 1,  (3 - 3) * s0 * 2 + 0.25, (6 - 3) * s0 * 2 + 0.25,
                                        (4 - 2) * s1 * 0.5 - 1,  (4 - 2) * s1 * 0.5 - 1};
  for (std::size_t i = 0; i < yv.size(); ++i) EXPECT_NEAR(yv[i], expected[i], 1e-12) << i;

  // Eval uses the running statistics (as updated above) and leaves them alone.
  const Tensor ye = batch_norm2d(x, w, b, rm, rv, false, m, eps);
  EXPECT_EQ(to_vector<double>(rm), rmv);
  const auto yev = to_vector<double>(ye);
  EXPECT_NEAR(yev[0], (1 - rmv[0]) / std::sqrt(rvv[0] + eps) * 2 + 0.25, 1e-12);
  EXPECT_NEAR(yev[3], (0 - rmv[1]) / std::sqrt(rvv[1] + eps) * 0.5 - 1, 1e-12);

  // Without affine parameters and without running stats (track_running_stats=False).
  const Tensor yn = batch_norm2d(x, Tensor(), Tensor(), Tensor(), Tensor(), true);
  EXPECT_NEAR(to_vector<double>(yn)[5], 3 * s0, 1e-12);
}

TEST(BatchNorm, Float32MatchesFloat64) {
  // Sums accumulate in double; the float result is within a few float ulps of the float64 one.
  const Tensor x = f64({3, 5, 4, 6}, 7, -2, 3, false);
  const Tensor w = f64({5}, 8, 0.5, 1.5, false), b = f64({5}, 9, -1, 1, false);
  Tensor rm = zeros({5}, DType::Float64), rv = ones({5}, DType::Float64);
  Tensor rm32 = zeros({5}), rv32 = ones({5});
  const auto y = to_vector<double>(batch_norm2d(x, w, b, rm, rv, true));
  const auto y32 = to_vector<double>(batch_norm2d(cast_copy(x, DType::Float32), cast_copy(w, DType::Float32),
                                                  cast_copy(b, DType::Float32), rm32, rv32, true));
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], y32[i], 2e-6 * (1 + std::fabs(y[i])));
  const auto r = to_vector<double>(rv), r32 = to_vector<double>(rv32);
  for (std::size_t i = 0; i < r.size(); ++i) EXPECT_NEAR(r[i], r32[i], 1e-6);
}

TEST(BatchNorm, TrainingGradcheck) {
  for (Shape s : {Shape{1, 3, 3, 5}, Shape{3, 5, 2, 3}, Shape{4, 9, 1, 1}}) {
    const std::int64_t C = s[1];
    const Tensor x = f64(s, 11, -2, 2), w = f64({C}, 12, 0.5, 1.5), b = f64({C}, 13, -1, 1);
    const Tensor rm = zeros({C}, DType::Float64), rv = ones({C}, DType::Float64);
    auto r = gradcheck(
        [&](const std::vector<Tensor>& in) { return batch_norm2d(in[0], in[1], in[2], rm, rv, true, 0.1, 1e-5); },
        {x, w, b});
    EXPECT_TRUE(r.ok) << shape_str(s) << "\n" << r.report;
    // affine = false
    auto r2 = gradcheck(
        [&](const std::vector<Tensor>& in) { return batch_norm2d(in[0], Tensor(), Tensor(), rm, rv, true); }, {x});
    EXPECT_TRUE(r2.ok) << shape_str(s) << "\n" << r2.report;
  }
}

TEST(BatchNorm, EvalGradcheck) {
  for (Shape s : {Shape{1, 3, 3, 5}, Shape{2, 10, 2, 3}}) {
    const std::int64_t C = s[1];
    const Tensor x = f64(s, 21, -2, 2), w = f64({C}, 22, 0.5, 1.5), b = f64({C}, 23, -1, 1);
    const Tensor rm = f64({C}, 24, -0.5, 0.5, false), rv = f64({C}, 25, 0.5, 2, false);
    auto r = gradcheck([&](const std::vector<Tensor>& in) { return batch_norm2d(in[0], in[1], in[2], rm, rv, false); },
                       {x, w, b});
    EXPECT_TRUE(r.ok) << shape_str(s) << "\n" << r.report;
  }
}

TEST(BatchNorm, FrozenMatchesFormulaAndPassesGradientToInputOnly) {
  const std::int64_t C = 6;
  const Tensor x = f64({2, C, 3, 4}, 31, -2, 2);
  const Tensor w = f64({C}, 32, 0.5, 1.5), b = f64({C}, 33, -1, 1);
  const Tensor rm = f64({C}, 34, -0.5, 0.5), rv = f64({C}, 35, 0.5, 2);
  const Tensor y = frozen_batch_norm2d(x, w, b, rm, rv);
  const auto xv = to_vector<double>(x), yv = to_vector<double>(y);
  const auto wv = to_vector<double>(w), bv = to_vector<double>(b), mv = to_vector<double>(rm), vv = to_vector<double>(rv);
  for (std::size_t i = 0; i < xv.size(); ++i) {
    const std::size_t c = (i / 12) % C;
    const double scale = wv[c] / std::sqrt(vv[c] + 1e-5);
    EXPECT_NEAR(yv[i], xv[i] * scale + (bv[c] - mv[c] * scale), 1e-12);
  }
  backward(sum(y));
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());
  EXPECT_FALSE(b.grad().defined());
  EXPECT_FALSE(rm.grad().defined());
  auto r = gradcheck([&](const std::vector<Tensor>& in) { return frozen_batch_norm2d(in[0], w, b, rm, rv); },
                     {x});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(BatchNorm, EmptyBatchInEval) {
  // N = 0: an empty output, and zero gradients for weight and bias (sums over no values).
  const Tensor x = zeros({0, 3, 4, 4}, TensorOptions(DType::Float64).with_requires_grad());
  const Tensor w = ones({3}, TensorOptions(DType::Float64).with_requires_grad());
  const Tensor b = zeros({3}, TensorOptions(DType::Float64).with_requires_grad());
  const Tensor y = batch_norm2d(x, w, b, zeros({3}, DType::Float64), ones({3}, DType::Float64), false);
  EXPECT_EQ(y.shape(), (Shape{0, 3, 4, 4}));
  backward(y, zeros({0, 3, 4, 4}, DType::Float64));
  EXPECT_EQ(to_vector<double>(w.grad()), std::vector<double>(3, 0.0));
  EXPECT_EQ(to_vector<double>(b.grad()), std::vector<double>(3, 0.0));
}

TEST(BatchNorm, NonContiguousInput) {
  const Tensor x = permute(f64({2, 3, 5, 4}, 41, -1, 1, false), {0, 1, 3, 2});
  Tensor rm1 = zeros({3}, DType::Float64), rv1 = ones({3}, DType::Float64);
  Tensor rm2 = zeros({3}, DType::Float64), rv2 = ones({3}, DType::Float64);
  EXPECT_EQ(to_vector<double>(batch_norm2d(x, Tensor(), Tensor(), rm1, rv1, true)),
            to_vector<double>(batch_norm2d(contiguous_copy(x), Tensor(), Tensor(), rm2, rv2, true)));
}

TEST(BatchNorm, Errors) {
  const Tensor x = zeros({2, 3, 4, 4});
  const Tensor c3 = zeros({3}), c4 = zeros({4});
  expect_error([&] { batch_norm2d(x, c4, c3, c3, c3, true); },
               {"anima::batch_norm2d", "[2, 3, 4, 4]", "3 channels", "weight", "[4]"});
  expect_error([&] { batch_norm2d(x, c3, c4, c3, c3, true); }, {"anima::batch_norm2d", "bias", "[4]"});
  expect_error([&] { batch_norm2d(x, c3, c3, c4, c3, false); }, {"anima::batch_norm2d", "running_mean", "[4]"});
  expect_error([&] { batch_norm2d(x, c3, c3, c3, c4, false); }, {"anima::batch_norm2d", "running_var", "[4]"});
  expect_error([&] { batch_norm2d(x, c3, c3, Tensor(), Tensor(), false); }, {"anima::batch_norm2d", "running_mean"});
  expect_error([&] { batch_norm2d(zeros({1, 3, 1, 1}), c3, c3, c3, c3, true); },
               {"anima::batch_norm2d", "Expected more than 1 value per channel when training", "[1, 3, 1, 1]"});
  expect_error([&] { batch_norm2d(zeros({2, 3, 4}), c3, c3, c3, c3, true); }, {"anima::batch_norm2d", "4-D", "[2, 3, 4]"});
  expect_error([&] { batch_norm2d(x, zeros({3}, DType::Float64), c3, c3, c3, true); },
               {"anima::batch_norm2d", "weight", "float64", "float32"});
  expect_error([&] { batch_norm2d(zeros({2, 3, 4, 4}, DType::Int64), Tensor(), Tensor(), Tensor(), Tensor(), true); },
               {"anima::batch_norm2d", "int64"});
  expect_error([&] { frozen_batch_norm2d(x, c3, c3, c3, c4); }, {"anima::frozen_batch_norm2d", "running_var", "[4]"});
  expect_error([&] { frozen_batch_norm2d(x, Tensor(), c3, c3, c3); }, {"anima::frozen_batch_norm2d", "weight"});
  float fake[3];
  const Tensor on_gpu = view_of_buffer(fake, {3}, Device::cuda(0));
  expect_error([&] { batch_norm2d(x, on_gpu, c3, c3, c3, true); },
               {"anima::batch_norm2d", "weight", "cuda:0", "cpu", "[2, 3, 4, 4]"});
  expect_error([&] { frozen_batch_norm2d(x, c3, c3, on_gpu, c3); }, {"anima::frozen_batch_norm2d", "cuda:0"});
}

}  // namespace
}  // namespace anima
