// softmax / log_softmax (anima/ops/softmax.hpp) on every backend: values against a double formula,
// float32 against the float64 reference (every dim, long rows, a transposed input; outputs and
// gradients), stability for large inputs, gradcheck over every dim and a non-contiguous input and
// upstream gradient, edge shapes, and argument errors. The CPU kernels against their reference:
// tests/core/softmax_kernels_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <anima/ops/softmax.hpp>
#include <anima/ops/view.hpp>

#include "ops/backend_harness.hpp"

namespace anima {
namespace {

using namespace testing;  // tests/ops/backend_harness.hpp and the helpers it includes

ANIMA_BACKEND_SUITE(Softmax);

// Direct double formula over dim 1 of a [A, B, C] tensor.
std::vector<double> softmax_ref(const std::vector<double>& x, std::int64_t a, std::int64_t b, std::int64_t c,
                                bool log) {
  std::vector<double> y(x.size());
  for (std::int64_t i = 0; i < a; ++i)
    for (std::int64_t k = 0; k < c; ++k) {
      double m = -INFINITY, s = 0;
      for (std::int64_t j = 0; j < b; ++j) m = std::max(m, x[(i * b + j) * c + k]);
      for (std::int64_t j = 0; j < b; ++j) s += std::exp(x[(i * b + j) * c + k] - m);
      for (std::int64_t j = 0; j < b; ++j) {
        const double v = x[(i * b + j) * c + k] - m;
        y[(i * b + j) * c + k] = log ? v - std::log(s) : std::exp(v) / s;
      }
    }
  return y;
}

TEST_P(Softmax, ValuesMatchFormula) {
  const Tensor x = to_backend(uniform({3, 5, 4}, 3, -5, 5, DType::Float64, false));
  const auto xv = to_vector<double>(x);
  for (bool log : {false, true}) {
    const auto ref = softmax_ref(xv, 3, 5, 4, log);
    const auto y = to_vector<double>(log ? log_softmax(x, 1) : softmax(x, -2));
    for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-15 * (1 + std::fabs(ref[i])));
  }
  // Last dim through the row path, float32 against the double result of the same float32 inputs:
  // x − m is rounded to float (error up to ulp(|x − m|)/2 ≈ 10 · 6e-8 for |x − m| <= 10), which exp
  // turns into a relative error of that size; plus ~2 ulps for exp and the division: 1.5e-6 relative.
  const Tensor x32 = to_backend(uniform({6, 50}, 4, -5, 5, DType::Float32, false));
  const auto ref = softmax_ref(to_vector<double>(x32), 6, 50, 1, false);
  const auto y32 = to_vector<double>(softmax(x32, 1));
  for (std::size_t i = 0; i < y32.size(); ++i) EXPECT_NEAR(y32[i], ref[i], 1.5e-6 * ref[i] + 1e-12);
}

// float32 against the float64 reference: exp of the float x − m (rounded: up to ulp(|x − m|)/2 with
// |x − m| <= 20, relative 1e-6 in the result), libm's <= 2 ulps, sums in double: outputs within ~1e-6
// of their scale (the largest probability, or the largest |log p|); the gradients y·(g − Σg·y) and
// g − e^y·Σg add a product and a difference: 5e-6.
constexpr Tolerance kSoftmax{2e-6, 5e-6};

TEST_P(Softmax, Float32MatchesFloat64Reference) {
  const Tensor x = uniform({4, 37, 53}, 9, -6, 6);
  for (std::int64_t d : {0, 1, 2}) {
    expect_matches_reference(
        "softmax dim " + std::to_string(d), [d](auto& in) { return softmax(in[0], d); }, {x}, kSoftmax);
    expect_matches_reference(
        "log_softmax dim " + std::to_string(d), [d](auto& in) { return log_softmax(in[0], d); }, {x}, kSoftmax);
  }
  const Tensor rows = uniform({300, 1000}, 10, -10, 10);
  expect_matches_reference(
      "softmax rows", [](auto& in) { return softmax(in[0], -1); }, {rows}, kSoftmax);
  expect_matches_reference(
      "log_softmax rows", [](auto& in) { return log_softmax(in[0], -1); }, {rows}, kSoftmax);
  expect_matches_reference(
      "softmax transposed", [](auto& in) { return softmax(transpose(in[0], 0, 1), 1); }, {rows}, kSoftmax);
}

TEST_P(Softmax, StableForLargeInputs) {
  const Tensor x = from_vector(std::vector<float>{1000, 1001, 1002, -1000, -1001, -1002}, {2, 3}, options());
  const auto y = to_vector<double>(softmax(x, 1));
  const auto ly = to_vector<double>(log_softmax(x, 1));
  const double e1 = std::exp(-1.0), e2 = std::exp(-2.0), s = 1 + e1 + e2;
  EXPECT_NEAR(y[2], 1 / s, 1e-6);
  EXPECT_NEAR(y[3], 1 / s, 1e-6);
  EXPECT_NEAR(ly[0], -2 - std::log(s), 1e-4);
  for (double v : y) EXPECT_TRUE(std::isfinite(v));
  for (double v : ly) EXPECT_TRUE(std::isfinite(v));
  // Each row sums to 1.
  EXPECT_NEAR(y[0] + y[1] + y[2], 1.0, 1e-6);
}

TEST_P(Softmax, Gradcheck) {
  const Tensor x = uniform({3, 4, 5}, 4, -3, 3, DType::Float64);
  for (std::int64_t d : {0, 1, 2, -1}) {
    expect_gradcheck("softmax dim " + std::to_string(d),
                     [d](const std::vector<Tensor>& in) { return softmax(in[0], d); }, {x});
    expect_gradcheck("log_softmax dim " + std::to_string(d),
                     [d](const std::vector<Tensor>& in) { return log_softmax(in[0], d); }, {x});
  }
  // Non-contiguous input and a non-contiguous upstream gradient (through transpose).
  expect_gradcheck("transposed",
                   [](const std::vector<Tensor>& in) { return transpose(softmax(transpose(in[0], 0, 2), 1), 0, 1); },
                   {x});
  expect_gradcheck("log_softmax of a transpose",
                   [](const std::vector<Tensor>& in) { return log_softmax(transpose(in[0], 1, 2), -1); }, {x});
}

TEST_P(Softmax, EdgeShapes) {
  const Tensor s = from_vector(std::vector<double>{3.0}, {}, options(DType::Float64));
  EXPECT_EQ(to_vector<double>(softmax(s, 0)), std::vector<double>{1.0});
  EXPECT_EQ(to_vector<double>(log_softmax(s, -1)), std::vector<double>{0.0});
  EXPECT_EQ(softmax(zeros({0, 3}, options()), 1).shape(), (Shape{0, 3}));
  const Tensor n = from_vector(std::vector<float>{1, std::nanf(""), 2, 3}, {2, 2}, options());
  const auto y = to_vector<float>(softmax(n, 1));
  EXPECT_TRUE(std::isnan(y[0]) && std::isnan(y[1]));
  EXPECT_FALSE(std::isnan(y[2]));
}

TEST_P(Softmax, Errors) {
  expect_error([&] { softmax(zeros({2, 3}, options()), 2); }, {"anima::softmax", "dim 2", "[2, 3]"});
  expect_error([&] { log_softmax(zeros({2, 3}, options()), -3); }, {"anima::log_softmax", "dim -3", "[2, 3]"});
  expect_error([&] { softmax(zeros({2, 3}, options(DType::Int64)), 1); }, {"anima::softmax", "int64", "[2, 3]"});
}

}  // namespace
}  // namespace anima
