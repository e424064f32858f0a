// Activations (anima/ops/activation.hpp): values against double formulas, PyTorch 1.13's gradients
// at the kinks, gradcheck (float64 central differences, tolerances in anima/autograd/gradcheck.hpp)
// away from the kinks, prelu's per-channel slope gradient, and argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/ops/activation.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/reduce.hpp>

#include "expect_error.hpp"

namespace anima {
namespace {

using anima::testing::expect_error;

struct ActivationCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
};

double relu6_ref(double v) { return std::min(std::max(v, 0.0), 6.0); }

std::vector<ActivationCase> cases() {
  return {
      {"relu6", [](const Tensor& x) { return relu6(x); }, relu6_ref},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.15); }, [](double v) { return v > 0 ? v : 0.15 * v; }},
      {"leaky_relu_default", [](const Tensor& x) { return leaky_relu(x); }, [](double v) { return v > 0 ? v : 0.01 * v; }},
      {"elu", [](const Tensor& x) { return elu(x, 0.7); }, [](double v) { return v > 0 ? v : 0.7 * (std::exp(v) - 1); }},
      {"elu_default", [](const Tensor& x) { return elu(x); }, [](double v) { return v > 0 ? v : std::exp(v) - 1; }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, [](double v) { return 1 / (1 + std::exp(-v)); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double v) { return std::tanh(v); }},
      {"hardswish", [](const Tensor& x) { return hardswish(x); }, [](double v) { return v * relu6_ref(v + 3) / 6; }},
  };
}

// Values away from every kink (0, ±3, 6) so central differences see one smooth piece.
const std::vector<double> kSmooth = {-5.1, -3.4, -2.7, -1.2, -0.45, -0.05, 0.3, 1.7, 2.6, 3.5, 5.2, 7.3};

TEST(Activation, ValuesMatchDoubleFormulas) {
  // Includes the kinks themselves and large magnitudes (sigmoid/tanh saturation, elu's e^x → 0).
  std::vector<double> xs = kSmooth;
  for (double v : {-3.0, 0.0, 3.0, 6.0, -40.0, 40.0, -100.0}) xs.push_back(v);
  Tensor x = from_vector(xs, {static_cast<std::int64_t>(xs.size())}, TensorOptions(DType::Float64));
  for (const auto& c : cases()) {
    const auto y = to_vector<double>(c.op(x));
    for (std::size_t i = 0; i < xs.size(); ++i)
      EXPECT_NEAR(y[i], c.ref(xs[i]), 1e-15 * (1 + std::fabs(c.ref(xs[i])))) << c.name << " at " << xs[i];
  }
}

TEST(Activation, Float32MatchesFloat64) {
  // float32 within 4 ulps (relative 5e-7) of the float64 result rounded: exp/tanh in libm are <= 1 ulp.
  Generator g(3);
  Tensor x64 = rand({513}, TensorOptions(DType::Float64), g, -8, 8);
  Tensor x32 = cast_copy(x64, DType::Float32);
  for (const auto& c : cases()) {
    const auto a = to_vector<double>(c.op(x32));
    const auto b = to_vector<double>(c.op(cast_copy(x32, DType::Float64)));
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 5e-7 * std::fabs(b[i]) + 1e-7) << c.name;
  }
}

TEST(Activation, Gradcheck) {
  Tensor x = from_vector(kSmooth, {3, 4}, TensorOptions(DType::Float64).with_requires_grad());
  for (const auto& c : cases()) {
    auto r = gradcheck([&](const std::vector<Tensor>& in) { return c.op(in[0]); }, {x});
    EXPECT_TRUE(r.ok) << c.name << "\n" << r.report;
  }
}

// dy/dx at the kinks, as torch 1.13 computes them (checked with torch 1.13 for these exact points).
TEST(Activation, GradientsAtKinksFollowPyTorch) {
  const std::vector<double> xs = {-3.0, 0.0, 3.0, 6.0};
  auto grad_of = [&](const std::function<Tensor(const Tensor&)>& f) {
    Tensor x = from_vector(xs, {4}, TensorOptions(DType::Float64).with_requires_grad());
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
  Tensor x = from_vector(std::vector<double>{-3.5, 3.5}, {2}, TensorOptions(DType::Float64).with_requires_grad());
  backward(sum(hardswish(x)));
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{0, 1}));
}

// The fused backward (ActivationBackwardKernel) against its reference, the two-pass composite
// g · unary(d, saved): the same operations per element, so bitwise equal; with a contiguous g and
// with a broadcast (stride-0) g.
TEST(Activation, FusedBackwardMatchesTwoPassReference) {
  using kernels::UnaryOp;
  Generator gen(8);
  for (DType dt : {DType::Float32, DType::Float64}) {
    Tensor s = rand({5, 37}, TensorOptions(dt), gen, -8, 8);
    Tensor g_full = rand({5, 37}, TensorOptions(dt), gen, -1, 1);
    Tensor g_row = rand({37}, TensorOptions(dt), gen, -1, 1);
    for (UnaryOp d : {UnaryOp::Relu6Grad, UnaryOp::LeakyReluGrad, UnaryOp::EluGrad, UnaryOp::HardswishGrad,
                      UnaryOp::SigmoidGradOfOutput, UnaryOp::TanhGradOfOutput, UnaryOp::Sigmoid}) {
      for (const Tensor& g : {g_full, g_row}) {
        const auto fused = to_vector<double>(detail::activation_backward_u(d, 0.3, s, g));
        const auto ref = to_vector<double>(
            untracked::binary("ref", kernels::BinaryOp::Mul, g, untracked::unary("ref", d, s, 0.3)));
        EXPECT_EQ(fused, ref) << static_cast<int>(d) << " " << dtype_name(dt) << " g " << shape_str(g.shape());
      }
    }
  }
}

TEST(Activation, NanPropagates) {
  Tensor x = from_vector(std::vector<float>{std::nanf("")}, {1});
  for (const auto& c : cases()) EXPECT_TRUE(std::isnan(to_vector<float>(c.op(x))[0])) << c.name;
}

TEST(Prelu, ValuesPerChannel) {
  Tensor x = from_vector(std::vector<double>{-1, 2, -3, 4, -5, 6, -7, 8, -9, 10, -11, 12}, {2, 3, 2},
                         TensorOptions(DType::Float64));
  Tensor w = from_vector(std::vector<double>{0.1, 0.2, 0.3}, {3}, TensorOptions(DType::Float64));
  const auto y = to_vector<double>(prelu(x, w));
  const std::vector<double> expect = {-0.1, 2, -0.6, 4, -1.5, 6, -0.7, 8, -1.8, 10, -3.3, 12};
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], expect[i], 1e-15);
  Tensor w1 = from_vector(std::vector<double>{0.5}, {1}, TensorOptions(DType::Float64));
  EXPECT_EQ(prelu(x, w1).shape(), x.shape());
  EXPECT_NEAR(to_vector<double>(prelu(x, w1))[0], -0.5, 1e-15);
  Tensor v = from_vector(std::vector<double>{-2, 3}, {2}, TensorOptions(DType::Float64));
  EXPECT_EQ(to_vector<double>(prelu(v, w1)), (std::vector<double>{-1, 3}));
  Tensor s = from_vector(std::vector<double>{-2}, {}, TensorOptions(DType::Float64));
  EXPECT_EQ(prelu(s, w1).shape(), Shape{});
}

TEST(Prelu, Gradcheck) {
  Generator g(5);
  Tensor x = rand({2, 3, 4, 5}, TensorOptions(DType::Float64).with_requires_grad(), g, -1, 1);
  Tensor w = from_vector(std::vector<double>{0.1, -0.2, 0.3}, {3}, TensorOptions(DType::Float64).with_requires_grad());
  Tensor w1 = from_vector(std::vector<double>{0.25}, {1}, TensorOptions(DType::Float64).with_requires_grad());
  auto f = [](const std::vector<Tensor>& in) { return prelu(in[0], in[1]); };
  auto r = gradcheck(f, {x, w});
  EXPECT_TRUE(r.ok) << r.report;
  r = gradcheck(f, {x, w1});
  EXPECT_TRUE(r.ok) << r.report;
  Tensor v = rand({7}, TensorOptions(DType::Float64).with_requires_grad(), g, -1, 1);
  r = gradcheck(f, {v, w1});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(Prelu, SlopeGradientSumsOverAllButChannel) {
  // dw[c] = Σ g·x over x <= 0 in channel c; with g = 1.
  Tensor x = from_vector(std::vector<double>{-1, 2, -3, 4, -5, 6, -7, 8}, {2, 2, 2}, TensorOptions(DType::Float64));
  Tensor w = from_vector(std::vector<double>{0.1, 0.2}, {2}, TensorOptions(DType::Float64).with_requires_grad());
  backward(sum(prelu(x, w)));
  EXPECT_EQ(to_vector<double>(w.grad()), (std::vector<double>{-1 - 5, -3 - 7}));
}

TEST(Activation, Errors) {
  expect_error([] { relu6(zeros({2, 3}, DType::Int64)); }, {"anima::relu6", "int64", "[2, 3]"});
  expect_error([] { sigmoid(zeros({4}, DType::Int64)); }, {"anima::sigmoid", "int64"});
  expect_error([] { prelu(zeros({2, 3, 4}), zeros({2})); }, {"anima::prelu", "[2]", "[2, 3, 4]", "3"});
  expect_error([] { prelu(zeros({2, 3}), zeros({3, 1})); }, {"anima::prelu", "[3, 1]"});
  expect_error([] { prelu(zeros({2, 3}), zeros({3}, DType::Float64)); }, {"anima::prelu", "float64"});
  float buf[3] = {0, 0, 0};
  Tensor fake = view_of_buffer(buf, {3}, Device::cuda(0));
  expect_error([&] { prelu(zeros({2, 3}), fake); }, {"anima::prelu", "cuda"});
}

}  // namespace
}  // namespace anima
