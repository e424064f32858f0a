// softmax / log_softmax (anima/ops/softmax.hpp, anima/kernels/cpu/softmax.hpp): the column-blocked
// kernel against the reference on odd shapes (bitwise: same operations in the same order), values
// against a double formula, stability for large inputs, gradcheck (float64) over every dim and a
// non-contiguous input, and argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/kernels/cpu/softmax.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/softmax.hpp>
#include <anima/ops/view.hpp>

#include "expect_error.hpp"

namespace anima {
namespace {

using anima::testing::expect_error;

template <class T>
std::vector<T> random_values(std::int64_t n, std::uint64_t seed, double lo, double hi) {
  Generator g(seed);
  return to_vector<T>(rand({n}, TensorOptions(DType::Float64), g, lo, hi));
}

template <class T>
void check_kernels_match_reference() {
  struct Geo { std::int64_t outer, dim, inner; };
  for (const Geo geo : {Geo{1, 1, 1}, Geo{3, 7, 1}, Geo{5, 1000, 1}, Geo{2, 5, 3}, Geo{3, 9, 17}, Geo{4, 33, 35},
                        Geo{1, 3, 100}}) {
    const std::int64_t n = geo.outer * geo.dim * geo.inner;
    const auto x = random_values<T>(n, 1, -10, 10), dy = random_values<T>(n, 2, -1, 1);
    for (bool log : {false, true}) {
      std::vector<T> y_ref(n), y(n), dx_ref(n), dx(n);
      kernels::cpu::softmax_forward_reference(log, x.data(), y_ref.data(), geo.outer, geo.dim, geo.inner);
      kernels::cpu::softmax_forward_columns(log, x.data(), y.data(), geo.outer, geo.dim, geo.inner);
      EXPECT_EQ(y, y_ref) << "forward log " << log << " geo " << geo.outer << "x" << geo.dim << "x" << geo.inner;
      kernels::cpu::softmax_backward_reference(log, y_ref.data(), dy.data(), dx_ref.data(), geo.outer, geo.dim, geo.inner);
      kernels::cpu::softmax_backward_columns(log, y_ref.data(), dy.data(), dx.data(), geo.outer, geo.dim, geo.inner);
      EXPECT_EQ(dx, dx_ref) << "backward log " << log << " geo " << geo.outer << "x" << geo.dim << "x" << geo.inner;
    }
  }
}

TEST(SoftmaxKernel, ColumnsMatchReferenceFloat) { check_kernels_match_reference<float>(); }
TEST(SoftmaxKernel, ColumnsMatchReferenceDouble) { check_kernels_match_reference<double>(); }

// Direct double formula over dim 1 of a [A, B, C] tensor.
std::vector<double> softmax_ref(const std::vector<double>& x, std::int64_t a, std::int64_t b, std::int64_t c, bool log) {
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

TEST(Softmax, ValuesMatchFormula) {
  Generator g(3);
  Tensor x = rand({3, 5, 4}, TensorOptions(DType::Float64), g, -5, 5);
  const auto xv = to_vector<double>(x);
  for (bool log : {false, true}) {
    const auto ref = softmax_ref(xv, 3, 5, 4, log);
    const auto y = to_vector<double>(log ? log_softmax(x, 1) : softmax(x, -2));
    for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-15 * (1 + std::fabs(ref[i])));
  }
  // Last dim through the row path, float32 against the double result of the same float32 inputs:
  // x − m is rounded to float (error up to ulp(|x − m|)/2 ≈ 10 · 6e-8 for |x − m| <= 10), which exp
  // turns into a relative error of that size; plus ~2 ulps for exp and the division: 1.5e-6 relative.
  Tensor x32 = rand({6, 50}, TensorOptions(DType::Float32), g, -5, 5);
  const auto ref = softmax_ref(to_vector<double>(x32), 6, 50, 1, false);
  const auto y32 = to_vector<double>(softmax(x32, 1));
  for (std::size_t i = 0; i < y32.size(); ++i) EXPECT_NEAR(y32[i], ref[i], 1.5e-6 * ref[i] + 1e-12);
}

TEST(Softmax, StableForLargeInputs) {
  Tensor x = from_vector(std::vector<float>{1000, 1001, 1002, -1000, -1001, -1002}, {2, 3});
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

TEST(Softmax, Gradcheck) {
  Generator g(4);
  Tensor x = rand({3, 4, 5}, TensorOptions(DType::Float64).with_requires_grad(), g, -3, 3);
  for (std::int64_t d : {0, 1, 2, -1}) {
    auto r = gradcheck([d](const std::vector<Tensor>& in) { return softmax(in[0], d); }, {x});
    EXPECT_TRUE(r.ok) << "softmax dim " << d << "\n" << r.report;
    r = gradcheck([d](const std::vector<Tensor>& in) { return log_softmax(in[0], d); }, {x});
    EXPECT_TRUE(r.ok) << "log_softmax dim " << d << "\n" << r.report;
  }
  // Non-contiguous input and a non-contiguous upstream gradient (through transpose).
  auto r = gradcheck([](const std::vector<Tensor>& in) { return transpose(softmax(transpose(in[0], 0, 2), 1), 0, 1); }, {x});
  EXPECT_TRUE(r.ok) << r.report;
  r = gradcheck([](const std::vector<Tensor>& in) { return log_softmax(transpose(in[0], 1, 2), -1); }, {x});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(Softmax, EdgeShapes) {
  Tensor s = from_vector(std::vector<double>{3.0}, {}, TensorOptions(DType::Float64));
  EXPECT_EQ(to_vector<double>(softmax(s, 0)), std::vector<double>{1.0});
  EXPECT_EQ(to_vector<double>(log_softmax(s, -1)), std::vector<double>{0.0});
  EXPECT_EQ(softmax(zeros({0, 3}), 1).shape(), (Shape{0, 3}));
  Tensor n = from_vector(std::vector<float>{1, std::nanf(""), 2, 3}, {2, 2});
  const auto y = to_vector<float>(softmax(n, 1));
  EXPECT_TRUE(std::isnan(y[0]) && std::isnan(y[1]));
  EXPECT_FALSE(std::isnan(y[2]));
}

TEST(Softmax, Errors) {
  expect_error([] { softmax(zeros({2, 3}), 2); }, {"anima::softmax", "dim 2", "[2, 3]"});
  expect_error([] { log_softmax(zeros({2, 3}), -3); }, {"anima::log_softmax", "dim -3", "[2, 3]"});
  expect_error([] { softmax(zeros({2, 3}, DType::Int64), 1); }, {"anima::softmax", "int64", "[2, 3]"});
}

}  // namespace
}  // namespace anima
