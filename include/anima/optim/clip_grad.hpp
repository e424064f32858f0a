// anima/optim/clip_grad.hpp — clip_grad_norm_: scales all gradients together so that their joint norm
// is at most max_norm (torch.nn.utils.clip_grad_norm_ of PyTorch 1.13).
//
// Over the parameters that have a gradient g_1 … g_k (those without one are left out, as PyTorch's;
// requires_grad is not looked at):
//   norm_type 2:   n_j = sqrt(Σ g_j²),  total = sqrt(Σ_j n_j²)   (the 2-norm of all gradients as one vector)
//   norm_type inf: n_j = max |g_j|,     total = max_j n_j
//   coef = min((1 / (total + 1e-6)) · max_norm, 1)               (PyTorch evaluates max_norm / x as
//                                                                  x.reciprocal() · max_norm)
//   g_j <- g_j · coef   in place, also when coef is 1 (a no-op), as PyTorch's
// Returns total, a 0-dim tensor of the gradients' dtype and device (float32 0 when no parameter has a
// gradient). Every step is a tensor op on the gradients' device, so nothing is read back to the host.
// Determinism: the sums are the CPU reduce kernel's (deterministic for a given thread count and shape);
// their order is not PyTorch's, so the norm can differ from PyTorch's in the last bits.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/reduce.hpp>

namespace anima::optim {

inline Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0) {
  const bool inf_norm = std::isinf(norm_type) && norm_type > 0.0;
  ANIMA_CHECK(norm_type == 2.0 || inf_norm, "clip_grad_norm_", "norm_type must be 2 or infinity, got ", norm_type);
  ANIMA_CHECK(max_norm >= 0.0, "clip_grad_norm_", "max_norm must be >= 0, got ", max_norm);
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (std::size_t k = 0; k < params.size(); ++k) {
    ANIMA_CHECK(params[k].defined(), "clip_grad_norm_", "parameter ", k, " is an undefined tensor");
    const Tensor g = params[k].grad();
    if (!g.defined()) continue;
    ANIMA_CHECK(is_floating(g.dtype()), "clip_grad_norm_", "the gradient of parameter ", k, " is ",
                dtype_name(g.dtype()), ", expected float32 or float64");
    if (!grads.empty())
      ANIMA_CHECK(g.dtype() == grads[0].dtype() && g.device() == grads[0].device(), "clip_grad_norm_",
                  "the gradient of parameter ", k, " is ", dtype_name(g.dtype()), " on ", g.device().str(),
                  ", the first gradient is ", dtype_name(grads[0].dtype()), " on ", grads[0].device().str(),
                  " (all must match)");
    grads.push_back(detach(g));
  }
  if (grads.empty()) return full({}, 0.0);

  Tensor total;  // [] grads' dtype and device
  if (inf_norm) {
    for (const Tensor& g : grads) {
      const Tensor n = max(abs(g));
      total = total.defined() ? maximum(total, n) : n;
    }
  } else {
    Tensor sum_sq;
    for (const Tensor& g : grads) {
      const Tensor n = sqrt(sum(mul(g, g)));
      const Tensor n_sq = mul(n, n);
      sum_sq = sum_sq.defined() ? add(sum_sq, n_sq) : n_sq;
    }
    total = sqrt(sum_sq);
  }
  const Tensor coef = clamp_max(mul(1.0 / add(total, 1e-6), max_norm), 1.0);
  for (const Tensor& g : grads) copy_into(g, mul(g, coef));
  return total;
}

}  // namespace anima::optim
