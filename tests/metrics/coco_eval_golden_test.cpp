// COCO metrics and COCO masks against the real pycocotools (COCOeval, COCO.annToRLE, mask.frPyObjects /
// merge / decode / encode over common/maskApi.c), from the fixture tests/golden/data/coco_eval.safetensors
// written by tools/golden/coco_eval.py, which also holds every input, so nothing here rebuilds a case:
//   - one dataset (4 images, categories 1, 2, 5; polygons, a compressed and an uncompressed RLE, a crowd
//     region, tied scores, 17 detections of one category on one image) evaluated for boxes and masks:
//     the 12 summary numbers, AP per category and the precision curves at IoU 0.50 and 0.75;
//   - the masks that evaluation rests on: each polygon ground truth and detection rasterised by
//     io::coco_polygons_mask and encoded by io::coco_rle_encode gives pycocotools' counts string;
//   - sixteen polygon cases (non-integer and out-of-image vertices, tiny, concave, self-touching,
//     repeated vertex, two polygons, the whole image) on 37x23 and 64x48 images: the mask and its
//     counts string byte for byte.
// Tolerance 1e-12 for the evaluation numbers: both sides do the same float64 operations per precision
// point, but numpy's mean sums pairwise where coco_evaluate sums in order.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/io/coco_polygon.hpp>
#include <anima/io/coco_rle.hpp>
#include <anima/metrics/coco_eval.hpp>

#include "../golden/golden_file.hpp"

namespace anima {
namespace coco_eval_golden_test {

using metrics::CocoDetection;
using metrics::CocoGroundTruth;
using metrics::CocoIouType;
using metrics::CocoSummary;

constexpr double kTol = 1e-12;  // see the header comment

const testing::GoldenFile& fixture() { return testing::golden("coco_eval.safetensors"); }

// The polygons stored as <prefix>0, <prefix>1, ... (none when <prefix>0 is absent).
std::vector<std::vector<double>> polygons(const std::string& prefix) {
  std::vector<std::vector<double>> out;
  for (std::size_t j = 0; fixture().has(prefix + std::to_string(j)); ++j)
    out.push_back(fixture().doubles(prefix + std::to_string(j)));
  return out;
}

// The "eval" case's inputs, in the form coco_evaluate takes them.
struct EvalCase {
  std::vector<std::int64_t> image_ids, category_ids;
  std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> size;  // image id -> (height, width)
  std::vector<CocoGroundTruth> gts;
  std::vector<CocoDetection> dts;
  std::vector<std::string> gt_counts, dt_counts;  // pycocotools' RLE of each object
};

metrics::CocoMask mask_of(const std::string& counts, std::pair<std::int64_t, std::int64_t> hw) {
  return {hw.first, hw.second, io::coco_rle_runs_from_string(counts)};
}

const EvalCase& eval_case() {
  static const EvalCase c = [] {
    EvalCase e;
    const std::vector<std::int64_t> images = fixture().int64s("eval/images");  // [N, 3]: id, height, width
    for (std::size_t i = 0; i < images.size(); i += 3) {
      e.image_ids.push_back(images[i]);
      e.size[images[i]] = {images[i + 1], images[i + 2]};
    }
    e.category_ids = fixture().int64s("eval/categories");
    e.gt_counts = fixture().list("eval/gt_counts");
    e.dt_counts = fixture().list("eval/dt_counts");
    const std::vector<std::int64_t> gt_ids = fixture().int64s("eval/gt/ids");  // [G, 3]: image, category, iscrowd
    const std::vector<double> gt_bbox = fixture().doubles("eval/gt/bbox"), gt_area = fixture().doubles("eval/gt/area");
    for (std::size_t i = 0; i < gt_area.size(); ++i) {
      CocoGroundTruth g;
      g.image_id = gt_ids[3 * i], g.category_id = gt_ids[3 * i + 1], g.iscrowd = gt_ids[3 * i + 2] != 0;
      g.bbox = {gt_bbox[4 * i], gt_bbox[4 * i + 1], gt_bbox[4 * i + 2], gt_bbox[4 * i + 3]};
      g.area = gt_area[i];
      g.mask = mask_of(e.gt_counts.at(i), e.size.at(g.image_id));
      e.gts.push_back(g);
    }
    const std::vector<std::int64_t> dt_ids = fixture().int64s("eval/dt/ids");  // [D, 2]: image, category
    const std::vector<double> dt_bbox = fixture().doubles("eval/dt/bbox"),
                              dt_score = fixture().doubles("eval/dt/score");
    for (std::size_t i = 0; i < dt_score.size(); ++i) {
      CocoDetection d;
      d.image_id = dt_ids[2 * i], d.category_id = dt_ids[2 * i + 1];
      d.bbox = {dt_bbox[4 * i], dt_bbox[4 * i + 1], dt_bbox[4 * i + 2], dt_bbox[4 * i + 3]};
      d.score = dt_score[i];
      d.mask = mask_of(e.dt_counts.at(i), e.size.at(d.image_id));
      e.dts.push_back(d);
    }
    return e;
  }();
  return c;
}

// The mask as pycocotools holds it (row-major 0/1) and byte-for-byte comparison.
void expect_same_mask(const std::vector<std::uint8_t>& actual, const std::vector<std::int64_t>& expected,
                      std::int64_t width, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  std::size_t wrong = 0, first = 0;
  for (std::size_t p = 0; p < actual.size(); ++p)
    if (static_cast<std::int64_t>(actual[p]) != expected[p] && wrong++ == 0) first = p;
  EXPECT_EQ(wrong, 0u) << what << ": " << wrong << " pixels differ, the first at (y, x) = (" << first / width << ", "
                       << first % width << "), pycocotools " << (wrong ? expected[first] : 0);
}

TEST(CocoEvalGolden, GroundTruthMasksAreAnnToRle) {
  // Polygons: coco_polygons_mask + coco_rle_encode against frPyObjects + merge; uncompressed counts:
  // coco_rle_counts_string against frPyObjects; the compressed RLE is stored as given.
  const EvalCase& e = eval_case();
  std::size_t checked = 0;
  for (std::size_t i = 0; i < e.gts.size(); ++i) {
    const auto [h, w] = e.size.at(e.gts[i].image_id);
    const std::string prefix = "eval/gt/" + std::to_string(i);
    const auto polys = polygons(prefix + "/polygon/");
    if (!polys.empty()) {
      EXPECT_EQ(io::coco_rle_encode(io::coco_polygons_mask(polys, h, w), h, w).counts, e.gt_counts[i]) << prefix;
      ++checked;
    } else if (fixture().has(prefix + "/runs")) {
      EXPECT_EQ(io::coco_rle_counts_string(fixture().int64s(prefix + "/runs")), e.gt_counts[i]) << prefix;
      ++checked;
    }
  }
  EXPECT_EQ(checked, e.gts.size() - 1);  // all but the compressed RLE
}

TEST(CocoEvalGolden, DetectionMasksAreFrPyObjectsMerge) {
  const EvalCase& e = eval_case();
  for (std::size_t i = 0; i < e.dts.size(); ++i) {
    const auto [h, w] = e.size.at(e.dts[i].image_id);
    const std::string prefix = "eval/dt/" + std::to_string(i);
    const auto polys = polygons(prefix + "/polygon/");
    ASSERT_FALSE(polys.empty()) << prefix;
    EXPECT_EQ(io::coco_rle_encode(io::coco_polygons_mask(polys, h, w), h, w).counts, e.dt_counts[i]) << prefix;
  }
}

void expect_matches_cocoeval(CocoIouType type, const std::string& name) {
  const EvalCase& e = eval_case();
  const CocoSummary s = metrics::coco_evaluate(e.image_ids, e.category_ids, e.gts, e.dts, type);
  // COCOeval.stats, in its order.
  const double CocoSummary::*const fields[] = {&CocoSummary::ap,       &CocoSummary::ap50,      &CocoSummary::ap75,
                                               &CocoSummary::ap_small, &CocoSummary::ap_medium, &CocoSummary::ap_large,
                                               &CocoSummary::ar1,      &CocoSummary::ar10,      &CocoSummary::ar100,
                                               &CocoSummary::ar_small, &CocoSummary::ar_medium, &CocoSummary::ar_large};
  const std::vector<double> stats = fixture().doubles("eval/" + name + "/stats");
  ASSERT_EQ(stats.size(), 12u);
  for (std::size_t i = 0; i < stats.size(); ++i)
    EXPECT_NEAR(s.*fields[i], stats[i], kTol) << name << " stats[" << i << "]";

  const std::size_t nk = e.category_ids.size();
  const std::vector<double> ap = fixture().doubles("eval/" + name + "/ap_per_category");
  ASSERT_EQ(s.ap_per_category.size(), nk);
  for (std::size_t k = 0; k < nk; ++k)
    EXPECT_NEAR(s.ap_per_category[k], ap[k], kTol) << name << " AP of category " << e.category_ids[k];

  constexpr std::size_t kRecalls = 101;
  for (const auto& [curves, key] : {std::make_pair(&s.precision50_per_category, "precision50"),
                                    std::make_pair(&s.precision75_per_category, "precision75")}) {
    const std::vector<double> expected =
        fixture().doubles("eval/" + name + "/" + key);  // [K, 101], -1 rows: no ground truth
    ASSERT_EQ(curves->size(), nk) << key;
    for (std::size_t k = 0; k < nk; ++k) {
      const std::string what = name + " " + key + " of category " + std::to_string(e.category_ids[k]);
      if (expected[k * kRecalls] == -1.0) {
        EXPECT_TRUE((*curves)[k].empty()) << what << ": pycocotools has no curve";
        continue;
      }
      ASSERT_EQ((*curves)[k].size(), kRecalls) << what;
      for (std::size_t r = 0; r < kRecalls; ++r)
        EXPECT_NEAR((*curves)[k][r], expected[k * kRecalls + r], kTol) << what << " at recall point " << r;
    }
  }
}

TEST(CocoEvalGolden, BoxesMatchCocoEval) { expect_matches_cocoeval(CocoIouType::Box, "bbox"); }

TEST(CocoEvalGolden, MasksMatchCocoEval) { expect_matches_cocoeval(CocoIouType::Mask, "segm"); }

TEST(CocoEvalGolden, PolygonMasksMatchFrPyObjects) {
  const std::vector<std::string> cases = fixture().list("poly_cases"), counts = fixture().list("poly_counts");
  ASSERT_EQ(cases.size(), counts.size());
  ASSERT_GE(cases.size(), 12u);
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const std::string prefix = "poly/" + cases[c];
    const std::vector<std::int64_t> hw = fixture().int64s(prefix + "/size");
    const std::int64_t h = hw.at(0), w = hw.at(1);
    const std::vector<std::int64_t> expected = fixture().int64s(prefix + "/mask");
    const auto polys = polygons(prefix + "/");
    ASSERT_FALSE(polys.empty()) << prefix;
    const std::vector<std::uint8_t> mask = io::coco_polygons_mask(polys, h, w);
    expect_same_mask(mask, expected, w, prefix);
    EXPECT_EQ(io::coco_rle_encode(mask, h, w).counts, counts[c]) << prefix;
    // And back: pycocotools' string decodes to its mask.
    expect_same_mask(io::coco_rle_decode({h, w, counts[c]}), expected, w, prefix + " decoded");
  }
}

}  // namespace coco_eval_golden_test
}  // namespace anima
