// anima/nn/flatten.hpp — Flatten (torch.nn.Flatten: dims start_dim..end_dim into one, default 1..-1)
// and Identity (returns its input; a placeholder head).
#pragma once

#include <cstdint>

#include <anima/ops/view.hpp>
#include <anima/nn/module.hpp>

namespace anima::nn {

class Flatten : public Module {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1)
      : Module("Flatten"), start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override { return flatten(x, start_dim, end_dim); }
  std::int64_t start_dim, end_dim;
};

class Identity : public Module {
 public:
  Identity() : Module("Identity") {}
  Tensor forward(const Tensor& x) override { return x; }
};

}  // namespace anima::nn
