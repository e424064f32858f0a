// anima/optim/param_groups.hpp — the checks every optimiser makes on its parameter groups: a new
// group's tensors are defined floating leaves that no earlier group holds, and a gradient about to be
// applied matches its parameter's shape, dtype and device.
#pragma once

#include <string>
#include <vector>

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

}  // namespace anima::optim
