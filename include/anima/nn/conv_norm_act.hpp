// anima/nn/conv_norm_act.hpp — conv -> batch norm -> activation as one convolution in eval.
//
// The chain torchvision's nets repeat everywhere (Conv2dNormActivation, ResNet's conv/bn/relu,
// Inception's BasicConv2d): y = act(norm(conv(x))). In eval the norm is a fixed per-channel affine map,
//   BatchNorm2d (running statistics):  scale = weight / sqrt(running_var + eps), shift = bias − running_mean·scale
//   FrozenBatchNorm2d:                 the same from its buffers
// so it folds into the convolution's weights and bias (anima/ops/conv_inference.hpp has the math), and
// the activation (ReLU, ReLU6) is applied as the convolution stores its output: one pass over the
// activation instead of three.
//
// prepare_conv_norm_act(conv, norm, act) prepares the fused copy (a module's prepare_inference() calls
// it for the chains it owns); conv_norm_act(conv, norm, act, x) runs the chain: fused when prepared for
// exactly this norm and activation, in eval, with no gradient wanted (NoGradGuard, or nothing requires
// grad), else the three steps as separate ops. Both give the same values up to the rounding of the fold.
#pragma once

#include <cmath>
#include <cstddef>
#include <memory>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/nn/activation.hpp>
#include <anima/nn/batch_norm.hpp>
#include <anima/nn/conv.hpp>
#include <anima/nn/frozen_batch_norm.hpp>
#include <anima/nn/module.hpp>
#include <anima/ops/activation.hpp>
#include <anima/ops/conv_inference.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>

namespace anima::nn {

// The per-channel scale and shift of a norm module in eval (BatchNorm2d with running statistics,
// FrozenBatchNorm2d); false when `norm` is neither or cannot be folded (BatchNorm2d without running
// statistics normalises with each batch's own).
inline bool norm_scale_shift(const Module& norm, Tensor& scale, Tensor& shift) {
  NoGradGuard constants;
  auto fold = [&](const Tensor& weight, const Tensor& bias, const Tensor& mean, const Tensor& var, double eps) {
    const Tensor inv_std = div(ones_like(var), sqrt(add(var, eps)));
    scale = weight.defined() ? mul(weight, inv_std) : inv_std;
    const Tensor centred = mul(mean, scale);
    shift = bias.defined() ? sub(bias, centred) : neg(centred);
  };
  if (const auto* bn = dynamic_cast<const BatchNorm2d*>(&norm)) {
    if (!bn->running_mean.defined() || bn->is_training()) return false;
    fold(bn->weight, bn->bias, bn->running_mean, bn->running_var, bn->eps);
    return true;
  }
  if (const auto* frozen = dynamic_cast<const FrozenBatchNorm2d*>(&norm)) {
    fold(frozen->weight, frozen->bias, frozen->running_mean, frozen->running_var, frozen->eps);
    return true;
  }
  return false;
}

// The activation module `m` is, as a ConvActivation; false when it is none the convolution can apply.
inline bool activation_of(const Module& m, ConvActivation& act) {
  if (dynamic_cast<const ReLU*>(&m)) return act = ConvActivation::Relu, true;
  if (dynamic_cast<const ReLU6*>(&m)) return act = ConvActivation::Relu6, true;
  return false;
}

// Prepares conv to run act(norm(conv(x))) in one pass (norm may be nullptr). Returns false, leaving conv
// as it was, when norm cannot be folded.
inline bool prepare_conv_norm_act(Conv2d& conv, const Module* norm, ConvActivation act) {
  Tensor scale, shift;
  if (norm && !norm_scale_shift(*norm, scale, shift)) return false;
  conv.set_prepared(prepare_conv2d(conv.weight, conv.bias, conv.options(), scale, shift, act), norm);
  return true;
}

// act(norm(conv(x))) (norm may be nullptr): fused when conv was prepared for this chain and no gradient is
// wanted, else conv, norm and act in turn.
inline Tensor conv_norm_act(Conv2d& conv, Module* norm, ConvActivation act, const Tensor& x) {
  const PreparedConv2d& prepared = conv.prepared();
  bool fused = prepared.defined() && conv.prepared_norm() == norm && prepared.activation == act &&
               conv.can_run_prepared(x);
  if (fused && norm && GradMode::is_enabled())
    for (const auto& p : norm->named_parameters()) fused = fused && !p.second.requires_grad();
  if (fused && norm) fused = !norm->is_training();
  if (fused) return conv2d_prepared(x, prepared);
  Tensor y = conv.forward(x);
  if (norm) y = norm->forward(y);
  if (act == ConvActivation::Relu) return relu(y);
  if (act == ConvActivation::Relu6) return relu6(y);
  return y;
}

// A run of a Sequential's children that conv_norm_act can fuse: a Conv2d, then optionally a foldable
// norm, then optionally a ReLU / ReLU6. length 1 means no run starts here.
struct ConvNormActRun {
  std::size_t length = 1;
  Conv2d* conv = nullptr;
  Module* norm = nullptr;
  ConvActivation act = ConvActivation::None;
};

inline ConvNormActRun find_conv_norm_act_run(const std::vector<Module*>& children, std::size_t i) {
  ConvNormActRun run;
  run.conv = dynamic_cast<Conv2d*>(children[i]);
  if (!run.conv) return run;
  std::size_t next = i + 1;
  Tensor scale, shift;
  if (next < children.size() && norm_scale_shift(*children[next], scale, shift)) run.norm = children[next++];
  if (next < children.size() && activation_of(*children[next], run.act)) ++next;
  run.length = next - i;
  return run;
}

}  // namespace anima::nn
