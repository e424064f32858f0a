// Activations (anima/ops/activation.hpp) on every backend: values against double formulas, float32
// against the float64 reference (forward and gradients, at the kinks too), PyTorch 1.13's gradients at
// the kinks, gradcheck away from them, the fused backward against its two-pass definition, prelu's
// per-channel slope gradient, NaN propagation and argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <anima/ops/activation.hpp>
#include <anima/ops/reduce.hpp>

#include "ops/backend_harness.hpp"

namespace anima {
namespace {

using namespace testing;  // tests/ops/backend_harness.hpp and the helpers it includes

ANIMA_BACKEND_SUITE(Activation);
ANIMA_BACKEND_SUITE(Prelu);

struct ActivationCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
};

double relu6_ref(double v) { return std::min(std::max(v, 0.0), 6.0); }

std::vector<ActivationCase> cases() {
  return {
      {"relu6", [](const Tensor& x) { return relu6(x); }, relu6_ref},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.15); },
       [](double v) { return v > 0 ? v : 0.15 * v; }},
      {"leaky_relu_default", [](const Tensor& x) { return leaky_relu(x); },
       [](double v) { return v > 0 ? v : 0.01 * v; }},
      {"elu", [](const Tensor& x) { return elu(x, 0.7); },
       [](double v) { return v > 0 ? v : 0.7 * (std::exp(v) - 1); }},
      {"elu_default", [](const Tensor& x) { return elu(x); }, [](double v) { return v > 0 ? v : std::exp(v) - 1; }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, [](double v) { return 1 / (1 + std::exp(-v)); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double v) { return std::tanh(v); }},
      {"hardswish", [](const Tensor& x) { return hardswish(x); }, [](double v) { return v * relu6_ref(v + 3) / 6; }},
  };
}

// Values away from every kink (0, ±3, 6) so central differences see one smooth piece.
const std::vector<double> kSmooth = {-5.1, -3.4, -2.7, -1.2, -0.45, -0.05, 0.3, 1.7, 2.6, 3.5, 5.2, 7.3};

// float32 against the float64 reference: the formulas are the shared UnaryOp entries, so the sides
// differ by libm (host <= 1 ulp, CUDA's expf/expm1f/tanhf <= 2 ulps), the rounding of the result and,
// backward, one multiply: ~8 ulps of 2^-24 = 5e-7 of the scale; 2e-6 leaves margin. The
// piecewise-linear ones (relu6, leaky, hardswish) differ by the final rounding only.
constexpr Tolerance kFloat32{2e-6};
// Followed by a sum over 5 terms (accumulated in double, rounded once): one more rounding.
constexpr Tolerance kFloat32Sum{3e-6};

TEST_P(Activation, ValuesMatchDoubleFormulas) {
  // Includes the kinks themselves and large magnitudes (sigmoid/tanh saturation, elu's e^x → 0).
  // float64 on both sides of the formula: libm differs by a few ulps at most (1e-15 relative).
  std::vector<double> xs = kSmooth;
  for (double v : {-3.0, 0.0, 3.0, 6.0, -40.0, 40.0, -100.0}) xs.push_back(v);
  Tensor x = from_vector(xs, {static_cast<std::int64_t>(xs.size())}, options(DType::Float64));
  for (const auto& c : cases()) {
    const auto y = to_vector<double>(c.op(x));
    for (std::size_t i = 0; i < xs.size(); ++i)
      EXPECT_NEAR(y[i], c.ref(xs[i]), 1e-15 * (1 + std::fabs(c.ref(xs[i])))) << c.name << " at " << xs[i];
  }
}

TEST_P(Activation, Float32MatchesFloat64Reference) {
  // [-8, 8] covers every piece (the kinks 0, ±3, 6 are hit with probability 0).
  const Tensor x = uniform({7, 5, 33}, 1, -8, 8);
  for (const auto& c : cases())
    expect_matches_reference(
        c.name, [&](auto& in) { return c.op(in[0]); }, {x}, kFloat32);
  // The backward reads a broadcast (stride-0) gradient here: sum's backward expands g over dim 1.
  expect_matches_reference(
      "sigmoid then sum", [](auto& in) { return sum(sigmoid(in[0]), {1}); }, {x}, kFloat32Sum);
  expect_matches_reference(
      "relu6 then sum", [](auto& in) { return sum(relu6(in[0]), {1}); }, {x}, kFloat32Sum);
}

TEST_P(Activation, AtKinksMatchFloat64Reference) {
  // The kink points themselves (exact in float32): every backend takes the same branch as the reference.
  const Tensor x = from_vector(std::vector<float>{-3, 0, 3, 6, -1, 7}, {6}, TensorOptions().with_requires_grad());
  expect_matches_reference(
      "relu6 kinks", [](auto& in) { return relu6(in[0]); }, {x}, kFloat32);
  expect_matches_reference(
      "hardswish kinks", [](auto& in) { return hardswish(in[0]); }, {x}, kFloat32);
  expect_matches_reference(
      "leaky kinks", [](auto& in) { return leaky_relu(in[0], 0.1); }, {x}, kFloat32);
  expect_matches_reference(
      "elu kinks", [](auto& in) { return elu(in[0], 0.5); }, {x}, kFloat32);
}

TEST_P(Activation, Gradcheck) {
  const Tensor x = from_vector(kSmooth, {3, 4}, TensorOptions(DType::Float64).with_requires_grad());
  for (const auto& c : cases())
    expect_gradcheck(c.name, [&](const std::vector<Tensor>& in) { return c.op(in[0]); }, {x});
}

// dy/dx at the kinks, as torch 1.13 computes them (checked with torch 1.13 for these exact points).
TEST_P(Activation, GradientsAtKinksFollowPyTorch) {
  const std::vector<double> xs = {-3.0, 0.0, 3.0, 6.0};
  auto grad_of = [&](const std::function<Tensor(const Tensor&)>& f) {
    Tensor x = from_vector(xs, {4}, options(DType::Float64).with_requires_grad());
    backward(sum(f(x)));
    return to_vector<double>(x.grad());
  };
  EXPECT_EQ(grad_of([](const Tensor& x) { return relu6(x); }), (std::vector<double>{0, 0, 1, 0}));
  EXPECT_EQ(grad_of([](const Tensor& x) { return hardswish(x); }), (std::vector<double>{-0.5, 0.5, 1.5, 1}));
  EXPECT_EQ(grad_of([](const Tensor& x) { return leaky_relu(x, 0.25); }), (std::vector<double>{0.25, 0.25, 1, 1}));
  const auto ge = grad_of([](const Tensor& x) { return elu(x, 0.5); });
  EXPECT_DOUBLE_EQ(ge[0], 0.5 * std::exp(-3.0));
  EXPECT_EQ(ge[1], 0.5);
  EXPECT_EQ(ge[2], 1.0);
  // hardswish beyond the boundaries: 0 below -3, 1 above 3.
  Tensor x = from_vector(std::vector<double>{-3.5, 3.5}, {2}, options(DType::Float64).with_requires_grad());
  backward(sum(hardswish(x)));
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{0, 1}));
}

// The fused backward (ActivationBackwardKernel) against its definition, the two-pass composite
// g · unary(d, saved): the same operations per element, so bitwise equal; with a contiguous g and
// with a broadcast (stride-0) g.
TEST_P(Activation, FusedBackwardMatchesTwoPassReference) {
  using kernels::UnaryOp;
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor s = to_backend(uniform({5, 37}, 8, -8, 8, dt, false));
    const Tensor g_full = to_backend(uniform({5, 37}, 9, -1, 1, dt, false));
    const Tensor g_row = to_backend(uniform({37}, 10, -1, 1, dt, false));
    for (UnaryOp d : {UnaryOp::Relu6Grad, UnaryOp::LeakyReluGrad, UnaryOp::EluGrad, UnaryOp::HardswishGrad,
                      UnaryOp::SigmoidGradOfOutput, UnaryOp::TanhGradOfOutput, UnaryOp::Sigmoid}) {
      for (const Tensor& g : {g_full, g_row}) {
        const auto fused = to_vector<double>(detail::activation_backward_u(d, 0.3, s, g));
        const auto ref =
            to_vector<double>(untracked::binary("ref", kernels::BinaryOp::Mul, g, untracked::unary("ref", d, s, 0.3)));
        EXPECT_EQ(fused, ref) << static_cast<int>(d) << " " << dtype_name(dt) << " g " << shape_str(g.shape());
      }
    }
  }
}

TEST_P(Activation, NanPropagates) {
  const Tensor x = from_vector(std::vector<float>{std::nanf("")}, {1}, options());
  for (const auto& c : cases()) EXPECT_TRUE(std::isnan(to_vector<float>(c.op(x))[0])) << c.name;
}

TEST_P(Activation, Errors) {
  expect_error([&] { relu6(zeros({2, 3}, options(DType::Int64))); }, {"anima::relu6", "int64", "[2, 3]"});
  expect_error([&] { sigmoid(zeros({4}, options(DType::Int64))); }, {"anima::sigmoid", "int64"});
  expect_error(
      [&] {
        prelu(zeros({2, 3, 4}, options()), zeros({2}, options()));
      },
      {"anima::prelu", "[2]", "[2, 3, 4]", "3"});
  expect_error([&] { prelu(zeros({2, 3}, options()), zeros({3, 1}, options())); }, {"anima::prelu", "[3, 1]"});
  expect_error(
      [&] {
        prelu(zeros({2, 3}, options()), zeros({3}, options(DType::Float64)));
      },
      {"anima::prelu", "float64"});
  const Tensor elsewhere = foreign({3});
  expect_error([&] { prelu(zeros({2, 3}, options()), elsewhere); }, {"anima::prelu", "cuda"});
}

TEST_P(Prelu, ValuesPerChannel) {
  const TensorOptions f64 = options(DType::Float64);
  Tensor x = from_vector(std::vector<double>{-1, 2, -3, 4, -5, 6, -7, 8, -9, 10, -11, 12}, {2, 3, 2}, f64);
  Tensor w = from_vector(std::vector<double>{0.1, 0.2, 0.3}, {3}, f64);
  const auto y = to_vector<double>(prelu(x, w));
  const std::vector<double> expect = {-0.1, 2, -0.6, 4, -1.5, 6, -0.7, 8, -1.8, 10, -3.3, 12};
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], expect[i], 1e-15);
  Tensor w1 = from_vector(std::vector<double>{0.5}, {1}, f64);
  EXPECT_EQ(prelu(x, w1).shape(), x.shape());
  EXPECT_NEAR(to_vector<double>(prelu(x, w1))[0], -0.5, 1e-15);
  Tensor v = from_vector(std::vector<double>{-2, 3}, {2}, f64);
  EXPECT_EQ(to_vector<double>(prelu(v, w1)), (std::vector<double>{-1, 3}));
  Tensor s = from_vector(std::vector<double>{-2}, {}, f64);
  EXPECT_EQ(prelu(s, w1).shape(), Shape{});
}

TEST_P(Prelu, Gradcheck) {
  Generator g(5);
  Tensor x = rand({2, 3, 4, 5}, TensorOptions(DType::Float64).with_requires_grad(), g, -1, 1);
  Tensor w = from_vector(std::vector<double>{0.1, -0.2, 0.3}, {3}, TensorOptions(DType::Float64).with_requires_grad());
  Tensor w1 = from_vector(std::vector<double>{0.25}, {1}, TensorOptions(DType::Float64).with_requires_grad());
  auto f = [](const std::vector<Tensor>& in) { return prelu(in[0], in[1]); };
  expect_gradcheck("prelu [C]", f, {x, w});
  expect_gradcheck("prelu [1]", f, {x, w1});
  Tensor v = rand({7}, TensorOptions(DType::Float64).with_requires_grad(), g, -1, 1);
  expect_gradcheck("prelu 1-D", f, {v, w1});
}

TEST_P(Prelu, SlopeGradientSumsOverAllButChannel) {
  // dw[c] = Σ g·x over x <= 0 in channel c; with g = 1.
  Tensor x = from_vector(std::vector<double>{-1, 2, -3, 4, -5, 6, -7, 8}, {2, 2, 2}, options(DType::Float64));
  Tensor w = from_vector(std::vector<double>{0.1, 0.2}, {2}, options(DType::Float64).with_requires_grad());
  backward(sum(prelu(x, w)));
  EXPECT_EQ(to_vector<double>(w.grad()), (std::vector<double>{-1 - 5, -3 - 7}));
}

TEST_P(Prelu, Float32MatchesFloat64Reference) {
  const Tensor x = uniform({4, 3, 9, 7}, 2, -1, 1);
  const Tensor w = uniform({3}, 3, 0, 0.5), w1 = uniform({1}, 4, 0, 0.5);
  // dw sums 4·9·7 = 252 products per channel in double (CPU sequential, CUDA a tree), rounded to float
  // once: the float32 side differs from the reference by that rounding and the products' (2e-6).
  auto f = [](auto& in) { return prelu(in[0], in[1]); };
  expect_matches_reference("prelu [C]", f, {x, w}, kFloat32);
  expect_matches_reference("prelu [1]", f, {x, w1}, kFloat32);
}

}  // namespace
}  // namespace anima
