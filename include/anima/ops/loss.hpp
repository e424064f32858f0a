// anima/ops/loss.hpp — loss functions with PyTorch 1.13's semantics.
//
// Reduction: None keeps the per-element (per-row for cross_entropy) losses, Sum adds them, Mean
// divides the sum by the number of elements (cross_entropy: by the total weight, see below).
//
// cross_entropy(logits [N, C], target [N] int64, opts), with p = log_softmax(logits, 1),
// w_c the class weights (1 when undefined), valid_n = [target_n != ignore_index], t = target_n:
//   nll_n    = −w_t · p[n, t] · valid_n
//   smooth_n = −Σ_c w_c · p[n, c] · valid_n                  (only when label_smoothing ε > 0)
//   None:  loss_n = (1 − ε) · nll_n + (ε / C) · smooth_n
//   Sum:   Σ_n of the None loss
//   Mean:  [(1 − ε) · Σ_n nll_n + (ε / C) · Σ_n smooth_n] / Σ_n w_t · valid_n
//          (the weighted mean of nll_loss; PyTorch 1.13's cross_entropy_loss_label_smoothing divides
//          the smoothing term by the same Σ w[target]; with every row ignored this is 0/0 = NaN, as PyTorch)
//   Targets are read on the host to check their range (an error names the bad index and its row).
// binary_cross_entropy_with_logits(x, t, weight, reduction, pos_weight), elementwise:
//   loss = (1 − t) · x + l · softplus(−x),  l = 1 + (pos_weight − 1) · t  (l = 1 without pos_weight)
//   softplus(−x) = max(−x, 0) + log(1 + e^−|x|), so without pos_weight loss = max(x, 0) − x·t + log(1 + e^−|x|)
//   (the stable form: no exp of a positive number); then · weight. weight and pos_weight broadcast to x.
// smooth_l1_loss(x, t, β): d = x − t;  |d| < β ? 0.5 · d² / β : |d| − 0.5 · β;  β == 0 is the L1 loss |d|.
// mse_loss(x, t): (x − t)².
// Backward: every loss is composite (log_softmax, mul, sum, where, softplus, ...), so its gradients
// (to the input and, where differentiable, to the target) come from its parts. At the kinks: smooth_l1
// at |d| == β takes the linear branch's ±1 (= d/β there: continuous); L1 at d == 0 gives 0 (sgn 0), as PyTorch.
// Determinism: as the parts: bitwise reproducible on the CPU for a given thread count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/shape.hpp>
#include <anima/core/tensor.hpp>
#include <anima/ops/activation.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/elementwise_untracked.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/softmax.hpp>

namespace anima {

enum class Reduction { None, Mean, Sum };

struct CrossEntropyOptions {
  Reduction reduction = Reduction::Mean;
  double label_smoothing = 0.0;
  Tensor weight;  // [C] class weights or undefined
  std::int64_t ignore_index = -100;
};

namespace detail {
inline Tensor reduce_loss(const Tensor& loss, Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return loss;
    case Reduction::Sum: return sum(loss);
    case Reduction::Mean: return mean(loss);
  }
  return loss;
}

inline void check_loss_pair(const char* op, const Tensor& input, const Tensor& target) {
  ANIMA_CHECK(input.defined() && target.defined(), op, "input and target must be defined");
  untracked::check_floating(op, input);
  ANIMA_CHECK(input.device() == target.device(), op, "input ", shape_str(input.shape()), " is on ",
              input.device().str(), " but target ", shape_str(target.shape()), " is on ", target.device().str());
  ANIMA_CHECK(input.dtype() == target.dtype(), op, "input ", shape_str(input.shape()), " is ",
              dtype_name(input.dtype()), " but target ", shape_str(target.shape()), " is ", dtype_name(target.dtype()));
  ANIMA_CHECK(input.shape() == target.shape(), op, "input ", shape_str(input.shape()), " and target ",
              shape_str(target.shape()), " must have the same shape");
}

// An optional tensor (weight, pos_weight) that must broadcast to `shape` with input's dtype and device.
inline void check_broadcast_operand(const char* op, const char* what, const Tensor& t, const Tensor& input) {
  if (!t.defined()) return;
  ANIMA_CHECK(t.device() == input.device() && t.dtype() == input.dtype(), op, what, " ", shape_str(t.shape()), " (",
              dtype_name(t.dtype()), " on ", t.device().str(), ") must match input ", shape_str(input.shape()), " (",
              dtype_name(input.dtype()), " on ", input.device().str(), ")");
  bool ok = t.dim() <= input.dim();
  for (std::int64_t i = 0; ok && i < t.dim(); ++i) {
    const std::int64_t a = t.shape()[static_cast<std::size_t>(t.dim() - 1 - i)];
    ok = a == 1 || a == input.shape()[static_cast<std::size_t>(input.dim() - 1 - i)];
  }
  ANIMA_CHECK(ok, op, what, " ", shape_str(t.shape()), " does not broadcast to input ", shape_str(input.shape()));
}
}  // namespace detail

inline Tensor cross_entropy(const Tensor& logits /*[N, C]*/, const Tensor& target /*[N] int64*/,
                            const CrossEntropyOptions& opts = {}) {
  const char* op = "cross_entropy";
  ANIMA_CHECK(logits.defined() && target.defined(), op, "logits and target must be defined");
  untracked::check_floating(op, logits);
  ANIMA_CHECK(logits.dim() == 2, op, "logits must be [N, C], got ", shape_str(logits.shape()));
  ANIMA_CHECK(target.dtype() == DType::Int64, op, "target ", shape_str(target.shape()),
              " must hold int64 class indices, got ", dtype_name(target.dtype()));
  ANIMA_CHECK(target.dim() == 1 && target.shape()[0] == logits.shape()[0], op, "target ", shape_str(target.shape()),
              " must be [N] = [", logits.shape()[0], "] for logits ", shape_str(logits.shape()));
  ANIMA_CHECK(target.device() == logits.device(), op, "logits ", shape_str(logits.shape()), " are on ",
              logits.device().str(), " but target ", shape_str(target.shape()), " is on ", target.device().str());
  const std::int64_t n = logits.shape()[0], c = logits.shape()[1];
  const Tensor& weight = opts.weight;
  if (weight.defined()) {
    ANIMA_CHECK(weight.dim() == 1 && weight.shape()[0] == c, op, "weight ", shape_str(weight.shape()), " must be [", c,
                "] for logits ", shape_str(logits.shape()));
    ANIMA_CHECK(weight.device() == logits.device() && weight.dtype() == logits.dtype(), op, "weight ",
                shape_str(weight.shape()), " (", dtype_name(weight.dtype()), " on ", weight.device().str(),
                ") must match logits (", dtype_name(logits.dtype()), " on ", logits.device().str(), ")");
  }
  const double eps = opts.label_smoothing;
  ANIMA_CHECK(eps >= 0.0 && eps <= 1.0, op, "label_smoothing must be in [0, 1], got ", eps);

  // The targets on the host: range check, then the one-hot matrix of the valid rows and the row mask.
  const std::vector<std::int64_t> t = to_vector<std::int64_t>(target);
  std::vector<double> onehot(static_cast<std::size_t>(n * c), 0.0), valid(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    if (t[i] == opts.ignore_index) continue;
    ANIMA_CHECK(t[i] >= 0 && t[i] < c, op, "target ", t[i], " (row ", i, " of target ", shape_str(target.shape()),
                ") is out of range for ", c, " classes (logits ", shape_str(logits.shape()), ")");
    onehot[static_cast<std::size_t>(i * c + t[i])] = 1.0;
    valid[static_cast<std::size_t>(i)] = 1.0;
  }
  const TensorOptions to = TensorOptions(logits.dtype()).with_device(logits.device());
  auto make = [&](const std::vector<double>& v, const Shape& s) {
    Tensor h = from_vector(v, s, TensorOptions(DType::Float64));
    Tensor typed = h.dtype() == to.dtype ? h : cast_copy(h, to.dtype);
    return to.device.is_cpu() ? typed : device_copy(typed, to.device);
  };
  const Tensor oh = make(onehot, {n, c});  // [N, C]

  const Tensor logp = log_softmax(logits, 1);                 // [N, C]
  const Tensor ow = weight.defined() ? mul(oh, weight) : oh;  // [N, C]: w_t at (n, t), 0 elsewhere
  const Tensor nll = neg(sum(mul(logp, ow), {1}));            // [N]
  Tensor smooth;
  if (eps > 0.0) {
    const Tensor weighted = weight.defined() ? mul(logp, weight) : logp;
    smooth = mul(neg(sum(weighted, {1})), make(valid, {n}));  // [N]
  }
  const double keep = 1.0 - eps, spread = eps / static_cast<double>(c);
  switch (opts.reduction) {
    case Reduction::None: return eps > 0.0 ? add(mul(nll, keep), mul(smooth, spread)) : nll;
    case Reduction::Sum: return eps > 0.0 ? add(mul(sum(nll), keep), mul(sum(smooth), spread)) : sum(nll);
    case Reduction::Mean: {
      const Tensor total_weight = sum(ow);  // Σ_n w_t over the valid rows (their count without weights)
      const Tensor numerator = eps > 0.0 ? add(mul(sum(nll), keep), mul(sum(smooth), spread)) : sum(nll);
      return div(numerator, total_weight);
    }
  }
  return nll;
}

inline Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                               const Tensor& weight = Tensor(), Reduction reduction = Reduction::Mean,
                                               const Tensor& pos_weight = Tensor()) {
  const char* op = "binary_cross_entropy_with_logits";
  detail::check_loss_pair(op, logits, target);
  detail::check_broadcast_operand(op, "weight", weight, logits);
  detail::check_broadcast_operand(op, "pos_weight", pos_weight, logits);
  const Tensor sp = detail::softplus(neg(logits));  // max(−x, 0) + log(1 + e^−|x|)
  const Tensor log_weight = pos_weight.defined() ? add(mul(sub(pos_weight, 1.0), target), 1.0) : Tensor();
  Tensor loss = add(mul(1.0 - target, logits), log_weight.defined() ? mul(log_weight, sp) : sp);
  if (weight.defined()) loss = mul(loss, weight);
  return detail::reduce_loss(loss, reduction);
}

inline Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, double beta = 1.0,
                             Reduction reduction = Reduction::Mean) {
  const char* op = "smooth_l1_loss";
  detail::check_loss_pair(op, input, target);
  ANIMA_CHECK(beta >= 0.0, op, "beta must be >= 0, got ", beta);
  const Tensor d = sub(input, target);
  const Tensor ad = abs(d);
  Tensor loss;
  if (beta == 0.0) {
    loss = ad;
  } else {
    const Tensor inside = untracked::compare(op, kernels::CompareOp::Lt, detach(ad), untracked::scalar_like(ad, beta));
    loss = where(inside, div(mul(mul(d, d), 0.5), beta), sub(ad, 0.5 * beta));
  }
  return detail::reduce_loss(loss, reduction);
}

inline Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean) {
  detail::check_loss_pair("mse_loss", input, target);
  const Tensor d = sub(input, target);
  return detail::reduce_loss(mul(d, d), reduction);
}

}  // namespace anima
