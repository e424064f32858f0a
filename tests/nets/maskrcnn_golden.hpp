// tests/nets/maskrcnn_golden.hpp — what the Mask R-CNN golden tests share: the images and the model of
// tools/golden/maskrcnn.py (maskrcnn_golden_model.hpp), the fixture files, and a relative comparison
// that prints how close it came.
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

#include "nets/maskrcnn_golden_model.hpp"

namespace anima::nets::maskrcnn::fixture {

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
