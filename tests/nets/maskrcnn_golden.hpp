// tests/nets/maskrcnn_golden.hpp — what the Mask R-CNN golden tests share: the images and the model of
// tools/golden/maskrcnn.py (its docstring is the specification: the formula images, the deterministic
// fill of every parameter and buffer, the five head layers scaled by exact powers of two), the fixture
// files, and a relative comparison that prints how close it came.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <anima/io/safetensors.hpp>
#include <anima/nets/maskrcnn/mask_rcnn.hpp>
#include <anima/nn/deterministic_fill.hpp>

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

// The fixture's model (min_size 128, max_size 200), in eval mode: every entry filled by name, then the
// five head layers scaled (exact powers of two, so the scaled values are the script's bit for bit).
inline std::shared_ptr<MaskRCNN> golden_model(std::int64_t num_classes) {
  MaskRcnnOptions o;
  o.num_classes = num_classes;
  o.transform.min_size = 128;
  o.transform.max_size = 200;
  auto model = std::make_shared<MaskRCNN>(o);
  model->train(false);
  const io::StateDict sd = model->state_dict();
  nn::deterministic_fill(sd);
  const std::map<std::string, double> head_scale = {{"rpn.head.cls_logits", 1.0 / 8},
                                                    {"rpn.head.bbox_pred", 1.0 / 16},
                                                    {"roi_heads.box_predictor.cls_score", 1.0 / 16},
                                                    {"roi_heads.box_predictor.bbox_pred", 1.0 / 16},
                                                    {"roi_heads.mask_predictor.mask_fcn_logits", 1.0 / 4}};
  for (const auto& [prefix, scale] : head_scale)
    for (const char* leaf : {".weight", ".bias"}) {
      const Tensor* t = sd.find(prefix + leaf);
      if (t == nullptr) fail("golden_model", "no '", prefix + leaf, "' in the model");
      copy_into(*t, mul(*t, scale));
    }
  return model;
}

inline io::SafetensorsFile load_fixture(const std::string& name) {
  return io::load_safetensors(std::string(ANIMA_GOLDEN_DIR) + "/" + name + ".safetensors");
}

inline const Tensor& fixture_tensor(const io::SafetensorsFile& file, const std::string& key) {
  auto it = file.tensors.find(key);
  if (it == file.tensors.end()) fail("maskrcnn golden", "the fixture has no tensor '", key, "'");
  return it->second;
}

// Expects max |actual - expected| <= rel · max |expected| (same shape), and prints the ratio reached.
inline void expect_rel_close(const Tensor& actual, const Tensor& expected, double rel, const std::string& what) {
  ASSERT_EQ(shape_str(actual.shape()), shape_str(expected.shape())) << what;
  const std::vector<double> a = to_vector<double>(actual), e = to_vector<double>(expected);
  double scale = 0.0, worst = 0.0;
  for (double x : e) scale = std::max(scale, std::fabs(x));
  for (std::size_t i = 0; i < e.size(); ++i) worst = std::max(worst, std::fabs(a[i] - e[i]));
  const double tol = rel * std::max(scale, 1e-300);
  std::cout << "[   INFO   ] " << what
            << ": max |ours - torchvision| / max |torchvision| = " << (scale > 0 ? worst / scale : worst) << std::endl;
  EXPECT_LE(worst, tol) << what << ": max |ours - torchvision| = " << worst << ", tolerance " << tol;
}

}  // namespace anima::nets::maskrcnn::fixture
