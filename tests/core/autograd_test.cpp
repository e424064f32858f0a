// The tape and the backward engine: accumulation, ordering, detach / NoGradGuard / zero_grad, and
// a gradcheck that does fail when a backward rule is wrong.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/gradcheck.hpp>
#include <anima/autograd/grad_mode.hpp>
#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/ops/copy_ops.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/matmul.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

namespace anima {
namespace {

Tensor param(std::vector<double> v, Shape s) { return from_vector<double>(v, s, TensorOptions().with_requires_grad()); }

TEST(Autograd, ChainRuleByHand) {
  // L = Σ (x·w + b)², dL/dx = 2(xw+b)·w, dL/dw = 2(xw+b)·x, dL/db = Σ 2(xw+b)
  Tensor x = param({1, 2, 3}, {3}), w = param({0.5}, {1}), b = param({-1}, {});
  backward(sum(pow(x * w + b, 2.0)));
  // x·w + b = [-0.5, 0, 0.5]
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{-0.5, 0.0, 0.5}));
  EXPECT_DOUBLE_EQ(item<double>(w.grad()), 2 * (-0.5 * 1 + 0 * 2 + 0.5 * 3));
  EXPECT_DOUBLE_EQ(item<double>(b.grad()), 0.0);
}

TEST(Autograd, DiamondGraphSumsBothPaths) {
  // y = a·a + exp(a): the node of `a` feeds two consumers; d/da = 2a + e^a.
  Tensor a = param({0.3, -0.7}, {2});
  Tensor h = a * 1.0;  // a non-leaf used twice
  backward(sum(h * h + exp(h)));
  const auto g = to_vector<double>(a.grad());
  EXPECT_NEAR(g[0], 0.6 + std::exp(0.3), 1e-15);
  EXPECT_NEAR(g[1], -1.4 + std::exp(-0.7), 1e-15);
}

TEST(Autograd, GradientsAccumulateAcrossCallsUntilZeroGrad) {
  Tensor x = param({2.0}, {1});
  backward(sum(x * 3.0));
  backward(sum(x * 3.0));
  EXPECT_DOUBLE_EQ(item<double>(x.grad()), 6.0);
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
  backward(sum(x * x));
  EXPECT_DOUBLE_EQ(item<double>(x.grad()), 4.0);
}

TEST(Autograd, LeafGradIsOwnedAndContiguous) {
  // The upstream gradient of expand is a stride-0 view; the leaf must get its own dense copy.
  Tensor x = param({1.0, 2.0}, {2, 1});
  backward(sum(expand(x, {2, 3})));
  Tensor g = x.grad();
  EXPECT_TRUE(g.is_contiguous());
  EXPECT_EQ(to_vector<double>(g), (std::vector<double>{3.0, 3.0}));
}

TEST(Autograd, DetachAndNoGradStopTheTape) {
  Tensor x = param({1.0, 2.0}, {2});
  Tensor d = detach(x);
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.raw_data(), x.raw_data());  // shares the data
  {
    NoGradGuard guard;
    Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
  }
  EXPECT_TRUE(GradMode::is_enabled());
  Tensor z = x * d;  // only the x path carries gradient: dz/dx = d (treated as a constant)
  backward(sum(z));
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{1.0, 2.0}));
}

TEST(Autograd, BranchWithoutGradientStillReleasesItsInputs) {
  // `u` reaches the loss only through a path whose rule gives no gradient to it (where's condition
  // is not differentiable, and eq's result has no node). x must still receive the other path's gradient.
  Tensor x = param({1.0, -1.0}, {2});
  Tensor h = x * 2.0;
  Tensor c = gt(h, zeros({}, DType::Float64));
  Tensor y = where(c, h, zeros({}, DType::Float64)) + h;
  backward(sum(y));
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{4.0, 2.0}));
}

TEST(Autograd, LongChainRunsInReverseTopologicalOrder) {
  Tensor x = param({1.0}, {1});
  Tensor h = x;
  for (int i = 0; i < 200; ++i) h = h * 1.01 + h * 0.0;  // each step feeds two nodes into one
  backward(sum(h));
  EXPECT_NEAR(item<double>(x.grad()), std::pow(1.01, 200), 1e-9);
}

TEST(Autograd, DtypeConversionPassesGradientBackInTheSourceType) {
  // y = 3·float32(x): dL/dx = 3, delivered as float64 to the float64 leaf (to(dtype)'s rule casts back).
  Tensor x = param({0.25, -1.5}, {2});
  backward(sum(to(x, DType::Float32) * 3.0));
  ASSERT_EQ(x.grad().dtype(), DType::Float64);
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{3.0, 3.0}));
  // Converting to an integer type ends the tape: no gradient can flow through it.
  EXPECT_FALSE(to(x, DType::Int64).requires_grad());
}

TEST(Autograd, Errors) {
  Tensor x = zeros({2, 2});
  EXPECT_THROW(backward(sum(x)), Error);  // nothing requires grad
  Tensor p = param({1, 2, 3, 4}, {2, 2});
  try {
    backward(p * 2.0);  // non-scalar without a gradient
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 2]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(backward(p * 2.0, zeros({3}, DType::Float64)), Error);  // gradient of the wrong shape
  Tensor y = p * 2.0;
  EXPECT_THROW(y.set_requires_grad(false), Error);  // only leaves
  EXPECT_THROW(zeros({2}, DType::Int64).set_requires_grad(true), Error);
}

// A deliberately wrong backward rule (d/dx x² reported as x instead of 2x): gradcheck must fail.
Tensor square_with_wrong_rule(const Tensor& x) {
  Tensor y = untracked::binary("square", kernels::BinaryOp::Mul, x, x);
  Tensor sx = detach(x);
  record("square", y, {x}, [sx](const Tensor& g) -> std::vector<Tensor> {
    return {untracked::binary("square", kernels::BinaryOp::Mul, g, sx)};
  });
  return y;
}

TEST(Gradcheck, DetectsAWrongRule) {
  Tensor x = param({0.5, -1.5, 2.0}, {3});
  auto bad = gradcheck([](const std::vector<Tensor>& in) { return square_with_wrong_rule(in[0]); }, {x});
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.report.find("input 0"), std::string::npos);
  auto good = gradcheck([](const std::vector<Tensor>& in) { return in[0] * in[0]; }, {x});
  EXPECT_TRUE(good.ok) << good.report;
  EXPECT_LT(good.max_abs_error, 1e-7);
}

TEST(Gradcheck, RejectsFloat32Inputs) {
  Tensor x = ones({2}, TensorOptions().with_requires_grad());
  EXPECT_THROW(gradcheck([](const std::vector<Tensor>& in) { return in[0] * 2.0; }, {x}), Error);
}

TEST(Gradcheck, SmallNetworkEndToEnd) {
  // A two-layer perceptron with a softmax cross-entropy written from core ops.
  Generator gen(3);
  TensorOptions o = TensorOptions(DType::Float64).with_requires_grad();
  Tensor x = randn({4, 3}, TensorOptions(DType::Float64), gen);
  Tensor w1 = randn({3, 5}, o, gen), b1 = randn({5}, o, gen), w2 = randn({5, 2}, o, gen);
  auto f = [&](const std::vector<Tensor>& p) {
    Tensor h = relu(matmul(x, p[0]) + p[1]);
    Tensor logits = matmul(h, p[2]);
    Tensor m = max(logits, 1, true).values;
    Tensor lse = log(sum(exp(logits - m), {1}, true)) + m;
    return mean(lse - narrow(logits, 1, 0, 1));  // class 0 for every row
  };
  auto r = gradcheck(f, {w1, b1, w2});
  EXPECT_TRUE(r.ok) << r.report;
}

}  // namespace
}  // namespace anima
