// Transfer learning with the ImageNet nets (anima/nets/*.hpp): replace_classifier gives a fresh head of
// the new size under classifier_prefix(); freeze_backbone leaves only the head trainable, so after a
// backward pass only the head has gradients and an SGD step changes only the head; a 1000-class
// state dict loads non-strictly into a 7-class net with exactly the head reported; forward shapes.
// (Equality with torchvision's outputs is tests/nets' golden tests; names: net_names_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/core/copy.hpp>
#include <anima/nets/mobilenet_v2.hpp>
#include <anima/nets/registry.hpp>
#include <anima/nets/resnet.hpp>
#include <anima/nets/vgg.hpp>
#include <anima/nn/init.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/optim/sgd.hpp>

namespace anima {
namespace {

TEST(Transfer, ResNet50HeadOnlyTraining) {
  manual_seed(21);
  auto net = nets::resnet50();
  const Tensor old_fc = net->fc->weight;
  net->replace_classifier(7);
  EXPECT_EQ(net->classifier_prefix(), "fc");
  EXPECT_EQ(net->num_classes(), 7);
  EXPECT_EQ(shape_str(net->tensor("fc.weight").shape()), "[7, 2048]");
  EXPECT_FALSE(net->fc->weight.same(old_fc));
  // torchvision's init: convs kaiming_normal_(fan_out): conv1 [64, 3, 7, 7] has std sqrt(2 / (64·49));
  // BatchNorm weight 1, bias 0.
  {
    const std::vector<float> w = to_vector<float>(net->conv1->weight);
    double s2 = 0;
    for (float v : w) s2 += double(v) * v;
    EXPECT_NEAR(std::sqrt(s2 / w.size()) / std::sqrt(2.0 / (64 * 49)), 1.0, 0.05);  // 9408 draws: ~0.7% error
    EXPECT_EQ(to_vector<float>(net->tensor("layer4.2.bn3.weight")), std::vector<float>(2048, 1.0f));
    EXPECT_EQ(to_vector<float>(net->tensor("layer4.2.bn3.bias")), std::vector<float>(2048, 0.0f));
  }
  // PyTorch's Linear default: |w| <= 1/sqrt(2048).
  for (float v : to_vector<float>(net->fc->weight)) ASSERT_LE(std::fabs(v), 1.0 / std::sqrt(2048.0) + 1e-7);

  net->freeze_backbone();
  EXPECT_EQ(net->num_parameters(true), 7 * 2048 + 7);
  std::vector<std::vector<float>> before;
  for (const Tensor& p : net->parameters()) before.push_back(to_vector<float>(p));
  optim::SGD opt(net->parameters(), optim::SGDOptions{0.1, 0.9, 1e-4});
  Tensor logits = net->forward(rand({2, 3, 64, 64}));
  ASSERT_EQ(shape_str(logits.shape()), "[2, 7]");
  backward(sum(logits));
  std::size_t i = 0;
  for (const auto& [name, p] : net->named_parameters()) {
    const bool head = nn::name_under(name, "fc");
    EXPECT_EQ(p.grad().defined(), head) << name;
    opt.step();  // (each call updates the head again; the backbone must never move)
    if (!head) {
      EXPECT_EQ(to_vector<float>(p), before[i]) << name;
    }
    ++i;
  }
  EXPECT_NE(to_vector<float>(net->fc->weight), before[before.size() - 2]);
}

TEST(Transfer, ImageNetStateDictLoadsIntoSevenClassNetExceptTheHead) {
  std::shared_ptr<nets::MobileNetV2> imagenet, seven;
  {
    nn::SkipInitGuard skip;  // values do not matter here, only names and shapes
    imagenet = nets::mobilenet_v2(1000);
  }
  manual_seed(22);
  seven = nets::mobilenet_v2(7);
  const nn::LoadReport r = seven->load_state_dict(imagenet->state_dict(), /*strict=*/false);
  EXPECT_TRUE(r.missing.empty());
  EXPECT_TRUE(r.unexpected.empty());
  ASSERT_EQ(r.wrong_shape.size(), 2u);
  EXPECT_EQ(r.wrong_shape[0].name, "classifier.1.weight");
  EXPECT_EQ(shape_str(r.wrong_shape[0].dict_shape), "[1000, 1280]");
  EXPECT_EQ(r.wrong_shape[1].name, "classifier.1.bias");
  EXPECT_EQ(r.loaded.size(), imagenet->state_dict().size() - 2);
  // The backbone now holds the (zero) loaded values; the head kept its N(0, 0.01) init.
  EXPECT_EQ(to_vector<float>(seven->tensor("features.0.0.weight")), std::vector<float>(864, 0.0f));
  double s2 = 0;
  const std::vector<float> head = to_vector<float>(seven->tensor("classifier.1.weight"));
  for (float v : head) s2 += double(v) * v;
  EXPECT_NEAR(std::sqrt(s2 / head.size()), 0.01, 0.001);  // 8960 draws: ~0.75% relative error
  // Strict loading of the same dict names both head entries.
  try {
    seven->load_state_dict(imagenet->state_dict());
    ADD_FAILURE() << "expected anima::Error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("classifier.1.weight (module [7, 1280], state dict [1000, 1280])"), std::string::npos) << m;
    EXPECT_NE(m.find("classifier.1.bias"), std::string::npos) << m;
  }
}

TEST(Transfer, StateDictRoundTripGivesTheSameOutputs) {
  manual_seed(23);
  auto a = nets::mobilenet_v2(10, 0.5);
  auto b = nets::mobilenet_v2(10, 0.5);
  a->eval();
  b->eval();
  // Non-trivial running statistics: a few training-mode passes on a.
  a->train();
  for (int k = 0; k < 2; ++k) a->forward(rand({2, 3, 32, 32}));
  a->eval();
  const Tensor x = rand({2, 3, 32, 32});
  NoGradGuard ng;
  ASSERT_NE(to_vector<float>(a->forward(x)), to_vector<float>(b->forward(x)));
  b->load_state_dict(a->state_dict());
  EXPECT_EQ(to_vector<float>(a->forward(x)), to_vector<float>(b->forward(x)));
  EXPECT_EQ(item<std::int64_t>(b->tensor("features.1.conv.0.1.num_batches_tracked")), 2);
}

TEST(Transfer, ForwardShapesAndHeadsOfEveryNet) {
  NoGradGuard ng;
  nn::SkipInitGuard skip;  // shapes only: drawing VGG16's 138M weights would take most of the test's time
  struct Case {
    std::string name, prefix;
    int side;
  };
  for (const Case& c : {Case{"vgg16", "classifier.6", 32}, Case{"vgg16_bn", "classifier.6", 32},
                        Case{"mobilenet_v2", "classifier.1", 64}, Case{"resnet50", "fc", 64}}) {
    SCOPED_TRACE(c.name);
    auto base = nets::make_net(c.name, 5);
    auto* net = dynamic_cast<nets::ImageClassifier*>(base.get());
    ASSERT_NE(net, nullptr);
    net->eval();
    EXPECT_EQ(net->classifier_prefix(), c.prefix);
    EXPECT_EQ(shape_str(net->forward(rand({1, 3, c.side, c.side})).shape()), "[1, 5]");
    net->replace_classifier(3);
    EXPECT_EQ(net->tensor(c.prefix + ".weight").size(0), 3);
    EXPECT_EQ(shape_str(net->forward(rand({2, 3, c.side, c.side})).shape()), "[2, 3]");
    EXPECT_FALSE(net->child(c.prefix.substr(0, c.prefix.find('.')))->is_training());  // the new head took eval
  }
}

}  // namespace
}  // namespace anima
