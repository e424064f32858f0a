// Mask R-CNN R50-FPN eval against torchvision 0.14 (tests/golden/data/maskrcnn_eval_c{91,3}.safetensors,
// written by tools/golden/maskrcnn.py; its docstring says what every key holds and how the model,
// weights and images are made: both sides build the same model, fill every parameter and buffer with
// nn::deterministic_fill, scale five head layers by powers of two, and run two images of different sizes
// (3x90x120 and 3x77x103, min_size 128, max_size 200) as one batch).
//
// Tolerances (the fixture's "tolerances" metadata; PyTorch's own float32-vs-float64 errors, recorded in
// "torch_f32_vs_f64", are 1e-6 relative for the FPN and the objectness, 1e-5 on scores and masks, 6e-4 px
// on boxes):
//   kFeatureRel 1e-4 of each tensor's max |x| for FPN maps and RPN objectness: float32 convolutions
//     summed in another order than oneDNN's (as the classifiers' golden tests, net_golden.hpp).
//   kBoxAbs 0.05 px, kScoreAbs / kMaskAbs 1e-4 absolute: boxes are decoded from float32 deltas (exp of a
//     value with ~1e-6 relative error, times a ~100 px box), scores and mask probabilities are sigmoid /
//     softmax outputs in [0, 1] of logits with ~1e-5 absolute error.
//   Proposals and detections are compared as sets matched by label and IoU > 0.99, so that two rows whose
//   scores tie (the fixture's tie report has RPN scores that tie exactly) may come in either order; the
//   counts must be equal, every row must be matched (measured: all are, in the same places), and every
//   matched pair must agree within the tolerances above. The tie report also has IoUs within 1e-6 of the
//   NMS threshold, where a float32 difference could flip a decision: should a fixture regenerated on
//   another machine hit one, the test says which rows, and the report says why.
#include <algorithm>
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
#include <anima/ops/concat.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

#include "nets/maskrcnn_golden.hpp"

namespace anima::nets::maskrcnn {
namespace {

using fixture::expect_rel_close;

constexpr double kFeatureRel = 1e-4;
constexpr double kBoxAbs = 0.05;
constexpr double kScoreAbs = 1e-4;
constexpr double kMaskAbs = 1e-4;
constexpr double kMatchIoU = 0.99;
constexpr std::size_t kMaxUnmatched = 0;

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

// For each expected row, the index of the unused actual row of the same label with the highest IoU
// above kMatchIoU (-1: none). Labels may be empty (proposals: no labels).
std::vector<std::int64_t> match_rows(const Tensor& boxes, const std::vector<std::int64_t>& labels,
                                     const Tensor& expected_boxes, const std::vector<std::int64_t>& expected_labels) {
  const std::vector<double> a = to_vector<double>(boxes), e = to_vector<double>(expected_boxes);
  const std::size_t na = a.size() / 4, ne = e.size() / 4;
  std::vector<bool> used(na, false);
  std::vector<std::int64_t> match(ne, -1);
  for (std::size_t i = 0; i < ne; ++i) {
    double best = kMatchIoU;
    for (std::size_t j = 0; j < na; ++j) {
      if (used[j] || (!labels.empty() && labels[j] != expected_labels[i])) continue;
      const double v = iou(&a[4 * j], &e[4 * i]);
      if (v > best) {
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
std::vector<std::int64_t> expect_same_set(const Tensor& boxes, const Tensor& scores, const Tensor& labels,
                                          const Tensor& expected_boxes, const Tensor& expected_scores,
                                          const Tensor& expected_labels, const std::string& what) {
  EXPECT_EQ(boxes.shape()[0], expected_boxes.shape()[0]) << what << ": counts differ";
  const std::vector<std::int64_t> l = labels.defined() ? to_vector<std::int64_t>(labels) : std::vector<std::int64_t>{};
  const std::vector<std::int64_t> el =
      expected_labels.defined() ? to_vector<std::int64_t>(expected_labels) : std::vector<std::int64_t>{};
  const std::vector<std::int64_t> match = match_rows(boxes, l, expected_boxes, el);
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
  EXPECT_LE(worst_box, kBoxAbs) << what;
  EXPECT_LE(worst_score, kScoreAbs) << what;
  return match;
}

class MaskRcnnGolden : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    file_ = fixture::load_fixture("maskrcnn_eval_c" + std::to_string(GetParam()));
    model_ = fixture::golden_model(GetParam());
    images_ = fixture::formula_batch();
  }

  const Tensor& expected(const std::string& key) const { return fixture::fixture_tensor(file_, key); }

  io::SafetensorsFile file_;
  std::shared_ptr<MaskRCNN> model_;
  std::vector<Tensor> images_;
};

TEST_P(MaskRcnnGolden, FeaturePyramidAndObjectness) {
  NoGradGuard no_grad;
  const TransformedBatch batch = model_->transform.forward(images_);
  EXPECT_EQ(shape_str(batch.images.tensors.shape()), "[2, 3, 128, 192]");
  const FeatureMaps maps = model_->backbone->forward_maps(batch.images.tensors);
  ASSERT_EQ(maps.size(), 5u);
  for (const auto& [name, map] : maps) {
    expect_rel_close(mean(map, {2, 3}), expected("fpn/" + name + "/mean"), kFeatureRel, "fpn/" + name + "/mean");
    if (name == "pool")
      expect_rel_close(map, expected("fpn/pool/full"), kFeatureRel, "fpn/pool/full");
    else
      expect_rel_close(narrow(narrow(narrow(map, 1, 0, 2), 2, 0, std::min<std::int64_t>(8, map.shape()[2])), 3, 0,
                              std::min<std::int64_t>(8, map.shape()[3])),
                       expected("fpn/" + name + "/slice"), kFeatureRel, "fpn/" + name + "/slice");
  }
  std::vector<Tensor> levels;
  for (const auto& m : maps) levels.push_back(m.second);
  const auto logits = model_->rpn->head->forward_levels(levels).first;
  std::vector<Tensor> flat;
  for (const Tensor& l : logits) flat.push_back(permute_and_flatten(l, 1));
  const Tensor objectness = concat(flat, 1);
  expect_rel_close(reshape(objectness, {2, objectness.shape()[1]}), expected("rpn/objectness"), kFeatureRel,
                   "rpn/objectness");
}

TEST_P(MaskRcnnGolden, ProposalsDetectionsAndMasks) {
  NoGradGuard no_grad;
  const MaskRcnnTrace t = model_->trace(images_);
  for (int n = 0; n < 2; ++n) {
    const std::string i = std::to_string(n);
    expect_same_set(t.rpn.boxes[n], t.rpn.scores[n], Tensor(), expected("rpn/proposals/" + i),
                    expected("rpn/scores/" + i), Tensor(), "rpn/proposals/" + i);
  }
  // The box head on the fixture's first 16 proposals of each image: independent of the RPN's ties.
  std::vector<Tensor> first16;
  for (int n = 0; n < 2; ++n) first16.push_back(narrow(expected("rpn/proposals/" + std::to_string(n)), 0, 0, 16));
  const auto [class_logits, box_regression] =
      model_->roi_heads->box_forward(t.features, first16, t.batch.images.image_sizes);
  expect_rel_close(narrow(class_logits, 0, 0, 16), expected("roi/class_logits/0"), kFeatureRel, "roi/class_logits/0");
  expect_rel_close(narrow(class_logits, 0, 16, 16), expected("roi/class_logits/1"), kFeatureRel, "roi/class_logits/1");
  expect_rel_close(narrow(box_regression, 0, 0, 16), expected("roi/box_regression/0"), kFeatureRel,
                   "roi/box_regression/0");
  expect_rel_close(narrow(box_regression, 0, 16, 16), expected("roi/box_regression/1"), kFeatureRel,
                   "roi/box_regression/1");

  const std::vector<ImageDetections> dets = model_->postprocess(t.heads, t.batch.resizes);
  for (int n = 0; n < 2; ++n) {
    const std::string i = std::to_string(n);
    expect_same_set(t.heads.boxes[n], t.heads.scores[n], t.heads.labels[n], expected("det/" + i + "/boxes_net"),
                    expected("det/" + i + "/scores"), expected("det/" + i + "/labels"), "det/" + i + "/boxes_net");
    const std::vector<std::int64_t> match =
        expect_same_set(dets[n].boxes, dets[n].scores, dets[n].labels, expected("det/" + i + "/boxes"),
                        expected("det/" + i + "/scores"), expected("det/" + i + "/labels"), "det/" + i + "/boxes");
    // Masks of matched detections: the 28x28 probabilities (first 8), the pasted sums, the first two pasted.
    const Tensor& prob28 = expected("mask/" + i + "/prob28");
    const Tensor& sums = expected("mask/" + i + "/sum");
    const Tensor& pasted = expected("mask/" + i + "/pasted");
    const std::vector<double> want_sum = to_vector<double>(sums);
    const Shape& ps = pasted.shape();
    for (std::size_t k = 0; k < match.size(); ++k) {
      if (match[k] < 0) continue;
      const std::int64_t j = match[k], kk = static_cast<std::int64_t>(k);
      if (kk < prob28.shape()[0])
        expect_abs_close(narrow(t.heads.masks[n], 0, j, 1), narrow(prob28, 0, kk, 1), kMaskAbs,
                         "mask/" + i + "/prob28 row " + std::to_string(k));
      const double got_sum = to_vector<double>(sum(narrow(dets[n].masks, 0, j, 1)))[0];
      EXPECT_NEAR(got_sum, want_sum[k], kMaskAbs * static_cast<double>(ps[1] * ps[2]))
          << "mask/" << i << "/sum row " << k;
      if (kk < ps[0])
        expect_abs_close(reshape(narrow(dets[n].masks, 0, j, 1), {1, ps[1], ps[2]}), narrow(pasted, 0, kk, 1), kMaskAbs,
                         "mask/" + i + "/pasted row " + std::to_string(k));
    }
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
  EXPECT_EQ(loaded->num_classes(), GetParam());
  loaded->train(false);
  const std::vector<ImageDetections> again = loaded->detect(images_);
  for (int n = 0; n < 2; ++n) {
    EXPECT_EQ(to_vector<float>(again[n].boxes), to_vector<float>(dets[n].boxes));
    EXPECT_EQ(to_vector<float>(again[n].masks), to_vector<float>(dets[n].masks));
  }
}

INSTANTIATE_TEST_SUITE_P(Classes, MaskRcnnGolden, ::testing::Values(91, 3),
                         [](const ::testing::TestParamInfo<int>& info) { return "c" + std::to_string(info.param); });

}  // namespace
}  // namespace anima::nets::maskrcnn
