// anima/nn/sequential.hpp — Sequential (torch.nn.Sequential): children named "0", "1", ... in order,
// so parameter names come out as "features.0.weight"; forward applies them in turn.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>

#include <anima/nn/module.hpp>

namespace anima::nn {

class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  Sequential(std::initializer_list<ModulePtr> modules) : Module("Sequential") {
    for (const auto& m : modules) push_back(m);
  }

  // Appends a module under the next number; returns it.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    return register_module(std::to_string(size()), std::move(module));
  }
  // Replaces the module at index i (same name).
  template <class M>
  std::shared_ptr<M> replace(std::size_t i, std::shared_ptr<M> module) {
    ANIMA_CHECK(i < size(), "Sequential", "index ", i, " is out of range for ", size(), " modules");
    return replace_module(std::to_string(i), std::move(module));
  }

  std::size_t size() const { return named_children().size(); }
  ModulePtr operator[](std::size_t i) const {
    ANIMA_CHECK(i < size(), "Sequential", "index ", i, " is out of range for ", size(), " modules");
    return named_children()[i].second;
  }

  Tensor forward(const Tensor& x) override {
    Tensor y = x;
    for (const auto& c : named_children()) y = c.second->forward(y);
    return y;
  }
};

}  // namespace anima::nn
