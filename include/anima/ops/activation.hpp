// anima/ops/activation.hpp — pointwise activations (relu is in anima/ops/elementwise.hpp).
//
// Forward (per element; the output has x's shape):
//   relu6(x)            = min(max(x, 0), 6)
//   leaky_relu(x, s)    = x > 0 ? x : s·x
//   prelu(x, w)         = x > 0 ? x : w[c]·x       c = channel index (dim 1 of x [N, C, ...]); w [1] or [C]
//   elu(x, α)           = x > 0 ? x : α·(e^x − 1)
//   sigmoid(x)          = 1 / (1 + e^−x)
//   tanh(x)
//   hardswish(x)        = x·relu6(x + 3)/6         (Howard et al. 2019, "Searching for MobileNetV3")
// Backward (g = dL/dy), with PyTorch 1.13's choices at the kinks (checked against torch 1.13):
//   relu6:      g where 0 < x < 6, else 0          (hardtanh_backward: 0 at x == 0 and x == 6)
//   leaky_relu: g where x > 0, else s·g            (x == 0 gets s·g)
//   prelu:      dx = g where x > 0, else w[c]·g;   dw[c] = Σ over all dims but the channel of g·x where x <= 0
//   elu:        g where x > 0, else α·e^x·g        (x == 0 gets α·g)
//   sigmoid:    g·y·(1 − y)                        tanh: g·(1 − y²)    (saved: the output y)
//   hardswish:  0 for x < −3; g·(x/3 + 1/2) for −3 <= x <= 3; g for x > 3
//               (so x == −3 gets −g/2 and x == 3 gets 3g/2, as torch 1.13's hardswish_backward)
// Saved: x (relu6, leaky_relu, elu, hardswish, prelu) or y (sigmoid, tanh).
// The forward and derivative formulas are UnaryOp entries of anima/kernels/elementwise_math.hpp,
// shared by the CPU and CUDA kernels: the forward runs on UnaryKernel, the backward g · d(saved) in one
// pass on ActivationBackwardKernel (anima/backends/cpu/activation.hpp; reference: the two-pass
// mul(g, unary(d, saved)), bitwise equal).
// prelu is composite (where/mul), so its gradient comes from its parts.
// Determinism: every output element depends on its own inputs only: bitwise reproducible (prelu's
// dw is a reduction: deterministic on the CPU for a given thread count).
#pragma once

#include <cstdint>
#include <vector>

#include <anima/autograd/node.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/backends/cpu/activation.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/elementwise_untracked.hpp>
#include <anima/ops/view.hpp>

namespace anima {

namespace detail {
// g · d(saved) in one pass (ActivationBackwardKernel); `saved` has g's shape (the op's input or output).
inline Tensor activation_backward_u(kernels::UnaryOp grad_op, double p0, const Tensor& saved, const Tensor& g) {
  Tensor dx = Tensor::empty(saved.shape(), TensorOptions(saved.dtype()).with_device(saved.device()));
  if (dx.numel() > 0)
    kernel_for<ActivationBackwardKernel>(saved.device())(saved.dtype(), grad_op, p0, saved.raw_data(), saved.layout(),
                                                         g.raw_data(), g.layout_as(saved.shape()), dx.raw_data(),
                                                         dx.numel());
  return dx;
}

// y = f(x) through UnaryOp `fwd`; backward g · d(x) with the derivative UnaryOp `grad` of x.
inline Tensor activation_of_input(const char* name, kernels::UnaryOp fwd, kernels::UnaryOp grad, const Tensor& x,
                                  double p0 = 0.0) {
  Tensor y = untracked::unary(name, fwd, x, p0);
  Tensor sx = detach(x);
  record(name, y, {x},
         [sx, grad, p0](const Tensor& g) -> std::vector<Tensor> { return {activation_backward_u(grad, p0, sx, g)}; });
  return y;
}
// y = f(x) through UnaryOp `fwd`; backward g · d(y) with the derivative UnaryOp `grad` of the output.
inline Tensor activation_of_output(const char* name, kernels::UnaryOp fwd, kernels::UnaryOp grad, const Tensor& x) {
  Tensor y = untracked::unary(name, fwd, x);
  Tensor sy = detach(y);
  record(name, y, {x},
         [sy, grad](const Tensor& g) -> std::vector<Tensor> { return {activation_backward_u(grad, 0.0, sy, g)}; });
  return y;
}

// softplus(x) = log(1 + e^x) in the stable form max(x, 0) + log1p(e^−|x|); d/dx = sigmoid(x).
// Used by binary_cross_entropy_with_logits (anima/ops/loss.hpp).
inline Tensor softplus(const Tensor& x) {
  Tensor y = untracked::unary("softplus", kernels::UnaryOp::Softplus, x);
  Tensor sx = detach(x);
  record("softplus", y, {x}, [sx](const Tensor& g) -> std::vector<Tensor> {
    return {activation_backward_u(kernels::UnaryOp::Sigmoid, 0.0, sx, g)};
  });
  return y;
}
}  // namespace detail

inline Tensor relu6(const Tensor& x) {
  return detail::activation_of_input("relu6", kernels::UnaryOp::Relu6, kernels::UnaryOp::Relu6Grad, x);
}

inline Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01) {
  return detail::activation_of_input("leaky_relu", kernels::UnaryOp::LeakyRelu, kernels::UnaryOp::LeakyReluGrad, x,
                                     negative_slope);
}

inline Tensor elu(const Tensor& x, double alpha = 1.0) {
  return detail::activation_of_input("elu", kernels::UnaryOp::Elu, kernels::UnaryOp::EluGrad, x, alpha);
}

inline Tensor hardswish(const Tensor& x) {
  return detail::activation_of_input("hardswish", kernels::UnaryOp::Hardswish, kernels::UnaryOp::HardswishGrad, x);
}

inline Tensor sigmoid(const Tensor& x) {
  return detail::activation_of_output("sigmoid", kernels::UnaryOp::Sigmoid, kernels::UnaryOp::SigmoidGradOfOutput, x);
}

inline Tensor tanh(const Tensor& x) {
  return detail::activation_of_output("tanh", kernels::UnaryOp::Tanh, kernels::UnaryOp::TanhGradOfOutput, x);
}

// x [N, C, ...] (or [N] / a 0-dim tensor: one channel), weight [1] or [C]: a learned slope per channel.
inline Tensor prelu(const Tensor& x, const Tensor& weight) {
  untracked::check_floating("prelu", x);
  untracked::check_same_device_dtype("prelu", x, weight);
  ANIMA_CHECK(weight.dim() == 1, "prelu", "weight must be 1-D ([1] or [C]), got ", shape_str(weight.shape()));
  const std::int64_t channels = x.dim() >= 2 ? x.shape()[1] : 1;
  const std::int64_t wn = weight.shape()[0];
  ANIMA_CHECK(wn == 1 || wn == channels, "prelu", "weight ", shape_str(weight.shape()), " must have 1 or ", channels,
              " (= input ", shape_str(x.shape()), ".shape[1]) elements");
  // The weight viewed so that it broadcasts along the channel dim: [1, C, 1, ...].
  Tensor w = weight;
  if (x.dim() == 0) {
    w = reshape(weight, Shape{});
  } else if (wn != 1 && x.dim() >= 2) {
    Shape s(static_cast<std::size_t>(x.dim()), 1);
    s[1] = wn;
    w = reshape(weight, s);
  }
  Tensor positive = untracked::compare("prelu", kernels::CompareOp::Gt, x, untracked::scalar_like(x, 0.0));
  return where(positive, x, mul(x, w));
}

}  // namespace anima
