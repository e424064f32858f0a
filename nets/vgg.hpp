// anima/nets/vgg.hpp — VGG16 and VGG16-BN (Simonyan & Zisserman 2014, configuration "D"), as
// torchvision.models.vgg16 / vgg16_bn (0.14), with its parameter names:
//   features.N    3x3 convs (padding 1, bias) [+ BatchNorm2d] + ReLU per entry of
//                 64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M (M: MaxPool2d(2, 2))
//   avgpool       AdaptiveAvgPool2d((7, 7))
//   classifier    0 Linear(512·7·7, 4096), 1 ReLU, 2 Dropout(0.5), 3 Linear(4096, 4096), 4 ReLU,
//                 5 Dropout(0.5), 6 Linear(4096, num_classes)
// forward: x [N, 3, H, W] -> features -> avgpool -> flatten(1) -> classifier -> [N, num_classes].
// Initialisation as torchvision's: convs kaiming_normal_(fan_out, relu) with zero bias, BatchNorm
// weight 1 / bias 0, Linear normal(0, 0.01) with zero bias (the layers are built under SkipInitGuard
// so each tensor is drawn once).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <anima/nn/activation.hpp>
#include <anima/nn/batch_norm.hpp>
#include <anima/nn/conv.hpp>
#include <anima/nn/dropout.hpp>
#include <anima/nn/init.hpp>
#include <anima/nn/linear.hpp>
#include <anima/nn/pool.hpp>
#include <anima/nn/sequential.hpp>
#include <anima/nets/classifier.hpp>
#include <anima/ops/view.hpp>

namespace anima::nets {

class VGG : public ImageClassifier {
 public:
  // cfg: output channels of each 3x3 conv, 0 for a max pool.
  VGG(const std::vector<int>& cfg, bool batch_norm, int num_classes, double dropout = 0.5)
      : ImageClassifier(batch_norm ? "VGG16_BN" : "VGG16") {
    ANIMA_CHECK(num_classes > 0, "vgg", "num_classes must be positive, got ", num_classes);
    {
      nn::SkipInitGuard skip;
      features = register_module("features", std::make_shared<nn::Sequential>());
      std::int64_t in = 3;
      for (int c : cfg) {
        if (c == 0) {
          features->push_back(std::make_shared<nn::MaxPool2d>(2, 2));
          continue;
        }
        features->push_back(std::make_shared<nn::Conv2d>(in, c, 3, 1, 1));
        if (batch_norm) features->push_back(std::make_shared<nn::BatchNorm2d>(c));
        features->push_back(std::make_shared<nn::ReLU>());
        in = c;
      }
      ANIMA_CHECK(in == 512, "vgg", "the last conv of the configuration must have 512 channels, got ", in);
      avgpool = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(7));
      classifier = register_module("classifier", std::make_shared<nn::Sequential>());
      classifier->push_back(std::make_shared<nn::Linear>(512 * 7 * 7, 4096));
      classifier->push_back(std::make_shared<nn::ReLU>());
      classifier->push_back(std::make_shared<nn::Dropout>(dropout));
      classifier->push_back(std::make_shared<nn::Linear>(4096, 4096));
      classifier->push_back(std::make_shared<nn::ReLU>());
      classifier->push_back(std::make_shared<nn::Dropout>(dropout));
      classifier->push_back(std::make_shared<nn::Linear>(4096, num_classes));
    }
    num_classes_ = num_classes;
    init_torchvision_layers(*this, LinearInit::Normal);
  }

  Tensor forward(const Tensor& x /*[N, 3, H, W]*/) override {
    Tensor y = avgpool->forward(features->forward(x));  // [N, 512, 7, 7]
    return classifier->forward(flatten(y, 1));          // [N, num_classes]
  }

  void replace_classifier(int num_classes) override {
    ANIMA_CHECK(num_classes > 0, "vgg", "num_classes must be positive, got ", num_classes);
    classifier->replace(6, new_head(4096, num_classes, LinearInit::Normal));
    num_classes_ = num_classes;
  }
  std::string classifier_prefix() const override { return "classifier.6"; }

  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool;
  std::shared_ptr<nn::Sequential> classifier;
};

// torchvision's cfgs["D"]; 0 marks a max pool.
inline const std::vector<int>& vgg16_config() {
  static const std::vector<int> cfg{64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};
  return cfg;
}

inline std::shared_ptr<VGG> vgg16(int num_classes = 1000) {
  return std::make_shared<VGG>(vgg16_config(), false, num_classes);
}
inline std::shared_ptr<VGG> vgg16_bn(int num_classes = 1000) {
  return std::make_shared<VGG>(vgg16_config(), true, num_classes);
}

}  // namespace anima::nets
