// anima/nn/batch_norm.hpp — BatchNorm2d (torch.nn.BatchNorm2d) over [N, C, H, W].
//
// Parameters weight [C] (ones), bias [C] (zeros) when affine; buffers running_mean [C] (zeros),
// running_var [C] (ones), num_batches_tracked [] int64 (0) when track_running_stats — torchvision's
// names and order. forward is anima::batch_norm2d (anima/ops/batch_norm.hpp):
//   training: batch statistics; running_mean/var <- (1 - momentum)·running + momentum·batch (unbiased
//             var), num_batches_tracked += 1;
//   eval:     running statistics (batch statistics when !track_running_stats, as PyTorch).
// momentum is a number (PyTorch's momentum=None cumulative average is not supported).
// num_batches_tracked is counted on the host and written to the buffer (8 bytes, no read back from the
// device); load_state_dict refreshes the host count from the buffer.
#pragma once

#include <cstdint>

#include <anima/core/copy.hpp>
#include <anima/ops/batch_norm.hpp>
#include <anima/ops/factory.hpp>
#include <anima/nn/module.hpp>

namespace anima::nn {

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true)
      : Module("BatchNorm2d"), num_features(num_features), eps(eps), momentum(momentum) {
    ANIMA_CHECK(num_features > 0, "BatchNorm2d", "num_features must be positive, got ", num_features);
    ANIMA_CHECK(eps >= 0.0 && momentum >= 0.0 && momentum <= 1.0, "BatchNorm2d",
                "need eps >= 0 and momentum in [0, 1], got eps ", eps, ", momentum ", momentum);
    if (affine) {
      weight = register_parameter("weight", ones({num_features}));
      bias = register_parameter("bias", zeros({num_features}));
    }
    if (track_running_stats) {
      running_mean = register_buffer("running_mean", zeros({num_features}));
      running_var = register_buffer("running_var", ones({num_features}));
      num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::Int64));
    }
  }

  Tensor forward(const Tensor& x /*[N, C, H, W]*/) override {
    const bool batch_stats = is_training() || !running_mean.defined();
    if (is_training() && running_mean.defined()) {
      Tensor y = batch_norm2d(x, weight, bias, running_mean, running_var, true, momentum, eps);
      ++batches_;
      copy_bytes(num_batches_tracked.raw_data(), num_batches_tracked.device(), &batches_, Device::cpu(),
                 sizeof(batches_));
      return y;
    }
    if (batch_stats) return batch_norm2d(x, weight, bias, Tensor(), Tensor(), true, momentum, eps);
    return batch_norm2d(x, weight, bias, running_mean, running_var, false, momentum, eps);
  }

  std::int64_t num_features;
  double eps, momentum;
  Tensor weight, bias;                                    // [C] or undefined (affine = false)
  Tensor running_mean, running_var, num_batches_tracked;  // [C], [C], [] int64, or undefined

 protected:
  void on_state_loaded() override {
    if (num_batches_tracked.defined()) batches_ = item<std::int64_t>(num_batches_tracked);
  }

 private:
  std::int64_t batches_ = 0;
};

}  // namespace anima::nn
