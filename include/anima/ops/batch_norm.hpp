// anima/ops/batch_norm.hpp — batch_norm2d (torch.nn.functional.batch_norm on [N, C, H, W]) and
// frozen_batch_norm2d (torchvision.ops.FrozenBatchNorm2d), fused kernels with explicit backward.
//
// Shapes: input [N, C, H, W]; weight, bias, running_mean, running_var [C] (weight/bias may be undefined:
// affine = false). Per channel c over its m = N·H·W values:
//   training: mean = Σx/m, var = Σ(x - mean)²/m (biased), invstd = 1/sqrt(var + eps)
//             y = (x - mean)·invstd·w + b, computed as x·α + β with α = w·invstd, β = b - mean·α
//             running_mean <- (1 - momentum)·running_mean + momentum·mean
//             running_var  <- (1 - momentum)·running_var  + momentum·var·m/(m - 1)   (unbiased)
//             (in place through copy_into, no autograd; skipped when the running tensors are undefined)
//   eval:     the same transform with mean = running_mean, var = running_var.
// Backward (g = dL/dy, x̂ = (x - mean)·invstd):
//   training: dL/dx = w·invstd·(g - mean(g) - x̂·mean(g·x̂))   (means over the channel's m values)
//   eval:     dL/dx = g·w·invstd
//   dL/dw = Σ g·x̂, dL/db = Σ g (both modes). Saved: the input, mean and var used, weight.
// frozen_batch_norm2d: y = x·scale + (b - rm·scale), scale = w/sqrt(rv + eps): the eval transform with
//   all four [C] tensors constants (no gradient to them, ever); dL/dx = g·scale.
// Source: Ioffe & Szegedy 2015, "Batch Normalization"; PyTorch aten/src/ATen/native/Normalization.cpp
// (the α/β form and the unbiased running variance); torchvision/ops/misc.py (FrozenBatchNorm2d).
// Determinism: per-channel sums in a fixed order (CPU: sequential in double; CUDA: one block per channel,
// fixed tree in double), no atomics: run-to-run deterministic on both backends.
#pragma once

#include <cstdint>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/tensor.hpp>
#include <anima/backends/cpu/batch_norm.hpp>
#include <anima/ops/elementwise_untracked.hpp>
#include <anima/backends/cpu/factory.hpp>

namespace anima {

namespace detail {

inline const void* bn_ptr(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }
inline Tensor bn_contiguous(const Tensor& t) { return !t.defined() || t.is_contiguous() ? t : contiguous_copy(t); }

inline void check_bn_input(const Tensor& x, const char* op) {
  ANIMA_CHECK(x.defined(), op, "the input is undefined");
  ANIMA_CHECK(x.dim() == 4, op, "expected a 4-D input [N, C, H, W], got shape ", shape_str(x.shape()));
  ANIMA_CHECK(is_floating(x.dtype()), op, "expected a float32 or float64 input, got ", dtype_name(x.dtype()), " ",
              shape_str(x.shape()));
  ANIMA_CHECK(x.device().is_cpu() || cuda_is_available(), op, "input ", shape_str(x.shape()), " is on ",
              x.device().str(), ", but CUDA is not available here (no CUDA device, or ", kCudaNotRegistered, ")");
}

// A per-channel parameter: undefined is allowed when `optional`; else [C], the input's dtype and device.
inline void check_bn_param(const Tensor& x, const Tensor& p, const char* what, bool optional, const char* op) {
  if (!p.defined()) {
    ANIMA_CHECK(optional, op, what, " is required (input ", shape_str(x.shape()), ")");
    return;
  }
  const std::int64_t C = x.shape()[1];
  ANIMA_CHECK(p.dim() == 1 && p.shape()[0] == C, op, "input ", shape_str(x.shape()), " has ", C, " channels but ", what,
              " has shape ", shape_str(p.shape()), " (expected [", C, "])");
  ANIMA_CHECK(p.device() == x.device(), op, what, " ", shape_str(p.shape()), " is on ", p.device().str(),
              " but the input ", shape_str(x.shape()), " is on ", x.device().str());
  ANIMA_CHECK(p.dtype() == x.dtype(), op, what, " ", shape_str(p.shape()), " is ", dtype_name(p.dtype()),
              " but the input ", shape_str(x.shape()), " is ", dtype_name(x.dtype()));
}

// The transform with the given per-channel statistics, and a backward node for `inputs` (x [, w, b]).
inline Tensor bn_apply(const char* name, const Tensor& input, const Tensor& weight, const Tensor& bias,
                       const Tensor& mean, const Tensor& var, double eps, bool training, bool param_grads) {
  const Tensor x = bn_contiguous(input);                            // [N, C, H, W]
  const Tensor w = bn_contiguous(weight), b = bn_contiguous(bias);  // [C] or undefined
  const Shape& s = x.shape();
  const std::int64_t N = s[0], C = s[1], HW = s[2] * s[3];
  Tensor y = Tensor::empty(s, TensorOptions(x.dtype()).with_device(x.device()));
  if (y.numel() > 0)
    kernel_for<BatchNormTransformKernel>(x.device())(x.dtype(), x.raw_data(), N, C, HW, mean.raw_data(), var.raw_data(),
                                                     bn_ptr(w), bn_ptr(b), eps, y.raw_data());
  const Tensor xs = detach(x), ws = w.defined() ? detach(w) : Tensor();
  auto rule = [xs, ws, mean, var, eps, training, param_grads,
               has_bias = b.defined()](const Tensor& grad) -> std::vector<Tensor> {
    const Tensor gy = bn_contiguous(grad);
    const Shape& sh = xs.shape();
    const TensorOptions to = TensorOptions(gy.dtype()).with_device(gy.device());
    Tensor gx = Tensor::empty(sh, to);
    Tensor gw = param_grads && ws.defined() ? Tensor::empty({sh[1]}, to) : Tensor();
    Tensor gb = param_grads && has_bias ? Tensor::empty({sh[1]}, to) : Tensor();
    if (gx.numel() > 0) {
      kernel_for<BatchNormBackwardKernel>(gy.device())(gy.dtype(), xs.raw_data(), gy.raw_data(), sh[0], sh[1],
                                                       sh[2] * sh[3], mean.raw_data(), var.raw_data(), bn_ptr(ws), eps,
                                                       training, gx.raw_data(), gw.defined() ? gw.raw_data() : nullptr,
                                                       gb.defined() ? gb.raw_data() : nullptr);
    } else {  // an empty batch (eval): sums over nothing
      for (const Tensor& p : {gw, gb})
        if (p.defined() && p.numel() > 0) kernel_for<FillKernel>(p.device())(p.dtype(), p.raw_data(), p.numel(), 0.0);
    }
    if (param_grads) return {gx, gw, gb};
    return {gx};
  };
  if (param_grads)
    record(name, y, {input, weight, bias}, rule);
  else
    record(name, y, {input}, rule);
  return y;
}

}  // namespace detail

// [N, C, H, W] -> [N, C, H, W]; weight, bias, running_mean, running_var [C].
inline Tensor batch_norm2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                           const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5) {
  constexpr const char* op = "batch_norm2d";
  detail::check_bn_input(input, op);
  detail::check_bn_param(input, weight, "weight", true, op);
  detail::check_bn_param(input, bias, "bias", true, op);
  detail::check_bn_param(input, running_mean, "running_mean", training, op);
  detail::check_bn_param(input, running_var, "running_var", training, op);
  ANIMA_CHECK(running_mean.defined() == running_var.defined(), op,
              "running_mean and running_var must both be given or both be undefined (input ", shape_str(input.shape()),
              ")");
  ANIMA_CHECK(eps >= 0.0, op, "eps must be non-negative, got ", eps);
  const Shape& s = input.shape();
  const std::int64_t C = s[1], m = s[0] * s[2] * s[3];
  const TensorOptions stat_opts = TensorOptions(input.dtype()).with_device(input.device());
  if (!training)
    return detail::bn_apply(op, input, weight, bias, contiguous_copy(running_mean), contiguous_copy(running_var), eps,
                            false, true);

  ANIMA_CHECK(m > 1, op, "Expected more than 1 value per channel when training, got input size ", shape_str(s));
  const Tensor x = detail::bn_contiguous(input);
  Tensor mean = Tensor::empty({C}, stat_opts), var = Tensor::empty({C}, stat_opts);  // [C], biased var
  kernel_for<BatchNormStatsKernel>(x.device())(x.dtype(), x.raw_data(), s[0], C, s[2] * s[3], mean.raw_data(),
                                               var.raw_data());
  if (running_mean.defined()) {
    NoGradGuard no_grad;
    using kernels::BinaryOp;
    auto blend = [&](const Tensor& running, const Tensor& batch, double batch_scale) {
      const Tensor kept =
          untracked::binary(op, BinaryOp::Mul, running, untracked::scalar_like(running, 1.0 - momentum));
      const Tensor added = untracked::binary(op, BinaryOp::Mul, batch, untracked::scalar_like(batch, batch_scale));
      copy_into(running, untracked::binary(op, BinaryOp::Add, kept, added));
    };
    blend(running_mean, mean, momentum);
    blend(running_var, var, momentum * static_cast<double>(m) / static_cast<double>(m - 1));
  }
  return detail::bn_apply(op, input, weight, bias, mean, var, eps, true, true);
}

// [N, C, H, W] -> [N, C, H, W]; weight, bias, running_mean, running_var [C], all constants.
inline Tensor frozen_batch_norm2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                  const Tensor& running_mean, const Tensor& running_var, double eps = 1e-5) {
  constexpr const char* op = "frozen_batch_norm2d";
  detail::check_bn_input(input, op);
  detail::check_bn_param(input, weight, "weight", false, op);
  detail::check_bn_param(input, bias, "bias", false, op);
  detail::check_bn_param(input, running_mean, "running_mean", false, op);
  detail::check_bn_param(input, running_var, "running_var", false, op);
  ANIMA_CHECK(eps >= 0.0, op, "eps must be non-negative, got ", eps);
  return detail::bn_apply(op, input, detach(weight), detach(bias), contiguous_copy(running_mean),
                          contiguous_copy(running_var), eps, false, false);
}

}  // namespace anima
