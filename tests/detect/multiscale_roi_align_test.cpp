// tests/detect/multiscale_roi_align_test.cpp — MultiScaleRoIAlign: the level mapper on boxes worked
// out by hand, scale inference, a featmap-name subset, the output order (each row equals roi_align of
// its box on its level's map), gradients (float64 gradcheck through the level split), and errors.
// Values against torchvision: tests/detect/roi_golden_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/detection/multiscale_roi_align.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/roi_align.hpp>

#include "core/expect_error.hpp"

namespace anima {
namespace {

using testing::contains;
using testing::error_of;

TEST(MultiScaleRoIAlign, LevelMapper) {
  // sqrt(area) = 224 -> level 4; 112 -> 3; 448 -> 5; 56 -> 2; 896 -> 6 -> clamped to 5; 10 -> 2 (clamped);
  // 223 -> floor(4 + log2(223/224)) = 3; a degenerate box (area 0) -> -inf -> k_min.
  const std::vector<double> boxes = {0, 0, 224, 224, 10, 10, 122, 122, 0, 0, 448, 448, 0, 0, 56, 56,
                                     0, 0, 896, 896, 0,  0,  10,  10,  0, 0, 223, 223, 5, 5, 5,  9};
  const auto lv = detection::map_levels(boxes, 2, 5);
  EXPECT_EQ(lv, (std::vector<std::int64_t>{4, 3, 5, 2, 5, 2, 3, 2}));
}

TEST(MultiScaleRoIAlign, InferScale) {
  EXPECT_EQ(detection::infer_scale({2, 8, 200, 200}, {800, 800}, "0"), 0.25);
  EXPECT_EQ(detection::infer_scale({2, 8, 25, 25}, {800, 800}, "3"), 1.0 / 32);
  EXPECT_EQ(detection::infer_scale({2, 8, 50, 68}, {800, 1088}, "2"), 1.0 / 16);  // 68/1088 = 1/16
  EXPECT_EQ(detection::infer_scale({1, 1, 13, 13}, {800, 800}, "x"), 1.0 / 64);   // rounds log2(13/800) = -5.94
  // A 720x1280 frame letterboxed at the top-left of a 1280x1280 canvas: the stride-4 map is 320x320; the
  // H ratio 320/720 would round to 1/2, the W ratio (the side the frame fills) is the true 1/4.
  EXPECT_EQ(detection::infer_scale({1, 256, 320, 320}, {720, 1280}, "0"), 0.25);
  EXPECT_EQ(detection::infer_scale({1, 256, 40, 40}, {1280, 480}, "3"), 1.0 / 32);  // portrait frame
  EXPECT_TRUE(contains(error_of([] { detection::infer_scale({1, 1, 100, 25}, {0, 800}, "empty"); }), "empty"));
}

struct Pyramid {
  detection::FeatureMaps maps;
  std::vector<Tensor> leaves;
};

Pyramid pyramid(DType dtype, std::int64_t channels) {
  Generator gen(17);
  Pyramid p;
  for (std::int64_t l = 0; l < 4; ++l) {
    const std::int64_t s = 64 >> l;  // image 256 x 256: scales 1/4 .. 1/32
    Tensor m = randn({2, channels, s, s}, TensorOptions(dtype), gen);
    m.set_requires_grad(true);
    p.leaves.push_back(m);
    p.maps.push_back({std::to_string(l), m});
  }
  return p;
}

TEST(MultiScaleRoIAlign, RowsMatchRoiAlignOnTheirLevel) {
  Pyramid p = pyramid(DType::Float64, 3);
  p.maps.push_back({"pool", randn({2, 3, 4, 4}, TensorOptions(DType::Float64))});  // not pooled from
  const std::vector<double> b0 = {10, 10, 60, 70, 100, 50, 250, 200, 0, 0, 256, 256, 30, 30, 31, 31};
  const std::vector<double> b1 = {5, 5, 20, 30, 30, 40, 200, 220};
  std::vector<Tensor> boxes = {from_vector<double>(b0, {4, 4}), from_vector<double>(b1, {2, 4})};
  detection::MultiScaleRoIAlign pooler({"0", "1", "2", "3"}, {7, 7}, 2);
  Tensor y = pooler.forward(p.maps, boxes, {{256, 256}, {256, 256}});
  ASSERT_EQ(y.shape(), (Shape{6, 3, 7, 7}));
  const auto yv = to_vector<double>(y);
  std::vector<double> all = b0;
  all.insert(all.end(), b1.begin(), b1.end());
  const auto levels = detection::map_levels(all, 2, 5);
  std::set<std::int64_t> used(levels.begin(), levels.end());
  EXPECT_GE(used.size(), 3u);  // the boxes spread over several levels
  for (std::size_t k = 0; k < 6; ++k) {
    const std::int64_t l = levels[k] - 2;
    const double scale = 1.0 / static_cast<double>(4 << l);
    Tensor r =
        from_vector<double>({k < 4 ? 0.0 : 1.0, all[k * 4], all[k * 4 + 1], all[k * 4 + 2], all[k * 4 + 3]}, {1, 5});
    const auto one =
        to_vector<double>(roi_align(detach(p.leaves[static_cast<std::size_t>(l)]), r, {7, 7}, scale, 2, false));
    for (std::size_t i = 0; i < one.size(); ++i)
      ASSERT_EQ(yv[k * one.size() + i], one[i]) << "box " << k << " element " << i;
  }
}

TEST(MultiScaleRoIAlign, FeatmapSubset) {
  Pyramid p = pyramid(DType::Float64, 2);
  std::vector<Tensor> boxes = {from_vector<double>({10, 10, 60, 70}, {1, 4}),
                               from_vector<double>({0, 0, 250, 250}, {1, 4})};
  // Only map "1" (scale 1/8): a single map, every box pooled from it.
  detection::MultiScaleRoIAlign one({"1"}, {5, 5}, 2);
  Tensor y = one.forward(p.maps, boxes, {{256, 256}, {256, 256}});
  Tensor direct = roi_align(detach(p.leaves[1]), boxes_to_rois(boxes), {5, 5}, 1.0 / 8, 2, false);
  EXPECT_EQ(to_vector<double>(y), to_vector<double>(direct));
  // Maps "1" and "3": levels clamped to [3, 5]; the first box (sqrt area ~ 55, level 2) goes to map "1".
  detection::MultiScaleRoIAlign two({"1", "3"}, {5, 5}, 2);
  Tensor y2 = two.forward(p.maps, boxes, {{256, 256}, {256, 256}});
  const auto a = to_vector<double>(y2), b = to_vector<double>(direct);
  for (std::size_t i = 0; i < 2 * 25; ++i) EXPECT_EQ(a[i], b[i]);
}

TEST(MultiScaleRoIAlign, Gradcheck) {
  Pyramid p = pyramid(DType::Float64, 2);
  std::vector<Tensor> boxes = {from_vector<double>({10, 10, 60, 70, 100, 50, 250, 200}, {2, 4}),
                               from_vector<double>({5, 5, 20, 30}, {1, 4})};
  detection::MultiScaleRoIAlign pooler({"0", "1", "2", "3"}, {3, 3}, 2);
  auto r = gradcheck(
      [&](const std::vector<Tensor>& in) {
        detection::FeatureMaps f;
        for (std::size_t l = 0; l < in.size(); ++l) f.push_back({std::to_string(l), in[l]});
        return pooler.forward(f, boxes, {{256, 256}, {256, 256}});
      },
      p.leaves);
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(MultiScaleRoIAlign, Errors) {
  Pyramid p = pyramid(DType::Float32, 2);
  std::vector<Tensor> boxes = {cast_copy(from_vector<double>({10, 10, 60, 70}, {1, 4}), DType::Float32),
                               cast_copy(from_vector<double>({0, 0, 50, 50}, {1, 4}), DType::Float32)};
  EXPECT_TRUE(contains(error_of([&] {
                         detection::MultiScaleRoIAlign({"0", "7"}, {7, 7}, 2).forward(p.maps, boxes, {{256, 256}});
                       }),
                       "no feature map named '7'"));
  EXPECT_TRUE(contains(error_of([&] {
                         detection::MultiScaleRoIAlign({"0"}, {7, 7}, 2).forward(p.maps, {boxes[0]}, {{256, 256}});
                       }),
                       "boxes for 1 image(s)"));
  EXPECT_TRUE(contains(error_of([&] {
                         detection::MultiScaleRoIAlign({"0"}, {7, 7}, 2)
                             .forward(p.maps, {boxes[0], from_vector<float>({1, 2, 3}, {1, 3})}, {{256, 256}});
                       }),
                       "[K, 4]"));
}

}  // namespace
}  // namespace anima
