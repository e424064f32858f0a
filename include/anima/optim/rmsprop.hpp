// anima/optim/rmsprop.hpp — RMSprop over parameter groups, each with its own learning rate, alpha, eps,
// weight decay, momentum and centering (torch.optim.RMSprop of PyTorch 1.13, its single-tensor path:
// not foreach, not maximize). Hinton, Lecture 6e of "Neural Networks for Machine Learning" (2012);
// centered: Graves, "Generating Sequences With Recurrent Neural Networks" (2013).
//
// For each parameter p of group g that requires grad and has a gradient (frozen ones are skipped):
//   d = grad(p) + wd_g · p                          (L2 added to the gradient; not when wd_g = 0)
//   v <- v · α + (d · (1 − α)) · d                  (square_avg, starts at 0)
//   centered:  a <- a · α + d · (1 − α)             (grad_avg, starts at 0)
//              avg = sqrt(v − a · a) + eps_g
//   else:      avg = sqrt(v) + eps_g
//   momentum_g > 0:  b <- b · momentum_g + d / avg;  p <- p − lr_g · b      (momentum_buffer, starts at 0)
//   else:            p <- p + (d · (−lr_g)) / avg
// (the square root is taken before eps is added, as PyTorch; TensorFlow adds eps inside it).
// Against PyTorch: its CPU kernels evaluate a + α·b (add_ with alpha, addcmul_) as fused multiply-adds;
// here the product is rounded before the sum, so values differ from PyTorch's by a few ulps
// (tests/nn/optim_golden_test.cpp: under 1e-14 relative after 20 steps).
//
// State per parameter (state(g, i)), created on p's first update, so a parameter unfrozen later starts
// from zero then, as PyTorch's: the step count (kept as PyTorch does; the update does not use it),
// square_avg, grad_avg (centered groups), momentum_buffer (groups with momentum > 0).
// state_dict() holds, for every parameter that has state,
//   "state.<g>.<i>.step" (float64 scalar), "state.<g>.<i>.square_avg",
//   "state.<g>.<i>.grad_avg" (centered groups), "state.<g>.<i>.momentum_buffer" (momentum > 0)
// and "param_groups.<g>.lr" (float64 scalar) for every group (a schedule changes it). <g> is the group
// index, <i> the parameter's index in its group. load_state_dict() takes exactly those names: a missing,
// unexpected or wrongly shaped entry throws anima::Error naming it, and then nothing is changed. State
// tensors are converted to their parameter's dtype and device; a parameter with no entries starts anew.
// zero_grad() drops the gradients (PyTorch's set_to_none = True).
// Determinism: elementwise updates, no reductions: bitwise reproducible.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/io/state_dict.hpp>
#include <anima/optim/optimizer_state_dict.hpp>
#include <anima/optim/param_groups.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>

namespace anima::optim {

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};

// A set of parameters sharing one set of options; a negative value means "the optimiser's default";
// centered: -1 default, 0 off, 1 on.
struct RMSpropParamGroup {
  std::vector<Tensor> params;
  double lr = -1.0;
  double alpha = -1.0;
  double eps = -1.0;
  double weight_decay = -1.0;
  double momentum = -1.0;
  int centered = -1;
  std::string name;  // for messages ("head", "backbone")
};

struct RMSpropParamState {
  std::int64_t step = 0;   // updates so far; 0: no state yet (the tensors are undefined)
  Tensor square_avg;       // v
  Tensor grad_avg;         // a, centered groups only
  Tensor momentum_buffer;  // b, groups with momentum > 0 only
};

class RMSprop : public ParamGroups<RMSpropParamGroup, RMSpropParamState> {
 public:
  // One group of `params` with the default options.
  RMSprop(std::vector<Tensor> params, RMSpropOptions defaults = {})
      : RMSprop(std::vector<RMSpropParamGroup>{}, defaults) {
    RMSpropParamGroup g;
    g.params = std::move(params);
    add_param_group(std::move(g));
  }

  RMSprop(std::vector<RMSpropParamGroup> groups, RMSpropOptions defaults = {})
      : ParamGroups("RMSprop"), defaults_(defaults) {
    check_options(defaults.lr, defaults.alpha, defaults.eps, defaults.weight_decay, defaults.momentum, "defaults");
    for (auto& g : groups) add_param_group(std::move(g));
  }

  // Adds a group (its unset options from the defaults). A tensor may belong to one group only.
  void add_param_group(RMSpropParamGroup g) {
    if (g.lr < 0) g.lr = defaults_.lr;
    if (g.alpha < 0) g.alpha = defaults_.alpha;
    if (g.eps < 0) g.eps = defaults_.eps;
    if (g.weight_decay < 0) g.weight_decay = defaults_.weight_decay;
    if (g.momentum < 0) g.momentum = defaults_.momentum;
    if (g.centered < 0) g.centered = defaults_.centered ? 1 : 0;
    append(std::move(g), [&](const RMSpropParamGroup& a) {
      check_options(a.lr, a.alpha, a.eps, a.weight_decay, a.momentum, a.name);
    });
  }

  void step() {
    for_each_gradient([this](const RMSpropParamGroup& g, const Tensor& grad, const Tensor& w, RMSpropParamState& s) {
      update(g, grad, w, s);
    });
  }

  // Learning-rate schedules set the rate of each group.
  void set_lr(std::size_t group, double lr) {
    const RMSpropParamGroup& g = groups_.at(group);
    check_options(lr, g.alpha, g.eps, g.weight_decay, g.momentum, g.name);
    groups_.at(group).lr = lr;
  }

  // Copies of the state, named as in the header comment.
  io::StateDict state_dict() const {
    return save_states(
        [](io::StateDict& dict, std::size_t gi, std::size_t i, const RMSpropParamGroup& g, const RMSpropParamState& s) {
          if (s.step == 0) return;
          insert_step(dict, gi, i, s.step);
          dict.insert(param_state_key(gi, i, "square_avg"), contiguous_copy(s.square_avg));
          if (g.momentum > 0.0)
            dict.insert(param_state_key(gi, i, "momentum_buffer"), contiguous_copy(s.momentum_buffer));
          if (g.centered) dict.insert(param_state_key(gi, i, "grad_avg"), contiguous_copy(s.grad_avg));
        });
  }

  // Restores what state_dict() saved (from an optimiser with the same groups, momentum on or off and
  // centering per group).
  void load_state_dict(const io::StateDict& dict) {
    load_states(
        dict, "RMSprop::load_state_dict",
        "an RMSprop with " + std::to_string(groups_.size()) + " group(s) with these momentum and centered settings",
        [](OptimizerStateReader& reader, std::size_t gi, std::size_t i, const RMSpropParamGroup& g,
           RMSpropParamState& s) {
          if (!reader.has_param_state(gi, i)) return;  // no state: the parameter starts anew
          s.step = reader.step(gi, i);
          s.square_avg = reader.tensor_like(gi, i, "square_avg", g.params[i]);
          if (g.momentum > 0.0) s.momentum_buffer = reader.tensor_like(gi, i, "momentum_buffer", g.params[i]);
          if (g.centered) s.grad_avg = reader.tensor_like(gi, i, "grad_avg", g.params[i]);
        });
  }

 private:
  // One parameter's update (the header comment's formulas): w, its data, is written in place.
  void update(const RMSpropParamGroup& g, const Tensor& grad, const Tensor& w, RMSpropParamState& s) const {
    if (s.step == 0) {
      s.square_avg = zeros_like(w);
      if (g.momentum > 0.0) s.momentum_buffer = zeros_like(w);
      if (g.centered) s.grad_avg = zeros_like(w);
    }
    s.step += 1;
    const Tensor d = g.weight_decay != 0.0 ? add(grad, mul(w, g.weight_decay)) : grad;
    s.square_avg = add(mul(s.square_avg, g.alpha), mul(mul(d, 1.0 - g.alpha), d));
    Tensor avg;
    if (g.centered) {
      s.grad_avg = add(mul(s.grad_avg, g.alpha), mul(d, 1.0 - g.alpha));
      avg = sqrt(sub(s.square_avg, mul(s.grad_avg, s.grad_avg)));
    } else {
      avg = sqrt(s.square_avg);
    }
    avg = add(avg, g.eps);
    if (g.momentum > 0.0) {
      s.momentum_buffer = add(mul(s.momentum_buffer, g.momentum), div(d, avg));
      copy_into(w, sub(w, mul(s.momentum_buffer, g.lr)));
    } else {
      copy_into(w, add(w, div(mul(d, -g.lr), avg)));
    }
  }

  static void check_options(double lr, double alpha, double eps, double wd, double momentum, const std::string& where) {
    ANIMA_CHECK(lr >= 0.0 && alpha >= 0.0 && eps >= 0.0 && wd >= 0.0 && momentum >= 0.0, "RMSprop", "group '", where,
                "': lr, alpha, eps, weight_decay and momentum must be >= 0, got ", lr, ", ", alpha, ", ", eps, ", ", wd,
                ", ", momentum);
  }

  RMSpropOptions defaults_;
};

}  // namespace anima::optim
