// anima/nn/sequential.hpp — Sequential (torch.nn.Sequential): children named "0", "1", ... in order,
// so parameter names come out as "features.0.weight"; forward applies them in turn.
// Prepared for inference (nn/inference.hpp), each run of children Conv2d [-> BatchNorm2d /
// FrozenBatchNorm2d] [-> ReLU / ReLU6] (torchvision's Conv2dNormActivation, VGG's conv + ReLU) runs as
// one fused convolution (nn/conv_norm_act.hpp) when no gradient is wanted.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include <anima/nn/conv_norm_act.hpp>
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
    const auto& children = named_children();
    for (std::size_t i = 0; i < children.size();) {
      if (i < runs_.size() && runs_[i].length > 1) {
        const ConvNormActRun& run = runs_[i];
        y = conv_norm_act(*run.conv, run.norm, run.act, y);
        i += run.length;
      } else {
        y = children[i++].second->forward(y);
      }
    }
    return y;
  }

  void prepare_inference() override {
    std::vector<Module*> children;
    for (const auto& c : named_children()) children.push_back(c.second.get());
    runs_.assign(children.size(), ConvNormActRun());
    for (std::size_t i = 0; i < children.size();) {
      ConvNormActRun run = find_conv_norm_act_run(children, i);
      if (run.length > 1 && prepare_conv_norm_act(*run.conv, run.norm, run.act)) {
        runs_[i] = run;
        i += run.length;
      } else {
        ++i;
      }
    }
  }
  void release_inference() override { runs_.clear(); }

 private:
  std::vector<ConvNormActRun> runs_;  // by child index; length > 1 where a fused run starts
};

}  // namespace anima::nn
