// optim::SGD (anima/optim/sgd.hpp): parameter groups with their own learning rate and weight decay,
// momentum, frozen parameters skipped, checked against the update rule worked out by hand on a tiny
// model; and a small Conv-BN-ReLU net whose loss goes down with it.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/core/copy.hpp>
#include <anima/nn/layers.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/loss.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>
#include <anima/optim/sgd.hpp>

#include "../core/expect_error.hpp"

namespace anima {
namespace {

using testing::contains;
using testing::error_of;

// L = Σ_n y_n with y = x·wᵀ + b (Linear 2 -> 1, float64): dL/dw = Σ_n x_n (constant), dL/db = N.
// Group "w": lr 0.1, momentum 0.9, weight decay 0.01; group "b": lr 0.5, no momentum, no decay.
//   w: d_t = g + 0.01·w_t, buf_1 = d_1, buf_t = 0.9·buf_{t-1} + d_t, w_{t+1} = w_t - 0.1·buf_t
//   b: b_{t+1} = b_t - 0.5·N
TEST(SGD, ParamGroupsFollowTheUpdateRule) {
  auto fc = std::make_shared<nn::Linear>(2, 1);
  NoGradGuard ng;
  copy_into(fc->weight, from_vector<float>({0.5f, -1.0f}, {1, 2}));
  copy_into(fc->bias, from_vector<float>({0.25f}, {1}));
  const Tensor x = from_vector<float>({1, 2, 3, -1, 0.5f, 0.5f}, {3, 2});  // Σx = (4.5, 1.5), N = 3
  optim::SGDParamGroup gw, gb;
  gw.params = {fc->weight};
  gw.lr = 0.1;
  gw.momentum = 0.9;
  gw.weight_decay = 0.01;
  gw.name = "w";
  gb.params = {fc->bias};
  gb.lr = 0.5;
  gb.name = "b";
  optim::SGD opt({gw, gb}, optim::SGDOptions{});
  ASSERT_EQ(opt.num_groups(), 2u);
  EXPECT_EQ(opt.group(1).momentum, 0.0);  // from the defaults

  double w[2] = {0.5, -1.0}, buf[2] = {0, 0}, b = 0.25;
  const double g[2] = {4.5, 1.5};
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    {
      GradMode::set_enabled(true);
      backward(sum(fc->forward(x)));
      GradMode::set_enabled(false);
    }
    opt.step();
    for (int i = 0; i < 2; ++i) {
      const double d = g[i] + 0.01 * w[i];
      buf[i] = step == 0 ? d : 0.9 * buf[i] + d;
      w[i] -= 0.1 * buf[i];
    }
    b -= 0.5 * 3;
    const std::vector<float> got = to_vector<float>(fc->weight);
    // float32 arithmetic on values of size ~5: a few ulps (1e-6 relative) of the double recurrence.
    EXPECT_NEAR(got[0], w[0], 1e-5 * std::fabs(w[0]) + 1e-6) << "step " << step;
    EXPECT_NEAR(got[1], w[1], 1e-5 * std::fabs(w[1]) + 1e-6) << "step " << step;
    EXPECT_NEAR(item<float>(fc->bias), b, 1e-6) << "step " << step;
    EXPECT_NEAR(to_vector<float>(opt.momentum_buffer(0, 0))[0], buf[0], 1e-5 * std::fabs(buf[0]));
  }
  EXPECT_FALSE(opt.momentum_buffer(1, 0).defined());
  // set_lr changes one group only.
  opt.set_lr(1, 0.0);
  opt.zero_grad();
  GradMode::set_enabled(true);
  backward(sum(fc->forward(x)));
  GradMode::set_enabled(false);
  opt.step();
  EXPECT_NEAR(item<float>(fc->bias), b, 1e-6);
}

TEST(SGD, FrozenParametersAreNotUpdated) {
  manual_seed(2);
  auto net = std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
      std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(4, 2)});
  optim::SGD opt(net->parameters(), optim::SGDOptions{0.1, 0.9, 1e-4});
  net->freeze("0");
  const std::vector<float> w0 = to_vector<float>(net->tensor("0.weight"));
  const std::vector<float> w2 = to_vector<float>(net->tensor("2.weight"));
  backward(sum(net->forward(rand({5, 3}))));
  opt.step();
  EXPECT_EQ(to_vector<float>(net->tensor("0.weight")), w0);
  EXPECT_NE(to_vector<float>(net->tensor("2.weight")), w2);
  EXPECT_FALSE(opt.momentum_buffer(0, 0).defined());
  // A parameter with requires_grad but a gradient kept from before freezing is skipped too.
  net->tensor("0.bias").set_grad(ones({4}));
  opt.step();
  EXPECT_EQ(to_vector<float>(net->tensor("0.weight")), w0);
  opt.zero_grad();
  for (const Tensor& p : net->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(SGD, RejectsBadGroups) {
  nn::Linear fc(2, 2);
  optim::SGDParamGroup a, b;
  a.params = {fc.weight};
  b.params = {fc.weight, fc.bias};
  EXPECT_TRUE(contains(error_of([&] { optim::SGD({a, b}, optim::SGDOptions{}); }), "in both group '0' and group '1'"));
  EXPECT_TRUE(contains(error_of([&] { optim::SGD({fc.weight}, optim::SGDOptions{-1.0}); }), "must be >= 0"));
}

// Conv(3->8, 3x3) - BN - ReLU - global average pool - Linear(8 -> 3), cross-entropy on 12 fixed
// images whose class is the channel with the largest mean: ten SGD steps must lower the loss clearly.
TEST(SGD, ConvBnReluNetLossGoesDown) {
  manual_seed(4);
  auto net = std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
      std::make_shared<nn::Conv2d>(3, 8, 3, 1, 1), std::make_shared<nn::BatchNorm2d>(8), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::AdaptiveAvgPool2d>(1), std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(8, 3)});
  Generator data(9);
  Tensor x = rand({12, 3, 6, 6}, {}, data);
  std::vector<std::int64_t> labels;
  {
    const std::vector<float> v = to_vector<float>(mean(x, {2, 3}));
    for (int n = 0; n < 12; ++n) {
      int best = 0;
      for (int c = 1; c < 3; ++c)
        if (v[n * 3 + c] > v[n * 3 + best]) best = c;
      labels.push_back(best);
    }
  }
  const Tensor y = from_vector(labels, {12});
  optim::SGD opt(net->parameters(), optim::SGDOptions{0.5, 0.9, 0.0});
  auto loss_now = [&] { return cross_entropy(net->forward(x), y); };
  const double first = item<float>(loss_now());
  double last = first;
  for (int step = 0; step < 10; ++step) {
    opt.zero_grad();
    Tensor loss = loss_now();
    last = item<float>(loss);
    backward(loss);
    opt.step();
  }
  EXPECT_LT(last, 0.8 * first) << "first " << first << ", last " << last;
  EXPECT_EQ(item<std::int64_t>(net->tensor("1.num_batches_tracked")), 11);
}

}  // namespace
}  // namespace anima
