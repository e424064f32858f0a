// Detection losses (anima/detection/losses.hpp, mask_loss.hpp) against torchvision 0.14's own
// functions — RegionProposalNetwork.compute_loss (with the sampled set fixed), fastrcnn_loss,
// project_masks_on_boxes, maskrcnn_loss — on the fixtures of tests/golden/data/detection_losses.safetensors
// (regenerate: /usr/bin/python3 tools/golden/detection_losses.py), gradcheck in float64, the
// multitask total, and bad inputs.
// Tolerances (golden.hpp): float64 1e-10 relative to each tensor's scale: both sides compute in float64
// from identical inputs and differ only in the order of the sums (we weigh all rows where torchvision
// indexes the picked ones); float32 mask targets 1e-4 (RoIAlign's float32 sums of up to ~16 samples).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/detection/losses.hpp>
#include <anima/ops/concat.hpp>
#include <anima/ops/factory.hpp>

#include "core/expect_error.hpp"
#include "golden/golden.hpp"

namespace anima {
namespace {

using testing::expect_error;

std::vector<golden::Case> family() { return golden::load_family("detection_losses"); }

std::vector<Tensor> per_image(const golden::Case& c, const std::string& key, std::int64_t images) {
  std::vector<Tensor> out;
  for (std::int64_t i = 0; i < images; ++i) out.push_back(c.stored("in/" + key + std::to_string(i)));
  return out;
}

// The bool mask [a] of a list of indices.
Tensor mask_of(const Tensor& idx, std::int64_t a) {
  std::vector<std::int64_t> m(static_cast<std::size_t>(a), 0);
  for (std::int64_t i : to_vector<std::int64_t>(idx)) m[static_cast<std::size_t>(i)] = 1;
  return cast_copy(from_vector(m, {a}, TensorOptions(DType::Int64)), DType::Bool);
}

TEST(DetectionLossesGolden, EveryCase) {
  std::map<std::string, int> counts;
  for (auto& c : family()) {
    SCOPED_TRACE(c.name);
    const double tol = golden::tolerance(c);
    if (c.op == "rpn_loss") {
      ++counts[c.op];
      const Tensor labels = c.stored("in/labels"), targets = c.stored("in/regression_targets");
      const Tensor pos = c.stored("in/sampled_pos"), neg = c.stored("in/sampled_neg");
      ASSERT_GT(pos.numel(), 0);
      ASSERT_GT(neg.numel(), 0);
      {  // sampled set as indices
        const Tensor obj = c.input("objectness"), deltas = c.input("pred_bbox_deltas");
        const RpnLoss l = rpn_loss(obj, deltas, labels, targets, pos, neg);
        c.check({l.objectness, l.box_reg}, tol);
      }
      c.reset();
      {  // ... and as bool masks (the sampler's own form)
        const std::int64_t a = labels.numel();
        const Tensor obj = c.input("objectness"), deltas = c.input("pred_bbox_deltas");
        const RpnLoss l = rpn_loss(obj, deltas, labels, targets, mask_of(pos, a), mask_of(neg, a));
        c.check({l.objectness, l.box_reg}, tol);
      }
    } else if (c.op == "fastrcnn_loss") {
      ++counts[c.op];
      const Tensor logits = c.input("class_logits"), box = c.input("box_regression");
      const Tensor labels = c.stored("in/labels"), targets = c.stored("in/regression_targets");
      const std::vector<std::int64_t> sizes = c.integers("proposals_per_image");
      const FastRcnnLoss l = fastrcnn_loss(logits, box, split(labels, sizes, 0), split(targets, sizes, 0));
      c.check({l.classifier, l.box_reg}, tol);
      c.reset();
      const Tensor logits2 = c.input("class_logits"), box2 = c.input("box_regression");
      const FastRcnnLoss l2 = fastrcnn_loss(logits2, box2, labels, targets);  // the concatenated form
      c.check({l2.classifier, l2.box_reg}, tol);
    } else if (c.op == "mask_targets") {
      ++counts[c.op];
      const Tensor t =
          mask_targets(c.stored("in/gt_masks"), c.stored("in/boxes"), c.stored("in/matched_idxs"), c.integer("M"));
      golden::expect_close(t, c.stored("out"), tol, c.name);
      // not degenerate: the boxes cut both inside and outside the blobs
      const std::vector<double> v = to_vector<double>(c.stored("out"));
      EXPECT_GT(*std::max_element(v.begin(), v.end()), 0.5);
      EXPECT_LT(*std::min_element(v.begin(), v.end()), 0.5);
    } else if (c.op == "maskrcnn_loss") {
      ++counts[c.op];
      const std::int64_t k = c.integer("images");
      const Tensor logits = c.input("mask_logits");
      const Tensor l = maskrcnn_loss(logits, per_image(c, "proposals", k), per_image(c, "gt_masks", k),
                                     per_image(c, "gt_labels", k), per_image(c, "matched_idxs", k));
      c.check(l, tol);
    } else if (c.op == "paste_masks_in_image") {
      ++counts[c.op];  // tests/detect/paste_masks_test.cpp
    } else {
      ADD_FAILURE() << "unknown op " << c.op;
    }
  }
  EXPECT_EQ(counts["rpn_loss"], 3);
  EXPECT_EQ(counts["fastrcnn_loss"], 3);
  EXPECT_EQ(counts["mask_targets"], 3);
  EXPECT_EQ(counts["maskrcnn_loss"], 4);
  EXPECT_EQ(counts["paste_masks_in_image"], 3);
}

golden::Case find(const std::string& name) {
  for (auto& c : family())
    if (c.name == name) return c;
  fail("test", "no golden case ", name);
}

TEST(DetectionLosses, Gradcheck) {
  {
    golden::Case c = find("rpn_two_images");
    const Tensor labels = c.stored("in/labels"), targets = c.stored("in/regression_targets");
    const Tensor pos = c.stored("in/sampled_pos"), neg = c.stored("in/sampled_neg");
    const Tensor obj = c.input("objectness"), deltas = c.input("pred_bbox_deltas");
    for (int which = 0; which < 2; ++which) {
      auto r = gradcheck(
          [&](const std::vector<Tensor>& in) {
            const RpnLoss l = rpn_loss(in[0], in[1], labels, targets, pos, neg);
            return which == 0 ? l.objectness : l.box_reg;
          },
          {obj, deltas});
      EXPECT_TRUE(r.ok) << "rpn output " << which << "\n" << r.report;
    }
  }
  {
    golden::Case c = find("fastrcnn_two_images");
    const Tensor labels = c.stored("in/labels"), targets = c.stored("in/regression_targets");
    const Tensor logits = c.input("class_logits"), box = c.input("box_regression");
    for (int which = 0; which < 2; ++which) {
      auto r = gradcheck(
          [&](const std::vector<Tensor>& in) {
            const FastRcnnLoss l = fastrcnn_loss(in[0], in[1], labels, targets);
            return which == 0 ? l.classifier : l.box_reg;
          },
          {logits, box});
      EXPECT_TRUE(r.ok) << "fastrcnn output " << which << "\n" << r.report;
    }
  }
  {
    // (the smaller two-image case: one image without positives; every logit is a finite-difference pair)
    golden::Case c = find("maskrcnn_image_without_positives");
    const Tensor logits = c.input("mask_logits");
    auto r = gradcheck(
        [&](const std::vector<Tensor>& in) {
          return maskrcnn_loss(in[0], per_image(c, "proposals", 2), per_image(c, "gt_masks", 2),
                               per_image(c, "gt_labels", 2), per_image(c, "matched_idxs", 2));
        },
        {logits});
    EXPECT_TRUE(r.ok) << r.report;
  }
}

TEST(DetectionLosses, EmptyMaskLossIsAZeroThatKeepsTheGraph) {
  golden::Case c = find("maskrcnn_empty");
  Tensor x = contiguous_copy(c.stored("in/mask_logits"));  // [0, C, M, M]
  x.set_requires_grad(true);
  const Tensor l = maskrcnn_loss(x, per_image(c, "proposals", 1), per_image(c, "gt_masks", 1),
                                 per_image(c, "gt_labels", 1), per_image(c, "matched_idxs", 1));
  EXPECT_EQ(item<double>(l), 0.0);
  EXPECT_TRUE(l.requires_grad());
  backward(l);
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().numel(), 0);
}

TEST(DetectionLosses, TotalIsTheSumOfTheNamedLosses) {
  golden::Case r = find("rpn_one_image"), f = find("fastrcnn_faces"), m = find("maskrcnn_faces_m28");
  const Tensor obj = r.input("objectness"), deltas = r.input("pred_bbox_deltas");
  const Tensor logits = f.input("class_logits"), box = f.input("box_regression");
  const Tensor mask_logits = m.input("mask_logits");
  const RpnLoss rl = rpn_loss(obj, deltas, r.stored("in/labels"), r.stored("in/regression_targets"),
                              r.stored("in/sampled_pos"), r.stored("in/sampled_neg"));
  const FastRcnnLoss fl = fastrcnn_loss(logits, box, f.stored("in/labels"), f.stored("in/regression_targets"));
  const Tensor ml = maskrcnn_loss(mask_logits, per_image(m, "proposals", 1), per_image(m, "gt_masks", 1),
                                  per_image(m, "gt_labels", 1), per_image(m, "matched_idxs", 1));
  const DetectionLosses losses = DetectionLosses::from(rl, fl, ml);
  const auto named = losses.named();
  ASSERT_EQ(named.size(), 5u);
  const char* keys[] = {"loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness", "loss_rpn_box_reg"};
  double expected = 0.0;
  for (std::size_t i = 0; i < named.size(); ++i) {
    EXPECT_EQ(named[i].first, keys[i]);
    expected += item<double>(named[i].second);
  }
  EXPECT_GT(expected, 0.0);
  const Tensor total = losses.total();
  EXPECT_NEAR(item<double>(total), expected, 1e-12 * expected);
  backward(total);  // each part's gradient reaches its own input (the parts share none)
  EXPECT_TRUE(obj.grad().defined() && deltas.grad().defined() && logits.grad().defined() && box.grad().defined() &&
              mask_logits.grad().defined());
  // without the mask loss (Faster R-CNN)
  const DetectionLosses no_mask = DetectionLosses::from(rl, fl);
  EXPECT_EQ(no_mask.named().size(), 4u);
  expect_error([] { (void)DetectionLosses{}.total(); }, {"DetectionLosses::total", "no loss"});
}

// Rows the sampler did not pick get exactly zero gradient (as torchvision's index backward).
TEST(DetectionLosses, UnsampledAnchorsGetNoGradient) {
  golden::Case c = find("rpn_few_positives");
  const Tensor obj = c.input("objectness"), deltas = c.input("pred_bbox_deltas");
  const Tensor pos = c.stored("in/sampled_pos"), neg = c.stored("in/sampled_neg");
  const RpnLoss l = rpn_loss(obj, deltas, c.stored("in/labels"), c.stored("in/regression_targets"), pos, neg);
  backward(add(l.objectness, l.box_reg));
  const std::int64_t a = obj.numel();
  std::vector<int> picked(static_cast<std::size_t>(a), 0), positive(static_cast<std::size_t>(a), 0);
  for (std::int64_t i : to_vector<std::int64_t>(pos)) picked[i] = positive[i] = 1;
  for (std::int64_t i : to_vector<std::int64_t>(neg)) picked[i] = 1;
  const auto go = to_vector<double>(obj.grad()), gd = to_vector<double>(deltas.grad());
  for (std::int64_t i = 0; i < a; ++i) {
    if (picked[i]) {
      EXPECT_NE(go[i], 0.0) << "anchor " << i;
    } else {
      EXPECT_EQ(go[i], 0.0) << "anchor " << i;
    }
    for (int j = 0; j < 4 && !positive[i]; ++j) EXPECT_EQ(gd[4 * i + j], 0.0) << "anchor " << i;
  }
}

TEST(DetectionLosses, BadInputs) {
  golden::Case r = find("rpn_two_images");
  const Tensor obj = r.stored("in/objectness"), deltas = r.stored("in/pred_bbox_deltas");
  const Tensor labels = r.stored("in/labels"), targets = r.stored("in/regression_targets");
  const Tensor pos = r.stored("in/sampled_pos"), neg = r.stored("in/sampled_neg");
  const std::int64_t a = obj.numel();
  const TensorOptions i64(DType::Int64);
  expect_error([&] { rpn_loss(obj, slice(deltas, 0, 1, a), labels, targets, pos, neg); },
               {"rpn_loss", "pred_bbox_deltas must be [A, 4]"});
  expect_error([&] { rpn_loss(obj, deltas, slice(labels, 0, 1, a), targets, pos, neg); }, {"rpn_loss", "labels"});
  expect_error(
      [&] {
        rpn_loss(obj, deltas, labels, targets, from_vector<std::int64_t>({0, a}, {2}, i64), neg);
      },
      {"rpn_loss", "sampled_pos index", "out of range"});
  expect_error([&] { rpn_loss(obj, deltas, labels, targets, zeros({0}, i64), zeros({0}, i64)); },
               {"rpn_loss", "no anchor was sampled"});
  expect_error([&] { rpn_loss(obj, deltas, labels, targets, pos, cast_copy(zeros({a - 1}, i64), DType::Bool)); },
               {"rpn_loss", "sampled_neg", "bool mask"});
  {  // a sampled anchor labelled -1 (ignored) is not a valid objectness target
    std::int64_t ignored = -1;
    const auto lv = to_vector<double>(labels);
    for (std::int64_t i = 0; i < a; ++i)
      if (lv[i] < 0) ignored = i;
    ASSERT_GE(ignored, 0);
    expect_error([&] { rpn_loss(obj, deltas, labels, targets, pos, from_vector<std::int64_t>({ignored}, {1}, i64)); },
                 {"rpn_loss", "label -1", "out of range"});
  }

  golden::Case f = find("fastrcnn_two_images");
  const Tensor logits = f.stored("in/class_logits"), box = f.stored("in/box_regression");
  const Tensor flabels = f.stored("in/labels"), ftargets = f.stored("in/regression_targets");
  const std::int64_t n = logits.shape()[0], c = logits.shape()[1];
  std::vector<std::int64_t> bad = to_vector<std::int64_t>(flabels);
  bad[3] = c;
  expect_error([&] { fastrcnn_loss(logits, box, from_vector(bad, {n}, i64), ftargets); },
               {"fastrcnn_loss", "label 3", "proposal 3", "out of range"});
  bad[3] = -1;
  expect_error([&] { fastrcnn_loss(logits, box, from_vector(bad, {n}, i64), ftargets); },
               {"fastrcnn_loss", "label -1"});
  expect_error([&] { fastrcnn_loss(logits, slice(box, 1, 0, 4 * c - 4), flabels, ftargets); },
               {"fastrcnn_loss", "box_regression must be [N, 4C]"});
  expect_error([&] { fastrcnn_loss(logits, box, slice(flabels, 0, 1, n), ftargets); },
               {"fastrcnn_loss", "labels must be"});
  expect_error([&] { fastrcnn_loss(logits, box, flabels, slice(ftargets, 0, 1, n)); },
               {"fastrcnn_loss", "regression_targets must be [N, 4]"});
  expect_error([&] { fastrcnn_loss(logits, box, std::vector<Tensor>{flabels}, std::vector<Tensor>{}); },
               {"fastrcnn_loss", "same length"});

  golden::Case m = find("maskrcnn_two_images");
  const Tensor ml = m.stored("in/mask_logits");
  auto props = per_image(m, "proposals", 2), masks = per_image(m, "gt_masks", 2);
  auto glabels = per_image(m, "gt_labels", 2), idxs = per_image(m, "matched_idxs", 2);
  expect_error([&] { maskrcnn_loss(slice(ml, 0, 1, ml.shape()[0]), props, masks, glabels, idxs); },
               {"maskrcnn_loss", "rows", "positive proposals"});
  expect_error([&] { maskrcnn_loss(ml, props, masks, glabels, {idxs[0]}); }, {"maskrcnn_loss", "one entry per image"});
  {
    auto wrong = glabels;
    std::vector<std::int64_t> v = to_vector<std::int64_t>(wrong[1]);
    for (auto& x : v) x = ml.shape()[1];  // one past the last class
    wrong[1] = from_vector(v, {static_cast<std::int64_t>(v.size())}, i64);
    expect_error([&] { maskrcnn_loss(ml, props, masks, wrong, idxs); }, {"maskrcnn_loss", "image 1", "out of range"});
  }
  {
    auto wrong = idxs;
    const std::int64_t g = masks[0].shape()[0];
    std::vector<std::int64_t> v = to_vector<std::int64_t>(wrong[0]);
    v[0] = g;
    wrong[0] = from_vector(v, {static_cast<std::int64_t>(v.size())}, i64);
    expect_error([&] { maskrcnn_loss(ml, props, masks, glabels, wrong); },
                 {"mask_targets", "matched index", "out of range"});
  }
  expect_error([&] { mask_targets(masks[0], props[0], slice(idxs[0], 0, 1, idxs[0].numel()), 28); },
               {"mask_targets", "matched_idxs must be int64 [P]"});
  expect_error([&] { mask_targets(reshape(masks[0], {-1}), props[0], idxs[0], 28); },
               {"mask_targets", "gt_masks must be [G, H, W]"});
  expect_error([&] { mask_targets(masks[0], props[0], idxs[0], 0); }, {"mask_targets", "M must be positive"});
}

}  // namespace
}  // namespace anima
