// anima/nn/conv.hpp — Conv2d (torch.nn.Conv2d): weight [out, in/groups, kh, kw], bias [out] (optional).
// forward: anima::conv2d (anima/ops/conv.hpp) with the layer's stride, padding, dilation and groups.
// ConvTranspose2d (torch.nn.ConvTranspose2d): weight [in, out/groups, kh, kw], bias [out] (optional);
// forward: anima::conv_transpose2d, Hout = (H − 1)·sh − 2·ph + dh·(kh − 1) + output_padding_h + 1.
// Conv2d in eval can run prepared (anima/ops/conv_inference.hpp): nn::prepare_inference packs its weights
// once, or folds the batch norm and activation that follow it into it (nn/conv_norm_act.hpp); forward
// uses the prepared copy only when no gradient is wanted, and train(true) or loading weights drops it.
// Both initialised as PyTorch's default (nn/init.hpp: U(±1/sqrt(fan_in)) for weight and bias, fan_in
// from the weight's dims 1.. as torch computes it: in/groups·kh·kw for Conv2d, out/groups·kh·kw for
// ConvTranspose2d); nets re-initialise as torchvision does (kaiming_normal_ fan_out for the convs).
#pragma once

#include <cstdint>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/generator.hpp>
#include <anima/ops/conv.hpp>
#include <anima/ops/conv_inference.hpp>
#include <anima/ops/factory.hpp>
#include <anima/nn/init.hpp>
#include <anima/nn/module.hpp>
#include <anima/nn/size2.hpp>

namespace anima::nn {

namespace conv_module_detail {

// The constructor checks Conv2d and ConvTranspose2d share: positive channels, groups and kernel, channels
// divisible by groups.
inline void check_shape(const char* op, std::int64_t in_channels, std::int64_t out_channels, std::int64_t groups,
                        Size2 kernel_size) {
  ANIMA_CHECK(in_channels > 0 && out_channels > 0 && groups > 0, op, "channels and groups must be positive, got in ",
              in_channels, ", out ", out_channels, ", groups ", groups);
  ANIMA_CHECK(in_channels % groups == 0 && out_channels % groups == 0, op, "in (", in_channels, ") and out (",
              out_channels, ") channels must be divisible by groups (", groups, ")");
  ANIMA_CHECK(kernel_size.h > 0 && kernel_size.w > 0, op, "kernel size must be positive, got (", kernel_size.h, ", ",
              kernel_size.w, ")");
}

}  // namespace conv_module_detail

class Conv2d : public Module {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size, Size2 stride = 1, Size2 padding = 0,
         Size2 dilation = 1, std::int64_t groups = 1, bool bias = true, Generator& gen = default_generator())
      : Module("Conv2d"),
        in_channels(in_channels),
        out_channels(out_channels),
        kernel_size(kernel_size),
        stride(stride),
        padding(padding),
        dilation(dilation),
        groups(groups) {
    conv_module_detail::check_shape("Conv2d", in_channels, out_channels, groups, kernel_size);
    weight = register_parameter("weight", zeros({out_channels, in_channels / groups, kernel_size.h, kernel_size.w}));
    if (bias) this->bias = register_parameter("bias", zeros({out_channels}));
    init::default_conv_linear_init_(weight, this->bias, gen);
  }

  Conv2dOptions options() const {
    Conv2dOptions o;
    o.stride = stride.arr();
    o.padding = padding.arr();
    o.dilation = dilation.arr();
    o.groups = groups;
    return o;
  }

  Tensor forward(const Tensor& x /*[N, in, H, W]*/) override {
    if (prepared_.defined() && !prepared_norm_ && prepared_.activation == ConvActivation::None &&
        can_run_prepared(x))
      return conv2d_prepared(x, prepared_);
    return conv2d(x, weight, bias, options());  // [N, out, Ho, Wo]
  }

  // ---- eval-time preparation ---------------------------------------------------------------------
  // Alone: the weights packed once (no norm, no activation). A parent that fused this conv with the
  // norm after it (nn/conv_norm_act.hpp) has set that first, and it stays.
  void prepare_inference() override {
    if (!prepared_.defined()) set_prepared(prepare_conv2d(weight, bias, options(), Tensor(), Tensor()), nullptr);
  }
  void release_inference() override { set_prepared(PreparedConv2d(), nullptr); }

  // The prepared convolution and the norm module folded into it (nullptr: none).
  void set_prepared(PreparedConv2d prepared, const Module* norm) {
    prepared_ = std::move(prepared);
    prepared_norm_ = norm;
  }
  const PreparedConv2d& prepared() const { return prepared_; }
  const Module* prepared_norm() const { return prepared_norm_; }

  // Whether a forward of x may use the prepared copy: prepared, in eval, and no gradient wanted through
  // this conv (grad mode off, or neither x nor the parameters require grad).
  bool can_run_prepared(const Tensor& x) const {
    if (!prepared_.defined() || is_training()) return false;
    if (!GradMode::is_enabled()) return true;
    return !x.requires_grad() && !weight.requires_grad() && !(bias.defined() && bias.requires_grad());
  }

  std::int64_t in_channels, out_channels;
  Size2 kernel_size, stride, padding, dilation;
  std::int64_t groups;
  Tensor weight;  // [out, in/groups, kh, kw]
  Tensor bias;    // [out] or undefined

 private:
  PreparedConv2d prepared_;
  const Module* prepared_norm_ = nullptr;
};

class ConvTranspose2d : public Module {
 public:
  // torch.nn.ConvTranspose2d's argument order.
  ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size, Size2 stride = 1,
                  Size2 padding = 0, Size2 output_padding = 0, std::int64_t groups = 1, bool bias = true,
                  Size2 dilation = 1, Generator& gen = default_generator())
      : Module("ConvTranspose2d"),
        in_channels(in_channels),
        out_channels(out_channels),
        kernel_size(kernel_size),
        stride(stride),
        padding(padding),
        output_padding(output_padding),
        dilation(dilation),
        groups(groups) {
    conv_module_detail::check_shape("ConvTranspose2d", in_channels, out_channels, groups, kernel_size);
    weight = register_parameter("weight", zeros({in_channels, out_channels / groups, kernel_size.h, kernel_size.w}));
    if (bias) this->bias = register_parameter("bias", zeros({out_channels}));
    init::default_conv_linear_init_(weight, this->bias, gen);
  }

  Tensor forward(const Tensor& x /*[N, in, H, W]*/) override {
    ConvTranspose2dOptions o;
    o.stride = stride.arr();
    o.padding = padding.arr();
    o.output_padding = output_padding.arr();
    o.dilation = dilation.arr();
    o.groups = groups;
    return conv_transpose2d(x, weight, bias, o);  // [N, out, Hout, Wout]
  }

  std::int64_t in_channels, out_channels;
  Size2 kernel_size, stride, padding, output_padding, dilation;
  std::int64_t groups;
  Tensor weight;  // [in, out/groups, kh, kw]
  Tensor bias;    // [out] or undefined
};

}  // namespace anima::nn
