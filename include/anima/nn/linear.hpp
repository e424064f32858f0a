// anima/nn/linear.hpp — Linear (torch.nn.Linear): y = x·Wᵀ + b, weight [out, in], bias [out] (optional).
// forward: anima::linear (anima/ops/linear.hpp). Initialised as PyTorch's default (U(±1/sqrt(in)) for
// weight and bias, nn/init.hpp); VGG and MobileNetV2 re-initialise with normal(0, 0.01) and zero bias.
#pragma once

#include <cstdint>

#include <anima/core/generator.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/linear.hpp>
#include <anima/nn/init.hpp>
#include <anima/nn/module.hpp>

namespace anima::nn {

class Linear : public Module {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true, Generator& gen = default_generator())
      : Module("Linear"), in_features(in_features), out_features(out_features) {
    ANIMA_CHECK(in_features > 0 && out_features > 0, "Linear", "features must be positive, got in ", in_features,
                ", out ", out_features);
    weight = register_parameter("weight", zeros({out_features, in_features}));
    if (bias) this->bias = register_parameter("bias", zeros({out_features}));
    init::default_conv_linear_init_(weight, this->bias, gen);
  }

  Tensor forward(const Tensor& x /*[*, in]*/) override { return linear(x, weight, bias); }  // [*, out]

  std::int64_t in_features, out_features;
  Tensor weight;  // [out, in]
  Tensor bias;    // [out] or undefined
};

}  // namespace anima::nn
