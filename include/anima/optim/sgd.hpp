// anima/optim/sgd.hpp — stochastic gradient descent with momentum and weight decay over parameter
// groups, each with its own learning rate and weight decay (torch.optim.SGD, nesterov off, dampening 0).
//
// For each parameter p of group g that requires grad and has a gradient (frozen ones are skipped):
//   d = grad(p) + wd_g · p                                 (weight decay, L2 added to the gradient)
//   if momentum_g != 0:  b = d on the first step of p, else b = momentum_g · b + d;   d = b
//   p <- p − lr_g · d
// The momentum buffer b is kept per parameter (momentum_buffer(g, i)), created on p's first update,
// so a parameter unfrozen later starts its buffer then, as PyTorch's.
// state_dict() holds "state.<g>.<i>.momentum_buffer" for every parameter that has a buffer and
// "param_groups.<g>.lr" (float64 scalar) for every group; load_state_dict() takes exactly those names
// (anima/optim/optimizer_state_dict.hpp: a missing, unexpected or wrongly shaped entry throws, and
// then nothing is changed).
// zero_grad() drops the gradients (PyTorch's set_to_none = True).
// Determinism: elementwise updates, no reductions: bitwise reproducible.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/io/state_dict.hpp>
#include <anima/optim/optimizer_state_dict.hpp>
#include <anima/optim/param_groups.hpp>

namespace anima::optim {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double weight_decay = 0.0;
};

// A set of parameters sharing one learning rate (and weight decay, momentum); lr < 0 (and so on) in
// a group means "the optimiser's default".
struct SGDParamGroup {
  std::vector<Tensor> params;
  double lr = -1.0;
  double momentum = -1.0;
  double weight_decay = -1.0;
  std::string name;  // for messages ("head", "backbone")
};

class SGD : public ParamGroups<SGDParamGroup, Tensor> {
 public:
  // One group of `params` with the default options.
  SGD(std::vector<Tensor> params, SGDOptions defaults) : SGD(std::vector<SGDParamGroup>{}, defaults) {
    SGDParamGroup g;
    g.params = std::move(params);
    add_param_group(std::move(g));
  }

  SGD(std::vector<SGDParamGroup> groups, SGDOptions defaults) : ParamGroups("SGD"), defaults_(defaults) {
    check_options(defaults.lr, defaults.momentum, defaults.weight_decay, "defaults");
    for (auto& g : groups) add_param_group(std::move(g));
  }

  // Adds a group (its unset options from the defaults). A tensor may belong to one group only.
  void add_param_group(SGDParamGroup g) {
    if (g.lr < 0) g.lr = defaults_.lr;
    if (g.momentum < 0) g.momentum = defaults_.momentum;
    if (g.weight_decay < 0) g.weight_decay = defaults_.weight_decay;
    append(std::move(g), [](const SGDParamGroup& a) { check_options(a.lr, a.momentum, a.weight_decay, a.name); });
  }

  void step() { for_each_gradient(update); }

  // Learning-rate schedules set the rate of each group.
  void set_lr(std::size_t group, double lr) {
    check_options(lr, 0.0, 0.0, groups_.at(group).name);
    groups_.at(group).lr = lr;
  }
  // Copies of the momentum buffers and the groups' rates, named as in the header comment.
  io::StateDict state_dict() const {
    return save_states([](io::StateDict& dict, std::size_t gi, std::size_t i, const SGDParamGroup&, const Tensor& b) {
      if (b.defined()) dict.insert(param_state_key(gi, i, "momentum_buffer"), contiguous_copy(b));
    });
  }

  // Restores what state_dict() saved (from an SGD with the same groups).
  void load_state_dict(const io::StateDict& dict) {
    load_states(dict, "SGD::load_state_dict", "an SGD with " + std::to_string(groups_.size()) + " group(s)",
                [](OptimizerStateReader& reader, std::size_t gi, std::size_t i, const SGDParamGroup& g, Tensor& b) {
                  if (reader.has(gi, i, "momentum_buffer"))
                    b = reader.tensor_like(gi, i, "momentum_buffer", g.params[i]);
                });
  }

  // Undefined until the parameter's first update with momentum.
  const Tensor& momentum_buffer(std::size_t group, std::size_t index) const { return state(group, index); }

 private:
  // One parameter's update (the header comment's formulas): w, its data, is written in place; b is its
  // momentum buffer.
  static void update(const SGDParamGroup& g, const Tensor& grad, const Tensor& w, Tensor& b) {
    Tensor d = g.weight_decay != 0.0 ? add(grad, mul(w, g.weight_decay)) : grad;
    if (g.momentum != 0.0) {
      b = b.defined() ? add(mul(b, g.momentum), d) : contiguous_copy(d);
      d = b;
    }
    copy_into(w, sub(w, mul(d, g.lr)));
  }

  static void check_options(double lr, double momentum, double wd, const std::string& where) {
    ANIMA_CHECK(lr >= 0.0 && momentum >= 0.0 && wd >= 0.0, "SGD", "group '", where,
                "': lr, momentum and weight_decay must be >= 0, got ", lr, ", ", momentum, ", ", wd);
  }

  SGDOptions defaults_;
};

}  // namespace anima::optim
