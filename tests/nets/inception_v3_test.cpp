// nets/inception_v3.hpp against torchvision 0.14's Inception3: parameter and buffer names, shapes and
// order (tests/golden/data/inception_v3_names.json, made by tools/golden/inception_v3_names.py), output
// shapes in eval and training mode, transform_input, the classifier swap, initialisation statistics and
// bad input. The whole-network numbers are checked by the golden test of the nets (deterministic fill).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/io/json_reader.hpp>
#include <anima/nets/inception_v3.hpp>
#include <anima/nn/init.hpp>
#include <anima/ops/factory.hpp>

#include "../core/expect_error.hpp"

namespace {

using anima::Shape;
using anima::Tensor;
using anima::io::JsonValue;

const JsonValue& names_fixture() {
  static const JsonValue doc = [] {
    const std::string path = std::string(ANIMA_GOLDEN_DIR) + "/inception_v3_names.json";
    std::ifstream f(path);
    if (!f) anima::fail("inception_v3_test", "cannot read ", path);
    std::stringstream ss;
    ss << f.rdbuf();
    return anima::io::parse_json(ss.str(), "inception_v3_test", path);
  }();
  return doc;
}

Shape shape_of(const JsonValue& arr) {
  Shape s;
  for (const auto& d : arr.items) s.push_back(std::stoll(d.text));
  return s;
}

std::int64_t integer(const JsonValue& obj, const char* key) { return std::stoll(obj.find(key)->text); }

TEST(InceptionV3, NamesShapesAndOrderMatchTorchvision) {
  const JsonValue& configs = *names_fixture().find("configs");
  ASSERT_EQ(configs.items.size(), 2u);
  for (const JsonValue& cfg : configs.items) {
    const int classes = static_cast<int>(integer(cfg, "num_classes"));
    const bool aux = cfg.find("aux_logits")->boolean, transform = cfg.find("transform_input")->boolean;
    SCOPED_TRACE(anima::str_cat("num_classes ", classes, " aux_logits ", aux, " transform_input ", transform));
    anima::nn::SkipInitGuard skip;  // names and shapes only
    auto net = anima::nets::inception_v3(classes, aux, transform);

    const auto sd = net->state_dict();
    const auto& expected = cfg.find("state_dict")->items;
    ASSERT_EQ(sd.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const std::string& name = expected[i].items[0].text;
      EXPECT_EQ(sd.items()[i].first, name) << "state_dict entry " << i;
      EXPECT_EQ(anima::shape_str(sd.items()[i].second.shape()), anima::shape_str(shape_of(expected[i].items[1])))
          << name;
    }
    const auto params = net->named_parameters();
    const auto& expected_params = cfg.find("parameters")->items;
    ASSERT_EQ(params.size(), expected_params.size());
    for (std::size_t i = 0; i < params.size(); ++i) EXPECT_EQ(params[i].first, expected_params[i].text) << i;
  }
}

TEST(InceptionV3, OutputShapesInEvalAndTraining) {
  anima::NoGradGuard no_grad;
  const JsonValue& cfg = names_fixture().find("configs")->items[0];  // 1000 classes, aux head
  const JsonValue& outs = *cfg.find("outputs");
  anima::nn::SkipInitGuard skip;
  auto net = anima::nets::inception_v3(1000, true, false);
  const Tensor x = anima::zeros({2, 3, 299, 299});

  net->eval();
  const auto eval_out = net->forward_with_aux(x);
  EXPECT_EQ(anima::shape_str(eval_out.logits.shape()), anima::shape_str(shape_of(*outs.find("eval"))));
  EXPECT_FALSE(eval_out.aux_logits.defined()) << "eval mode returns no auxiliary logits (torchvision)";

  net->train();
  const auto train_out = net->forward_with_aux(x);
  const JsonValue& train = *outs.find("train");
  EXPECT_EQ(anima::shape_str(train_out.logits.shape()), anima::shape_str(shape_of(train.items[0])));
  ASSERT_TRUE(train_out.aux_logits.defined());
  EXPECT_EQ(anima::shape_str(train_out.aux_logits.shape()), anima::shape_str(shape_of(train.items[1])));
  EXPECT_EQ(anima::shape_str(net->forward(x).shape()), anima::shape_str(shape_of(train.items[0])));
}

TEST(InceptionV3, NoAuxHeadMeansNoAuxLogitsInTraining) {
  anima::NoGradGuard no_grad;
  anima::nn::SkipInitGuard skip;
  auto net = anima::nets::inception_v3(10, false, true);
  net->train();
  const auto out = net->forward_with_aux(anima::zeros({2, 3, 299, 299}));
  EXPECT_EQ(anima::shape_str(out.logits.shape()), "[2, 10]");
  EXPECT_FALSE(out.aux_logits.defined());
}

TEST(InceptionV3, TransformInputIsTorchvisionsAffineMap) {
  // x_c * (std_c / 0.5) + (mean_c - 0.5) / 0.5, each a float32 operation as in torch.
  const std::vector<float> v = {0.f, 1.f, -2.f, 0.25f, 3.f, 0.5f, -1.f, 2.f, 7.f, -0.75f, 1.5f, 0.125f};
  const Tensor x = anima::from_vector(v, {1, 3, 2, 2});
  const std::vector<float> y = anima::to_vector<float>(anima::nets::Inception3::apply_transform_input(x));
  const double mean[3] = {0.485, 0.456, 0.406}, stdv[3] = {0.229, 0.224, 0.225};
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 4; ++i) {
      const float want = v[c * 4 + i] * static_cast<float>(stdv[c] / 0.5) + static_cast<float>((mean[c] - 0.5) / 0.5);
      EXPECT_EQ(y[c * 4 + i], want) << "channel " << c << " element " << i;
    }
}

TEST(InceptionV3, ReplaceClassifierSwapsBothHeads) {
  anima::nn::SkipInitGuard skip;
  auto net = anima::nets::inception_v3();
  net->replace_classifier(8);
  EXPECT_EQ(anima::shape_str(net->tensor("fc.weight").shape()), "[8, 2048]");
  EXPECT_EQ(anima::shape_str(net->tensor("fc.bias").shape()), "[8]");
  EXPECT_EQ(anima::shape_str(net->tensor("AuxLogits.fc.weight").shape()), "[8, 768]");
  EXPECT_EQ(net->num_classes(), 8);
  EXPECT_EQ(net->fc.get(), net->child("fc").get());
  EXPECT_EQ(net->AuxLogits->fc.get(), net->AuxLogits->child("fc").get());
  // The rest is untouched: the names still come in torchvision's order.
  EXPECT_EQ(net->state_dict().items().back().first, "fc.bias");
}

TEST(InceptionV3, FreezeBackboneLeavesBothHeadsTrainable) {
  anima::nn::SkipInitGuard skip;
  auto net = anima::nets::inception_v3();
  net->replace_classifier(8);
  net->freeze_backbone();
  std::vector<std::string> trainable;
  for (const auto& nt : net->named_parameters())
    if (nt.second.requires_grad()) trainable.push_back(nt.first);
  const std::vector<std::string> want = {"AuxLogits.fc.weight", "AuxLogits.fc.bias", "fc.weight", "fc.bias"};
  EXPECT_EQ(trainable, want);
}

double stddev_of(const Tensor& t) {
  const std::vector<double> v = anima::to_vector<double>(t);
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size()));
}

TEST(InceptionV3, InitialisationAsTorchvision) {
  auto net = anima::nets::inception_v3();
  // Truncated normal on [-2, 2]: std 0.1 (truncation at 20 sigma changes nothing), 0.01 and 0.001 for
  // the aux head. Hundreds of thousands of draws: the sample std is within 1% of the target.
  EXPECT_NEAR(stddev_of(net->tensor("Mixed_7c.branch3x3dbl_2.conv.weight")), 0.1, 1e-3);
  EXPECT_NEAR(stddev_of(net->tensor("AuxLogits.conv1.conv.weight")), 0.01, 1e-4);
  EXPECT_NEAR(stddev_of(net->tensor("AuxLogits.fc.weight")), 0.001, 1e-5);
  EXPECT_NEAR(stddev_of(net->tensor("fc.weight")), 0.1, 1e-3);
  EXPECT_EQ(anima::to_vector<float>(net->tensor("Mixed_5b.branch1x1.bn.weight")), std::vector<float>(64, 1.f));
  EXPECT_EQ(anima::to_vector<float>(net->tensor("Mixed_5b.branch1x1.bn.bias")), std::vector<float>(64, 0.f));
}

TEST(InceptionV3, BadInputIsAnError) {
  anima::NoGradGuard no_grad;
  anima::nn::SkipInitGuard skip;
  auto net = anima::nets::inception_v3(10, false);
  net->eval();
  anima::testing::expect_error(
      [&] {
        net->forward(anima::zeros({1, 1, 299, 299}));
      },
      {"inception_v3", "[1, 1, 299, 299]"});
  anima::testing::expect_error([&] { net->forward(anima::zeros({1, 3, 64, 64})); }, {"inception_v3", "75x75"});
  anima::testing::expect_error([&] { anima::nets::inception_v3(0); }, {"num_classes"});
}

}  // namespace
