// anima/nn/frozen_batch_norm.hpp — FrozenBatchNorm2d (torchvision.ops.misc.FrozenBatchNorm2d, 0.14):
// a BatchNorm2d whose statistics and affine parameters are constants, as detection backbones use
// (their batches are too small for batch statistics).
//
// Buffers (no parameters, nothing learns): weight [C], bias [C], running_mean [C], running_var [C],
// torchvision's names and order; no num_batches_tracked (torchvision's _load_from_state_dict drops
// that entry so that a checkpoint of a plain BatchNorm2d loads; anima's detection checkpoint loader
// does the same).
// Forward, in torchvision's order of operations (so the float32 results round the same way):
//   scale = weight · (1 / sqrt(running_var + eps)),  shift = bias - running_mean · scale
//   y     = x · scale[c] + shift[c]
// Backward: dL/dx = dL/dy · scale[c] (the buffers get no gradient).
#pragma once

#include <cstdint>

#include <anima/autograd/grad_mode.hpp>
#include <anima/nn/module.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/view.hpp>

namespace anima::nn {

class FrozenBatchNorm2d : public Module {
 public:
  explicit FrozenBatchNorm2d(std::int64_t num_features, double eps = 1e-5)
      : Module("FrozenBatchNorm2d"), num_features(num_features), eps(eps) {
    ANIMA_CHECK(num_features > 0, "FrozenBatchNorm2d", "num_features must be positive, got ", num_features);
    ANIMA_CHECK(eps >= 0.0, "FrozenBatchNorm2d", "eps must be >= 0, got ", eps);
    weight = register_buffer("weight", ones({num_features}));
    bias = register_buffer("bias", zeros({num_features}));
    running_mean = register_buffer("running_mean", zeros({num_features}));
    running_var = register_buffer("running_var", ones({num_features}));
  }

  Tensor forward(const Tensor& x /*[N, C, H, W]*/) override {
    ANIMA_CHECK(x.dim() == 4 && x.shape()[1] == num_features, "FrozenBatchNorm2d", "expected [N, ", num_features,
                ", H, W], got ", shape_str(x.shape()));
    Tensor scale, shift;
    {
      NoGradGuard constants;
      scale = mul(weight, div(ones_like(running_var), sqrt(add(running_var, eps))));
      shift = sub(bias, mul(running_mean, scale));
    }
    const Shape per_channel{1, num_features, 1, 1};
    return add(mul(x, reshape(scale, per_channel)), reshape(shift, per_channel));
  }

  std::int64_t num_features;
  double eps;
  Tensor weight, bias, running_mean, running_var;  // [C] buffers
};

}  // namespace anima::nn
