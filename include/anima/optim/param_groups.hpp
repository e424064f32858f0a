// anima/optim/param_groups.hpp — what every optimiser does with its parameter groups: adding a group
// (named, its tensors checked to be defined floating leaves that no earlier group holds, a state slot
// per tensor) and visiting, in a step, each parameter with a gradient to apply (checked to match its
// parameter's shape, dtype and device).
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/autograd/node.hpp>

#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>

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

// Appends `group` to `groups` and one default state per tensor to `state` (its state slot). An unnamed
// group is named by its index; then check_options(group) checks the optimiser's options (throwing).
template <class Group, class State, class CheckOptions>
void append_param_group(const char* optimizer, Group group, std::vector<Group>& groups,
                        std::vector<std::vector<State>>& state, CheckOptions&& check_options) {
  if (group.name.empty()) group.name = std::to_string(groups.size());
  check_options(group);
  check_new_group_params(optimizer, group, groups);
  state.emplace_back(group.params.size());
  groups.push_back(std::move(group));
}

// With autograd off, calls update(group, grad, w, state) for each parameter that has a gradient to
// apply: w is the parameter's data (detached, written in place), state its slot in `state`.
template <class Group, class State, class Update>
void for_each_gradient(const char* optimizer, const std::vector<Group>& groups, std::vector<std::vector<State>>& state,
                       Update&& update) {
  NoGradGuard no_grad;
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    const Group& g = groups[gi];
    for (std::size_t i = 0; i < g.params.size(); ++i) {
      const Tensor grad = gradient_to_apply(optimizer, g.name, g.params[i]);
      if (grad.defined()) update(g, grad, detach(g.params[i]), state[gi][i]);
    }
  }
}

}  // namespace anima::optim
