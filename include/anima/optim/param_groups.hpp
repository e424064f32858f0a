// anima/optim/param_groups.hpp — what every optimiser does with its parameter groups (ParamGroups,
// the optimisers' base): adding a group (named, its tensors checked to be defined floating leaves that
// no earlier group holds, a state per tensor) and visiting, in a step, each parameter with a gradient
// to apply (checked to match its parameter's shape, dtype and device).
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/autograd/node.hpp>

#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/io/state_dict.hpp>
#include <anima/optim/optimizer_state_dict.hpp>

namespace anima::optim {

// Throws anima::Error naming `optimizer` and the groups when a tensor of `group` is not a defined
// floating leaf or already belongs to one of `earlier` (a parameter is updated by one group only).
template <class Group>
void check_new_group_params(const char* optimizer, const Group& group, const std::vector<Group>& earlier) {
  for (const Tensor& p : group.params) {
    ANIMA_CHECK(p.defined() && p.is_leaf() && is_floating(p.dtype()), optimizer, "group '", group.name,
                "': parameters must be defined floating leaf tensors");
    for (const Group& other : earlier)
      for (const Tensor& q : other.params)
        ANIMA_CHECK(!q.same(p), optimizer, "a parameter ", shape_str(p.shape()), " is in both group '", other.name,
                    "' and group '", group.name, "'");
  }
}

// The gradient a step applies to `p`: undefined when p is frozen or has no gradient (the step skips
// it); throws when the gradient's shape, dtype or device differs from p's.
inline Tensor gradient_to_apply(const char* optimizer, const std::string& group_name, const Tensor& p) {
  if (!p.requires_grad()) return Tensor();
  Tensor grad = p.grad();
  if (!grad.defined()) return grad;
  ANIMA_CHECK(grad.shape() == p.shape() && grad.dtype() == p.dtype() && grad.device() == p.device(), optimizer,
              "group '", group_name, "': gradient ", dtype_name(grad.dtype()), " ", shape_str(grad.shape()), " on ",
              grad.device().str(), " does not match parameter ", dtype_name(p.dtype()), " ", shape_str(p.shape()),
              " on ", p.device().str());
  return grad;
}

// What every optimiser keeps and does with its parameter groups: the groups, a state per parameter
// (State: the optimiser's, default-constructed until the parameter's first update), adding a group
// and visiting the parameters that have a gradient to apply.
template <class Group, class State>
class ParamGroups {
 public:
  // Drops every parameter's gradient (PyTorch's zero_grad with set_to_none = True).
  void zero_grad() {
    for (Group& g : groups_)
      for (Tensor& p : g.params) p.zero_grad();
  }

  std::size_t num_groups() const { return groups_.size(); }
  const Group& group(std::size_t i) const { return groups_.at(i); }
  const State& state(std::size_t group, std::size_t index) const { return state_.at(group).at(index); }

 protected:
  // `name` names the optimiser in messages.
  explicit ParamGroups(const char* name) : name_(name) {}

  // Appends `group` and one state per tensor. An unnamed group is named by its index; then
  // check_options(group) checks the optimiser's options (throwing).
  template <class CheckOptions>
  void append(Group group, CheckOptions&& check_options) {
    if (group.name.empty()) group.name = std::to_string(groups_.size());
    check_options(group);
    check_new_group_params(name_, group, groups_);
    state_.emplace_back(group.params.size());
    groups_.push_back(std::move(group));
  }

  // With autograd off, calls update(group, grad, w, state) for each parameter that has a gradient to
  // apply: w is the parameter's data (detached, written in place), state its state.
  template <class Update>
  void for_each_gradient(Update&& update) {
    NoGradGuard no_grad;
    for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
      const Group& g = groups_[gi];
      for (std::size_t i = 0; i < g.params.size(); ++i) {
        const Tensor grad = gradient_to_apply(name_, g.name, g.params[i]);
        if (grad.defined()) update(g, grad, detach(g.params[i]), state_[gi][i]);
      }
    }
  }

  // The optimiser's saved state: save(dict, g, i, group, state) inserts parameter i of group g's
  // entries (named as optimizer_state_dict.hpp says), then every group's learning rate is added.
  template <class Save>
  io::StateDict save_states(Save&& save) const {
    io::StateDict dict;
    for (std::size_t gi = 0; gi < groups_.size(); ++gi)
      for (std::size_t i = 0; i < groups_[gi].params.size(); ++i) save(dict, gi, i, groups_[gi], state_[gi][i]);
    for (std::size_t gi = 0; gi < groups_.size(); ++gi) insert_group_lr(dict, gi, groups_[gi].lr);
    return dict;
  }

  // Restores a saved state: read(reader, g, i, group, state) fills a fresh state of parameter i of
  // group g from the reader. Any missing, unexpected or ill-shaped entry throws (op names the call,
  // `expected` describes this optimiser for the message) and then nothing has changed.
  template <class Read>
  void load_states(const io::StateDict& dict, const std::string& op, const std::string& expected, Read&& read) {
    OptimizerStateReader reader(dict, op);
    std::vector<std::vector<State>> loaded(groups_.size());
    std::vector<double> lrs(groups_.size());
    for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
      lrs[gi] = reader.group_lr(gi);
      loaded[gi].resize(groups_[gi].params.size());
      for (std::size_t i = 0; i < groups_[gi].params.size(); ++i) read(reader, gi, i, groups_[gi], loaded[gi][i]);
    }
    reader.finish(expected);
    state_ = std::move(loaded);
    for (std::size_t gi = 0; gi < groups_.size(); ++gi) groups_[gi].lr = lrs[gi];
  }

  const char* name_;
  std::vector<Group> groups_;
  std::vector<std::vector<State>> state_;  // [group][param]
};

}  // namespace anima::optim
