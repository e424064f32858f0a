// anima/nn/dropout.hpp — Dropout (torch.nn.Dropout): anima::dropout (anima/ops/dropout.hpp) while
// training, the identity in eval mode. Draws from `generator` (the default generator unless set).
#pragma once

#include <anima/core/generator.hpp>
#include <anima/ops/dropout.hpp>
#include <anima/nn/module.hpp>

namespace anima::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5) : Module("Dropout"), p(p) {
    ANIMA_CHECK(p >= 0.0 && p < 1.0, "Dropout", "probability p must be in [0, 1), got ", p);
  }
  Tensor forward(const Tensor& x) override {
    return dropout(x, p, is_training(), generator != nullptr ? *generator : default_generator());
  }
  double p;
  Generator* generator = nullptr;  // not owned; nullptr = default_generator()
};

}  // namespace anima::nn
