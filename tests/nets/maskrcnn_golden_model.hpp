// tests/nets/maskrcnn_golden_model.hpp — the images and the model of tools/golden/maskrcnn.py (its
// docstring is the specification: the formula images, the deterministic fill of every parameter and
// buffer, the five head layers scaled by exact powers of two). Needs no fixture files, so tests outside
// the golden suite (the `anima detect` tests) build the same model.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/io/state_dict.hpp>
#include <anima/nets/maskrcnn/mask_rcnn.hpp>
#include <anima/nn/deterministic_fill.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>

namespace anima::nets::maskrcnn::fixture {

// img_n[c, y, x] = |q - 64| / 64, q = (x (c + 1 + n) + y (3 - c + 2 n)) mod 128 (exact in float32).
inline Tensor formula_image(std::int64_t n, std::int64_t h, std::int64_t w, DType dtype = DType::Float32) {
  std::vector<double> v(static_cast<std::size_t>(3 * h * w));
  for (std::int64_t c = 0; c < 3; ++c)
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x) {
        const std::int64_t q = (x * (c + 1 + n) + y * (3 - c + 2 * n)) % 128;
        v[static_cast<std::size_t>((c * h + y) * w + x)] = static_cast<double>(std::llabs(q - 64)) / 64.0;
      }
  return cast_copy(from_vector<double>(v, {3, h, w}), dtype);
}

// The fixture's batch: image 0 of 3x90x120 and image 1 of 3x77x103.
inline std::vector<Tensor> formula_batch(DType dtype = DType::Float32) {
  return {formula_image(0, 90, 120, dtype), formula_image(1, 77, 103, dtype)};
}

// The script's weights for any Mask R-CNN state dict: every entry filled by name (nn::deterministic_fill),
// then the five head layers scaled by exact powers of two, so the scaled values are the script's bit for
// bit and a random-looking model still scores ~100 detections per image above 0.05.
inline void golden_fill(const io::StateDict& sd) {
  nn::deterministic_fill(sd);
  const std::map<std::string, double> head_scale = {{"rpn.head.cls_logits", 1.0 / 8},
                                                    {"rpn.head.bbox_pred", 1.0 / 16},
                                                    {"roi_heads.box_predictor.cls_score", 1.0 / 16},
                                                    {"roi_heads.box_predictor.bbox_pred", 1.0 / 16},
                                                    {"roi_heads.mask_predictor.mask_fcn_logits", 1.0 / 4}};
  for (const auto& [prefix, scale] : head_scale)
    for (const char* leaf : {".weight", ".bias"}) {
      const Tensor* t = sd.find(prefix + leaf);
      if (t == nullptr) fail("golden_fill", "no '", prefix + leaf, "' in the model");
      copy_into(*t, mul(*t, scale));
    }
}

// The fixture's model (min_size 128, max_size 200), in eval mode, with golden_fill's weights: R50-FPN,
// or with `light` the script's light model (MobileNetV2 body, FPN 64, box head 128, mask head 64).
inline std::shared_ptr<MaskRCNN> golden_model(std::int64_t num_classes, bool light = false) {
  MaskRcnnOptions o;
  o.num_classes = num_classes;
  if (light) {
    o.backbone = BackboneKind::MobileNetV2;
    o.fpn_channels = 64;
    o.roi_heads.representation_size = 128;
    o.roi_heads.mask_layers = {64, 64, 64, 64};
    o.roi_heads.mask_dim_reduced = 64;
  }
  o.transform.min_size = 128;
  o.transform.max_size = 200;
  auto model = std::make_shared<MaskRCNN>(o);
  model->train(false);
  golden_fill(model->state_dict());
  return model;
}

}  // namespace anima::nets::maskrcnn::fixture
