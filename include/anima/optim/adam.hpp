// anima/optim/adam.hpp — Adam and AdamW over parameter groups, each with its own learning rate, betas,
// eps and weight decay (torch.optim.Adam and torch.optim.AdamW of PyTorch 1.13, its single-tensor
// path: not foreach, not capturable, not maximize). Kingma & Ba, "Adam: A Method for Stochastic
// Optimization" (2015); AdamW: Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (2019).
//
// For each parameter p of group g that requires grad and has a gradient (frozen ones are skipped),
// t = p's step count after counting this update (1 on p's first update):
//   Adam:   d = grad(p) + wd_g · p                     (L2 added to the gradient; not when wd_g = 0)
//   AdamW:  p <- p · (1 − lr_g · wd_g);  d = grad(p)   (decoupled decay, before the moments)
//   m <- m · β1 + d · (1 − β1)                         (exp_avg, starts at 0)
//   v <- v · β2 + (d · (1 − β2)) · d                   (exp_avg_sq, starts at 0)
//   amsgrad: v̂ <- max(v̂, v), and v̂ replaces v below   (max_exp_avg_sq, starts at 0)
//   step_size = lr_g / (1 − β1^t)
//   denom = sqrt(v) / sqrt(1 − β2^t) + eps_g
//   p <- p + (m · (−step_size)) / denom
// β^t, 1 − β^t, their square root and step_size are host doubles, as PyTorch's Python floats
// (std::pow, std::sqrt: the C library functions behind Python's ** and math.sqrt).
// Against PyTorch: its CPU kernels evaluate a + α·b (add_ with alpha, addcmul_) as fused multiply-adds;
// here the product is rounded before the sum, so values differ from PyTorch's by a few ulps
// (tests/nn/optim_golden_test.cpp: under 1e-14 relative after 20 steps).
//
// State per parameter (state(g, i)), created on p's first update, so a parameter unfrozen later starts
// from zero then, as PyTorch's: the step count, exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad only).
// state_dict() holds, for every parameter that has state,
//   "state.<g>.<i>.step" (float64 scalar), "state.<g>.<i>.exp_avg", "state.<g>.<i>.exp_avg_sq",
//   "state.<g>.<i>.max_exp_avg_sq" (amsgrad only)
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

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
};

// torch.optim.AdamW's defaults: as Adam's but weight decay 1e-2.
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
};

// A set of parameters sharing one learning rate, betas, eps and weight decay; a negative value means
// "the optimiser's default". amsgrad is the optimiser's, for all groups.
struct AdamParamGroup {
  std::vector<Tensor> params;
  double lr = -1.0;
  double beta1 = -1.0;
  double beta2 = -1.0;
  double eps = -1.0;
  double weight_decay = -1.0;
  std::string name;  // for messages ("head", "backbone")
};

struct AdamParamState {
  std::int64_t step = 0;  // updates so far; 0: no state yet (the tensors are undefined)
  Tensor exp_avg;         // m
  Tensor exp_avg_sq;      // v
  Tensor max_exp_avg_sq;  // v̂, amsgrad only
};

class Adam : public ParamGroups<AdamParamGroup, AdamParamState> {
 public:
  // One group of `params` with the default options.
  Adam(std::vector<Tensor> params, AdamOptions defaults = {}) : Adam("Adam", false, defaults) {
    add_single_group(std::move(params));
  }
  Adam(std::vector<AdamParamGroup> groups, AdamOptions defaults = {}) : Adam("Adam", false, defaults) {
    for (auto& g : groups) add_param_group(std::move(g));
  }

  // Adds a group (its unset options from the defaults). A tensor may belong to one group only.
  void add_param_group(AdamParamGroup g) {
    if (g.lr < 0) g.lr = defaults_.lr;
    if (g.beta1 < 0) g.beta1 = defaults_.beta1;
    if (g.beta2 < 0) g.beta2 = defaults_.beta2;
    if (g.eps < 0) g.eps = defaults_.eps;
    if (g.weight_decay < 0) g.weight_decay = defaults_.weight_decay;
    append(std::move(g),
           [&](const AdamParamGroup& a) { check_options(a.lr, a.beta1, a.beta2, a.eps, a.weight_decay, a.name); });
  }

  void step() {
    for_each_gradient([this](const AdamParamGroup& g, const Tensor& grad, const Tensor& w, AdamParamState& s) {
      update(g, grad, w, s);
    });
  }

  // Learning-rate schedules set the rate of each group.
  void set_lr(std::size_t group, double lr) {
    const AdamParamGroup& g = groups_.at(group);
    check_options(lr, g.beta1, g.beta2, g.eps, g.weight_decay, g.name);
    groups_.at(group).lr = lr;
  }
  bool amsgrad() const { return defaults_.amsgrad; }

  // Copies of the state, named as in the header comment.
  io::StateDict state_dict() const {
    return save_states(
        [&](io::StateDict& dict, std::size_t gi, std::size_t i, const AdamParamGroup&, const AdamParamState& s) {
          if (s.step == 0) return;
          insert_step(dict, gi, i, s.step);
          dict.insert(param_state_key(gi, i, "exp_avg"), contiguous_copy(s.exp_avg));
          dict.insert(param_state_key(gi, i, "exp_avg_sq"), contiguous_copy(s.exp_avg_sq));
          if (defaults_.amsgrad)
            dict.insert(param_state_key(gi, i, "max_exp_avg_sq"), contiguous_copy(s.max_exp_avg_sq));
        });
  }

  // Restores what state_dict() saved (from an optimiser with the same groups and amsgrad setting).
  void load_state_dict(const io::StateDict& dict) {
    const std::string expected = std::string("a ") + name_ + " with " + std::to_string(groups_.size()) +
                                 " group(s), amsgrad " + (defaults_.amsgrad ? "on" : "off");
    load_states(
        dict, std::string(name_) + "::load_state_dict", expected,
        [&](OptimizerStateReader& reader, std::size_t gi, std::size_t i, const AdamParamGroup& g, AdamParamState& s) {
          if (!reader.has_param_state(gi, i)) return;  // no state: the parameter starts anew
          s.step = reader.step(gi, i);
          s.exp_avg = reader.tensor_like(gi, i, "exp_avg", g.params[i]);
          s.exp_avg_sq = reader.tensor_like(gi, i, "exp_avg_sq", g.params[i]);
          if (defaults_.amsgrad) s.max_exp_avg_sq = reader.tensor_like(gi, i, "max_exp_avg_sq", g.params[i]);
        });
  }

 protected:
  // name: "Adam" or "AdamW", for messages; decoupled: AdamW's weight decay.
  Adam(const char* name, bool decoupled, AdamOptions defaults)
      : ParamGroups(name), decoupled_(decoupled), defaults_(defaults) {
    check_options(defaults.lr, defaults.beta1, defaults.beta2, defaults.eps, defaults.weight_decay, "defaults");
  }

  void add_single_group(std::vector<Tensor> params) {
    AdamParamGroup g;
    g.params = std::move(params);
    add_param_group(std::move(g));
  }

 private:
  // One parameter's update (the header comment's formulas): w, its data, is written in place.
  void update(const AdamParamGroup& g, const Tensor& grad, const Tensor& w, AdamParamState& s) const {
    if (s.step == 0) {
      s.exp_avg = zeros_like(w);
      s.exp_avg_sq = zeros_like(w);
      if (defaults_.amsgrad) s.max_exp_avg_sq = zeros_like(w);
    }
    s.step += 1;
    Tensor d = grad;
    if (decoupled_) {
      if (g.weight_decay != 0.0) copy_into(w, mul(w, 1.0 - g.lr * g.weight_decay));
    } else if (g.weight_decay != 0.0) {
      d = add(grad, mul(w, g.weight_decay));
    }
    s.exp_avg = add(mul(s.exp_avg, g.beta1), mul(d, 1.0 - g.beta1));
    s.exp_avg_sq = add(mul(s.exp_avg_sq, g.beta2), mul(mul(d, 1.0 - g.beta2), d));
    const double t = static_cast<double>(s.step);
    const double bias_correction1 = 1.0 - std::pow(g.beta1, t);
    const double bias_correction2 = 1.0 - std::pow(g.beta2, t);
    const double step_size = g.lr / bias_correction1;
    const double bias_correction2_sqrt = std::sqrt(bias_correction2);
    Tensor v = s.exp_avg_sq;
    if (defaults_.amsgrad) {
      s.max_exp_avg_sq = maximum(s.max_exp_avg_sq, s.exp_avg_sq);
      v = s.max_exp_avg_sq;
    }
    const Tensor denom = add(div(sqrt(v), bias_correction2_sqrt), g.eps);
    copy_into(w, add(w, div(mul(s.exp_avg, -step_size), denom)));
  }

  void check_options(double lr, double beta1, double beta2, double eps, double wd, const std::string& where) const {
    ANIMA_CHECK(lr >= 0.0 && eps >= 0.0 && wd >= 0.0, name_, "group '", where,
                "': lr, eps and weight_decay must be >= 0, got ", lr, ", ", eps, ", ", wd);
    ANIMA_CHECK(beta1 >= 0.0 && beta1 < 1.0 && beta2 >= 0.0 && beta2 < 1.0, name_, "group '", where,
                "': betas must be in [0, 1), got (", beta1, ", ", beta2, ")");
  }

  bool decoupled_;
  AdamOptions defaults_;
};

// Adam with decoupled weight decay: p <- p · (1 − lr · wd) before the update, the gradient unchanged.
class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, AdamWOptions defaults = {}) : Adam("AdamW", true, to_adam(defaults)) {
    add_single_group(std::move(params));
  }
  AdamW(std::vector<AdamParamGroup> groups, AdamWOptions defaults = {}) : Adam("AdamW", true, to_adam(defaults)) {
    for (auto& g : groups) add_param_group(std::move(g));
  }

 private:
  static AdamOptions to_adam(const AdamWOptions& o) {
    return AdamOptions{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.amsgrad};
  }
};

}  // namespace anima::optim
