// Detection box ops against torchvision 0.14 (fixtures: tests/golden/data/detection_boxes.safetensors,
// written by tools/golden/detection_boxes.py; regenerate with
// `/usr/bin/python3 tools/golden/detection_boxes.py`).
//
// Tolerances:
//  - nms / batched_nms / sort order / remove_small_boxes / Matcher / anchors: exact (indices; anchors
//    are small integers and halves computed in float32 in torchvision's order).
//  - box_iou, box_area, clip: exact up to 1 ulp of the scale (same formula, same dtype; clip is exact).
//  - encode / decode: same operations in the same order and dtype; only exp/log may differ by an ulp
//    between glibc and PyTorch's vectorised (Sleef) versions: 4 ulp relative to the output's scale
//    (float32 5e-7, float64 1e-15) is far below any formula error (a wrong weight or a missing clip
//    changes results by > 1e-2).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/detection/anchor_generator.hpp>
#include <anima/detection/box_coder.hpp>
#include <anima/detection/matcher.hpp>
#include <anima/ops/box_ops.hpp>
#include <anima/ops/nms.hpp>

#include "golden/golden.hpp"

namespace anima {
namespace boxes_golden_test {

std::vector<std::int64_t> ints(const Tensor& t) { return to_vector<std::int64_t>(t); }

kernels::BoxCoderWeights weights_of(const golden::Case& c) {
  const io::JsonValue& w = c.arg("weights");
  EXPECT_EQ(w.items.size(), 4u);
  return {std::stod(w.items[0].text), std::stod(w.items[1].text), std::stod(w.items[2].text),
          std::stod(w.items[3].text)};
}

std::vector<std::vector<double>> nested(const golden::Case& c, const std::string& key) {
  std::vector<std::vector<double>> out;
  for (const auto& level : c.arg(key).items) {
    out.emplace_back();
    for (const auto& v : level.items) out.back().push_back(std::stod(v.text));
  }
  return out;
}

double ulp_tol(DType dtype, double ulps) { return ulps * (dtype == DType::Float32 ? 0x1p-24 : 0x1p-53); }

TEST(GoldenDetectionBoxes, EveryCase) {
  std::map<std::string, int> counts;
  for (auto& c : golden::load_family("detection_boxes")) {
    SCOPED_TRACE(c.name);
    ++counts[c.op];
    if (c.op == "nms") {
      const Tensor keep = nms(c.stored("in/boxes"), c.stored("in/scores"), c.number("iou_threshold"));
      EXPECT_EQ(keep.dtype(), DType::Int64);
      EXPECT_EQ(ints(keep), ints(c.stored("out")));
    } else if (c.op == "sort_descending") {
      EXPECT_EQ(detail::nms_order(c.stored("in/scores")), ints(c.stored("out")));
    } else if (c.op == "batched_nms") {
      const Tensor keep =
          batched_nms(c.stored("in/boxes"), c.stored("in/scores"), c.stored("in/idxs"), c.number("iou_threshold"));
      EXPECT_EQ(ints(keep), ints(c.stored("out")));
    } else if (c.op == "box_encode") {
      const detection::BoxCoder coder(weights_of(c));
      golden::expect_close(coder.encode_single(c.stored("in/reference"), c.stored("in/proposals")), c.stored("out"),
                           ulp_tol(c.dtype, 4), c.name);
    } else if (c.op == "box_decode") {
      const detection::BoxCoder coder(weights_of(c), c.number("clip"));
      const Tensor out = coder.decode(c.stored("in/deltas"), {c.stored("in/anchors")});
      golden::expect_close(out, c.stored("out"), ulp_tol(c.dtype, 4), c.name);
    } else if (c.op == "box_iou") {
      golden::expect_close(box_iou(c.stored("in/boxes1"), c.stored("in/boxes2")), c.stored("out"), ulp_tol(c.dtype, 1),
                           c.name);
    } else if (c.op == "box_area") {
      golden::expect_close(box_area(c.stored("in/boxes")), c.stored("out"), ulp_tol(c.dtype, 1), c.name);
    } else if (c.op == "clip_boxes_to_image") {
      const auto size = c.pair("size");
      golden::expect_close(clip_boxes_to_image(c.stored("in/boxes"), size), c.stored("out"), 0.0, c.name);
    } else if (c.op == "remove_small_boxes") {
      EXPECT_EQ(ints(remove_small_boxes(c.stored("in/boxes"), c.number("min_size"))), ints(c.stored("out")));
    } else if (c.op == "anchors") {
      const detection::AnchorGenerator gen(nested(c, "sizes"), nested(c, "aspect_ratios"));
      std::vector<std::array<std::int64_t, 2>> fs;
      for (const auto& f : c.arg("feature_sizes").items)
        fs.push_back({std::stoll(f.items[0].text), std::stoll(f.items[1].text)});
      const Tensor a = gen.anchors(c.pair("image_size"), fs);
      if (c.has("out")) {
        golden::expect_close(a, c.stored("out"), 0.0, c.name);
      } else {
        ASSERT_EQ(a.shape()[0], ints(c.stored("out/count"))[0]);
        const auto rows = ints(c.stored("out/rows"));
        const auto all = to_vector<float>(a), want = to_vector<float>(c.stored("out/anchors"));
        ASSERT_EQ(want.size(), 4 * rows.size());
        std::size_t bad = 0;
        for (std::size_t r = 0; r < rows.size(); ++r)
          for (int k = 0; k < 4; ++k) bad += all[4 * rows[r] + k] != want[4 * r + k];
        EXPECT_EQ(bad, 0u) << "anchor coordinates differ";
        for (std::size_t l = 0; l < gen.num_levels(); ++l) {
          const auto cell = gen.base_anchors(l);
          EXPECT_EQ(cell, to_vector<float>(c.stored("out/cell/" + std::to_string(l)))) << "level " << l;
        }
      }
    } else if (c.op == "matcher") {
      const detection::Matcher m(c.number("high"), c.number("low"), c.flag("allow_low_quality_matches"));
      EXPECT_EQ(ints(m(c.stored("in/quality"))), ints(c.stored("out")));
    } else {
      ADD_FAILURE() << "unknown op " << c.op;
    }
  }
  // Every op of the fixture ran (a renamed case would otherwise go unnoticed).
  for (const char* op : {"nms", "sort_descending", "batched_nms", "box_encode", "box_decode", "box_iou", "box_area",
                         "clip_boxes_to_image", "remove_small_boxes", "anchors", "matcher"})
    EXPECT_GT(counts[op], 0) << op;
}

}  // namespace boxes_golden_test
}  // namespace anima
