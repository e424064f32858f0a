// Mask R-CNN eval against torchvision 0.14: R50-FPN (tests/golden/data/maskrcnn_eval_c{91,3}.safetensors)
// and the light MobileNetV2-FPN (maskrcnn_eval_mnv2_c3.safetensors), written by
// tools/golden/maskrcnn.py; its docstring says what every key holds and how the model,
// weights and images are made: both sides build the same model, fill every parameter and buffer with
// nn::deterministic_fill, scale five head layers by powers of two, and run two images of different sizes
// (3x90x120 and 3x77x103, min_size 128, max_size 200) as one batch).
//
// Tolerances (the fixture's "tolerances" metadata; PyTorch's own float32-vs-float64 errors, recorded in
// "torch_f32_vs_f64", are 1e-6 relative for the FPN and the objectness, 1e-5 on scores and masks, 6e-4 px
// on boxes):
//   feature_rel 1e-4 of each tensor's max |x| for FPN maps and RPN objectness: float32 convolutions
//     summed in another order than oneDNN's (as the classifiers' golden tests, net_golden.hpp).
//   box_abs 0.05 px, score_abs / mask_abs 1e-4 absolute: boxes are decoded from float32 deltas (exp of a
//     value with ~1e-6 relative error, times a ~100 px box), scores and mask probabilities are sigmoid /
//     softmax outputs in [0, 1] of logits with ~1e-5 absolute error.
//   The light model: its deep stack of BatchNorm2d layers with filled statistics makes float32 itself
//     less exact (PyTorch's own float32-vs-float64 error: 5e-5 relative on the FPN, 9e-5 on scores, 7e-4
//     on mask probabilities, 7e-3 px on boxes), so its tolerances are four times those, with the
//     R50 ones as a floor: feature_rel 2e-4, score_abs 4e-4, mask_abs 3e-3, box_abs 0.05 px.
//   Proposals and detections are compared as sets matched by label and IoU > 0.99, so that two rows whose
//   scores tie (the fixture's tie report has RPN scores that tie exactly) may come in either order; the
//   counts must be equal, every row must be matched (measured: all are, in the same places), and every
//   matched pair must agree within the tolerances above. Pasted masks are compared where both boxes
//   truncate to the same pixels (paste_cells; at most kMaxOtherPasteCells rows per image differ). The tie report also has IoUs within 1e-6 of the
//   NMS threshold, where a float32 difference could flip a decision: should a fixture regenerated on
//   another machine hit one, the test says which rows, and the report says why.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <anima/autograd/grad_mode.hpp>
#include <anima/io/safetensors.hpp>
#include <anima/nets/maskrcnn/mask_rcnn.hpp>
#include <anima/nn/inference.hpp>
#include <anima/ops/concat.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

#include "nets/maskrcnn_golden.hpp"

namespace anima::nets::maskrcnn {
namespace {

using fixture::expect_rel_close;

// One fixture: the model it was made with and the tolerances it is held to (see the file comment).
struct GoldenCase {
  std::string name;  // fixture maskrcnn_eval_<name>
  std::int64_t classes;
  bool light;
  double feature_rel, box_abs, score_abs, mask_abs;
};

constexpr double kMatchIoU = 0.99;
constexpr std::size_t kMaxUnmatched = 0;
constexpr std::size_t kMaxOtherPasteCells = 2;  // per image (measured: 1 of 200 rows, light model only)

// torchvision's paste_masks_in_image makes integer decisions: the box, widened by (28 + 2) / 28 around
// its centre (expand_boxes, padding 1), is truncated to int64 and the padded 30x30 mask resized to that
// many pixels. A box within a hundredth of a pixel of torchvision's can still truncate to another pixel;
// its pasted mask is then the same probabilities at another size, not an error to measure.
std::array<std::int64_t, 4> paste_cells(const double* box) {
  const double scale = 30.0 / 28.0;
  const double w_half = (box[2] - box[0]) * 0.5 * scale, h_half = (box[3] - box[1]) * 0.5 * scale;
  const double x_c = (box[2] + box[0]) * 0.5, y_c = (box[3] + box[1]) * 0.5;
  return {static_cast<std::int64_t>(x_c - w_half), static_cast<std::int64_t>(y_c - h_half),
          static_cast<std::int64_t>(x_c + w_half), static_cast<std::int64_t>(y_c + h_half)};
}

void expect_abs_close(const Tensor& actual, const Tensor& expected, double tol, const std::string& what) {
  ASSERT_EQ(shape_str(actual.shape()), shape_str(expected.shape())) << what;
  const std::vector<double> a = to_vector<double>(actual), e = to_vector<double>(expected);
  double worst = 0.0;
  for (std::size_t i = 0; i < e.size(); ++i) worst = std::max(worst, std::fabs(a[i] - e[i]));
  EXPECT_LE(worst, tol) << what << ": max |ours - torchvision| = " << worst;
}

double iou(const double* a, const double* b) {
  const double iw = std::min(a[2], b[2]) - std::max(a[0], b[0]), ih = std::min(a[3], b[3]) - std::max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0.0;
  const double inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

// For each expected row, the index of the unused actual row of the same label with the highest IoU,
// among those above kMatchIoU or with every coordinate within box_abs of the expected one (-1: none).
// The second rule is for tiny boxes: proposals can be a pixel wide, where a box within the coordinate
// tolerance every matched pair is held to can still fall under IoU 0.99. Labels may be empty (proposals).
std::vector<std::int64_t> match_rows(const Tensor& boxes, const std::vector<std::int64_t>& labels,
                                     const Tensor& expected_boxes, const std::vector<std::int64_t>& expected_labels,
                                     double box_abs) {
  const std::vector<double> a = to_vector<double>(boxes), e = to_vector<double>(expected_boxes);
  const std::size_t na = a.size() / 4, ne = e.size() / 4;
  std::vector<bool> used(na, false);
  std::vector<std::int64_t> match(ne, -1);
  for (std::size_t i = 0; i < ne; ++i) {
    double best = 0.0;
    for (std::size_t j = 0; j < na; ++j) {
      if (used[j] || (!labels.empty() && labels[j] != expected_labels[i])) continue;
      const double v = iou(&a[4 * j], &e[4 * i]);
      double coordinate_error = 0.0;
      for (int c = 0; c < 4; ++c) coordinate_error = std::max(coordinate_error, std::fabs(a[4 * j + c] - e[4 * i + c]));
      if ((v > kMatchIoU || coordinate_error <= box_abs) && v > best) {
        best = v;
        match[i] = static_cast<std::int64_t>(j);
      }
    }
    if (match[i] >= 0) used[static_cast<std::size_t>(match[i])] = true;
  }
  return match;
}

// Compares a set of rows (boxes, scores, labels) with the fixture's: equal counts, at most kMaxUnmatched
// unmatched, and every matched pair within the box and score tolerances. Returns the matches.
std::vector<std::int64_t> expect_same_set(const GoldenCase& c, const Tensor& boxes, const Tensor& scores,
                                          const Tensor& labels, const Tensor& expected_boxes,
                                          const Tensor& expected_scores, const Tensor& expected_labels,
                                          const std::string& what) {
  EXPECT_EQ(boxes.shape()[0], expected_boxes.shape()[0]) << what << ": counts differ";
  const std::vector<std::int64_t> l = labels.defined() ? to_vector<std::int64_t>(labels) : std::vector<std::int64_t>{};
  const std::vector<std::int64_t> el =
      expected_labels.defined() ? to_vector<std::int64_t>(expected_labels) : std::vector<std::int64_t>{};
  const std::vector<std::int64_t> match = match_rows(boxes, l, expected_boxes, el, c.box_abs);
  const std::vector<double> a = to_vector<double>(boxes), e = to_vector<double>(expected_boxes);
  const std::vector<double> s = to_vector<double>(scores), es = to_vector<double>(expected_scores);
  std::size_t unmatched = 0, in_place = 0;
  double worst_box = 0.0, worst_score = 0.0;
  for (std::size_t i = 0; i < match.size(); ++i) {
    if (match[i] < 0) {
      ++unmatched;
      continue;
    }
    const auto j = static_cast<std::size_t>(match[i]);
    in_place += j == i ? 1 : 0;
    for (int c = 0; c < 4; ++c) worst_box = std::max(worst_box, std::fabs(a[4 * j + c] - e[4 * i + c]));
    worst_score = std::max(worst_score, std::fabs(s[j] - es[i]));
  }
  std::cout << "[   INFO   ] " << what << ": " << match.size() - unmatched << " of " << match.size() << " matched ("
            << in_place << " in the same place), max box error " << worst_box << " px, max score error " << worst_score
            << std::endl;
  EXPECT_LE(unmatched, kMaxUnmatched) << what;
  EXPECT_LE(worst_box, c.box_abs) << what;
  EXPECT_LE(worst_score, c.score_abs) << what;
  return match;
}

class MaskRcnnGolden : public ::testing::TestWithParam<GoldenCase> {
 protected:
  void SetUp() override {
    file_ = fixture::load_fixture("maskrcnn_eval_" + GetParam().name);
    model_ = fixture::golden_model(GetParam().classes, GetParam().light);
    images_ = fixture::formula_batch();
  }

  const Tensor& expected(const std::string& key) const { return fixture::fixture_tensor(file_, key); }
  void check_proposals_detections_and_masks() const;

  io::SafetensorsFile file_;
  std::shared_ptr<MaskRCNN> model_;
  std::vector<Tensor> images_;
};

TEST_P(MaskRcnnGolden, FeaturePyramidAndObjectness) {
  const GoldenCase& c = GetParam();
  NoGradGuard no_grad;
  const TransformedBatch batch = model_->transform.forward(images_);
  EXPECT_EQ(shape_str(batch.images.tensors.shape()), "[2, 3, 128, 192]");
  const FeatureMaps maps = model_->backbone->forward_maps(batch.images.tensors);
  ASSERT_EQ(maps.size(), 5u);
  for (const auto& [name, map] : maps) {
    expect_rel_close(mean(map, {2, 3}), expected("fpn/" + name + "/mean"), c.feature_rel, "fpn/" + name + "/mean");
    if (name == "pool")
      expect_rel_close(map, expected("fpn/pool/full"), c.feature_rel, "fpn/pool/full");
    else
      expect_rel_close(narrow(narrow(narrow(map, 1, 0, 2), 2, 0, std::min<std::int64_t>(8, map.shape()[2])), 3, 0,
                              std::min<std::int64_t>(8, map.shape()[3])),
                       expected("fpn/" + name + "/slice"), c.feature_rel, "fpn/" + name + "/slice");
  }
  std::vector<Tensor> levels;
  for (const auto& m : maps) levels.push_back(m.second);
  const auto logits = model_->rpn->head->forward_levels(levels).first;
  std::vector<Tensor> flat;
  for (const Tensor& l : logits) flat.push_back(permute_and_flatten(l, 1));
  const Tensor objectness = concat(flat, 1);
  expect_rel_close(reshape(objectness, {2, objectness.shape()[1]}), expected("rpn/objectness"), c.feature_rel,
                   "rpn/objectness");
}

TEST_P(MaskRcnnGolden, ProposalsDetectionsAndMasks) { check_proposals_detections_and_masks(); }

// The same with the model prepared for inference (nn/inference.hpp): the backbone's conv -> frozen
// norm -> relu folded, the heads' conv + relu fused, every conv's weights packed once.
TEST_P(MaskRcnnGolden, ProposalsDetectionsAndMasksPrepared) {
  nn::prepare_inference(*model_);
  check_proposals_detections_and_masks();
}

void MaskRcnnGolden::check_proposals_detections_and_masks() const {
  const GoldenCase& c = GetParam();
  NoGradGuard no_grad;
  const MaskRcnnTrace t = model_->trace(images_);
  for (int n = 0; n < 2; ++n) {
    const std::string i = std::to_string(n);
    expect_same_set(c, t.rpn.boxes[n], t.rpn.scores[n], Tensor(), expected("rpn/proposals/" + i),
                    expected("rpn/scores/" + i), Tensor(), "rpn/proposals/" + i);
  }
  // The box head on the fixture's first 16 proposals of each image: independent of the RPN's ties.
  std::vector<Tensor> first16;
  for (int n = 0; n < 2; ++n) first16.push_back(narrow(expected("rpn/proposals/" + std::to_string(n)), 0, 0, 16));
  const auto [class_logits, box_regression] =
      model_->roi_heads->box_forward(t.features, first16, t.batch.images.image_sizes);
  expect_rel_close(narrow(class_logits, 0, 0, 16), expected("roi/class_logits/0"), c.feature_rel, "roi/class_logits/0");
  expect_rel_close(narrow(class_logits, 0, 16, 16), expected("roi/class_logits/1"), c.feature_rel,
                   "roi/class_logits/1");
  expect_rel_close(narrow(box_regression, 0, 0, 16), expected("roi/box_regression/0"), c.feature_rel,
                   "roi/box_regression/0");
  expect_rel_close(narrow(box_regression, 0, 16, 16), expected("roi/box_regression/1"), c.feature_rel,
                   "roi/box_regression/1");

  const std::vector<ImageDetections> dets = model_->postprocess(t.heads, t.batch.resizes);
  for (int n = 0; n < 2; ++n) {
    const std::string i = std::to_string(n);
    expect_same_set(c, t.heads.boxes[n], t.heads.scores[n], t.heads.labels[n], expected("det/" + i + "/boxes_net"),
                    expected("det/" + i + "/scores"), expected("det/" + i + "/labels"), "det/" + i + "/boxes_net");
    const std::vector<std::int64_t> match =
        expect_same_set(c, dets[n].boxes, dets[n].scores, dets[n].labels, expected("det/" + i + "/boxes"),
                        expected("det/" + i + "/scores"), expected("det/" + i + "/labels"), "det/" + i + "/boxes");
    // Masks of matched detections: the 28x28 probabilities (first 8), the pasted sums, the first two pasted.
    const Tensor& prob28 = expected("mask/" + i + "/prob28");
    const Tensor& sums = expected("mask/" + i + "/sum");
    const Tensor& pasted = expected("mask/" + i + "/pasted");
    const std::vector<double> want_sum = to_vector<double>(sums);
    const std::vector<double> ours_box = to_vector<double>(dets[n].boxes),
                              want_box = to_vector<double>(expected("det/" + i + "/boxes"));
    const Shape& ps = pasted.shape();
    std::size_t other_cells = 0;
    for (std::size_t k = 0; k < match.size(); ++k) {
      if (match[k] < 0) continue;
      const std::int64_t j = match[k], kk = static_cast<std::int64_t>(k);
      if (kk < prob28.shape()[0])
        expect_abs_close(narrow(t.heads.masks[n], 0, j, 1), narrow(prob28, 0, kk, 1), c.mask_abs,
                         "mask/" + i + "/prob28 row " + std::to_string(k));
      if (paste_cells(&ours_box[4 * static_cast<std::size_t>(j)]) != paste_cells(&want_box[4 * k])) {
        ++other_cells;  // a box a hair from a pixel edge: the same probabilities resized to another size
        std::cout << "[   INFO   ] mask/" << i << "/sum row " << k
                  << ": the paste truncated the boxes to different pixels, not compared" << std::endl;
        continue;
      }
      const double got_sum = to_vector<double>(sum(narrow(dets[n].masks, 0, j, 1)))[0];
      EXPECT_NEAR(got_sum, want_sum[k], c.mask_abs * static_cast<double>(ps[1] * ps[2]))
          << "mask/" << i << "/sum row " << k;
      if (kk < ps[0])
        expect_abs_close(reshape(narrow(dets[n].masks, 0, j, 1), {1, ps[1], ps[2]}), narrow(pasted, 0, kk, 1),
                         c.mask_abs, "mask/" + i + "/pasted row " + std::to_string(k));
    }
    EXPECT_LE(other_cells, kMaxOtherPasteCells) << "det/" << i;
  }
}

TEST_P(MaskRcnnGolden, DetectEqualsTheStagesAndTheCheckpointRoundTrips) {
  NoGradGuard no_grad;
  const std::vector<ImageDetections> dets = model_->detect(images_);
  ASSERT_EQ(dets.size(), 2u);
  for (int n = 0; n < 2; ++n) {
    EXPECT_EQ(shape_str(dets[n].masks.shape()), n == 0 ? "[100, 1, 90, 120]" : "[100, 1, 77, 103]");
    EXPECT_EQ(dets[n].labels.dtype(), DType::Int64);
  }
  // The same weights under the names torchvision <= 0.12 wrote, plus BatchNorm's batch counters, load
  // strictly into a model built for the class count the heads say, and detect the same.
  io::StateDict old_names;
  const io::StateDict current = model_->state_dict();
  for (const auto& [name, tensor] : current.items()) {
    std::string n = name;
    const auto replace = [&](const std::string& from, const std::string& to) {
      if (n.rfind(from, 0) == 0) n = to + n.substr(from.size());
    };
    for (int b = 0; b < 4; ++b) {
      replace("backbone.fpn.inner_blocks." + std::to_string(b) + ".0.",
              "backbone.fpn.inner_blocks." + std::to_string(b) + ".");
      replace("backbone.fpn.layer_blocks." + std::to_string(b) + ".0.",
              "backbone.fpn.layer_blocks." + std::to_string(b) + ".");
      replace("roi_heads.mask_head." + std::to_string(b) + ".0.",
              "roi_heads.mask_head.mask_fcn" + std::to_string(b + 1) + ".");
    }
    replace("rpn.head.conv.0.0.", "rpn.head.conv.");
    old_names.insert(n, tensor);
  }
  EXPECT_TRUE(old_names.contains("roi_heads.mask_head.mask_fcn4.weight"));
  old_names.insert("backbone.body.bn1.num_batches_tracked", zeros({}, TensorOptions(DType::Int64)));
  MaskRcnnOptions o;
  o.transform = model_->options.transform;
  auto loaded = maskrcnn_from_state_dict(old_names, o, "old_names.pth");
  EXPECT_EQ(loaded->num_classes(), GetParam().classes);
  EXPECT_EQ(loaded->options.backbone, model_->options.backbone);
  EXPECT_EQ(loaded->options.fpn_channels, model_->options.fpn_channels);
  loaded->train(false);
  const std::vector<ImageDetections> again = loaded->detect(images_);
  for (int n = 0; n < 2; ++n) {
    EXPECT_EQ(to_vector<float>(again[n].boxes), to_vector<float>(dets[n].boxes));
    EXPECT_EQ(to_vector<float>(again[n].masks), to_vector<float>(dets[n].masks));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, MaskRcnnGolden,
                         ::testing::Values(GoldenCase{"c91", 91, false, 1e-4, 0.05, 1e-4, 1e-4},
                                           GoldenCase{"c3", 3, false, 1e-4, 0.05, 1e-4, 1e-4},
                                           GoldenCase{"mnv2_c3", 3, true, 2e-4, 0.05, 4e-4, 3e-3}),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

}  // namespace
}  // namespace anima::nets::maskrcnn
