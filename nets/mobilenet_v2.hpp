// anima/nets/mobilenet_v2.hpp — MobileNetV2 (Sandler et al. 2018, "MobileNetV2: Inverted Residuals and
// Linear Bottlenecks"), as torchvision.models.mobilenet_v2 (0.14), with its names:
//   features.0          Conv2dNormActivation(3, c0, 3x3, stride 2): .0 Conv2d (no bias), .1 BN, .2 ReLU6
//   features.1..17      InvertedResidual blocks, settings (t expand, c out, n repeats, s stride)
//                       (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1) (6,160,3,2) (6,320,1,1);
//                       block.conv = Sequential of [expand 1x1 ConvBNReLU6 if t != 1],
//                       depthwise 3x3 ConvBNReLU6 (stride, groups = hidden), 1x1 Conv2d (no bias), BN
//                       (so features.1.conv.{0.0, 0.1, 1, 2}, features.2.conv.{0.0, 0.1, 1.0, 1.1, 2, 3})
//   features.18         Conv2dNormActivation(c, last_channel, 1x1)
//   classifier          0 Dropout(0.2), 1 Linear(last_channel, num_classes)
// Channels: c = _make_divisible(c·width_mult, 8), last_channel = _make_divisible(1280·max(1, width_mult), 8),
//   _make_divisible(v, 8) = max(8, floor(v + 4) / 8 · 8), plus 8 if that is below 0.9·v (never lose more
//   than 10%); hidden = round(inp · t). A block adds its input when stride == 1 and inp == out.
// forward: features -> adaptive_avg_pool2d(1) -> flatten(1) -> classifier -> [N, num_classes].
// Initialisation as torchvision's: convs kaiming_normal_(fan_out), zero bias; BN 1 / 0; Linear
// normal(0, 0.01), zero bias.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include <anima/nn/activation.hpp>
#include <anima/nn/batch_norm.hpp>
#include <anima/nn/conv.hpp>
#include <anima/nn/dropout.hpp>
#include <anima/nn/init.hpp>
#include <anima/nn/linear.hpp>
#include <anima/nn/sequential.hpp>
#include <anima/nets/classifier.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/pool.hpp>
#include <anima/ops/view.hpp>

namespace anima::nets {

// torchvision's _make_divisible(v, divisor, min_value = None) (from the TensorFlow reference).
inline std::int64_t make_divisible(double v, std::int64_t divisor) {
  const std::int64_t min_value = divisor;
  // Python's int(v + divisor / 2) truncates toward zero (v > 0 here), then // divisor.
  std::int64_t new_v = static_cast<std::int64_t>(v + static_cast<double>(divisor) / 2.0) / divisor * divisor;
  if (new_v < min_value) new_v = min_value;
  if (static_cast<double>(new_v) < 0.9 * v) new_v += divisor;
  return new_v;
}

// torchvision.ops.Conv2dNormActivation with BatchNorm2d and ReLU6: children 0 conv, 1 bn, 2 relu6.
inline std::shared_ptr<nn::Sequential> conv_bn_relu6(std::int64_t in, std::int64_t out, std::int64_t kernel,
                                                     std::int64_t stride, std::int64_t groups) {
  auto s = std::make_shared<nn::Sequential>();
  const std::int64_t padding = (kernel - 1) / 2;
  s->push_back(std::make_shared<nn::Conv2d>(in, out, kernel, stride, padding, 1, groups, false));
  s->push_back(std::make_shared<nn::BatchNorm2d>(out));
  s->push_back(std::make_shared<nn::ReLU6>());
  return s;
}

class InvertedResidual : public nn::Module {
 public:
  InvertedResidual(std::int64_t inp, std::int64_t oup, std::int64_t stride, std::int64_t expand_ratio)
      : nn::Module("InvertedResidual"), use_res_connect(stride == 1 && inp == oup) {
    ANIMA_CHECK(stride == 1 || stride == 2, "InvertedResidual", "stride should be 1 or 2, got ", stride);
    const std::int64_t hidden = inp * expand_ratio;  // round(inp · t): an integer product here
    conv = register_module("conv", std::make_shared<nn::Sequential>());
    if (expand_ratio != 1) conv->push_back(conv_bn_relu6(inp, hidden, 1, 1, 1));
    conv->push_back(conv_bn_relu6(hidden, hidden, 3, stride, hidden));
    conv->push_back(std::make_shared<nn::Conv2d>(hidden, oup, 1, 1, 0, 1, 1, false));
    conv->push_back(std::make_shared<nn::BatchNorm2d>(oup));
  }

  Tensor forward(const Tensor& x /*[N, inp, H, W]*/) override {
    Tensor y = conv->forward(x);
    return use_res_connect ? add(x, y) : y;  // [N, oup, H/stride, W/stride]
  }

  bool use_res_connect;
  std::shared_ptr<nn::Sequential> conv;
};

// torchvision's MobileNetV2.features for width_mult: the stem, the 17 inverted residual blocks and the
// last 1x1 conv (19 children, "0".."18"); last_channel receives the last conv's output channels.
// Built without initialisation (the caller initialises, as torchvision does, once the net is whole).
inline std::shared_ptr<nn::Sequential> mobilenet_v2_features(double width_mult, std::int64_t& last_channel) {
  ANIMA_CHECK(width_mult > 0.0, "mobilenet_v2", "width_mult must be positive, got ", width_mult);
  constexpr std::int64_t round_nearest = 8;
  const std::int64_t settings[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                       {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  nn::SkipInitGuard skip;
  std::int64_t input_channel = make_divisible(32 * width_mult, round_nearest);
  last_channel = make_divisible(1280 * std::max(1.0, width_mult), round_nearest);
  auto features = std::make_shared<nn::Sequential>();
  features->push_back(conv_bn_relu6(3, input_channel, 3, 2, 1));
  for (const auto& s : settings) {
    const std::int64_t output_channel = make_divisible(static_cast<double>(s[1]) * width_mult, round_nearest);
    for (std::int64_t i = 0; i < s[2]; ++i) {
      const std::int64_t stride = i == 0 ? s[3] : 1;
      features->push_back(std::make_shared<InvertedResidual>(input_channel, output_channel, stride, s[0]));
      input_channel = output_channel;
    }
  }
  features->push_back(conv_bn_relu6(input_channel, last_channel, 1, 1, 1));
  return features;
}

class MobileNetV2 : public ImageClassifier {
 public:
  explicit MobileNetV2(int num_classes = 1000, double width_mult = 1.0, double dropout = 0.2)
      : ImageClassifier("MobileNetV2") {
    ANIMA_CHECK(num_classes > 0, "mobilenet_v2", "num_classes must be positive, got ", num_classes);
    {
      nn::SkipInitGuard skip;
      features = register_module("features", mobilenet_v2_features(width_mult, last_channel));
      classifier = register_module("classifier", std::make_shared<nn::Sequential>());
      classifier->push_back(std::make_shared<nn::Dropout>(dropout));
      classifier->push_back(std::make_shared<nn::Linear>(last_channel, num_classes));
    }
    num_classes_ = num_classes;
    init_torchvision_layers(*this, LinearInit::Normal);
  }

  Tensor forward(const Tensor& x /*[N, 3, H, W]*/) override {
    Tensor y = features->forward(x);                 // [N, last_channel, H/32, W/32]
    y = flatten(adaptive_avg_pool2d(y, {1, 1}), 1);  // [N, last_channel]
    return classifier->forward(y);                   // [N, num_classes]
  }

  void replace_classifier(int num_classes) override {
    ANIMA_CHECK(num_classes > 0, "mobilenet_v2", "num_classes must be positive, got ", num_classes);
    classifier->replace(1, new_head(last_channel, num_classes, LinearInit::Normal));
    num_classes_ = num_classes;
  }
  std::string classifier_prefix() const override { return "classifier.1"; }

  std::int64_t last_channel = 0;
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Sequential> classifier;
};

inline std::shared_ptr<MobileNetV2> mobilenet_v2(int num_classes = 1000, double width_mult = 1.0) {
  return std::make_shared<MobileNetV2>(num_classes, width_mult);
}

}  // namespace anima::nets
