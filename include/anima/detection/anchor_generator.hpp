// anima/detection/anchor_generator.hpp — torchvision 0.14's AnchorGenerator
// (models/detection/anchor_utils.py): anchors for every location of every feature map level.
//
// Per level l with sizes S_l and aspect ratios R_l (ratio = height / width):
//   base anchors (cell anchors), A_l = |R_l|·|S_l| of them, index a = r·|S_l| + s:
//     h_ratio = sqrt(R_l[r]), w_ratio = 1 / h_ratio, ws = w_ratio·S_l[s], hs = h_ratio·S_l[s]
//     base[a] = round((-ws, -hs, ws, hs) / 2)     (float32 math, round half to even: torch.round)
//   stride  = (image_h // grid_h, image_w // grid_w)   (integer division, as torchvision: for an
//             800x800 image and a 13x13 map that is 61, not 64)
//   anchors = for y in [0, grid_h), x in [0, grid_w), a in [0, A_l):
//               base[a] + (x·stride_w, y·stride_h, x·stride_w, y·stride_h)   (no half-stride offset)
// An image's anchors are the levels' anchors concatenated: [sum_l H_l·W_l·A_l, 4], in the order
// (level, y, x, a) — the order of torchvision's AnchorGenerator.forward and of the RPN head's
// flattened outputs. Every image of a batch gets the same anchors (they depend on the padded batch
// size, not on each image's own size).
// The arithmetic is torchvision's in float32: the values are exactly torchvision's (golden test).
// Not differentiable (constants). Determinism: pure function of the sizes.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/ops/factory.hpp>

namespace anima::detection {

class AnchorGenerator {
 public:
  // sizes[l], aspect_ratios[l]: the anchor sizes (sqrt of the area, in pixels) and height/width ratios
  // of level l. torchvision's defaults for Mask R-CNN: sizes ((32), (64), (128), (256), (512)),
  // ratios (0.5, 1, 2) on every level (mask_rcnn_config()).
  AnchorGenerator(std::vector<std::vector<double>> sizes, std::vector<std::vector<double>> aspect_ratios)
      : sizes_(std::move(sizes)), ratios_(std::move(aspect_ratios)) {
    ANIMA_CHECK(!sizes_.empty(), "AnchorGenerator", "no levels: sizes is empty");
    ANIMA_CHECK(sizes_.size() == ratios_.size(), "AnchorGenerator", "sizes has ", sizes_.size(),
                " levels but aspect_ratios has ", ratios_.size());
    for (std::size_t l = 0; l < sizes_.size(); ++l) {
      ANIMA_CHECK(!sizes_[l].empty() && !ratios_[l].empty(), "AnchorGenerator", "level ", l,
                  " has no sizes or no aspect ratios");
      for (double r : ratios_[l])
        ANIMA_CHECK(r > 0 && std::isfinite(r), "AnchorGenerator", "level ", l, ": aspect ratio ", r,
                    " must be positive and finite");
      for (double s : sizes_[l])
        ANIMA_CHECK(s > 0 && std::isfinite(s), "AnchorGenerator", "level ", l, ": size ", s,
                    " must be positive and finite");
    }
  }

  // torchvision's Mask R-CNN / Faster R-CNN FPN configuration (_default_anchorgen).
  static AnchorGenerator mask_rcnn_config() {
    return AnchorGenerator({{32}, {64}, {128}, {256}, {512}}, std::vector<std::vector<double>>(5, {0.5, 1.0, 2.0}));
  }

  std::size_t num_levels() const { return sizes_.size(); }
  // A_l: anchors per location of level l (the RPN head's num_anchors).
  std::int64_t num_anchors_per_location(std::size_t level) const {
    ANIMA_CHECK(level < sizes_.size(), "AnchorGenerator", "level ", level, " out of range (", sizes_.size(),
                " levels)");
    return static_cast<std::int64_t>(sizes_[level].size() * ratios_[level].size());
  }

  // The cell anchors of level l: [A_l, 4] float32 values (see the header comment).
  std::vector<float> base_anchors(std::size_t level) const {
    const std::int64_t a_count = num_anchors_per_location(level);
    std::vector<float> base(static_cast<std::size_t>(4 * a_count));
    std::size_t a = 0;
    for (double ratio : ratios_[level]) {
      const float h_ratio = std::sqrt(static_cast<float>(ratio));
      const float w_ratio = 1.0f / h_ratio;
      for (double size : sizes_[level]) {
        const float ws = w_ratio * static_cast<float>(size), hs = h_ratio * static_cast<float>(size);
        const float corners[4] = {-ws, -hs, ws, hs};
        for (int k = 0; k < 4; ++k) base[4 * a + k] = std::nearbyint(corners[k] / 2.0f);  // half to even
        ++a;
      }
    }
    return base;
  }

  // Anchors of one image: image_size = {height, width} of the (padded) batch, feature_sizes[l] =
  // {H_l, W_l} of level l -> [sum_l H_l·W_l·A_l, 4] float32 on `device`.
  Tensor anchors(std::array<std::int64_t, 2> image_size, const std::vector<std::array<std::int64_t, 2>>& feature_sizes,
                 Device device = Device::cpu()) const {
    ANIMA_CHECK(feature_sizes.size() == sizes_.size(), "AnchorGenerator", "got ", feature_sizes.size(),
                " feature maps for ", sizes_.size(), " anchor levels (sizes and aspect_ratios need one entry per map)");
    ANIMA_CHECK(image_size[0] > 0 && image_size[1] > 0, "AnchorGenerator", "image size (", image_size[0], ", ",
                image_size[1], ") must be positive");
    std::int64_t total = 0;
    for (std::size_t l = 0; l < feature_sizes.size(); ++l) {
      const auto& f = feature_sizes[l];
      ANIMA_CHECK(f[0] > 0 && f[1] > 0, "AnchorGenerator", "feature map ", l, " has size (", f[0], ", ", f[1],
                  "); expected positive");
      total += f[0] * f[1] * num_anchors_per_location(l);
    }
    std::vector<float> out(static_cast<std::size_t>(4 * total));
    std::size_t o = 0;
    for (std::size_t l = 0; l < feature_sizes.size(); ++l) {
      const std::int64_t gh = feature_sizes[l][0], gw = feature_sizes[l][1];
      const std::int64_t stride_h = image_size[0] / gh, stride_w = image_size[1] / gw;
      const std::vector<float> base = base_anchors(l);
      const std::size_t a_count = base.size() / 4;
      for (std::int64_t y = 0; y < gh; ++y)
        for (std::int64_t x = 0; x < gw; ++x) {
          const float sx = static_cast<float>(x * stride_w), sy = static_cast<float>(y * stride_h);
          for (std::size_t a = 0; a < a_count; ++a) {
            out[o++] = sx + base[4 * a + 0];
            out[o++] = sy + base[4 * a + 1];
            out[o++] = sx + base[4 * a + 2];
            out[o++] = sy + base[4 * a + 3];
          }
        }
    }
    return from_buffer(out.data(), {total, 4}, TensorOptions(DType::Float32).with_device(device));
  }

  // torchvision's forward: one anchor tensor per image of the batch (all equal).
  std::vector<Tensor> operator()(std::int64_t num_images, std::array<std::int64_t, 2> image_size,
                                 const std::vector<std::array<std::int64_t, 2>>& feature_sizes,
                                 Device device = Device::cpu()) const {
    ANIMA_CHECK(num_images >= 0, "AnchorGenerator", "num_images must be non-negative, got ", num_images);
    const Tensor a = anchors(image_size, feature_sizes, device);
    return std::vector<Tensor>(static_cast<std::size_t>(num_images), a);
  }

 private:
  std::vector<std::vector<double>> sizes_;
  std::vector<std::vector<double>> ratios_;
};

}  // namespace anima::detection
