// tests/detect/multiscale_roi_align_gather_test.cpp — the row bookkeeping of MultiScaleRoIAlign (levels
// pooled in level order, one scatter_rows back to box order): boxes whose level has no map (zero rows,
// the zero fill), boxes already in level order, reversed, all boxes unclaimed, and gradients through
// these (float64 gradcheck).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/detection/multiscale_roi_align.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/roi_align.hpp>

namespace anima {
namespace {

// Maps "0".."3" of a 256 x 256 image: scales 1/4 .. 1/32 (levels 2 .. 5), float64, requiring grad.
std::vector<Tensor> leaves(std::int64_t channels) {
  Generator gen(23);
  std::vector<Tensor> out;
  for (std::int64_t l = 0; l < 4; ++l) {
    Tensor m = randn({2, channels, 64 >> l, 64 >> l}, TensorOptions(DType::Float64), gen);
    m.set_requires_grad(true);
    out.push_back(m);
  }
  return out;
}

detection::FeatureMaps named(const std::vector<Tensor>& maps) {
  detection::FeatureMaps f;
  for (std::size_t l = 0; l < maps.size(); ++l) f.push_back({std::to_string(l), maps[l]});
  return f;
}

// Row k of y against roi_align of box k alone on map `map_of[k]` (-1: a zero row).
void expect_rows(const Tensor& y, const std::vector<Tensor>& maps, const std::vector<double>& boxes /*[K, 5]*/,
                 const std::vector<int>& map_of, const std::vector<double>& scale_of) {
  const auto yv = to_vector<double>(y);
  const std::size_t row = yv.size() / map_of.size();
  for (std::size_t k = 0; k < map_of.size(); ++k) {
    std::vector<double> one(row, 0.0);
    if (map_of[k] >= 0) {
      Tensor r = from_vector<double>(std::vector<double>(boxes.begin() + k * 5, boxes.begin() + k * 5 + 5), {1, 5});
      one = to_vector<double>(
          roi_align(detach(maps[static_cast<std::size_t>(map_of[k])]), r, {3, 3}, scale_of[k], 2, false));
    }
    for (std::size_t i = 0; i < row; ++i) ASSERT_EQ(yv[k * row + i], one[i]) << "box " << k << " element " << i;
  }
}

TEST(MultiScaleRoIAlignGather, GapLevelsGiveZeroRows) {
  const std::vector<Tensor> m = leaves(2);
  // Maps "1" (scale 1/8) and "3" (1/32): k_min 3, k_max 5; map 0 serves level 3, map 1 level 4, and a
  // level-5 box (sqrt(area) >= 448) has no map: zeros, as torchvision.
  const std::vector<double> b0 = {0, 0, 500, 500, /*level 5*/ 10, 10, 60, 70, /*3*/ 0, 0, 250, 250 /*4*/};
  const std::vector<double> b1 = {20, 20, 600, 600, /*5*/ 5, 5, 20, 30 /*3*/};
  std::vector<Tensor> boxes = {from_vector<double>(b0, {3, 4}), from_vector<double>(b1, {2, 4})};
  detection::MultiScaleRoIAlign pooler({"1", "3"}, {3, 3}, 2);
  const Tensor y = pooler.forward(named(m), boxes, {{256, 256}, {256, 256}});
  ASSERT_EQ(y.shape(), (Shape{5, 2, 3, 3}));
  const std::vector<double> rois = {0,   0,   0, 500, 500, 0,   10,  10, 60, 70, 0,  0, 0,
                                    250, 250, 1, 20,  20,  600, 600, 1,  5,  5,  20, 30};
  expect_rows(y, m, rois, {-1, 1, 3, -1, 1}, {0, 1.0 / 8, 1.0 / 32, 0, 1.0 / 8});
  // Gradients (the zero rows have none).
  auto r = gradcheck(
      [&](const std::vector<Tensor>& in) {
        return pooler.forward({{"1", in[0]}, {"3", in[1]}}, boxes, {{256, 256}, {256, 256}});
      },
      {m[1], m[3]});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(MultiScaleRoIAlignGather, LevelOrderAndReversed) {
  const std::vector<Tensor> m = leaves(2);
  detection::MultiScaleRoIAlign pooler({"0", "1", "2", "3"}, {3, 3}, 2);
  // Levels 2, 3, 4, 5 in box order (scatter indices 0..3), then reversed (a full permutation).
  const std::vector<double> up = {10, 10, 40, 40, 0, 0, 150, 150, 0, 0, 230, 230, 0, 0, 500, 500};
  const std::vector<double> down = {0, 0, 500, 500, 0, 0, 230, 230, 0, 0, 150, 150, 10, 10, 40, 40};
  for (const auto& b : {up, down}) {
    std::vector<Tensor> boxes = {from_vector<double>(std::vector<double>(b.begin(), b.begin() + 8), {2, 4}),
                                 from_vector<double>(std::vector<double>(b.begin() + 8, b.end()), {2, 4})};
    std::vector<double> all(b.begin(), b.begin() + 8), rois;
    all.insert(all.end(), b.begin() + 8, b.end());
    const auto levels = detection::map_levels(all, 2, 5);
    std::vector<std::int64_t> sorted_levels(levels);
    std::sort(sorted_levels.begin(), sorted_levels.end());
    ASSERT_EQ(sorted_levels, (std::vector<std::int64_t>{2, 3, 4, 5}));  // one box per level
    std::vector<int> map_of;
    std::vector<double> scale_of;
    for (std::size_t k = 0; k < 4; ++k) {
      rois.push_back(k < 2 ? 0.0 : 1.0);
      rois.insert(rois.end(), all.begin() + k * 4, all.begin() + k * 4 + 4);
      map_of.push_back(static_cast<int>(levels[k] - 2));
      scale_of.push_back(1.0 / static_cast<double>(4 << (levels[k] - 2)));
    }
    const Tensor y = pooler.forward(named(m), boxes, {{256, 256}, {256, 256}});
    expect_rows(y, m, rois, map_of, scale_of);
    auto r = gradcheck(
        [&](const std::vector<Tensor>& in) {
          return pooler.forward(named(in), boxes, {{256, 256}, {256, 256}});
        },
        {m[0], m[1], m[2], m[3]});
    EXPECT_TRUE(r.ok) << r.report;
  }
}

TEST(MultiScaleRoIAlignGather, AllBoxesUnclaimed) {
  const std::vector<Tensor> m = leaves(2);
  detection::MultiScaleRoIAlign pooler({"1", "3"}, {3, 3}, 2);
  std::vector<Tensor> boxes = {from_vector<double>({0, 0, 500, 500}, {1, 4}),
                               from_vector<double>({0, 0, 600, 600}, {1, 4})};
  const Tensor y = pooler.forward(named(m), boxes, {{256, 256}, {256, 256}});
  ASSERT_EQ(y.shape(), (Shape{2, 2, 3, 3}));
  for (double v : to_vector<double>(y)) EXPECT_EQ(v, 0.0);
}

}  // namespace
}  // namespace anima
