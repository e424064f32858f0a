// anima/nets/torchvision_init.hpp — the weight initialisation torchvision's VGG, ResNet and MobileNetV2
// apply to each of their layers after building them (their `for m in self.modules()` loops):
//   Conv2d        kaiming_normal_(mode="fan_out", relu gain √2), bias (if any) 0
//   BatchNorm2d   weight 1, bias 0
//   Linear        LinearInit::Normal: normal(0, 0.01), bias 0 (VGG, MobileNetV2);
//                 LinearInit::PyTorchDefault: U(±1/sqrt(in)) for weight and bias (ResNet)
// Other modules are left as they are. The nets build their layers under nn::SkipInitGuard, then call
// init_torchvision_layers() once, so each tensor is drawn once, in named_modules() order.
#pragma once

#include <anima/nn/batch_norm.hpp>
#include <anima/nn/conv.hpp>
#include <anima/nn/init.hpp>
#include <anima/nn/linear.hpp>
#include <anima/nn/module.hpp>

namespace anima::nets {

// How a net initialises its Linear layers.
enum class LinearInit {
  Normal,          // normal(0, 0.01), zero bias
  PyTorchDefault,  // nn.Linear's own U(±1/sqrt(in_features)) for weight and bias
};

// Initialises one layer (not its children) as torchvision does; see the top of this file.
inline void init_torchvision_layer(nn::Module& m, LinearInit linear) {
  if (auto* conv = dynamic_cast<nn::Conv2d*>(&m)) {
    nn::init::kaiming_normal_(conv->weight, nn::init::FanMode::FanOut);
    if (conv->bias.defined()) nn::init::zeros_(conv->bias);
  } else if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(&m)) {
    nn::init::ones_(bn->weight);
    nn::init::zeros_(bn->bias);
  } else if (auto* fc = dynamic_cast<nn::Linear*>(&m)) {
    if (linear == LinearInit::Normal) {
      nn::init::normal_(fc->weight, 0.0, 0.01);
      nn::init::zeros_(fc->bias);
    } else {
      nn::init::default_conv_linear_init_(fc->weight, fc->bias);
    }
  }
}

// Initialises `net` and every module below it, in named_modules() order.
inline void init_torchvision_layers(nn::Module& net, LinearInit linear) {
  for (auto& nm : net.named_modules()) init_torchvision_layer(*nm.second, linear);
}

}  // namespace anima::nets
