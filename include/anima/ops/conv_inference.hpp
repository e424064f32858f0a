// anima/ops/conv_inference.hpp — a 2-D convolution prepared once for eval-only forwards.
//
// prepare_conv2d folds what follows a convolution in eval into one convolution:
//   batch norm with fixed statistics, per output channel o:  n(v) = v·scale[o] + shift[o],
//     scale = gamma / sqrt(running_var + eps),   shift = beta − running_mean·scale
//   folded:  w'[o] = w[o]·scale[o],   b'[o] = b[o]·scale[o] + shift[o]   (b = 0 when the conv has none)
//   so n(conv(x, w) + b) = conv(x, w') + b' — the per-channel affine map moves from every activation
//   onto the weights, once. The activation (ReLU / ReLU6) is applied as the output is stored.
//   conv2d_prepared(x, prep) = act(conv(x, w') + b').
// On the CPU the folded weights are also packed once for the GEMM (im2col algorithm), so a forward
// neither rescales nor repacks them (at batch 1 a ResNet-50 forward would otherwise repack its 100 MB of
// weights on every call, once per image when images are split over threads). The packed copy then
// replaces the folded one (one copy of the weights besides the parameters); it is laid out for the GEMM
// micro-kernel selected when it was packed, and conv2d_prepared says so if another one is selected
// later (gemm_packed_force_isa): prepare again.
// Numerics: the same products in another association: w·scale is rounded once per weight instead of
// (conv·scale) once per activation; the difference is a few ulps of each product (tests hold it to a
// stated tolerance against the unfused chain). The activation and the GEMM are bitwise the same as the
// separate ops.
// No autograd: the folded weights are a snapshot of the parameters, not a function of them, so
// conv2d_prepared refuses an input that requires grad while grad mode is on. After the parameters
// change, prepare again (nn/inference.hpp does this for modules).
// Backends: the fused kernel and the packing are CPU entries; on other devices conv2d_prepared runs
// the convolution with the folded weights and then the activation as its own op.
#pragma once

#include <cstdint>

#include <anima/autograd/grad_mode.hpp>
#include <anima/backends/cpu/conv.hpp>
#include <anima/kernels/conv_math.hpp>
#include <anima/ops/activation.hpp>
#include <anima/ops/conv.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/view.hpp>

namespace anima {

using kernels::ConvActivation;

struct PreparedConv2d {
  Shape weight_shape;  // [O, C/groups, kh, kw]
  Tensor weight;       // the convolution's weights with the norm folded in; undefined when packed
  Tensor bias;         // [O] or undefined (no bias and no norm)
  Tensor packed;       // CPU, im2col algorithm: the folded weights packed per group for the GEMM
  kernels::cpu::GemmIsa packed_isa = kernels::cpu::GemmIsa::automatic;
  Conv2dOptions options;
  ConvActivation activation = ConvActivation::None;

  bool defined() const { return weight.defined() || packed.defined(); }
  const Tensor& storage() const { return packed.defined() ? packed : weight; }
};

// weight [O, C/groups, kh, kw], bias [O] or undefined; norm_scale, norm_shift [O] or both undefined (no
// norm): y = act(conv(x, weight, bias)·scale + shift), prepared. Reads the tensors once; no gradient.
inline PreparedConv2d prepare_conv2d(const Tensor& weight, const Tensor& bias, const Conv2dOptions& options,
                                     const Tensor& norm_scale, const Tensor& norm_shift,
                                     ConvActivation activation = ConvActivation::None) {
  constexpr const char* op = "prepare_conv2d";
  ANIMA_CHECK(weight.defined() && weight.dim() == 4, op, "weight must be a 4-D tensor [O, C/groups, kh, kw]");
  ANIMA_CHECK(is_floating(weight.dtype()), op, "expected float32 or float64 weights, got ", dtype_name(weight.dtype()));
  const std::int64_t O = weight.shape()[0];
  ANIMA_CHECK(norm_scale.defined() == norm_shift.defined(), op, "norm scale and shift must both be given or neither");
  for (const Tensor* t : {&bias, &norm_scale, &norm_shift})
    if (t->defined())
      ANIMA_CHECK(t->dim() == 1 && t->shape()[0] == O && t->dtype() == weight.dtype() &&
                      t->device() == weight.device(),
                  op, "bias / norm scale / norm shift must be [", O, "] ", dtype_name(weight.dtype()), " on ",
                  weight.device().str(), ", got ", shape_str(t->shape()), " ", dtype_name(t->dtype()));
  detail::conv_check_options(op, options.stride, options.padding, options.dilation, options.groups);
  NoGradGuard snapshot;
  PreparedConv2d out;
  out.weight_shape = weight.shape();
  out.options = options;
  out.activation = activation;
  if (norm_scale.defined()) {
    out.weight = contiguous_copy(mul(weight, reshape(norm_scale, {O, 1, 1, 1})));
    out.bias = bias.defined() ? add(mul(bias, norm_scale), norm_shift) : contiguous_copy(norm_shift);
  } else {
    out.weight = detail::conv_contiguous(weight);
    if (bias.defined()) out.bias = detail::conv_contiguous(bias);
  }
  if (out.weight.device().is_cpu()) {
    kernels::Conv2dGeometry p;  // what packing needs: the weight's shape and the groups
    p.O = O, p.kh = weight.shape()[2], p.kw = weight.shape()[3];
    p.groups = options.groups;
    p.C = weight.shape()[1] * options.groups;
    ANIMA_CHECK(p.groups > 0 && p.O % p.groups == 0, op, "groups = ", p.groups, " does not divide the ", p.O,
                " output channels");
    if (options.algorithms.cpu == CpuConvAlgorithm::Im2colGemm ||
        (options.algorithms.cpu == CpuConvAlgorithm::Auto && !p.is_depthwise())) {
      out.packed = Tensor::empty({Conv2dPackWeightKernel::elements(weight.dtype(), p)}, TensorOptions(weight.dtype()));
      out.packed_isa = Conv2dPackWeightKernel::cpu(weight.dtype(), p, out.weight.raw_data(), out.packed.raw_data());
      out.weight = Tensor();
    }
  }
  return out;
}

// act(conv(x, w') + b') for x [N, C, H, W] -> [N, O, Ho, Wo] (see the top of this file).
inline Tensor conv2d_prepared(const Tensor& input, const PreparedConv2d& prep) {
  constexpr const char* op = "conv2d_prepared";
  ANIMA_CHECK(prep.defined(), op, "the convolution was not prepared");
  ANIMA_CHECK(!(GradMode::is_enabled() && input.requires_grad()), op,
              "input requires grad: a prepared convolution has no backward (run it under NoGradGuard, or use conv2d)");
  const Tensor& stored = prep.storage();
  ANIMA_CHECK(input.defined() && input.dim() == 4, op, "input must be 4-D [N, C, H, W], got ",
              input.defined() ? shape_str(input.shape()) : std::string("an undefined tensor"));
  ANIMA_CHECK(input.device() == stored.device(), op, "input is on ", input.device().str(),
              " but the prepared weights are on ", stored.device().str());
  ANIMA_CHECK(input.dtype() == stored.dtype(), op, "input is ", dtype_name(input.dtype()),
              " but the prepared weights are ", dtype_name(stored.dtype()));
  const kernels::Conv2dGeometry p = detail::conv2d_geometry_of(op, input, prep.weight_shape, prep.bias, prep.options);
  const Tensor x = detail::conv_contiguous(input);
  if (!x.device().is_cpu()) {
    Tensor y = detail::conv2d_forward_untracked(p, prep.options.algorithms, x, prep.weight, prep.bias);
    if (prep.activation == ConvActivation::Relu) return relu(y);
    if (prep.activation == ConvActivation::Relu6) return relu6(y);
    return y;
  }
  if (prep.packed.defined())
    ANIMA_CHECK(prep.packed_isa == kernels::cpu::gemm_packed_selected_isa(), op, "the weights were packed for the ",
                kernels::cpu::gemm_packed_config<float>(prep.packed_isa).name, " GEMM but ",
                kernels::cpu::gemm_packed_isa(), " is selected now: prepare the convolution again");
  Tensor y = detail::conv_empty({p.N, p.O, p.Ho, p.Wo}, x);
  if (y.numel() == 0) return y;
  // With packed weights the GEMM never reads A itself; the packed buffer stands in for it (it is at least
  // as large as the weights).
  Conv2dFusedForwardKernel::cpu(x.dtype(), prep.options.algorithms, p, x.raw_data(), stored.raw_data(),
                                prep.bias.defined() ? prep.bias.raw_data() : nullptr, prep.activation,
                                prep.packed.defined() ? prep.packed.raw_data() : nullptr, prep.packed_isa,
                                y.raw_data());
  return y;
}

}  // namespace anima
