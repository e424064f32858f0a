// anima/nets/resnet.hpp — ResNet-50 (He et al. 2015, "Deep Residual Learning"), as
// torchvision.models.resnet50 (0.14): "ResNet v1.5", the stride of a downsampling block sits on its
// 3x3 conv (conv2), not on the first 1x1. Names:
//   conv1 (7x7, stride 2, padding 3, no bias), bn1, relu, maxpool (3x3, stride 2, padding 1),
//   layer1..layer4: 3, 4, 6, 3 Bottlenecks of width 64, 128, 256, 512 (out = 4·width; stride 1, 2, 2, 2)
//     layerX.K.{conv1 (1x1), bn1, conv2 (3x3, stride, padding 1), bn2, conv3 (1x1), bn3, relu,
//     downsample (block 0 only: 0 Conv2d 1x1 stride, no bias; 1 BatchNorm2d)}
//   avgpool (AdaptiveAvgPool2d(1)), fc (Linear(2048, num_classes)).
// Bottleneck: y = relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))) + identity),
//   identity = downsample(x) or x.
// forward: x [N, 3, H, W] -> [N, num_classes].
// Initialisation as torchvision's: convs kaiming_normal_(fan_out, relu), BatchNorm weight 1 / bias 0,
// fc PyTorch's Linear default U(±1/sqrt(2048)) (zero_init_residual = false).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <anima/nn/activation.hpp>
#include <anima/nn/batch_norm.hpp>
#include <anima/nn/conv.hpp>
#include <anima/nn/conv_norm_act.hpp>
#include <anima/nn/frozen_batch_norm.hpp>
#include <anima/nn/init.hpp>
#include <anima/nn/linear.hpp>
#include <anima/nn/pool.hpp>
#include <anima/nn/sequential.hpp>
#include <anima/nets/classifier.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/view.hpp>

namespace anima::nets {

// The normalisation layer of a ResNet (torchvision's norm_layer): BatchNorm2d for classification,
// FrozenBatchNorm2d for detection backbones. Made with the channel count.
using NormLayer = std::function<nn::ModulePtr(std::int64_t channels)>;

inline nn::ModulePtr batch_norm_layer(std::int64_t channels) { return std::make_shared<nn::BatchNorm2d>(channels); }
inline nn::ModulePtr frozen_batch_norm_layer(std::int64_t channels) {
  return std::make_shared<nn::FrozenBatchNorm2d>(channels);
}

class Bottleneck : public nn::Module {
 public:
  static constexpr std::int64_t expansion = 4;

  Bottleneck(std::int64_t inplanes, std::int64_t planes, std::int64_t stride, const NormLayer& norm = batch_norm_layer)
      : nn::Module("Bottleneck") {
    const std::int64_t width = planes;  // base_width 64, groups 1
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(inplanes, width, 1, 1, 0, 1, 1, false));
    bn1 = register_module("bn1", norm(width));
    conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(width, width, 3, stride, 1, 1, 1, false));
    bn2 = register_module("bn2", norm(width));
    conv3 = register_module("conv3", std::make_shared<nn::Conv2d>(width, planes * expansion, 1, 1, 0, 1, 1, false));
    bn3 = register_module("bn3", norm(planes * expansion));
    relu = register_module("relu", std::make_shared<nn::ReLU>());
    if (stride != 1 || inplanes != planes * expansion) {
      downsample = register_module("downsample", std::make_shared<nn::Sequential>());
      downsample->push_back(std::make_shared<nn::Conv2d>(inplanes, planes * expansion, 1, stride, 0, 1, 1, false));
      downsample->push_back(norm(planes * expansion));
    }
  }

  Tensor forward(const Tensor& x /*[N, inplanes, H, W]*/) override {
    using nn::conv_norm_act;
    Tensor out = conv_norm_act(*conv1, bn1.get(), ConvActivation::Relu, x);
    out = conv_norm_act(*conv2, bn2.get(), ConvActivation::Relu, out);
    out = conv_norm_act(*conv3, bn3.get(), ConvActivation::None, out);
    const Tensor identity = downsample ? downsample->forward(x) : x;
    return relu->forward(add(out, identity));  // [N, 4·planes, H/stride, W/stride]
  }

  // In eval: each conv -> norm [-> relu] as one convolution (nn/conv_norm_act.hpp).
  void prepare_inference() override {
    nn::prepare_conv_norm_act(*conv1, bn1.get(), ConvActivation::Relu);
    nn::prepare_conv_norm_act(*conv2, bn2.get(), ConvActivation::Relu);
    nn::prepare_conv_norm_act(*conv3, bn3.get(), ConvActivation::None);
  }

  std::shared_ptr<nn::Conv2d> conv1, conv2, conv3;
  nn::ModulePtr bn1, bn2, bn3;  // BatchNorm2d or FrozenBatchNorm2d (the NormLayer)
  std::shared_ptr<nn::ReLU> relu;
  std::shared_ptr<nn::Sequential> downsample;  // null when the block keeps shape
};

class ResNet : public ImageClassifier {
 public:
  // blocks: Bottlenecks per stage ({3, 4, 6, 3} for ResNet-50).
  ResNet(const std::array<int, 4>& blocks, int num_classes, const std::string& name = "ResNet50")
      : ImageClassifier(name) {
    ANIMA_CHECK(num_classes > 0, "resnet", "num_classes must be positive, got ", num_classes);
    {
      nn::SkipInitGuard skip;
      conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(3, 64, 7, 2, 3, 1, 1, false));
      bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(64));
      relu = register_module("relu", std::make_shared<nn::ReLU>());
      maxpool = register_module("maxpool", std::make_shared<nn::MaxPool2d>(3, 2, 1));
      std::int64_t inplanes = 64;
      const std::int64_t planes[4] = {64, 128, 256, 512};
      for (int s = 0; s < 4; ++s) {
        auto layer = std::make_shared<nn::Sequential>();
        for (int b = 0; b < blocks[static_cast<std::size_t>(s)]; ++b) {
          const std::int64_t stride = (b == 0 && s > 0) ? 2 : 1;
          layer->push_back(std::make_shared<Bottleneck>(inplanes, planes[s], stride));
          inplanes = planes[s] * Bottleneck::expansion;
        }
        layers[s] = register_module("layer" + std::to_string(s + 1), layer);
      }
      avgpool = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(1));
      fc = register_module("fc", std::make_shared<nn::Linear>(512 * Bottleneck::expansion, num_classes));
    }
    num_classes_ = num_classes;
    init_torchvision_layers(*this, LinearInit::PyTorchDefault);
  }

  Tensor forward(const Tensor& x /*[N, 3, H, W]*/) override {
    Tensor y = maxpool->forward(nn::conv_norm_act(*conv1, bn1.get(), ConvActivation::Relu, x));
    for (auto& layer : layers) y = layer->forward(y);
    y = flatten(avgpool->forward(y), 1);  // [N, 2048]
    return fc->forward(y);                // [N, num_classes]
  }

  void prepare_inference() override { nn::prepare_conv_norm_act(*conv1, bn1.get(), ConvActivation::Relu); }

  void replace_classifier(int num_classes) override {
    ANIMA_CHECK(num_classes > 0, "resnet", "num_classes must be positive, got ", num_classes);
    fc = replace_module("fc", new_head(512 * Bottleneck::expansion, num_classes, LinearInit::PyTorchDefault));
    num_classes_ = num_classes;
  }
  std::string classifier_prefix() const override { return "fc"; }

  std::shared_ptr<nn::Conv2d> conv1;
  std::shared_ptr<nn::BatchNorm2d> bn1;
  std::shared_ptr<nn::ReLU> relu;
  std::shared_ptr<nn::MaxPool2d> maxpool;
  std::shared_ptr<nn::Sequential> layers[4];  // layer1..layer4
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool;
  std::shared_ptr<nn::Linear> fc;
};

inline std::shared_ptr<ResNet> resnet50(int num_classes = 1000) {
  return std::make_shared<ResNet>(std::array<int, 4>{3, 4, 6, 3}, num_classes, "ResNet50");
}

}  // namespace anima::nets
