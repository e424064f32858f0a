// anima/nets/maskrcnn/mobilenet_v2_body.hpp — a MobileNetV2 trunk as a Mask R-CNN body: torchvision's
// mobilenet_v2().features (nets/mobilenet_v2.hpp) with its 19 children directly under the body, so the
// names are those torchvision's BackboneWithFPN(mobilenet_v2().features, return_layers = {"3": "0",
// "6": "1", "13": "2", "18": "3"}, [24, 32, 96, 1280], C) writes: body.{0..18}.* (body.0.0.weight,
// body.1.conv.0.0.weight, ..., body.18.1.running_var).
// Forward: the outputs of features 3, 6, 13 and 18, the last block of each resolution:
//   stride 4 (24 channels), 8 (32), 16 (96), 32 (1280) at width 1.
// Normalisation: BatchNorm2d throughout, as torchvision builds a body that starts without ImageNet
// weights; in eval it normalises with its running statistics. Trainable layers follow torchvision's
// mobilenet_backbone: the stages start at features 0, 2, 4, 7, 14 and 18 (the stem, each block of
// stride 2, the last conv); with k of the 6 trainable, features[: start of stage 6 - k] are frozen
// (k = 0: all of them; k = 6: none).
// Initialisation as torchvision's MobileNetV2: convs kaiming_normal_(fan_out), BN 1 / 0.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/nets/maskrcnn/feature_body.hpp>
#include <anima/nets/mobilenet_v2.hpp>
#include <anima/nets/torchvision_init.hpp>
#include <anima/nn/sequential.hpp>

namespace anima::nets::maskrcnn {

class MobileNetV2Body : public FeatureBody {
 public:
  static constexpr int kStages = 6;

  explicit MobileNetV2Body(double width_mult = 1.0) : FeatureBody("MobileNetV2Body") {
    std::int64_t last_channel = 0;
    const std::shared_ptr<nn::Sequential> features = mobilenet_v2_features(width_mult, last_channel);
    for (std::size_t i = 0; i < features->size(); ++i)
      blocks_.push_back(register_module(std::to_string(i), (*features)[i]));
    ANIMA_CHECK(blocks_.size() == 19, "MobileNetV2Body", "expected 19 feature blocks, got ", blocks_.size());
    channels_ = {block_channels(3), block_channels(6), block_channels(13), last_channel};
    init_torchvision_layers(*this, LinearInit::Normal);
  }

  std::array<Tensor, 4> forward_layers(const Tensor& x /*[N, 3, H, W]*/) override {
    std::array<Tensor, 4> out;
    Tensor y = x;
    std::size_t level = 0;
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
      y = blocks_[i]->forward(y);
      if (level < kTaps.size() && i == kTaps[level]) out[level++] = y;
    }
    return out;
  }

  std::vector<std::int64_t> level_channels() const override { return channels_; }
  int max_trainable_layers() const override { return kStages; }

  void set_trainable_layers(int k) override {
    ANIMA_CHECK(k >= 0 && k <= kStages, "MobileNetV2Body", "trainable_layers must be in [0, ", kStages, "], got ", k);
    const std::size_t freeze_before = k == 0 ? blocks_.size() : kStageStarts[static_cast<std::size_t>(kStages - k)];
    for (std::size_t i = 0; i < blocks_.size(); ++i)
      for (auto& [name, p] : blocks_[i]->named_parameters()) p.set_requires_grad(i >= freeze_before);
  }

 private:
  static constexpr std::array<std::size_t, 4> kTaps{3, 6, 13, 18};
  static constexpr std::array<std::size_t, kStages> kStageStarts{0, 2, 4, 7, 14, 18};

  // The output channels of inverted residual block i: its last BatchNorm2d's size.
  std::int64_t block_channels(std::size_t i) const {
    const auto* block = dynamic_cast<const InvertedResidual*>(blocks_[i].get());
    ANIMA_CHECK(block != nullptr, "MobileNetV2Body", "feature ", i, " is not an inverted residual block");
    const auto* bn = dynamic_cast<const nn::BatchNorm2d*>((*block->conv)[block->conv->size() - 1].get());
    ANIMA_CHECK(bn != nullptr, "MobileNetV2Body", "block ", i, " does not end with a BatchNorm2d");
    return bn->num_features;
  }

  std::vector<nn::ModulePtr> blocks_;
  std::vector<std::int64_t> channels_;
};

}  // namespace anima::nets::maskrcnn
