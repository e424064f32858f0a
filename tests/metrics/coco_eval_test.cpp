// COCO detection metrics (anima/metrics/coco_eval.hpp) on cases whose answers follow from
// pycocotools' definitions by hand (worked in each test's comment): perfect detections, an IoU that
// passes only the lower thresholds, a false positive ranked first, crowd regions, the detection caps
// of AR1/AR10, area ranges, masks, and bad input.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include <anima/io/coco_rle.hpp>
#include <anima/metrics/coco_eval.hpp>

#include "../core/expect_error.hpp"

namespace anima {
namespace {

using metrics::CocoDetection;
using metrics::CocoGroundTruth;
using metrics::CocoIouType;
using testing::contains;
using testing::error_of;

CocoGroundTruth gt(std::int64_t image, double x, double y, double w, double h, bool crowd = false,
                   std::int64_t category = 1) {
  CocoGroundTruth g;
  g.image_id = image, g.category_id = category, g.bbox = {x, y, w, h}, g.area = w * h, g.iscrowd = crowd;
  return g;
}

CocoDetection det(std::int64_t image, double x, double y, double w, double h, double score, std::int64_t category = 1) {
  CocoDetection d;
  d.image_id = image, d.category_id = category, d.bbox = {x, y, w, h}, d.score = score;
  return d;
}

constexpr double kEps = 1e-12;

TEST(CocoEval, PerfectDetectionsScoreOne) {
  // Two images, a small (10x10) and a large (100x100) object, each found exactly.
  const auto s = metrics::coco_evaluate({1, 2}, {1}, {gt(1, 0, 0, 10, 10), gt(2, 0, 0, 100, 100)},
                                        {det(1, 0, 0, 10, 10, 0.9), det(2, 0, 0, 100, 100, 0.8)}, CocoIouType::Box);
  EXPECT_NEAR(s.ap, 1.0, kEps);
  EXPECT_NEAR(s.ap50, 1.0, kEps);
  EXPECT_NEAR(s.ap75, 1.0, kEps);
  EXPECT_NEAR(s.ap_small, 1.0, kEps);
  EXPECT_EQ(s.ap_medium, -1.0);  // no medium object: undefined
  EXPECT_NEAR(s.ap_large, 1.0, kEps);
  EXPECT_NEAR(s.ar1, 1.0, kEps);
  EXPECT_NEAR(s.ar100, 1.0, kEps);
  EXPECT_EQ(s.ar_medium, -1.0);
}

TEST(CocoEval, AnIouOfTwoThirdsPassesFourThresholds) {
  // Box [0,0,10,15] against [0,0,10,10]: IoU 100/150 = 0.667 >= 0.5, 0.55, 0.6, 0.65 only. At those
  // thresholds precision 1 at recall 1 (AP 1), at the other six nothing is found (AP 0):
  // AP = 4/10, AP50 = 1, AP75 = 0, AR100 = 4/10.
  const auto s = metrics::coco_evaluate({1}, {1}, {gt(1, 0, 0, 10, 10)}, {det(1, 0, 0, 10, 15, 0.9)}, CocoIouType::Box);
  EXPECT_NEAR(s.ap, 0.4, kEps);
  EXPECT_NEAR(s.ap50, 1.0, kEps);
  EXPECT_NEAR(s.ap75, 0.0, kEps);
  EXPECT_NEAR(s.ar100, 0.4, kEps);
}

TEST(CocoEval, AFalsePositiveRankedFirstHalvesThePrecision) {
  // Scores 0.9 (nothing there) then 0.8 (exact): precision [0, 1/2], recall [0, 1]; made
  // non-increasing from the right: [1/2, 1/2]; every recall point reads 1/2: AP = 0.5.
  const auto s = metrics::coco_evaluate({1}, {1}, {gt(1, 0, 0, 10, 10)},
                                        {det(1, 50, 50, 10, 10, 0.9), det(1, 0, 0, 10, 10, 0.8)}, CocoIouType::Box);
  EXPECT_NEAR(s.ap, 0.5, kEps);
  EXPECT_NEAR(s.ar100, 1.0, kEps);
  // AR1 keeps only the best-scored detection per image, the false positive: recall 0.
  EXPECT_NEAR(s.ar1, 0.0, kEps);
}

TEST(CocoEval, PrecisionCurvesPerCategory) {
  // Category 1: two objects; detections exact (0.9), nowhere (0.8), exact (0.7): TP, FP, TP give
  // recall [1/2, 1/2, 1], precision [1, 1/2, 2/3], made non-increasing from the right [1, 2/3, 2/3].
  // Recall points r <= 0.5 read the first entry (1), r > 0.5 the third (2/3): 51 ones, 50 two-thirds.
  // Category 2 has no ground truth: no curve.
  const auto s = metrics::coco_evaluate(
      {1, 2}, {1, 2}, {gt(1, 0, 0, 10, 10), gt(2, 0, 0, 20, 20)},
      {det(1, 0, 0, 10, 10, 0.9), det(1, 50, 50, 10, 10, 0.8), det(2, 0, 0, 20, 20, 0.7)}, CocoIouType::Box);
  ASSERT_EQ(s.precision50_per_category.size(), 2u);
  ASSERT_EQ(s.precision50_per_category[0].size(), 101u);
  for (int r = 0; r <= 100; ++r)
    EXPECT_NEAR(s.precision50_per_category[0][static_cast<std::size_t>(r)], r <= 50 ? 1.0 : 2.0 / 3.0, kEps) << r;
  EXPECT_EQ(s.precision75_per_category[0], s.precision50_per_category[0]);  // exact boxes pass every threshold
  EXPECT_TRUE(s.precision50_per_category[1].empty());
  EXPECT_TRUE(s.precision75_per_category[1].empty());
}

TEST(CocoEval, DetectionsInsideACrowdAreIgnored) {
  // A crowd region [0,0,100,100] and one object [200,200,10,10]. Two detections inside the crowd
  // (IoU against a crowd = intersection / the detection's own area = 1) are matched to it and so
  // ignored; the object is found: AP 1. Without the crowd flag they would be false positives
  // ranked first (IoU 0.04 and 0.0025 with the region): precision 1/3 at recall 1.
  const std::vector<CocoGroundTruth> gts = {gt(1, 0, 0, 100, 100, true), gt(1, 200, 200, 10, 10)};
  const std::vector<CocoDetection> dts = {det(1, 10, 10, 20, 20, 0.95), det(1, 50, 50, 5, 5, 0.9),
                                          det(1, 200, 200, 10, 10, 0.5)};
  EXPECT_NEAR(metrics::coco_evaluate({1}, {1}, gts, dts, CocoIouType::Box).ap, 1.0, kEps);
  std::vector<CocoGroundTruth> plain = gts;
  plain[0].iscrowd = false;
  const auto s = metrics::coco_evaluate({1}, {1}, plain, dts, CocoIouType::Box);
  // Exactly: two objects now count; the third detection finds one of them: recall 1/2 at precision
  // 1/3; recall points 0..0.5 read 1/3 (51 points), the rest 0: AP50 = 51 / 101 / 3.
  EXPECT_NEAR(s.ap50, 51.0 / 101.0 / 3.0, kEps);
}

TEST(CocoEval, DetectionCapsAndCategories) {
  // Two objects of category 1 in one image; the detection of the second ranks second: AR1 = 1/2,
  // AR10 = 1. A category-2 detection of nothing does not touch category 1; category 2 has no object,
  // so its AP is undefined (−1) and left out of the mean.
  const auto s = metrics::coco_evaluate(
      {7}, {1, 2}, {gt(7, 0, 0, 10, 10), gt(7, 50, 50, 10, 10)},
      {det(7, 0, 0, 10, 10, 0.9), det(7, 50, 50, 10, 10, 0.8), det(7, 90, 90, 5, 5, 0.99, 2)}, CocoIouType::Box);
  EXPECT_NEAR(s.ar1, 0.5, kEps);
  EXPECT_NEAR(s.ar10, 1.0, kEps);
  EXPECT_NEAR(s.ap, 1.0, kEps);
  ASSERT_EQ(s.ap_per_category.size(), 2u);
  EXPECT_NEAR(s.ap_per_category[0], 1.0, kEps);
  EXPECT_EQ(s.ap_per_category[1], -1.0);
}

// A mask of a filled rectangle [x0, x1) x [y0, y1) in an h x w image, as COCO runs.
metrics::CocoMask rect_mask(int h, int w, int x0, int y0, int x1, int y1) {
  std::vector<std::uint8_t> m(static_cast<std::size_t>(h) * w, 0);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) m[static_cast<std::size_t>(y) * w + x] = 1;
  return {h, w, io::coco_rle_runs(m, h, w)};
}

TEST(CocoEval, MasksUseTheirPixels) {
  // Masks 10x10 and 10x14 overlapping in 10x10 pixels: IoU 100/140 = 0.714: passes 0.5 .. 0.7 (5 of
  // 10 thresholds): AP 0.5. Their boxes are given identical, so a box evaluation would say 1.
  CocoGroundTruth g = gt(1, 0, 0, 10, 10);
  g.mask = rect_mask(20, 20, 0, 0, 10, 10);
  CocoDetection d = det(1, 0, 0, 10, 10, 0.9);
  d.mask = rect_mask(20, 20, 0, 0, 10, 14);
  EXPECT_NEAR(metrics::coco_evaluate({1}, {1}, {g}, {d}, CocoIouType::Mask).ap, 0.5, kEps);
  EXPECT_NEAR(metrics::coco_evaluate({1}, {1}, {g}, {d}, CocoIouType::Box).ap, 1.0, kEps);
  EXPECT_NEAR(metrics::detail::mask_iou(d.mask, g.mask, false), 100.0 / 140.0, kEps);
  EXPECT_NEAR(metrics::detail::mask_iou(d.mask, g.mask, true), 100.0 / 140.0, kEps);  // crowd: / |d| = 140
  EXPECT_NEAR(metrics::detail::mask_iou(g.mask, d.mask, true), 1.0, kEps);            // d inside g
}

TEST(CocoEval, BadInputIsAClearError) {
  EXPECT_TRUE(contains(error_of([] { metrics::coco_evaluate({1}, {1}, {gt(2, 0, 0, 1, 1)}, {}, CocoIouType::Box); }),
                       "ground truth 0 is of image 2, which is not listed"));
  EXPECT_TRUE(
      contains(error_of([] { metrics::coco_evaluate({1}, {1}, {}, {det(3, 0, 0, 1, 1, 0.5)}, CocoIouType::Box); }),
               "detection 0 is of image 3"));
  CocoGroundTruth g = gt(1, 0, 0, 1, 1);
  g.mask = {4, 4, {3, 2}};
  EXPECT_TRUE(contains(error_of([&] { metrics::coco_evaluate({1}, {1}, {g}, {}, CocoIouType::Mask); }),
                       "runs sum to 5, expected 4 x 4"));
  // Nothing at all: every summary undefined.
  EXPECT_EQ(metrics::coco_evaluate({1}, {1}, {}, {}, CocoIouType::Box).ap, -1.0);
}

}  // namespace
}  // namespace anima
