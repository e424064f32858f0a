// Batch norm (anima/ops/batch_norm.hpp) on every backend: values and the running-statistics update
// checked by hand (unbiased variance), float32 against the float64 reference (outputs, input / weight /
// bias gradients, running statistics after a training step), gradcheck in training and eval, frozen
// BN, an empty batch, a non-contiguous input and argument errors. The CPU kernels against their
// reference loops: tests/core/batch_norm_kernels_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <anima/ops/batch_norm.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

#include "ops/backend_harness.hpp"

namespace anima {
namespace {

using namespace testing;  // tests/ops/backend_harness.hpp and the helpers it includes

ANIMA_BACKEND_SUITE(BatchNorm);

// float32 against float64: the statistics are summed in double on every backend and rounded once;
// y = x·α + β and each dx are a handful of float operations on values up to ~5 (a few ulps, 1e-6 of
// the scale), but dx subtracts the two per-channel means of the g-terms, which cancels a few more bits;
// dw, db and the running statistics are double sums over up to 25K values rounded once. 1e-5 of the
// scale covers all of them with margin.
constexpr Tolerance kBn{1e-5};

TEST_P(BatchNorm, TrainingValuesAndRunningStatsByHand) {
  // One channel of values {1, 2, 3, 6} (N 2, H 1, W 2), another {0, 0, 4, 4}.
  // ch0: mean 3, biased var (4 + 1 + 0 + 9)/4 = 3.5, unbiased 14/3.
  // ch1: mean 2, biased var 4, unbiased 16/3.
  const TensorOptions f64 = options(DType::Float64);
  const Tensor x = from_vector<double>({1, 2, 0, 0, 3, 6, 4, 4}, {2, 2, 1, 2}, f64);
  Tensor rm = from_vector<double>({0.5, -1.0}, {2}, f64);
  Tensor rv = from_vector<double>({2.0, 1.0}, {2}, f64);
  const Tensor w = from_vector<double>({2.0, 0.5}, {2}, f64);
  const Tensor b = from_vector<double>({0.25, -1.0}, {2}, f64);
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

TEST_P(BatchNorm, Float32MatchesFloat64Reference) {
  for (Shape s : {Shape{1, 3, 5, 7}, Shape{4, 13, 3, 3}, Shape{3, 5, 4, 6}, Shape{8, 64, 28, 28}, Shape{2, 67, 1, 9}}) {
    const std::int64_t C = s[1];
    const Tensor x = uniform(s, 1, -2, 3), w = uniform({C}, 2, 0.5, 1.5), b = uniform({C}, 3, -1, 1);
    const Tensor rm = uniform({C}, 4, -0.5, 0.5, DType::Float32, false);
    const Tensor rv = uniform({C}, 5, 0.5, 2, DType::Float32, false);
    for (bool training : {true, false}) {
      expect_matches_reference(
          "batch_norm2d " + shape_str(s) + (training ? " training" : " eval"),
          [&](auto& in) { return batch_norm2d(in[0], in[1], in[2], in[3], in[4], training, 0.1, 1e-5); },
          {x, w, b, rm, rv}, kBn);
      expect_matches_reference(
          "batch_norm2d affine=false " + shape_str(s),
          [&](auto& in) { return batch_norm2d(in[0], Tensor(), Tensor(), in[1], in[2], training); }, {x, rm, rv}, kBn);
    }
    // Running statistics after one training step (momentum 0.1, unbiased variance).
    Tensor rm_ref = reference_copy(rm), rv_ref = reference_copy(rv);
    Tensor rm_here = to_backend(rm), rv_here = to_backend(rv);
    batch_norm2d(reference_copy(detach(x)), reference_copy(w), reference_copy(b), rm_ref, rv_ref, true);
    batch_norm2d(to_backend(detach(x)), to_backend(w), to_backend(b), rm_here, rv_here, true);
    testing::expect_close("running_mean " + shape_str(s), rm_here, rm_ref, kBn);
    testing::expect_close("running_var " + shape_str(s), rv_here, rv_ref, kBn);
  }
}

TEST_P(BatchNorm, TrainingGradcheck) {
  for (Shape s : {Shape{1, 3, 3, 5}, Shape{3, 5, 2, 3}, Shape{4, 9, 1, 1}}) {
    const std::int64_t C = s[1];
    const Tensor x = uniform64(s, 11, -2, 2), w = uniform64({C}, 12, 0.5, 1.5), b = uniform64({C}, 13, -1, 1);
    const Tensor rm = zeros({C}, options(DType::Float64)), rv = ones({C}, options(DType::Float64));
    expect_gradcheck(
        shape_str(s),
        [&](const std::vector<Tensor>& in) { return batch_norm2d(in[0], in[1], in[2], rm, rv, true, 0.1, 1e-5); },
        {x, w, b});
    expect_gradcheck(
        shape_str(s) + " affine=false",
        [&](const std::vector<Tensor>& in) { return batch_norm2d(in[0], Tensor(), Tensor(), rm, rv, true); }, {x});
  }
}

TEST_P(BatchNorm, EvalGradcheck) {
  for (Shape s : {Shape{1, 3, 3, 5}, Shape{2, 10, 2, 3}}) {
    const std::int64_t C = s[1];
    const Tensor x = uniform64(s, 21, -2, 2), w = uniform64({C}, 22, 0.5, 1.5), b = uniform64({C}, 23, -1, 1);
    const Tensor rm = to_backend(uniform64({C}, 24, -0.5, 0.5, false));
    const Tensor rv = to_backend(uniform64({C}, 25, 0.5, 2, false));
    expect_gradcheck(shape_str(s),
                     [&](const std::vector<Tensor>& in) { return batch_norm2d(in[0], in[1], in[2], rm, rv, false); },
                     {x, w, b});
  }
}

TEST_P(BatchNorm, FrozenMatchesFormulaAndPassesGradientToInputOnly) {
  const std::int64_t C = 6;
  const Tensor x = to_backend(uniform64({2, C, 3, 4}, 31, -2, 2));
  const Tensor w = to_backend(uniform64({C}, 32, 0.5, 1.5)), b = to_backend(uniform64({C}, 33, -1, 1));
  const Tensor rm = to_backend(uniform64({C}, 34, -0.5, 0.5)), rv = to_backend(uniform64({C}, 35, 0.5, 2));
  const Tensor y = frozen_batch_norm2d(x, w, b, rm, rv);
  const auto xv = to_vector<double>(x), yv = to_vector<double>(y);
  const auto wv = to_vector<double>(w), bv = to_vector<double>(b), mv = to_vector<double>(rm),
             vv = to_vector<double>(rv);
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
  expect_gradcheck("frozen", [&](const std::vector<Tensor>& in) { return frozen_batch_norm2d(in[0], w, b, rm, rv); },
                   {uniform64({2, C, 3, 4}, 31, -2, 2)});
}

TEST_P(BatchNorm, FrozenFloat32MatchesFloat64Reference) {
  const Shape s{2, 256, 14, 14};
  const std::int64_t C = s[1];
  const Tensor x = uniform(s, 11, -2, 2);
  const Tensor w = uniform({C}, 12, 0.5, 1.5, DType::Float32, false);
  const Tensor b = uniform({C}, 13, -1, 1, DType::Float32, false);
  const Tensor rm = uniform({C}, 14, -0.5, 0.5, DType::Float32, false);
  const Tensor rv = uniform({C}, 15, 0.5, 2, DType::Float32, false);
  expect_matches_reference(
      "frozen_batch_norm2d", [](auto& in) { return frozen_batch_norm2d(in[0], in[1], in[2], in[3], in[4]); },
      {x, w, b, rm, rv}, kBn);
}

TEST_P(BatchNorm, EmptyBatchInEval) {
  // N = 0: an empty output, and zero gradients for weight and bias (sums over no values).
  const TensorOptions f64 = options(DType::Float64);
  const Tensor x = zeros({0, 3, 4, 4}, f64.with_requires_grad());
  const Tensor w = ones({3}, f64.with_requires_grad());
  const Tensor b = zeros({3}, f64.with_requires_grad());
  const Tensor y = batch_norm2d(x, w, b, zeros({3}, f64), ones({3}, f64), false);
  EXPECT_EQ(y.shape(), (Shape{0, 3, 4, 4}));
  backward(y, zeros({0, 3, 4, 4}, f64));
  EXPECT_EQ(to_vector<double>(w.grad()), std::vector<double>(3, 0.0));
  EXPECT_EQ(to_vector<double>(b.grad()), std::vector<double>(3, 0.0));
}

TEST_P(BatchNorm, NonContiguousInput) {
  const Tensor x = permute(to_backend(uniform64({2, 3, 5, 4}, 41, -1, 1, false)), {0, 1, 3, 2});
  const TensorOptions f64 = options(DType::Float64);
  Tensor rm1 = zeros({3}, f64), rv1 = ones({3}, f64);
  Tensor rm2 = zeros({3}, f64), rv2 = ones({3}, f64);
  EXPECT_EQ(to_vector<double>(batch_norm2d(x, Tensor(), Tensor(), rm1, rv1, true)),
            to_vector<double>(batch_norm2d(contiguous_copy(x), Tensor(), Tensor(), rm2, rv2, true)));
}

TEST_P(BatchNorm, Errors) {
  const TensorOptions o = options();
  const Tensor x = zeros({2, 3, 4, 4}, o);
  const Tensor c3 = zeros({3}, o), c4 = zeros({4}, o);
  expect_error([&] { batch_norm2d(x, c4, c3, c3, c3, true); },
               {"anima::batch_norm2d", "[2, 3, 4, 4]", "3 channels", "weight", "[4]"});
  expect_error([&] { batch_norm2d(x, c3, c4, c3, c3, true); }, {"anima::batch_norm2d", "bias", "[4]"});
  expect_error([&] { batch_norm2d(x, c3, c3, c4, c3, false); }, {"anima::batch_norm2d", "running_mean", "[4]"});
  expect_error([&] { batch_norm2d(x, c3, c3, c3, c4, false); }, {"anima::batch_norm2d", "running_var", "[4]"});
  expect_error([&] { batch_norm2d(x, c3, c3, Tensor(), Tensor(), false); }, {"anima::batch_norm2d", "running_mean"});
  expect_error(
      [&] {
        batch_norm2d(zeros({1, 3, 1, 1}, o), c3, c3, c3, c3, true);
      },
      {"anima::batch_norm2d", "Expected more than 1 value per channel when training", "[1, 3, 1, 1]"});
  expect_error(
      [&] {
        batch_norm2d(zeros({2, 3, 4}, o), c3, c3, c3, c3, true);
      },
      {"anima::batch_norm2d", "4-D", "[2, 3, 4]"});
  expect_error([&] { batch_norm2d(x, zeros({3}, options(DType::Float64)), c3, c3, c3, true); },
               {"anima::batch_norm2d", "weight", "float64", "float32"});
  expect_error(
      [&] {
        batch_norm2d(zeros({2, 3, 4, 4}, options(DType::Int64)), Tensor(), Tensor(), Tensor(), Tensor(), true);
      },
      {"anima::batch_norm2d", "int64"});
  expect_error([&] { frozen_batch_norm2d(x, c3, c3, c3, c4); }, {"anima::frozen_batch_norm2d", "running_var", "[4]"});
  expect_error([&] { frozen_batch_norm2d(x, Tensor(), c3, c3, c3); }, {"anima::frozen_batch_norm2d", "weight"});
  const Tensor elsewhere = foreign({3});
  expect_error([&] { batch_norm2d(x, elsewhere, c3, c3, c3, true); },
               {"anima::batch_norm2d", "weight", "cuda:0", "cpu", "[2, 3, 4, 4]"});
  expect_error([&] { frozen_batch_norm2d(x, c3, c3, elsewhere, c3); }, {"anima::frozen_batch_norm2d", "cuda:0"});
}

}  // namespace
}  // namespace anima
