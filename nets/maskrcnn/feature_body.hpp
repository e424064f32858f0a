// anima/nets/maskrcnn/feature_body.hpp — what the Feature Pyramid Network needs from a backbone's body:
// four maps at strides 4, 8, 16 and 32 (finest first), their channel counts, and torchvision's
// trainable-layers rule (the last k stages train, the rest are frozen).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <anima/core/tensor.hpp>
#include <anima/nn/module.hpp>

namespace anima::nets::maskrcnn {

class FeatureBody : public nn::Module {
 public:
  using nn::Module::Module;

  // x [N, 3, H, W] -> the four maps, strides 4, 8, 16, 32 (sizes rounded as the convolutions round them).
  virtual std::array<Tensor, 4> forward_layers(const Tensor& x) = 0;
  // The channels of the four maps.
  virtual std::vector<std::int64_t> level_channels() const = 0;
  // Stages that can train, counted from the deepest; set_trainable_layers(k) takes k in [0, this].
  virtual int max_trainable_layers() const = 0;
  virtual void set_trainable_layers(int k) = 0;
};

}  // namespace anima::nets::maskrcnn
