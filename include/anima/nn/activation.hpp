// anima/nn/activation.hpp — parameter-free activation modules: ReLU, ReLU6 (torch.nn names; the
// in-place flag of PyTorch has no meaning here, every op returns a new tensor).
#pragma once

#include <anima/ops/activation.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/nn/module.hpp>

namespace anima::nn {

// y = max(x, 0)
class ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override { return relu(x); }
};

// y = min(max(x, 0), 6)
class ReLU6 : public Module {
 public:
  ReLU6() : Module("ReLU6") {}
  Tensor forward(const Tensor& x) override { return relu6(x); }
};

}  // namespace anima::nn
