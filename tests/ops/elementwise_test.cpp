// Elementwise ops (anima/ops/elementwise.hpp) on every backend: values against <cmath> on every element,
// float32 against the float64 reference (forward and gradients, with broadcasting), comparisons and
// where, gradients by gradcheck, PyTorch's tie rule for maximum, NaN propagation and argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <anima/ops/elementwise.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

#include "ops/backend_harness.hpp"

namespace anima {
namespace elementwise_test {

using namespace testing;  // tests/ops/backend_harness.hpp and the helpers it includes

ANIMA_BACKEND_SUITE(Elementwise);

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  double lo, hi;  // input range: inside the domain, away from kinks
};

std::vector<UnaryCase> unary_cases() {
  return {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double v) { return -v; }, -2, 2},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double v) { return std::exp(v); }, -2, 2},
      {"log", [](const Tensor& x) { return log(x); }, [](double v) { return std::log(v); }, 0.1, 3},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double v) { return std::sqrt(v); }, 0.1, 3},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double v) { return std::fabs(v); }, 0.1, 2},
      {"pow_scalar", [](const Tensor& x) { return pow(x, 2.5); }, [](double v) { return std::pow(v, 2.5); }, 0.1, 2},
      {"pow_scalar_1.7", [](const Tensor& x) { return pow(x, 1.7); }, [](double v) { return std::pow(v, 1.7); }, 0.1,
       3},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.5); },
       [](double v) { return std::min(std::max(v, -0.5), 0.5); }, -1, 1},
      {"clamp_asymmetric", [](const Tensor& x) { return clamp(x, -0.5, 0.75); },
       [](double v) { return std::min(std::max(v, -0.5), 0.75); }, -2, 2},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double v) { return v > 0 ? v : 0.0; }, -1, 1},
  };
}

bool has_kink_in_range(const UnaryCase& c) {
  const std::string n = c.name;
  return n == "relu" || n.compare(0, 5, "clamp") == 0;
}

struct BinaryCase {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  std::function<double(double, double)> ref;
  double lo, hi;
};

std::vector<BinaryCase> binary_cases() {
  return {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, [](double a, double b) { return a + b; }, -2, 2},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, [](double a, double b) { return a - b; }, -2, 2},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, [](double a, double b) { return a * b; }, -2, 2},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, [](double a, double b) { return a / b; }, 0.5, 2},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); },
       [](double a, double b) { return std::pow(a, b); }, 0.5, 2},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); },
       [](double a, double b) { return std::max(a, b); }, -2, 2},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); },
       [](double a, double b) { return std::min(a, b); }, -2, 2},
  };
}

// float32 against the float64 reference: the float side rounds its inputs' results once per op (and
// the backward one or two products more); libm adds <= 1 ulp on the host, <= 2 ulps in CUDA's
// expf/logf/sqrtf: ~8 ulps of 2^-24 of the scale at most, 2e-6. pow chains powf (CUDA: <= 4 ulps),
// logf and two products in its gradients (CUDA and host measured 1.8e-6 relative apart on an H100):
// 1e-5.
constexpr Tolerance kFloat32{2e-6};
constexpr Tolerance kPow{1e-5};

TEST_P(Elementwise, UnaryValuesMatchCmath) {
  for (const auto& c : unary_cases()) {
    const Tensor x = to_backend(uniform64({4, 5}, 1, c.lo, c.hi, false));
    const auto xv = to_vector<double>(x);
    const auto yv = to_vector<double>(c.op(x));
    ASSERT_EQ(yv.size(), xv.size());
    // float64, same formula: equal to the last ulp or two.
    for (std::size_t i = 0; i < xv.size(); ++i)
      EXPECT_NEAR(yv[i], c.ref(xv[i]), 1e-14 * (1 + std::fabs(yv[i]))) << c.name;
    // float32 agrees with the float64 formula to float precision (a few ulps of 2^-24).
    const auto y32 = to_vector<double>(c.op(to(x, DType::Float32)));
    for (std::size_t i = 0; i < xv.size(); ++i)
      EXPECT_NEAR(y32[i], c.ref(xv[i]), 1e-6 * (1 + std::fabs(yv[i]))) << c.name;
  }
}

TEST_P(Elementwise, UnaryFloat32MatchesFloat64Reference) {
  for (const auto& c : unary_cases()) {
    const Tensor x = uniform({37, 65}, 1, c.lo, c.hi);
    const bool is_pow = std::string(c.name).compare(0, 3, "pow") == 0;
    expect_matches_reference(
        c.name, [&](auto& in) { return c.op(in[0]); }, {x}, is_pow ? kPow : kFloat32);
  }
}

TEST_P(Elementwise, UnaryGradcheck) {
  for (const auto& c : unary_cases()) {
    // Keep clamp and relu inputs away from their kinks (the derivative jumps there).
    Tensor x = has_kink_in_range(c) ? from_vector<double>({-0.9, -0.3, 0.1, 0.45, 0.8, -0.7}, {2, 3})
                                    : uniform64({2, 3}, 2, c.lo, c.hi, false);
    x.set_requires_grad(true);
    expect_gradcheck(c.name, [&](const std::vector<Tensor>& in) { return c.op(in[0]); }, {x});
  }
}

TEST_P(Elementwise, BinaryBroadcastValues) {
  // [3,1,4] (op) [2,1] -> [3,2,4]: both operands broadcast. float64: one rounding (pow: libm's ulp).
  for (const auto& c : binary_cases()) {
    const Tensor a = to_backend(uniform64({3, 1, 4}, 3, c.lo, c.hi, false));
    const Tensor b = to_backend(uniform64({2, 1}, 4, c.lo, c.hi, false));
    Tensor y = c.op(a, b);
    ASSERT_EQ(y.shape(), (Shape{3, 2, 4})) << c.name;
    const auto av = to_vector<double>(a), bv = to_vector<double>(b), yv = to_vector<double>(y);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 2; ++j)
        for (int k = 0; k < 4; ++k) EXPECT_NEAR(yv[(i * 2 + j) * 4 + k], c.ref(av[i * 4 + k], bv[j]), 1e-14) << c.name;
  }
}

TEST_P(Elementwise, BinaryFloat32MatchesFloat64Reference) {
  const Tensor a = uniform({7, 1, 33}, 3, 0.5, 2), b = uniform({5, 1}, 4, 0.5, 2);
  for (const auto& c : binary_cases())
    expect_matches_reference(
        c.name, [&](auto& in) { return c.op(in[0], in[1]); }, {a, b}, std::string(c.name) == "pow" ? kPow : kFloat32);
  expect_matches_reference(
      "scalar_ops", [](auto& in) { return (2.0 - in[0]) * 3.0 / (in[1] + 1.0); }, {a, b}, kFloat32);
}

TEST_P(Elementwise, BinaryGradcheckWithBroadcasting) {
  for (const auto& c : binary_cases()) {
    const Tensor a = uniform64({3, 1, 4}, 5, c.lo, c.hi), b = uniform64({2, 1}, 6, c.lo, c.hi);
    expect_gradcheck(c.name, [&](const std::vector<Tensor>& in) { return c.op(in[0], in[1]); }, {a, b});
  }
}

TEST_P(Elementwise, NonContiguousInputs) {
  const Tensor base = to_backend(uniform64({4, 6}, 7, -1, 1, false));
  const Tensor t = transpose(base, 0, 1);    // [6, 4], strides [1, 6]
  const Tensor s = slice(base, 1, 1, 6, 2);  // [4, 3], stride 2 in the last dim
  const auto bv = to_vector<double>(base);
  const auto tv = to_vector<double>(exp(t));
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_DOUBLE_EQ(tv[i * 4 + j], std::exp(bv[j * 6 + i]));
  const auto sv = to_vector<double>(s * 2.0);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_DOUBLE_EQ(sv[i * 3 + j], 2.0 * bv[i * 6 + 1 + 2 * j]);
}

TEST_P(Elementwise, ScalarOperators) {
  const Tensor x = from_vector<float>({1, 2, 4}, {3}, options());
  EXPECT_EQ(to_vector<float>(x + 1.0), (std::vector<float>{2, 3, 5}));
  EXPECT_EQ(to_vector<float>(1.0 - x), (std::vector<float>{0, -1, -3}));
  EXPECT_EQ(to_vector<float>(x * 3.0), (std::vector<float>{3, 6, 12}));
  EXPECT_EQ(to_vector<float>(8.0 / x), (std::vector<float>{8, 4, 2}));
  EXPECT_EQ(to_vector<float>(-x), (std::vector<float>{-1, -2, -4}));
}

TEST_P(Elementwise, ComparisonsGiveBool) {
  const Tensor a = from_vector<float>({1, 2, 3}, {3}, options()), b = from_vector<float>({2, 2, 2}, {3}, options());
  EXPECT_EQ(eq(a, b).dtype(), DType::Bool);
  EXPECT_EQ(to_vector<int64_t>(eq(a, b)), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(to_vector<int64_t>(ne(a, b)), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(to_vector<int64_t>(lt(a, b)), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(to_vector<int64_t>(le(a, b)), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(to_vector<int64_t>(gt(a, b)), (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(to_vector<int64_t>(ge(a, b)), (std::vector<int64_t>{0, 1, 1}));
  const Tensor nan = from_vector<float>({std::nanf("")}, {1}, options());
  EXPECT_EQ(item<int64_t>(eq(nan, nan)), 0);  // IEEE: NaN != NaN
}

TEST_P(Elementwise, ComparisonsAndWhereMatchFloat64Reference) {
  // Comparisons are exact (bool outputs compare bit for bit); where selects values.
  const Tensor a = uniform({9, 17}, 5, -1, 1, DType::Float32, false);
  const Tensor b = uniform({17}, 6, -1, 1, DType::Float32, false);
  expect_matches_reference(
      "eq", [](auto& in) { return eq(in[0], in[0]); }, {a}, testing::kExact);
  expect_matches_reference(
      "ne", [](auto& in) { return ne(in[0], in[1]); }, {a, b}, testing::kExact);
  expect_matches_reference(
      "lt", [](auto& in) { return lt(in[0], in[1]); }, {a, b}, testing::kExact);
  expect_matches_reference(
      "le", [](auto& in) { return le(in[0], in[1]); }, {a, b}, testing::kExact);
  expect_matches_reference(
      "gt", [](auto& in) { return gt(in[0], in[1]); }, {a, b}, testing::kExact);
  expect_matches_reference(
      "ge", [](auto& in) { return ge(in[0], in[1]); }, {a, b}, testing::kExact);
  const Tensor x = uniform({9, 17}, 7), y = uniform({17}, 8);
  // The forward copies values (exact); the backward sums y's gradient over 9 rows in float.
  expect_matches_reference(
      "where", [](auto& in) { return where(gt(in[0], in[1]), in[0], in[1]); }, {x, y}, Tolerance{0.0, kFloat32.rel});
}

TEST_P(Elementwise, WhereValuesAndGradcheck) {
  const Tensor c =
      gt(from_vector<double>({1, -1, 2, -2}, {2, 2}, options(DType::Float64)), zeros({}, options(DType::Float64)));
  const Tensor a = uniform64({2, 2}, 8), b = uniform64({2}, 9);  // b broadcasts over rows
  const auto y = to_vector<double>(where(c, to_backend(a), to_backend(b)));
  const auto av = to_vector<double>(a), bv = to_vector<double>(b);
  EXPECT_EQ(y, (std::vector<double>{av[0], bv[1], av[2], bv[1]}));
  expect_gradcheck("where", [&](const std::vector<Tensor>& in) { return where(c, in[0], in[1]); }, {a, b});
  // b is used twice (column 1 in both rows): its gradient sums both.
  const Tensor av2 = to_backend(a), bv2 = to_backend(b);
  backward(sum(where(c, av2, bv2)));
  EXPECT_EQ(to_vector<double>(bv2.grad()), (std::vector<double>{0.0, 2.0}));
  EXPECT_EQ(to_vector<double>(av2.grad()), (std::vector<double>{1.0, 0.0, 1.0, 0.0}));
}

TEST_P(Elementwise, MaximumTiesSplitGradient) {
  // PyTorch's rule: at a tie each input gets half the gradient.
  const Tensor a = from_vector<double>({1.0, 3.0, 2.0}, {3}, options(DType::Float64).with_requires_grad());
  const Tensor b = from_vector<double>({1.0, 2.0, 5.0}, {3}, options(DType::Float64).with_requires_grad());
  backward(sum(maximum(a, b)));
  EXPECT_EQ(to_vector<double>(a.grad()), (std::vector<double>{0.5, 1.0, 0.0}));
  EXPECT_EQ(to_vector<double>(b.grad()), (std::vector<double>{0.5, 0.0, 1.0}));
}

TEST_P(Elementwise, NanPropagation) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = from_vector<float>({nan, 1.0f}, {2}, options());
  EXPECT_TRUE(std::isnan(to_vector<float>(clamp(x, 0, 0.5))[0]));
  EXPECT_TRUE(std::isnan(to_vector<float>(maximum(x, zeros({2}, options())))[0]));
  EXPECT_TRUE(std::isnan(to_vector<float>(relu(x))[0]));
}

TEST_P(Elementwise, ErrorsNameOpAndShapes) {
  const Tensor a = zeros({2, 3}, options()), b = zeros({4, 3}, options());
  expect_error([&] { add(a, b); }, {"anima::add", "[2, 3]", "[4, 3]"});
  expect_error([&] { mul(a, zeros({2, 3}, options(DType::Float64))); }, {"anima::mul", "float32", "float64", "[2, 3]"});
  expect_error([&] { exp(zeros({2}, options(DType::Int64))); }, {"anima::exp", "int64"});
  expect_error([&] { clamp(a, 1.0, 0.0); }, {"anima::clamp"});
  expect_error([&] { where(a, a, a); }, {"anima::where", "bool"});
  // A tensor on the other device (memory never touched): the device check comes first.
  const Tensor elsewhere = foreign({2, 3});
  expect_error([&] { sub(a, elsewhere); }, {"anima::sub", "different devices", "cpu", "cuda:0", "[2, 3]"});
}

}  // namespace elementwise_test
}  // namespace anima
