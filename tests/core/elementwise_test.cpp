// Elementwise ops: values against <cmath> on every element, broadcasting, gradients by gradcheck
// (float64 central differences, tolerances in anima/autograd/gradcheck.hpp), and argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/view.hpp>

#include "expect_error.hpp"

namespace anima {
namespace {

Tensor f64(const Shape& s, std::uint64_t seed, double lo = -1.0, double hi = 1.0, bool grad = true) {
  Generator g(seed);
  return rand(s, TensorOptions(DType::Float64).with_requires_grad(grad), g, lo, hi);
}

// Expects `fn` to throw anima::Error whose message contains every fragment.
using anima::testing::expect_error;

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
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.5); }, [](double v) { return std::min(std::max(v, -0.5), 0.5); }, -1, 1},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double v) { return v > 0 ? v : 0.0; }, -1, 1},
  };
}

TEST(Elementwise, UnaryValuesMatchCmath) {
  for (const auto& c : unary_cases()) {
    Tensor x = f64({4, 5}, 1, c.lo, c.hi, false);
    const auto xv = to_vector<double>(x);
    const auto yv = to_vector<double>(c.op(x));
    ASSERT_EQ(yv.size(), xv.size());
    // float64, same formula: equal to the last ulp or two.
    for (std::size_t i = 0; i < xv.size(); ++i) EXPECT_NEAR(yv[i], c.ref(xv[i]), 1e-14 * (1 + std::fabs(yv[i]))) << c.name;
    // float32 agrees with the float64 formula to float precision (a few ulps of 2^-24).
    const auto y32 = to_vector<double>(c.op(to(x, DType::Float32)));
    for (std::size_t i = 0; i < xv.size(); ++i) EXPECT_NEAR(y32[i], c.ref(xv[i]), 1e-6 * (1 + std::fabs(yv[i]))) << c.name;
  }
}

TEST(Elementwise, UnaryGradcheck) {
  for (const auto& c : unary_cases()) {
    // Keep clamp inputs away from the clamp edges (the derivative jumps there).
    Tensor x = c.name == std::string("clamp") ? from_vector<double>({-0.9, -0.3, 0.1, 0.45, 0.8, -0.7}, {2, 3})
                                              : f64({2, 3}, 2, c.lo, c.hi, false);
    if (c.name == std::string("relu")) x = from_vector<double>({-0.9, -0.3, 0.1, 0.45, 0.8, -0.7}, {2, 3});
    x.set_requires_grad(true);
    auto r = gradcheck([&](const std::vector<Tensor>& in) { return c.op(in[0]); }, {x});
    EXPECT_TRUE(r.ok) << c.name << "\n" << r.report;
  }
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
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }, [](double a, double b) { return std::pow(a, b); }, 0.5, 2},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }, [](double a, double b) { return std::max(a, b); }, -2, 2},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }, [](double a, double b) { return std::min(a, b); }, -2, 2},
  };
}

TEST(Elementwise, BinaryBroadcastValues) {
  // [3,1,4] (op) [2,1] -> [3,2,4]: both operands broadcast.
  for (const auto& c : binary_cases()) {
    Tensor a = f64({3, 1, 4}, 3, c.lo, c.hi, false), b = f64({2, 1}, 4, c.lo, c.hi, false);
    Tensor y = c.op(a, b);
    ASSERT_EQ(y.shape(), (Shape{3, 2, 4})) << c.name;
    const auto av = to_vector<double>(a), bv = to_vector<double>(b), yv = to_vector<double>(y);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 2; ++j)
        for (int k = 0; k < 4; ++k)
          EXPECT_NEAR(yv[(i * 2 + j) * 4 + k], c.ref(av[i * 4 + k], bv[j]), 1e-14) << c.name;
  }
}

TEST(Elementwise, BinaryGradcheckWithBroadcasting) {
  for (const auto& c : binary_cases()) {
    Tensor a = f64({3, 1, 4}, 5, c.lo, c.hi), b = f64({2, 1}, 6, c.lo, c.hi);
    auto r = gradcheck([&](const std::vector<Tensor>& in) { return c.op(in[0], in[1]); }, {a, b});
    EXPECT_TRUE(r.ok) << c.name << "\n" << r.report;
  }
}

TEST(Elementwise, NonContiguousInputs) {
  Tensor base = f64({4, 6}, 7, -1, 1, false);
  Tensor t = transpose(base, 0, 1);           // [6, 4], strides [1, 6]
  Tensor s = slice(base, 1, 1, 6, 2);         // [4, 3], stride 2 in the last dim
  const auto bv = to_vector<double>(base);
  const auto tv = to_vector<double>(exp(t));
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_DOUBLE_EQ(tv[i * 4 + j], std::exp(bv[j * 6 + i]));
  const auto sv = to_vector<double>(s * 2.0);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_DOUBLE_EQ(sv[i * 3 + j], 2.0 * bv[i * 6 + 1 + 2 * j]);
}

TEST(Elementwise, ScalarOperators) {
  Tensor x = from_vector<float>({1, 2, 4}, {3});
  EXPECT_EQ(to_vector<float>(x + 1.0), (std::vector<float>{2, 3, 5}));
  EXPECT_EQ(to_vector<float>(1.0 - x), (std::vector<float>{0, -1, -3}));
  EXPECT_EQ(to_vector<float>(x * 3.0), (std::vector<float>{3, 6, 12}));
  EXPECT_EQ(to_vector<float>(8.0 / x), (std::vector<float>{8, 4, 2}));
  EXPECT_EQ(to_vector<float>(-x), (std::vector<float>{-1, -2, -4}));
}

TEST(Elementwise, ComparisonsGiveBool) {
  Tensor a = from_vector<float>({1, 2, 3}, {3}), b = from_vector<float>({2, 2, 2}, {3});
  EXPECT_EQ(eq(a, b).dtype(), DType::Bool);
  EXPECT_EQ(to_vector<int64_t>(eq(a, b)), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(to_vector<int64_t>(ne(a, b)), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(to_vector<int64_t>(lt(a, b)), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(to_vector<int64_t>(le(a, b)), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(to_vector<int64_t>(gt(a, b)), (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(to_vector<int64_t>(ge(a, b)), (std::vector<int64_t>{0, 1, 1}));
  Tensor nan = from_vector<float>({std::nanf("")}, {1});
  EXPECT_EQ(item<int64_t>(eq(nan, nan)), 0);  // IEEE: NaN != NaN
}

TEST(Elementwise, WhereValuesAndGradcheck) {
  Tensor c = gt(from_vector<double>({1, -1, 2, -2}, {2, 2}), zeros({}, DType::Float64));
  Tensor a = f64({2, 2}, 8), b = f64({2}, 9);  // b broadcasts over rows
  const auto y = to_vector<double>(where(c, a, b));
  const auto av = to_vector<double>(a), bv = to_vector<double>(b);
  EXPECT_EQ(y, (std::vector<double>{av[0], bv[1], av[2], bv[1]}));
  auto r = gradcheck([&](const std::vector<Tensor>& in) { return where(c, in[0], in[1]); }, {a, b});
  EXPECT_TRUE(r.ok) << r.report;
  // b is used twice (column 1 in both rows): its gradient sums both.
  Tensor av2 = f64({2, 2}, 8), bv2 = f64({2}, 9);
  backward(sum(where(c, av2, bv2)));
  EXPECT_EQ(to_vector<double>(bv2.grad()), (std::vector<double>{0.0, 2.0}));
  EXPECT_EQ(to_vector<double>(av2.grad()), (std::vector<double>{1.0, 0.0, 1.0, 0.0}));
}

TEST(Elementwise, MaximumTiesSplitGradient) {
  // PyTorch's rule: at a tie each input gets half the gradient.
  Tensor a = from_vector<double>({1.0, 3.0, 2.0}, {3}, TensorOptions().with_requires_grad());
  Tensor b = from_vector<double>({1.0, 2.0, 5.0}, {3}, TensorOptions().with_requires_grad());
  backward(sum(maximum(a, b)));
  EXPECT_EQ(to_vector<double>(a.grad()), (std::vector<double>{0.5, 1.0, 0.0}));
  EXPECT_EQ(to_vector<double>(b.grad()), (std::vector<double>{0.5, 0.0, 1.0}));
}

TEST(Elementwise, NanPropagation) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = from_vector<float>({nan, 1.0f}, {2});
  EXPECT_TRUE(std::isnan(to_vector<float>(clamp(x, 0, 0.5))[0]));
  EXPECT_TRUE(std::isnan(to_vector<float>(maximum(x, zeros({2})))[0]));
  EXPECT_TRUE(std::isnan(to_vector<float>(relu(x))[0]));
}

TEST(Elementwise, ErrorsNameOpAndShapes) {
  Tensor a = zeros({2, 3}), b = zeros({4, 3});
  expect_error([&] { add(a, b); }, {"anima::add", "[2, 3]", "[4, 3]"});
  expect_error([&] { mul(a, zeros({2, 3}, DType::Float64)); }, {"anima::mul", "float32", "float64", "[2, 3]"});
  expect_error([&] { exp(zeros({2}, DType::Int64)); }, {"anima::exp", "int64"});
  expect_error([&] { clamp(a, 1.0, 0.0); }, {"anima::clamp"});
  expect_error([&] { where(a, a, a); }, {"anima::where", "bool"});
  // A tensor that claims to live on a CUDA device (memory never touched): the device check comes first.
  float fake[6] = {};
  Tensor on_gpu = view_of_buffer(fake, {2, 3}, Device::cuda(0));
  expect_error([&] { sub(a, on_gpu); }, {"anima::sub", "different devices", "cpu", "cuda:0", "[2, 3]"});
}

}  // namespace
}  // namespace anima
