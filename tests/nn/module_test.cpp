// nn::Module (anima/nn/module.hpp) and the layers: names and order (PyTorch's rules, worked out by
// hand for a small tree), state_dict / load_state_dict (strict errors name every bad entry, nothing is
// copied; non-strict report; dtype conversion; tensors keep their identity), freezing by name prefix
// (no gradient after backward), train/eval (BatchNorm statistics, dropout), to(device).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/core/copy.hpp>
#include <anima/nn/layers.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/reduce.hpp>

#include "../core/expect_error.hpp"

namespace anima {
namespace {

using testing::contains;
using testing::error_of;

// conv [4, 3, 3, 3] + bn(4) + relu, then a head Sequential{flatten, linear(4 -> 2)} after global pooling:
// names conv.weight, conv.bias, bn.*, head.1.weight, head.1.bias (PyTorch's order for this tree).
class TinyNet : public nn::Module {
 public:
  TinyNet() : nn::Module("TinyNet") {
    scale = register_parameter("scale", ones({1}));
    register_buffer("steps", zeros({}, DType::Int64));
    conv = register_module("conv", std::make_shared<nn::Conv2d>(3, 4, 3, 1, 1));
    bn = register_module("bn", std::make_shared<nn::BatchNorm2d>(4));
    relu = register_module("relu", std::make_shared<nn::ReLU>());
    head = register_module("head", std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
                                       std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(4, 2)}));
  }
  Tensor forward(const Tensor& x) override {
    Tensor y = relu->forward(bn->forward(conv->forward(x)));
    return mul(head->forward(mean(y, {2, 3}, true)), scale);
  }
  Tensor scale;
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::BatchNorm2d> bn;
  std::shared_ptr<nn::ReLU> relu;
  std::shared_ptr<nn::Sequential> head;
};

std::vector<std::string> names_of(const std::vector<nn::NamedTensor>& v) {
  std::vector<std::string> out;
  for (const auto& nt : v) out.push_back(nt.first);
  return out;
}

TEST(Module, NamesFollowPyTorchOrder) {
  TinyNet net;
  EXPECT_EQ(names_of(net.named_parameters()),
            (std::vector<std::string>{"scale", "conv.weight", "conv.bias", "bn.weight", "bn.bias", "head.1.weight",
                                      "head.1.bias"}));
  EXPECT_EQ(names_of(net.named_buffers()),
            (std::vector<std::string>{"steps", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"}));
  std::vector<std::string> sd;
  const io::StateDict dict = net.state_dict();  // kept alive: items() is a reference into it
  for (const auto& it : dict.items()) sd.push_back(it.first);
  EXPECT_EQ(sd, (std::vector<std::string>{"scale", "steps", "conv.weight", "conv.bias", "bn.weight", "bn.bias",
                                          "bn.running_mean", "bn.running_var", "bn.num_batches_tracked",
                                          "head.1.weight", "head.1.bias"}));
  std::vector<std::string> mods;
  for (const auto& m : net.named_modules()) mods.push_back(m.first);
  EXPECT_EQ(mods, (std::vector<std::string>{"", "conv", "bn", "relu", "head", "head.0", "head.1"}));
  EXPECT_EQ(names_of(net.named_parameters("", false)), (std::vector<std::string>{"scale"}));
  EXPECT_EQ(names_of(net.named_parameters("model")).front(), "model.scale");
  EXPECT_EQ(net.num_parameters(), 1 + 4 * 27 + 4 + 4 + 4 + 8 + 2);
  EXPECT_EQ(net.submodule("head.1")->type_name(), "Linear");
  EXPECT_EQ(shape_str(net.tensor("bn.num_batches_tracked").shape()), "[]");
  EXPECT_EQ(net.tensor("bn.num_batches_tracked").dtype(), DType::Int64);
  EXPECT_TRUE(contains(error_of([&] { net.submodule("head.2"); }), "no module 'head.2'"));
  EXPECT_TRUE(contains(error_of([&] { net.tensor("conv.wieght"); }), "'conv.wieght'"));
}

TEST(Module, RegistrationRejectsBadNames) {
  nn::Module m("M");
  m.register_parameter("w", zeros({2}));
  EXPECT_TRUE(contains(error_of([&] { m.register_buffer("w", zeros({2})); }), "'w' is already used"));
  EXPECT_TRUE(contains(error_of([&] { m.register_parameter("a.b", zeros({2})); }), "must not contain '.'"));
  EXPECT_TRUE(contains(error_of([&] { m.register_module("", std::make_shared<nn::ReLU>()); }), "must not be empty"));
  EXPECT_TRUE(contains(error_of([&] { m.register_parameter("i", zeros({2}, DType::Int64)); }), "float32 or float64"));
  EXPECT_TRUE(contains(error_of([&] { m.forward(zeros({1})); }), "no single-tensor forward"));
}

TEST(Module, StateDictSharesDataAndRoundTrips) {
  manual_seed(1);
  TinyNet a, b;
  const io::StateDict sd = a.state_dict();
  EXPECT_EQ(sd.at("conv.weight").raw_data(), a.conv->weight.raw_data());  // shares a's memory
  EXPECT_FALSE(sd.at("conv.weight").requires_grad());                     // detached
  const TensorImpl* before = b.conv->weight.impl();
  ASSERT_NE(to_vector<float>(a.conv->weight), to_vector<float>(b.conv->weight));
  copy_into(a.bn->running_var, full({4}, 3.0));
  const nn::LoadReport r = b.load_state_dict(sd);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.loaded.size(), sd.size());
  EXPECT_EQ(b.conv->weight.impl(), before);  // the same tensor, new values
  EXPECT_EQ(to_vector<float>(a.conv->weight), to_vector<float>(b.conv->weight));
  EXPECT_EQ(to_vector<float>(b.bn->running_var), std::vector<float>(4, 3.0f));
  EXPECT_TRUE(b.conv->weight.requires_grad());
}

TEST(Module, LoadStateDictStrictListsEveryProblemByNameAndCopiesNothing) {
  TinyNet net;
  io::StateDict sd = net.state_dict();
  io::StateDict bad;
  for (const auto& [name, t] : sd.items()) {
    if (name == "bn.running_mean" || name == "head.1.bias") continue;  // 2 missing
    if (name == "conv.weight")
      bad.insert(name, zeros({4, 3, 5, 5}));  // wrong shape
    else if (name == "head.1.weight")
      bad.insert(name, zeros({7, 4}));  // wrong shape
    else
      bad.insert(name, full(t.shape(), 9.0, TensorOptions(t.dtype())));
  }
  bad.insert("fc.weight", zeros({2}));  // 2 unexpected
  bad.insert("bn.running_average", zeros({4}));
  const std::vector<float> conv_bias = to_vector<float>(net.conv->bias);
  const std::string msg = error_of([&] { net.load_state_dict(bad); });
  for (const char* part :
       {"anima::load_state_dict", "TinyNet", "2 missing", "2 unexpected", "2 wrongly shaped", "bn.running_mean",
        "head.1.bias", "fc.weight", "bn.running_average", "conv.weight (module [4, 3, 3, 3], state dict [4, 3, 5, 5])",
        "head.1.weight (module [2, 4], state dict [7, 4])"})
    EXPECT_TRUE(contains(msg, part)) << part << " not in: " << msg;
  EXPECT_EQ(to_vector<float>(net.conv->bias), conv_bias);  // nothing copied

  // Non-strict: the same dict loads what matches and reports the rest.
  const nn::LoadReport r = net.load_state_dict(bad, /*strict=*/false);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.missing, (std::vector<std::string>{"bn.running_mean", "head.1.bias"}));
  EXPECT_EQ(r.unexpected, (std::vector<std::string>{"fc.weight", "bn.running_average"}));
  ASSERT_EQ(r.wrong_shape.size(), 2u);
  EXPECT_EQ(r.wrong_shape[0].name, "conv.weight");
  EXPECT_EQ(r.wrong_shape[1].name, "head.1.weight");
  EXPECT_EQ(shape_str(r.wrong_shape[1].dict_shape), "[7, 4]");
  EXPECT_EQ(r.loaded.size(), sd.size() - 4);
  EXPECT_EQ(to_vector<float>(net.conv->bias), std::vector<float>(4, 9.0f));
  EXPECT_EQ(item<std::int64_t>(net.bn->num_batches_tracked), 9);
  EXPECT_NE(to_vector<float>(net.conv->weight)[0], 9.0f);  // wrongly shaped: left as it was
}

TEST(Module, LoadStateDictConvertsDtypes) {
  TinyNet net;
  io::StateDict sd;
  const io::StateDict own = net.state_dict();
  for (const auto& [name, t] : own.items()) sd.insert(name, full(t.shape(), 0.25, TensorOptions(DType::Float64)));
  sd.set("bn.num_batches_tracked", full({}, 12.0, TensorOptions(DType::Float64)));
  net.load_state_dict(sd);
  EXPECT_EQ(net.conv->weight.dtype(), DType::Float32);
  EXPECT_EQ(to_vector<float>(net.conv->weight)[5], 0.25f);
  EXPECT_EQ(item<std::int64_t>(net.bn->num_batches_tracked), 12);
  // BatchNorm's host count was refreshed from the loaded buffer: one training step makes it 13.
  net.train();
  net.bn->forward(rand({2, 4, 3, 3}));
  EXPECT_EQ(item<std::int64_t>(net.bn->num_batches_tracked), 13);
}

TEST(Module, LoadStateDictNamesAnEntryOfAnUnconvertibleDtype) {
  TinyNet net;
  io::StateDict sd = net.state_dict();
  sd.set("bn.bias", Tensor::empty({4}, DType::Float16));
  const std::string msg = error_of([&] { net.load_state_dict(sd, /*strict=*/false); });
  EXPECT_TRUE(contains(msg, "entry 'bn.bias' [4] is float16")) << msg;
}

TEST(Module, FreezeByPrefixLeavesFrozenParametersWithoutGradients) {
  manual_seed(3);
  TinyNet net;
  EXPECT_EQ(net.freeze("conv"), 2u);
  EXPECT_EQ(net.freeze("bn"), 2u);
  EXPECT_TRUE(contains(error_of([&] { net.freeze("layer9"); }), "no parameter named 'layer9'"));
  EXPECT_TRUE(contains(error_of([&] { net.freeze("con"); }), "'con'"));  // whole name parts only
  EXPECT_EQ(net.num_parameters(true), 1 + 8 + 2);
  Tensor loss = sum(net.forward(rand({2, 3, 5, 5})));
  backward(loss);
  for (const auto& [name, p] : net.named_parameters()) {
    const bool frozen = nn::name_under(name, "conv") || nn::name_under(name, "bn");
    EXPECT_EQ(p.requires_grad(), !frozen) << name;
    EXPECT_EQ(p.grad().defined(), !frozen) << name;
  }
  // Unfreezing gives gradients again; freezing drops the accumulated ones.
  net.unfreeze("conv");
  backward(sum(net.forward(rand({2, 3, 5, 5}))));
  EXPECT_TRUE(net.conv->weight.grad().defined());
  net.freeze();
  for (const auto& [name, p] : net.named_parameters()) EXPECT_FALSE(p.grad().defined()) << name;
}

TEST(Module, TrainEvalSwitchesBatchNormAndDropoutRecursively) {
  manual_seed(5);
  auto seq = std::make_shared<nn::Sequential>();
  auto bn = seq->push_back(std::make_shared<nn::BatchNorm2d>(2, 1e-5, 0.5));
  auto drop = seq->push_back(std::make_shared<nn::Dropout>(0.5));
  EXPECT_TRUE(bn->is_training());
  // Channel 0 holds 1, 3 (mean 2, biased var 1, unbiased 2); channel 1 holds 4, 4.
  const Tensor x = from_vector<float>({1, 4, 3, 4}, {2, 2, 1, 1});
  const Tensor y = bn->forward(x);
  // Training: batch statistics: (1 - 2)/sqrt(1 + eps); the constant channel maps to 0.
  EXPECT_NEAR(to_vector<float>(y)[0], -1.0 / std::sqrt(1.0 + 1e-5), 1e-6);
  EXPECT_NEAR(to_vector<float>(y)[1], 0.0, 1e-6);
  // running = 0.5·running + 0.5·batch: mean (1, 2), var 0.5·1 + 0.5·2 = 1.5 and 0.5·1 + 0 = 0.5.
  EXPECT_EQ(to_vector<float>(bn->running_mean), (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(to_vector<float>(bn->running_var), (std::vector<float>{1.5f, 0.5f}));
  EXPECT_EQ(item<std::int64_t>(bn->num_batches_tracked), 1);
  // Dropout in training zeroes some of 1000 ones and scales the rest by 2.
  const std::vector<float> d = to_vector<float>(drop->forward(ones({1000})));
  int zeros_seen = 0;
  for (float v : d) {
    EXPECT_TRUE(v == 0.0f || v == 2.0f) << v;
    zeros_seen += v == 0.0f;
  }
  EXPECT_GT(zeros_seen, 400);
  EXPECT_LT(zeros_seen, 600);

  seq->eval();
  EXPECT_FALSE(bn->is_training());
  EXPECT_FALSE(drop->is_training());
  // Eval: running statistics: (1 - 1)/sqrt(1.5 + eps) = 0, (4 - 2)/sqrt(0.5 + eps); no update, no count.
  const std::vector<float> e = to_vector<float>(bn->forward(x));
  EXPECT_NEAR(e[0], 0.0, 1e-6);
  EXPECT_NEAR(e[1], 2.0 / std::sqrt(0.5 + 1e-5), 1e-6);
  EXPECT_EQ(item<std::int64_t>(bn->num_batches_tracked), 1);
  EXPECT_EQ(to_vector<float>(bn->running_mean), (std::vector<float>{1.0f, 2.0f}));
  const Tensor ones1000 = ones({1000});
  EXPECT_TRUE(drop->forward(ones1000).same(ones1000));  // the identity
  // A module registered into an eval-mode parent takes its mode.
  auto late = seq->push_back(std::make_shared<nn::BatchNorm2d>(2));
  EXPECT_FALSE(late->is_training());
  seq->train();
  EXPECT_TRUE(late->is_training() && bn->is_training() && drop->is_training());
}

TEST(Module, ToDeviceKeepsTensorIdentity) {
  TinyNet net;
  Tensor w = net.conv->weight;
  backward(sum(net.forward(rand({1, 3, 4, 4}))));
  ASSERT_TRUE(w.grad().defined());
  net.to(Device::cpu());
  EXPECT_TRUE(w.same(net.conv->weight));
  EXPECT_FALSE(w.grad().defined());  // gradients are dropped
  EXPECT_EQ(net.device(), Device::cpu());
}

TEST(Layers, ShapesAndArguments) {
  manual_seed(7);
  nn::Conv2d c(4, 8, {1, 7}, 1, {0, 3}, 1, 2, false);
  EXPECT_EQ(shape_str(c.weight.shape()), "[8, 2, 1, 7]");
  EXPECT_FALSE(c.bias.defined());
  EXPECT_EQ(names_of(c.named_parameters()), (std::vector<std::string>{"weight"}));
  EXPECT_EQ(shape_str(c.forward(rand({2, 4, 5, 9})).shape()), "[2, 8, 5, 9]");
  nn::Conv2d s2(3, 6, 3, 2, 1);
  EXPECT_EQ(shape_str(s2.forward(rand({1, 3, 7, 7})).shape()), "[1, 6, 4, 4]");
  EXPECT_TRUE(contains(error_of([] { nn::Conv2d(4, 6, 3, 1, 0, 1, 4); }), "divisible by groups"));
  nn::MaxPool2d mp(3, 2, 1);
  EXPECT_EQ(shape_str(mp.forward(rand({1, 2, 112, 112})).shape()), "[1, 2, 56, 56]");
  nn::AdaptiveAvgPool2d ap(7);
  EXPECT_EQ(shape_str(ap.forward(rand({1, 2, 9, 9})).shape()), "[1, 2, 7, 7]");
  nn::AvgPool2d avg(3, 1, 1);
  EXPECT_EQ(shape_str(avg.forward(rand({1, 2, 5, 5})).shape()), "[1, 2, 5, 5]");
  nn::Linear fc(5, 3);
  EXPECT_EQ(shape_str(fc.forward(rand({4, 5})).shape()), "[4, 3]");
  nn::Flatten fl;
  EXPECT_EQ(shape_str(fl.forward(rand({2, 3, 4, 5})).shape()), "[2, 60]");
  // Default init: weight and bias in ±1/sqrt(fan_in) = ±1/sqrt(5).
  for (float v : to_vector<float>(fc.weight)) EXPECT_LE(std::fabs(v), 1.0 / std::sqrt(5.0) + 1e-7);
  for (float v : to_vector<float>(fc.bias)) EXPECT_LE(std::fabs(v), 1.0 / std::sqrt(5.0) + 1e-7);
  nn::ReLU6 r6;
  EXPECT_EQ(to_vector<float>(r6.forward(from_vector<float>({-1, 3, 9}, {3}))), (std::vector<float>{0, 3, 6}));
}

TEST(Init, KaimingNormalAndTruncNormalHaveTheirMoments) {
  Generator gen(11);
  Tensor w = zeros({256, 64, 3, 3});  // fan_out = 256·9 = 2304: std sqrt(2/2304)
  nn::init::kaiming_normal_(w, nn::init::FanMode::FanOut, 0.0, gen);
  const std::vector<float> v = to_vector<float>(w);
  double s2 = 0;
  for (float x : v) s2 += double(x) * x;
  const double stddev = std::sqrt(s2 / v.size()), want = std::sqrt(2.0 / 2304.0);
  EXPECT_NEAR(stddev / want, 1.0, 0.01);  // 147456 draws: the sample std is within ~0.2% (3 sigma 0.6%)
  Tensor t = zeros({20000});
  nn::init::trunc_normal_(t, 0.0, 1.0, -2.0, 2.0, gen);
  double m = 0, q = 0, mx = 0;
  for (float x : to_vector<float>(t)) {
    m += x;
    q += double(x) * x;
    mx = std::max(mx, std::fabs(double(x)));
  }
  EXPECT_LE(mx, 2.0);
  EXPECT_NEAR(m / 20000, 0.0, 0.03);
  // Variance of N(0,1) truncated to [-2, 2]: 1 - 4·φ(2)/(Φ(2) - Φ(-2)) = 0.7737.
  EXPECT_NEAR(q / 20000, 0.7737, 0.03);
  {
    nn::SkipInitGuard skip;
    nn::Linear skipped(3, 2);
    EXPECT_EQ(to_vector<float>(skipped.weight), std::vector<float>(6, 0.0f));
  }
}

}  // namespace
}  // namespace anima
