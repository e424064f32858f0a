// Mask R-CNN's RoI heads (anima/nets/maskrcnn/roi_heads.hpp) without fixtures: torchvision 0.14's
// parameter names and shapes, nn::ConvTranspose2d's arithmetic, postprocess_detections on hand-built
// logits and deltas whose answer is known (score threshold, per-class NMS, clipping, small boxes, the
// detection cap), maskrcnn_inference's channel pick, eval output shapes, and training: GT boxes added
// to the proposals, matching, an injected sampler, regression targets, the box loss recomputed from
// the head outputs, and gradients reaching fc6, the mask head and the features.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <anima/autograd/engine.hpp>
#include <anima/nets/maskrcnn/roi_heads.hpp>

namespace anima::nets::maskrcnn {
namespace {

// Narrow heads (8 channels, fc width 32, mask convs 8 wide) so forward and backward are quick.
RoiHeadsOptions small_options() {
  RoiHeadsOptions o;
  o.in_channels = 8;
  o.representation_size = 32;
  o.mask_layers = {8, 8, 8, 8};
  o.mask_dim_reduced = 8;
  return o;
}

// FPN-like maps of a batch of `n` images padded to h x w: "0".."3" at strides 4..32, then "pool".
FeatureMaps make_features(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, Generator& gen,
                          bool requires_grad = false) {
  FeatureMaps maps;
  for (int l = 0; l < 4; ++l)
    maps.emplace_back(std::to_string(l), randn({n, c, h >> (l + 2), w >> (l + 2)},
                                               TensorOptions().with_requires_grad(requires_grad), gen));
  maps.emplace_back("pool",
                    randn({n, c, std::max<std::int64_t>(h >> 6, 1), std::max<std::int64_t>(w >> 6, 1)}, {}, gen));
  return maps;
}

Tensor boxes_tensor(const std::vector<float>& v) {
  return from_vector<float>(v, {static_cast<std::int64_t>(v.size() / 4), 4});
}

double abs_sum(const Tensor& t) {
  double s = 0;
  for (double v : to_vector<double>(t)) s += std::fabs(v);
  return s;
}

TEST(MaskRcnnRoiHeads, StateDictHasTorchvisionNamesAndShapes) {
  RoIHeads heads(91);
  const io::StateDict sd = heads.state_dict();
  const std::map<std::string, Shape> want = {
      {"box_head.fc6.weight", {1024, 256 * 7 * 7}},
      {"box_head.fc6.bias", {1024}},
      {"box_head.fc7.weight", {1024, 1024}},
      {"box_head.fc7.bias", {1024}},
      {"box_predictor.cls_score.weight", {91, 1024}},
      {"box_predictor.cls_score.bias", {91}},
      {"box_predictor.bbox_pred.weight", {364, 1024}},
      {"box_predictor.bbox_pred.bias", {364}},
      {"mask_head.0.0.weight", {256, 256, 3, 3}},
      {"mask_head.0.0.bias", {256}},
      {"mask_head.1.0.weight", {256, 256, 3, 3}},
      {"mask_head.1.0.bias", {256}},
      {"mask_head.2.0.weight", {256, 256, 3, 3}},
      {"mask_head.2.0.bias", {256}},
      {"mask_head.3.0.weight", {256, 256, 3, 3}},
      {"mask_head.3.0.bias", {256}},
      {"mask_predictor.conv5_mask.weight", {256, 256, 2, 2}},  // ConvTranspose2d: [in, out, kh, kw]
      {"mask_predictor.conv5_mask.bias", {256}},
      {"mask_predictor.mask_fcn_logits.weight", {91, 256, 1, 1}},
      {"mask_predictor.mask_fcn_logits.bias", {91}},
  };
  std::set<std::string> names;
  for (const auto& [name, t] : sd.items()) {
    names.insert(name);
    const auto it = want.find(name);
    ASSERT_NE(it, want.end()) << "unexpected key " << name;
    EXPECT_EQ(t.shape(), it->second) << name;
  }
  EXPECT_EQ(names.size(), want.size());
  EXPECT_EQ(heads.named_parameters().size(), want.size());
  // torchvision's initialisation: mask head biases 0, weights kaiming_normal_(fan_out = 256·9, relu).
  for (int i = 0; i < 4; ++i) EXPECT_EQ(abs_sum(sd.at("mask_head." + std::to_string(i) + ".0.bias")), 0.0);
  const std::vector<double> w = to_vector<double>(sd.at("mask_head.0.0.weight"));
  double sq = 0;
  for (double v : w) sq += v * v;
  EXPECT_NEAR(std::sqrt(sq / static_cast<double>(w.size())), std::sqrt(2.0 / (256 * 9)), 0.002);
  EXPECT_GT(abs_sum(sd.at("mask_predictor.conv5_mask.bias")), 0.0);  // PyTorch's default bias, not 0
  // A state dict of the same names loads strictly.
  RoIHeads other(91);
  EXPECT_NO_THROW(other.load_state_dict(sd));
  EXPECT_THROW(RoIHeads(1), Error);  // background only
}

TEST(MaskRcnnRoiHeads, ConvTranspose2dPlacesEachKernelCopyAtStride) {
  nn::ConvTranspose2d up(1, 1, 2, 2);
  EXPECT_EQ(up.weight.shape(), (Shape{1, 1, 2, 2}));
  copy_into(up.weight, from_vector<float>({1, 10, 100, 1000}, {1, 1, 2, 2}));
  copy_into(up.bias, from_vector<float>({0.5f}, {1}));
  const Tensor y = up.forward(from_vector<float>({1, 2, 3, 4}, {1, 1, 2, 2}));
  ASSERT_EQ(y.shape(), (Shape{1, 1, 4, 4}));
  // y[2i + a, 2j + b] = x[i, j]·w[a, b] + bias
  const std::vector<float> want = {1.5f, 10.5f, 2.5f, 20.5f, 100.5f, 1000.5f, 200.5f, 2000.5f,
                                   3.5f, 30.5f, 4.5f, 40.5f, 300.5f, 3000.5f, 400.5f, 4000.5f};
  EXPECT_EQ(to_vector<float>(y), want);
  nn::ConvTranspose2d wide(4, 6, 3, 1, 1, 0, 2);  // groups 2: weight [in, out / groups, kh, kw]
  EXPECT_EQ(wide.weight.shape(), (Shape{4, 3, 3, 3}));
  EXPECT_EQ(wide.forward(zeros({1, 4, 5, 5})).shape(), (Shape{1, 6, 5, 5}));
  EXPECT_THROW(nn::ConvTranspose2d(3, 4, 2, 2, 0, 0, 2), Error);  // 3 channels, 2 groups
}

// One image 100 (h) x 120 (w), three classes. Logits are log-probabilities, so the softmax scores are the
// probabilities below; deltas are 0 except one, so the decoded boxes are the proposals.
struct HandCase {
  std::vector<Tensor> proposals{boxes_tensor({
      10,  10, 50,     50,   // p0: (0.1, 0.8, 0.1)
      12,  12, 52,     52,   // p1: (0.22, 0.7, 0.08), IoU 0.82 with p0 -> suppressed in both classes
      60,  60, 90,     90,   // p2: (0.5, 0.04, 0.46), class 2 delta dx = 1 -> shifted by 30/10 = 3
      100, 80, 140,    130,  // p3: (0.33, 0.6, 0.07), clipped to (100, 80, 120, 100)
      5,   5,  5.005f, 30,   // p4: (0.02, 0.96, 0.02), width 0.005 < 1e-2 -> removed
  })};
  std::vector<ImageSize> sizes{{100, 120}};
  Tensor logits, deltas;
  HandCase() {
    const float probs[5][3] = {
        {0.1f, 0.8f, 0.1f}, {0.22f, 0.7f, 0.08f}, {0.5f, 0.04f, 0.46f}, {0.33f, 0.6f, 0.07f}, {0.02f, 0.96f, 0.02f}};
    std::vector<float> l, d(5 * 12, 0.0f);
    for (const auto& row : probs)
      for (float p : row) l.push_back(std::log(p));
    d[2 * 12 + 2 * 4 + 0] = 1.0f;  // p2, class 2, dx
    logits = from_vector<float>(l, {5, 3});
    deltas = from_vector<float>(d, {5, 12});
  }
};

TEST(MaskRcnnRoiHeads, PostprocessKeepsScoresAboveThresholdPerClassNmsAndClips) {
  RoIHeads heads(3, small_options());
  const HandCase hc;
  RoiHeadsOutput out;
  heads.postprocess_detections(hc.logits, hc.deltas, hc.proposals, hc.sizes, out);
  ASSERT_EQ(out.boxes.size(), 1u);
  ASSERT_EQ(out.boxes[0].shape(), (Shape{5, 4}));
  EXPECT_EQ(out.labels[0].dtype(), DType::Int64);
  EXPECT_EQ(to_vector<std::int64_t>(out.labels[0]), (std::vector<std::int64_t>{1, 1, 2, 2, 2}));
  const std::vector<float> want_scores = {0.8f, 0.6f, 0.46f, 0.1f, 0.07f};
  const std::vector<float> scores = to_vector<float>(out.scores[0]);
  ASSERT_EQ(scores.size(), 5u);
  for (std::size_t k = 0; k < 5; ++k) EXPECT_NEAR(scores[k], want_scores[k], 1e-5) << k;
  const std::vector<float> want_boxes = {10, 10, 50, 50, 100, 80, 120, 100, 63,  60,
                                         93, 90, 10, 10, 50,  50, 100, 80,  120, 100};
  const std::vector<float> boxes = to_vector<float>(out.boxes[0]);
  for (std::size_t k = 0; k < want_boxes.size(); ++k) EXPECT_NEAR(boxes[k], want_boxes[k], 1e-4) << k;

  heads.options.detections_per_img = 3;  // the cap keeps the highest scores
  heads.postprocess_detections(hc.logits, hc.deltas, hc.proposals, hc.sizes, out);
  EXPECT_EQ(to_vector<std::int64_t>(out.labels[0]), (std::vector<std::int64_t>{1, 1, 2}));
  EXPECT_NEAR(item<float>(narrow(out.scores[0], 0, 2, 1)), 0.46f, 1e-5);

  heads.options.detections_per_img = 100;
  heads.options.score_thresh = 0.5;  // drops everything but the two class-1 survivors (0.8, 0.6)
  heads.postprocess_detections(hc.logits, hc.deltas, hc.proposals, hc.sizes, out);
  EXPECT_EQ(to_vector<std::int64_t>(out.labels[0]), (std::vector<std::int64_t>{1, 1}));

  // Bad shapes are errors naming the op.
  EXPECT_THROW(heads.postprocess_detections(hc.logits, narrow(hc.deltas, 1, 0, 8), hc.proposals, hc.sizes, out), Error);
  EXPECT_THROW(heads.postprocess_detections(hc.logits, hc.deltas, hc.proposals, {}, out), Error);
}

TEST(MaskRcnnRoiHeads, ScoreThresholdIsStrict) {
  RoIHeads heads(2, small_options());
  const std::vector<Tensor> proposals{boxes_tensor({10, 10, 20, 20})};
  const Tensor logits = zeros({1, 2});  // softmax: exactly 0.5, 0.5
  const Tensor deltas = zeros({1, 8});
  RoiHeadsOutput out;
  heads.options.score_thresh = 0.5;
  heads.postprocess_detections(logits, deltas, proposals, {{32, 32}}, out);
  EXPECT_EQ(out.boxes[0].shape()[0], 0);
  EXPECT_EQ(out.labels[0].shape(), (Shape{0}));
  heads.options.score_thresh = 0.4999;
  heads.postprocess_detections(logits, deltas, proposals, {{32, 32}}, out);
  ASSERT_EQ(out.boxes[0].shape()[0], 1);
  EXPECT_EQ(item<float>(out.scores[0]), 0.5f);
}

TEST(MaskRcnnRoiHeads, PostprocessCapsAtOneHundredByScore) {
  RoIHeads heads(2, small_options());
  std::vector<float> b, l;
  for (int k = 0; k < 150; ++k) {  // 150 disjoint 8x8 boxes, class-1 logit rising with k
    const float x = static_cast<float>((k % 15) * 10), y = static_cast<float>((k / 15) * 10);
    b.insert(b.end(), {x, y, x + 8, y + 8});
    l.insert(l.end(), {0.0f, 0.01f * static_cast<float>(k)});
  }
  RoiHeadsOutput out;
  heads.postprocess_detections(from_vector<float>(l, {150, 2}), zeros({150, 8}), {boxes_tensor(b)}, {{200, 300}}, out);
  ASSERT_EQ(out.boxes[0].shape(), (Shape{100, 4}));
  const std::vector<float> s = to_vector<float>(out.scores[0]);
  for (std::size_t k = 1; k < s.size(); ++k) EXPECT_GT(s[k - 1], s[k]);
  // The kept ones are proposals 149 .. 50: the first box is proposal 149's.
  const std::vector<float> first = to_vector<float>(narrow(out.boxes[0], 0, 0, 1));
  EXPECT_EQ(first, (std::vector<float>{140, 90, 148, 98}));
  const float dropped_best = 1.0f / (1.0f + std::exp(-0.49f));  // proposal 49's class-1 probability
  EXPECT_GT(s.back(), dropped_best);
}

TEST(MaskRcnnRoiHeads, MaskInferencePicksEachLabelsChannel) {
  const Tensor logits = reshape(arange(0, 36), {3, 3, 2, 2});  // [D = 3, C = 3, 2, 2]
  const std::vector<Tensor> masks =
      maskrcnn_inference(logits, {from_vector<std::int64_t>({2, 1}, {2}), from_vector<std::int64_t>({1}, {1})});
  ASSERT_EQ(masks.size(), 2u);
  ASSERT_EQ(masks[0].shape(), (Shape{2, 1, 2, 2}));
  ASSERT_EQ(masks[1].shape(), (Shape{1, 1, 2, 2}));
  const auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  const std::vector<float> m0 = to_vector<float>(masks[0]), m1 = to_vector<float>(masks[1]);
  for (int p = 0; p < 4; ++p) {
    EXPECT_NEAR(m0[p], sig(0 * 12 + 2 * 4 + p), 1e-6);      // detection 0, channel 2
    EXPECT_NEAR(m0[4 + p], sig(1 * 12 + 1 * 4 + p), 1e-6);  // detection 1, channel 1
    EXPECT_NEAR(m1[p], sig(2 * 12 + 1 * 4 + p), 1e-6);      // detection 2, channel 1
  }
  EXPECT_THROW(maskrcnn_inference(logits, {from_vector<std::int64_t>({3, 0, 0}, {3})}), Error);  // label 3 of 3
  EXPECT_THROW(maskrcnn_inference(logits, {from_vector<std::int64_t>({1}, {1})}), Error);        // 1 label, 3 rows
}

TEST(MaskRcnnRoiHeads, EvalGivesDetectionsAndMaskProbabilitiesPerImage) {
  Generator gen(11);
  RoIHeads heads(3, small_options());
  heads.train(false);
  const FeatureMaps maps = make_features(2, 8, 64, 64, gen);
  const std::vector<ImageSize> sizes{{64, 64}, {50, 60}};
  std::vector<Tensor> proposals;
  for (int i = 0; i < 2; ++i) {
    const std::vector<float> u = to_vector<float>(rand({20, 4}, {}, gen));
    std::vector<float> b;
    for (int k = 0; k < 20; ++k) {  // boxes of 8..40 pixels anywhere in (and partly beyond) the image
      const float x = u[4 * k] * 50, y = u[4 * k + 1] * 40;
      b.insert(b.end(), {x, y, x + 8 + 32 * u[4 * k + 2], y + 8 + 32 * u[4 * k + 3]});
    }
    proposals.push_back(boxes_tensor(b));
  }
  const RoiHeadsOutput out = heads.forward(maps, proposals, sizes);
  EXPECT_EQ(out.class_logits.shape(), (Shape{40, 3}));
  EXPECT_EQ(out.box_regression.shape(), (Shape{40, 12}));
  EXPECT_FALSE(out.loss_classifier.defined());
  ASSERT_EQ(out.boxes.size(), 2u);
  ASSERT_EQ(out.masks.size(), 2u);
  std::int64_t total = 0;
  for (std::size_t i = 0; i < 2; ++i) {
    const std::int64_t d = out.boxes[i].shape()[0];
    total += d;
    EXPECT_GT(d, 0) << i;
    EXPECT_LE(d, 100);
    EXPECT_EQ(out.boxes[i].shape(), (Shape{d, 4}));
    EXPECT_EQ(out.scores[i].shape(), (Shape{d}));
    EXPECT_EQ(out.labels[i].shape(), (Shape{d}));
    EXPECT_EQ(out.labels[i].dtype(), DType::Int64);
    EXPECT_EQ(out.masks[i].shape(), (Shape{d, 1, 28, 28}));
    const std::vector<float> b = to_vector<float>(out.boxes[i]), s = to_vector<float>(out.scores[i]);
    for (std::int64_t k = 0; k < d; ++k) {
      EXPECT_GT(s[k], 0.05f);
      if (k > 0) {
        EXPECT_LE(s[k], s[k - 1]);
      }
      EXPECT_GE(b[4 * k], 0.0f);
      EXPECT_GE(b[4 * k + 1], 0.0f);
      EXPECT_LE(b[4 * k + 2], static_cast<float>(sizes[i][1]));
      EXPECT_LE(b[4 * k + 3], static_cast<float>(sizes[i][0]));
    }
    for (std::int64_t l : to_vector<std::int64_t>(out.labels[i])) EXPECT_TRUE(l == 1 || l == 2);
    for (float m : to_vector<float>(out.masks[i])) {
      EXPECT_GE(m, 0.0f);
      EXPECT_LE(m, 1.0f);
    }
  }
  ASSERT_EQ(out.mask_logits.shape(), (Shape{total, 3, 28, 28}));
  // Image 0's first mask is the sigmoid of its label's channel of the mask logits.
  const std::int64_t l0 = to_vector<std::int64_t>(out.labels[0])[0];
  const std::vector<float> logit = to_vector<float>(narrow(narrow(out.mask_logits, 0, 0, 1), 1, l0, 1));
  const std::vector<float> m = to_vector<float>(narrow(out.masks[0], 0, 0, 1));
  for (std::size_t p = 0; p < m.size(); ++p) EXPECT_NEAR(m[p], 1.0 / (1.0 + std::exp(-logit[p])), 1e-6);

  // No detection: empty outputs of the right shapes.
  heads.options.score_thresh = 1.0;
  const RoiHeadsOutput none = heads.forward(maps, proposals, sizes);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(none.boxes[i].shape(), (Shape{0, 4}));
    EXPECT_EQ(none.masks[i].shape(), (Shape{0, 1, 28, 28}));
  }
  // An image without proposals gets no detections; the other is unaffected.
  heads.options.score_thresh = 0.05;
  const RoiHeadsOutput half = heads.forward(maps, {zeros({0, 4}), proposals[1]}, sizes);
  EXPECT_EQ(half.boxes[0].shape(), (Shape{0, 4}));
  EXPECT_EQ(half.masks[0].shape(), (Shape{0, 1, 28, 28}));
  EXPECT_EQ(to_vector<float>(half.boxes[1]), to_vector<float>(out.boxes[1]));
  EXPECT_EQ(to_vector<float>(half.masks[1]), to_vector<float>(out.masks[1]));
  const RoiHeadsOutput empty = heads.forward(maps, {zeros({0, 4}), zeros({0, 4})}, sizes);
  EXPECT_EQ(empty.class_logits.shape(), (Shape{0, 3}));
  EXPECT_EQ(empty.boxes[1].shape(), (Shape{0, 4}));
  EXPECT_THROW(heads.forward(maps, proposals, {{64, 64}}), Error);  // one size for two images
}

// One 64x64 image; GT g0 = (4, 4, 28, 28) label 1, g1 = (34, 30, 60, 60) label 2; proposals
//   q0 = g0 (IoU 1), q1 = (6, 6, 28, 28) (IoU 0.84 with g0), q2 = (40, 0, 60, 20) (no overlap),
//   q3 = (34, 30, 60, 50) (IoU 0.67 with g1), q4 = (0, 40, 20, 60) (no overlap);
// with the GT appended (rows 5, 6): labels (1, 1, 0, 2, 0, 1, 2), matches (0, 0, 0, 1, 0, 0, 1).
struct TrainCase {
  std::vector<Tensor> proposals{
      boxes_tensor({4, 4, 28, 28, 6, 6, 28, 28, 40, 0, 60, 20, 34, 30, 60, 50, 0, 40, 20, 60})};
  std::vector<ImageSize> sizes{{64, 64}};
  DetectionTarget target;
  TrainCase() {
    target.boxes = boxes_tensor({4, 4, 28, 28, 34, 30, 60, 60});
    target.labels = from_vector<std::int64_t>({1, 2}, {2});
    std::vector<float> m(2 * 64 * 64, 0.0f);
    for (int y = 0; y < 64; ++y)
      for (int x = 0; x < 64; ++x) {
        m[y * 64 + x] = (x >= 4 && x < 28 && y >= 4 && y < 28) ? 1.0f : 0.0f;
        m[64 * 64 + y * 64 + x] = (x >= 34 && x < 60 && y >= 30 && y < 60) ? 1.0f : 0.0f;
      }
    target.masks = from_vector<float>(m, {2, 64, 64});
  }
};

TEST(MaskRcnnRoiHeads, TrainingSamplesMatchesAndTargets) {
  RoIHeads heads(3, small_options());
  const TrainCase tc;
  // Default sampler: 5 positives (<= 128), 2 negatives: every row is sampled.
  const RoiHeadsSamples all = heads.select_training_samples(tc.proposals, {tc.target});
  EXPECT_EQ(to_vector<std::int64_t>(all.sampled_inds[0]), (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(to_vector<std::int64_t>(all.labels[0]), (std::vector<std::int64_t>{1, 1, 0, 2, 0, 1, 2}));
  EXPECT_EQ(to_vector<std::int64_t>(all.matched_idxs[0]), (std::vector<std::int64_t>{0, 0, 0, 1, 0, 0, 1}));

  // A fixed selection: positives 1, 3, 6 (a bool mask), negative 2 (an index list).
  std::vector<std::int64_t> seen_labels;
  heads.fg_bg_sampler = [&](const std::vector<Tensor>& labels) {
    seen_labels = to_vector<std::int64_t>(labels[0]);
    const bool pos[7] = {false, true, false, true, false, false, true};
    return std::make_pair(std::vector<Tensor>{from_buffer(pos, {7}, TensorOptions(DType::Bool))},
                          std::vector<Tensor>{from_vector<std::int64_t>({2}, {1})});
  };
  const RoiHeadsSamples s = heads.select_training_samples(tc.proposals, {tc.target});
  EXPECT_EQ(seen_labels, (std::vector<std::int64_t>{1, 1, 0, 2, 0, 1, 2}));
  EXPECT_EQ(to_vector<std::int64_t>(s.sampled_inds[0]), (std::vector<std::int64_t>{1, 2, 3, 6}));
  EXPECT_EQ(to_vector<std::int64_t>(s.labels[0]), (std::vector<std::int64_t>{1, 0, 2, 2}));
  EXPECT_EQ(to_vector<std::int64_t>(s.matched_idxs[0]), (std::vector<std::int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(to_vector<float>(s.proposals[0]),
            (std::vector<float>{6, 6, 28, 28, 40, 0, 60, 20, 34, 30, 60, 50, 34, 30, 60, 60}));
  ASSERT_EQ(s.regression_targets[0].shape(), (Shape{4, 4}));
  const std::vector<float> t = to_vector<float>(s.regression_targets[0]);
  // q1 -> g0: centres 17 -> 16, sides 22 -> 24; weights (10, 10, 5, 5).
  const double dxy = 10.0 * (16.0 - 17.0) / 22.0, dwh = 5.0 * std::log(24.0 / 22.0);
  EXPECT_NEAR(t[0], dxy, 1e-5);
  EXPECT_NEAR(t[1], dxy, 1e-5);
  EXPECT_NEAR(t[2], dwh, 1e-5);
  EXPECT_NEAR(t[3], dwh, 1e-5);
  for (int j = 12; j < 16; ++j) EXPECT_NEAR(t[j], 0.0, 1e-6);  // g1 onto itself

  DetectionTarget bad = tc.target;
  bad.labels = from_vector<float>({1, 2}, {2});
  EXPECT_THROW(heads.select_training_samples(tc.proposals, {bad}), Error);  // labels must be int64
  EXPECT_THROW(heads.select_training_samples(tc.proposals, {}), Error);     // one target per image
}

TEST(MaskRcnnRoiHeads, TrainingLossesAreFiniteAndGradientsReachTheHeads) {
  Generator gen(5);
  RoIHeads heads(3, small_options());
  const TrainCase tc;
  heads.fg_bg_sampler = [](const std::vector<Tensor>&) {
    const bool pos[7] = {false, true, false, true, false, false, true};
    const bool neg[7] = {false, false, true, false, true, false, false};
    return std::make_pair(std::vector<Tensor>{from_buffer(pos, {7}, TensorOptions(DType::Bool))},
                          std::vector<Tensor>{from_buffer(neg, {7}, TensorOptions(DType::Bool))});
  };
  const FeatureMaps maps = make_features(1, 8, 64, 64, gen, true);
  heads.train(true);
  EXPECT_THROW(heads.forward(maps, tc.proposals, tc.sizes), Error);  // training needs targets
  const RoiHeadsOutput out = heads.forward(maps, tc.proposals, tc.sizes, {tc.target});
  EXPECT_TRUE(out.boxes.empty());
  ASSERT_TRUE(out.loss_classifier.defined() && out.loss_box_reg.defined() && out.loss_mask.defined());
  const float lc = item<float>(out.loss_classifier), lb = item<float>(out.loss_box_reg),
              lm = item<float>(out.loss_mask);
  EXPECT_TRUE(std::isfinite(lc) && std::isfinite(lb) && std::isfinite(lm));
  EXPECT_GT(lc, 0.0f);
  EXPECT_GT(lm, 0.0f);
  EXPECT_EQ(out.class_logits.shape(), (Shape{5, 3}));  // sampled rows 1, 2, 3, 4, 6
  EXPECT_EQ(out.box_regression.shape(), (Shape{5, 12}));
  ASSERT_EQ(out.mask_logits.shape(), (Shape{3, 3, 28, 28}));  // positives 1, 3, 6
  EXPECT_EQ(to_vector<std::int64_t>(out.mask_matched_idxs[0]), (std::vector<std::int64_t>{0, 1, 1}));

  // loss_box_reg recomputed from the head output: (1/5) Σ_{positives} smooth_l1_{1/9}(deltas of the label - target).
  const std::vector<std::int64_t> labels = to_vector<std::int64_t>(out.samples.labels[0]);
  const std::vector<double> reg = to_vector<double>(out.box_regression);
  const std::vector<double> tgt = to_vector<double>(out.samples.regression_targets[0]);
  double box = 0;
  for (std::size_t k = 0; k < labels.size(); ++k)
    if (labels[k] > 0)
      for (int j = 0; j < 4; ++j) {
        const double d = std::fabs(reg[k * 12 + labels[k] * 4 + j] - tgt[k * 4 + j]);
        box += d < 1.0 / 9.0 ? 0.5 * d * d * 9.0 : d - 0.5 / 9.0;
      }
  EXPECT_NEAR(lb, box / 5.0, 1e-6);
  // loss_classifier: mean cross-entropy of the five sampled rows.
  const std::vector<double> cl = to_vector<double>(out.class_logits);
  double ce = 0;
  for (std::size_t k = 0; k < labels.size(); ++k) {
    const double mx = std::max({cl[k * 3], cl[k * 3 + 1], cl[k * 3 + 2]});
    double z = 0;
    for (int c = 0; c < 3; ++c) z += std::exp(cl[k * 3 + c] - mx);
    ce += mx + std::log(z) - cl[k * 3 + labels[k]];
  }
  EXPECT_NEAR(lc, ce / 5.0, 1e-5);

  backward(add(add(out.loss_classifier, out.loss_box_reg), out.loss_mask));
  for (const char* name :
       {"box_head.fc6.weight", "box_head.fc7.weight", "box_predictor.bbox_pred.weight", "mask_head.0.0.weight",
        "mask_head.3.0.bias", "mask_predictor.conv5_mask.weight", "mask_predictor.mask_fcn_logits.weight"}) {
    const Tensor g = heads.tensor(name).grad();
    ASSERT_TRUE(g.defined()) << name;
    EXPECT_GT(abs_sum(g), 0.0) << name;
  }
  // The small boxes (sides <= 30) pool from the finest map "0": the features get a gradient there.
  ASSERT_TRUE(maps[0].second.grad().defined());
  EXPECT_GT(abs_sum(maps[0].second.grad()), 0.0);
}

TEST(MaskRcnnRoiHeads, NoPositivesGiveZeroBoxAndMaskLossesThatStillBackpropagate) {
  Generator gen(7);
  RoIHeads heads(3, small_options());
  heads.train(true);
  const FeatureMaps maps = make_features(1, 8, 64, 64, gen, true);
  // An image without GT: every proposal is background.
  DetectionTarget empty{zeros({0, 4}), from_vector<std::int64_t>({}, {0}), zeros({0, 64, 64})};
  const std::vector<Tensor> proposals{boxes_tensor({4, 4, 28, 28, 30, 30, 50, 60})};
  const RoiHeadsOutput out = heads.forward(maps, proposals, {{64, 64}}, {empty});
  EXPECT_EQ(to_vector<std::int64_t>(out.samples.labels[0]), (std::vector<std::int64_t>{0, 0}));
  EXPECT_EQ(to_vector<std::int64_t>(out.samples.matched_idxs[0]), (std::vector<std::int64_t>{0, 0}));
  // torchvision's targets against the (0, 0, 0, 0) box: dw, dh = 5·log(0) = -inf (kept in the samples;
  // the box loss skips background rows).
  const std::vector<float> t = to_vector<float>(out.samples.regression_targets[0]);
  ASSERT_EQ(t.size(), 8u);
  EXPECT_TRUE(std::isinf(t[2]) && t[2] < 0);
  EXPECT_NEAR(t[0], 10.0 * (0.0 - 16.0) / 24.0, 1e-5);  // dx = 10·(0 - centre 16) / width 24
  EXPECT_GT(item<float>(out.loss_classifier), 0.0f);
  EXPECT_EQ(item<float>(out.loss_box_reg), 0.0f);
  ASSERT_TRUE(out.loss_mask.defined());
  EXPECT_EQ(item<float>(out.loss_mask), 0.0f);
  EXPECT_EQ(out.mask_logits.shape()[0], 0);
  backward(add(add(out.loss_classifier, out.loss_box_reg), out.loss_mask));
  EXPECT_GT(abs_sum(heads.tensor("box_head.fc6.weight").grad()), 0.0);

  // Box-only training (no masks in the targets): no mask loss.
  const TrainCase tc;
  DetectionTarget boxes_only = tc.target;
  boxes_only.masks = Tensor();
  const RoiHeadsOutput b = heads.forward(maps, tc.proposals, tc.sizes, {boxes_only});
  EXPECT_TRUE(b.loss_classifier.defined() && b.loss_box_reg.defined());
  EXPECT_FALSE(b.loss_mask.defined());
  EXPECT_GT(item<float>(b.loss_box_reg), 0.0f);
}

}  // namespace
}  // namespace anima::nets::maskrcnn
