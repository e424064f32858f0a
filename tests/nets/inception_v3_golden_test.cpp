// Inception v3 against torchvision 0.14 (tools/golden/nets.py -> tests/golden/data/nets_inception_v3.safetensors),
// built as torchvision builds it for its ImageNet weights: inception_v3(aux_logits=True,
// init_weights=False, transform_input=True); both filled by anima::nn::deterministic_fill. Eval:
// logits [2, 1000] for two 299x299 images (the aux head is not run in eval mode) and the per-channel
// means of Conv2d_2b_3x3, Mixed_5d, Mixed_6e and Mixed_7c (plus Conv2d_2b_3x3's [:, :2, :8, :8]).
// Tolerances: tests/nets/net_golden.hpp.
#include <gtest/gtest.h>

#include <anima/nets/inception_v3.hpp>

#include "nets/net_golden.hpp"

namespace anima {
namespace inception_v3_golden_test {

TEST(InceptionV3Golden, EvalLogitsAndStages) {
  const nets_golden::Fixture fx("nets_inception_v3.safetensors");
  auto net = nets_golden::build_filled([] { return nets::inception_v3(1000, true, true); });
  ASSERT_TRUE(net->transform_input);
  ASSERT_TRUE(net->AuxLogits != nullptr);
  // Logits from the net's own forward (no Sequential to record from: Inception3 calls its blocks
  // through members).
  nets_golden::check_eval(*net, fx, {});

  // The activations: the stages of Inception3::forward_with_aux, one by one.
  NoGradGuard no_grad;
  const Tensor input = nets_golden::make_input(fx.at("input_size"));
  Tensor x = nets::Inception3::apply_transform_input(input);
  x = net->Conv2d_2b_3x3->forward(net->Conv2d_2a_3x3->forward(net->Conv2d_1a_3x3->forward(x)));
  nets_golden::check_activation(fx, "Conv2d_2b_3x3", x);
  x = nets::inception_detail::max_pool_3x3_s2(x);
  x = net->Conv2d_4a_3x3->forward(net->Conv2d_3b_1x1->forward(x));
  x = nets::inception_detail::max_pool_3x3_s2(x);
  x = net->Mixed_5d->forward(net->Mixed_5c->forward(net->Mixed_5b->forward(x)));
  nets_golden::check_activation(fx, "Mixed_5d", x);
  x = net->Mixed_6a->forward(x);
  x = net->Mixed_6e->forward(net->Mixed_6d->forward(net->Mixed_6c->forward(net->Mixed_6b->forward(x))));
  nets_golden::check_activation(fx, "Mixed_6e", x);
  x = net->Mixed_7c->forward(net->Mixed_7b->forward(net->Mixed_7a->forward(x)));
  nets_golden::check_activation(fx, "Mixed_7c", x);
  EXPECT_EQ(fx.list("acts"), (std::vector<std::string>{"Conv2d_2b_3x3", "Mixed_5d", "Mixed_6e", "Mixed_7c"}));
}

// Prepared for inference: every BasicConv2d's conv -> bn -> relu folded into one convolution.
TEST(InceptionV3Golden, EvalLogitsPrepared) {
  const nets_golden::GoldenNet net("nets_inception_v3.safetensors",
                                   [] { return nets::inception_v3(1000, true, true); });
  net.check_eval_prepared();
}

}  // namespace inception_v3_golden_test
}  // namespace anima
