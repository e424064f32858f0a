// nn::prepare_inference (anima/nn/inference.hpp) and the conv -> norm -> activation fusion of
// nn/conv_norm_act.hpp: prepared modules give the unprepared values (within the fold's rounding), fall
// back to the separate ops whenever a gradient is wanted or the module trains, and drop what they
// prepared when their parameters are replaced (train(true), load_state_dict, replace_module).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/nn/conv_norm_act.hpp>
#include <anima/nn/frozen_batch_norm.hpp>
#include <anima/nn/inference.hpp>
#include <anima/nn/layers.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/reduce.hpp>

namespace anima {
namespace inference_test {

// |a - b| <= rel * max|b| elementwise. float32 convolutions of K <= 3·3·8 = 72 products: the fold
// rounds each w·scale once more (relative 6e-8 per product), far inside 1e-5 of the output's scale.
void expect_close(const Tensor& a, const Tensor& b, double rel, const std::string& what) {
  ASSERT_EQ(shape_str(a.shape()), shape_str(b.shape())) << what;
  const std::vector<double> x = to_vector<double>(cast_copy(a, DType::Float64));
  const std::vector<double> y = to_vector<double>(cast_copy(b, DType::Float64));
  double scale = 0.0;
  for (double v : y) scale = std::max(scale, std::fabs(v));
  ASSERT_GT(scale, 0.0) << what << ": the reference is all zeros (a test that cannot fail)";
  double worst = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(x[i] - y[i]));
  EXPECT_LE(worst, rel * scale) << what << ": worst difference " << worst << " at scale " << scale;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return to_vector<float>(contiguous_copy(a)) == to_vector<float>(contiguous_copy(b));
}

// Randomises the statistics and affine parameters of every norm (BatchNorm2d, FrozenBatchNorm2d), so that
// folding them changes the weights (the defaults, mean 0 and var 1, would leave them nearly as they are).
void randomise_norms(nn::Module& m, std::uint64_t seed) {
  Generator gen(seed);
  NoGradGuard no_grad;
  auto fill = [&](const Tensor& t, double lo, double hi) {
    if (t.defined()) copy_into(t, rand(t.shape(), {}, gen, lo, hi));
  };
  for (auto& [name, module] : m.named_modules()) {
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(module)) {
      fill(bn->weight, 0.5, 1.5), fill(bn->bias, -0.5, 0.5);
      fill(bn->running_mean, -0.5, 0.5), fill(bn->running_var, 0.2, 2.0);
    } else if (auto* frozen = dynamic_cast<nn::FrozenBatchNorm2d*>(module)) {
      fill(frozen->weight, 0.5, 1.5), fill(frozen->bias, -0.5, 0.5);
      fill(frozen->running_mean, -0.5, 0.5), fill(frozen->running_var, 0.2, 2.0);
    }
  }
}

// A Sequential of the patterns the nets use: Conv2dNormActivation (conv, bn, relu6), conv + relu (VGG),
// conv + bn (MobileNetV2's projection), a depthwise conv + frozen norm + relu, and a plain conv.
std::shared_ptr<nn::Sequential> patterns() {
  auto s = std::make_shared<nn::Sequential>();
  s->push_back(std::make_shared<nn::Conv2d>(3, 8, 3, 2, 1, 1, 1, false));
  s->push_back(std::make_shared<nn::BatchNorm2d>(8));
  s->push_back(std::make_shared<nn::ReLU6>());
  s->push_back(std::make_shared<nn::Conv2d>(8, 8, 3, 1, 1));
  s->push_back(std::make_shared<nn::ReLU>());
  s->push_back(std::make_shared<nn::Conv2d>(8, 6, 1, 1, 0, 1, 1, false));
  s->push_back(std::make_shared<nn::BatchNorm2d>(6));
  s->push_back(std::make_shared<nn::Conv2d>(6, 6, 3, 1, 1, 1, 6, false));
  s->push_back(std::make_shared<nn::FrozenBatchNorm2d>(6));
  s->push_back(std::make_shared<nn::ReLU>());
  s->push_back(std::make_shared<nn::Conv2d>(6, 5, 3, 1, 1));
  return s;
}

Tensor input(std::uint64_t seed) {
  Generator gen(seed);
  return randn({2, 3, 13, 11}, {}, gen);
}

TEST(PrepareInference, SequentialPatternsMatchTheUnpreparedForward) {
  auto net = patterns();
  randomise_norms(*net, 1);
  net->eval();
  const Tensor x = input(3);
  NoGradGuard no_grad;
  const Tensor plain = net->forward(x);
  nn::prepare_inference(*net);
  const Tensor prepared = net->forward(x);
  expect_close(prepared, plain, 1e-5, "prepared Sequential");
  EXPECT_FALSE(bitwise_equal(prepared, plain)) << "the fused path did not run (the fold changes the rounding)";
  // Every conv is prepared: the first four fused with what follows, the last alone (weights packed).
  for (std::size_t i : {0u, 3u, 5u, 7u, 10u}) {
    auto conv = std::dynamic_pointer_cast<nn::Conv2d>((*net)[i]);
    ASSERT_TRUE(conv) << i;
    EXPECT_TRUE(conv->prepared().defined()) << "conv " << i;
  }
  EXPECT_EQ(std::dynamic_pointer_cast<nn::Conv2d>((*net)[0])->prepared().activation, ConvActivation::Relu6);
  EXPECT_EQ(std::dynamic_pointer_cast<nn::Conv2d>((*net)[0])->prepared_norm(), (*net)[1].get());
}

TEST(PrepareInference, GradientsAndTrainingUseTheSeparateOps) {
  auto net = patterns();
  randomise_norms(*net, 4);
  net->eval();
  const Tensor x = input(5);
  Tensor plain;
  {
    NoGradGuard no_grad;
    plain = net->forward(x);
  }
  nn::prepare_inference(*net);
  // Grad mode on and the parameters require grad: the separate ops run (bitwise the unprepared values),
  // and the gradient reaches the first conv's weights.
  const Tensor with_grad = net->forward(x);
  EXPECT_TRUE(bitwise_equal(with_grad, plain));
  backward(sum(with_grad));
  auto conv0 = std::dynamic_pointer_cast<nn::Conv2d>((*net)[0]);
  ASSERT_TRUE(conv0->weight.grad().defined());
  // train(true) drops the prepared copies.
  net->train();
  EXPECT_FALSE(conv0->prepared().defined());
  net->eval();
  NoGradGuard no_grad;
  EXPECT_TRUE(bitwise_equal(net->forward(x), plain)) << "eval() alone does not prepare";
}

TEST(PrepareInference, LoadStateDictAndReplaceModuleDropThePreparedCopies) {
  auto net = patterns();
  randomise_norms(*net, 6);
  auto other = patterns();
  randomise_norms(*other, 7);
  other->eval();
  const Tensor x = input(8);
  NoGradGuard no_grad;
  const Tensor other_out = other->forward(x);
  nn::prepare_inference(*net);
  net->load_state_dict(other->state_dict());
  EXPECT_TRUE(bitwise_equal(net->forward(x), other_out)) << "the loaded weights are used, not the prepared ones";
  nn::prepare_inference(*net);
  expect_close(net->forward(x), other_out, 1e-5, "prepared after loading");
  // Replacing a child drops the Sequential's fused runs: its forward is the unprepared one again.
  net->replace(10, std::make_shared<nn::Conv2d>(6, 5, 3, 1, 1));
  const Tensor after_replace = net->forward(x);
  net->train();
  net->eval();
  EXPECT_TRUE(bitwise_equal(after_replace, net->forward(x))) << "replace_module";
}

// conv_norm_act with a norm it cannot fold (BatchNorm2d without running statistics normalises with the
// batch's own) leaves the conv unprepared and runs the separate ops.
TEST(PrepareInference, NormWithoutRunningStatisticsIsNotFolded) {
  nn::Conv2d conv(3, 4, 3, 1, 1);
  nn::BatchNorm2d bn(4, 1e-5, 0.1, true, false);
  conv.eval();
  bn.eval();
  EXPECT_FALSE(nn::prepare_conv_norm_act(conv, &bn, ConvActivation::Relu));
  EXPECT_FALSE(conv.prepared().defined());
  NoGradGuard no_grad;
  const Tensor x = input(9);
  EXPECT_TRUE(bitwise_equal(nn::conv_norm_act(conv, &bn, ConvActivation::Relu, x), relu(bn.forward(conv.forward(x)))));
}

}  // namespace inference_test
}  // namespace anima
