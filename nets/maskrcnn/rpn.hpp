// anima/nets/maskrcnn/rpn.hpp — the Region Proposal Network (Ren et al., "Faster R-CNN", NeurIPS 2015)
// as torchvision 0.14's RegionProposalNetwork + RPNHead (models/detection/rpn.py), with its names:
//   head.conv.0.0.{weight,bias}   3x3 conv 256 -> 256 + ReLU, shared by every level
//   head.cls_logits.{weight,bias} 1x1 conv 256 -> A (objectness logit per anchor)
//   head.bbox_pred.{weight,bias}  1x1 conv 256 -> 4A (box deltas per anchor)
// (A = 3 anchors per location: aspect ratios 0.5, 1, 2 of one size per level, 32 .. 512.)
//
// Forward, per image n of the batch (features "0".."3", "pool"; anchors: anima/detection/anchor_generator.hpp):
//   per level l: t = relu(conv(f_l)); logits [N, A, H, W]; deltas [N, 4A, H, W], flattened to rows in
//     (level, y, x, anchor) order (torchvision's permute_and_flatten + concat_box_prediction_layers);
//   proposals = decode(deltas, anchors) (BoxCoder weights (1, 1, 1, 1), no gradient);
//   filter (torchvision's filter_proposals): per level the pre_nms_top_n highest logits (ties: lower
//     index first), sigmoid, clip to the image, drop boxes with a side < min_size (1e-3), keep scores
//     >= score_thresh (0), NMS at nms_thresh (0.7) within each level (batched_nms), keep the first
//     post_nms_top_n (by decreasing score).
//   Eval: pre/post top-n 1000/1000; training: 2000/2000.
// Training loss (torchvision's assign_targets_to_anchors + compute_loss): Matcher(0.7, 0.3, low-quality
//   matches) on IoU(gt, anchors): label 1 matched, 0 below 0.3, -1 between (ignored); regression targets
//   encode(matched gt, anchors); the fg/bg sampler picks 256 anchors per image at positive fraction 0.5;
//   rpn_loss (anima/detection/losses.hpp): BCE with logits over the sampled anchors and smooth L1
//   (beta 1/9) over the positives, both divided by the number sampled.
// Gradients: through the head into the features (the proposals themselves carry none, as torchvision's).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <utility>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/detection/anchor_generator.hpp>
#include <anima/detection/balanced_sampler.hpp>
#include <anima/detection/box_coder.hpp>
#include <anima/detection/losses.hpp>
#include <anima/detection/matcher.hpp>
#include <anima/detection/multiscale_roi_align.hpp>
#include <anima/nets/maskrcnn/image_list.hpp>
#include <anima/nn/conv.hpp>
#include <anima/nn/init.hpp>
#include <anima/nn/module.hpp>
#include <anima/nn/sequential.hpp>
#include <anima/ops/activation.hpp>
#include <anima/ops/box_ops.hpp>
#include <anima/ops/concat.hpp>
#include <anima/ops/copy_ops.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/index_rows.hpp>
#include <anima/ops/nms.hpp>
#include <anima/ops/view.hpp>

namespace anima::nets::maskrcnn {

using detection::AnchorGenerator;
using detection::BalancedPositiveNegativeSampler;
using detection::BoxCoder;
using detection::FeatureMaps;
using detection::Matcher;

// Picks the anchors (or proposals) of the loss: per image labels [P] int64 (>= 1 positive, 0 negative,
// -1 ignored) -> (positive masks, negative masks), [P] bool each. The default is
// BalancedPositiveNegativeSampler; tests put a fixed selection here.
using FgBgSampler =
    std::function<std::pair<std::vector<Tensor>, std::vector<Tensor>>(const std::vector<Tensor>& labels)>;

inline FgBgSampler balanced_sampler(std::int64_t batch_size_per_image, double positive_fraction,
                                    Generator& gen = default_generator()) {
  BalancedPositiveNegativeSampler sampler(batch_size_per_image, positive_fraction);
  Generator* g = &gen;
  return [sampler, g](const std::vector<Tensor>& labels) { return sampler(labels, *g); };
}

struct RpnOptions {
  std::int64_t pre_nms_top_n_train = 2000, pre_nms_top_n_test = 1000;
  std::int64_t post_nms_top_n_train = 2000, post_nms_top_n_test = 1000;
  double nms_thresh = 0.7;
  double fg_iou_thresh = 0.7, bg_iou_thresh = 0.3;
  std::int64_t batch_size_per_image = 256;
  double positive_fraction = 0.5;
  double score_thresh = 0.0;
  double min_size = 1e-3;
};

class RPNHead : public nn::Module {
 public:
  RPNHead(std::int64_t in_channels, std::int64_t num_anchors) : nn::Module("RPNHead") {
    auto block = std::make_shared<nn::Sequential>();
    block->push_back(std::make_shared<nn::Conv2d>(in_channels, in_channels, 3, 1, 1));
    conv = register_module("conv", std::make_shared<nn::Sequential>());
    conv->push_back(block);
    cls_logits = register_module("cls_logits", std::make_shared<nn::Conv2d>(in_channels, num_anchors, 1));
    bbox_pred = register_module("bbox_pred", std::make_shared<nn::Conv2d>(in_channels, num_anchors * 4, 1));
    for (const auto& [name, p] : named_parameters()) {  // torchvision: normal(std 0.01), bias 0
      if (p.dim() == 4)
        nn::init::normal_(p, 0.0, 0.01);
      else
        nn::init::zeros_(p);
    }
  }

  // Per level: (logits [N, A, H, W], deltas [N, 4A, H, W]).
  std::pair<std::vector<Tensor>, std::vector<Tensor>> forward_levels(const std::vector<Tensor>& features) {
    std::vector<Tensor> logits, deltas;
    for (const Tensor& f : features) {
      const Tensor t = relu(conv->forward(f));
      logits.push_back(cls_logits->forward(t));
      deltas.push_back(bbox_pred->forward(t));
    }
    return {logits, deltas};
  }

  std::shared_ptr<nn::Sequential> conv;  // conv.0.0: the 3x3 conv (torchvision's Conv2dNormActivation)
  std::shared_ptr<nn::Conv2d> cls_logits, bbox_pred;
};

// [N, A·C, H, W] -> [N, H·W·A, C] (torchvision's permute_and_flatten).
inline Tensor permute_and_flatten(const Tensor& layer, std::int64_t c) {
  const Shape& s = layer.shape();
  const std::int64_t n = s[0], a = s[1] / c, h = s[2], w = s[3];
  return reshape(permute(reshape(layer, {n, a, c, h, w}), {0, 3, 4, 1, 2}), {n, h * w * a, c});
}

// The indices of the k largest values of v[begin, end) (absolute), largest first; equal values in
// increasing index order.
inline std::vector<std::int64_t> top_k_indices(const std::vector<double>& v, std::int64_t begin, std::int64_t end,
                                               std::int64_t k) {
  std::vector<std::int64_t> idx(static_cast<std::size_t>(end - begin));
  std::iota(idx.begin(), idx.end(), begin);
  auto greater = [&](std::int64_t a, std::int64_t b) {
    const double va = v[static_cast<std::size_t>(a)], vb = v[static_cast<std::size_t>(b)];
    return va > vb || (va == vb && a < b);
  };
  k = std::min<std::int64_t>(k, static_cast<std::int64_t>(idx.size()));
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), greater);
  idx.resize(static_cast<std::size_t>(k));
  return idx;
}

// What the RPN gives the RoI heads: per image, proposals [P_i, 4] (decreasing objectness) and their
// scores [P_i]; in training also the two RPN losses.
struct RpnOutput {
  std::vector<Tensor> boxes, scores;
  Tensor loss_objectness, loss_rpn_box_reg;  // undefined in eval
};

class RegionProposalNetwork : public nn::Module {
 public:
  explicit RegionProposalNetwork(std::int64_t in_channels = 256, RpnOptions options = {})
      : nn::Module("RegionProposalNetwork"),
        options(options),
        anchor_generator(AnchorGenerator::mask_rcnn_config()),
        box_coder(BoxCoder::rpn()),
        fg_bg_sampler(balanced_sampler(options.batch_size_per_image, options.positive_fraction)) {
    head =
        register_module("head", std::make_shared<RPNHead>(in_channels, anchor_generator.num_anchors_per_location(0)));
  }

  // features: every map the anchors cover ("0".."3", "pool"), finest first. targets: one per image in
  // training (boxes in the batch's resized coordinates), ignored in eval.
  RpnOutput forward(const ImageList& images, const FeatureMaps& features,
                    const std::vector<DetectionTarget>& targets = {}) {
    constexpr const char* op = "RegionProposalNetwork";
    const std::int64_t num_images = images.tensors.shape()[0];
    std::vector<Tensor> maps;
    std::vector<std::array<std::int64_t, 2>> feature_sizes;
    for (const auto& named : features) {
      maps.push_back(named.second);
      feature_sizes.push_back({named.second.shape()[2], named.second.shape()[3]});
    }
    ANIMA_CHECK(maps.size() == anchor_generator.num_levels(), op, "got ", maps.size(), " feature maps for ",
                anchor_generator.num_levels(), " anchor levels");
    auto [logits, deltas] = head->forward_levels(maps);
    // Anchors are whole numbers of pixels (torchvision rounds them), so they are the same in every dtype:
    // made in float32, they are cast to the features' dtype.
    std::vector<Tensor> anchors = anchor_generator(num_images, {images.tensors.shape()[2], images.tensors.shape()[3]},
                                                   feature_sizes, images.tensors.device());
    if (!anchors.empty() && anchors[0].dtype() != maps[0].dtype()) {
      const Tensor cast = cast_copy(anchors[0], maps[0].dtype());
      for (Tensor& a : anchors) a = cast;
    }
    std::vector<std::int64_t> num_anchors_per_level;
    std::vector<Tensor> flat_logits, flat_deltas;
    for (std::size_t l = 0; l < maps.size(); ++l) {
      const Shape& s = logits[l].shape();
      num_anchors_per_level.push_back(s[1] * s[2] * s[3]);
      flat_logits.push_back(permute_and_flatten(logits[l], 1));
      flat_deltas.push_back(permute_and_flatten(deltas[l], 4));
    }
    const std::int64_t total =
        std::accumulate(num_anchors_per_level.begin(), num_anchors_per_level.end(), std::int64_t{0});
    const Tensor objectness = reshape(concat(flat_logits, 1), {num_images * total, 1});
    const Tensor pred_bbox_deltas = reshape(concat(flat_deltas, 1), {num_images * total, 4});
    Tensor proposals;
    {
      NoGradGuard no_grad;
      proposals = reshape(box_coder.decode(detach(pred_bbox_deltas), anchors), {num_images * total, 4});
    }
    RpnOutput out = filter_proposals(proposals, detach(objectness), images.image_sizes, num_anchors_per_level);
    if (is_training()) {
      ANIMA_CHECK(static_cast<std::int64_t>(targets.size()) == num_images, op,
                  "training needs one target per image: ", num_images, " images, ", targets.size(), " targets");
      auto [labels, matched_gt_boxes] = assign_targets_to_anchors(anchors, targets);
      std::vector<Tensor> regression_targets;
      {
        NoGradGuard no_grad;
        for (std::size_t i = 0; i < anchors.size(); ++i)
          regression_targets.push_back(box_coder.encode_single(matched_gt_boxes[i], anchors[i]));
      }
      std::vector<Tensor> int_labels;
      for (const Tensor& l : labels) int_labels.push_back(cast_copy(l, DType::Int64));
      auto [pos, neg] = fg_bg_sampler(int_labels);
      const RpnLoss loss = rpn_loss(objectness, pred_bbox_deltas, concat(labels, 0), concat(regression_targets, 0),
                                    concat(pos, 0), concat(neg, 0));
      out.loss_objectness = loss.objectness;
      out.loss_rpn_box_reg = loss.box_reg;
    }
    return out;
  }

  // proposals [N·T, 4], objectness logits [N·T, 1] (rows image by image) -> per image the kept boxes and
  // their sigmoid scores.
  RpnOutput filter_proposals(const Tensor& proposals, const Tensor& objectness,
                             const std::vector<ImageSize>& image_sizes,
                             const std::vector<std::int64_t>& num_anchors_per_level) const {
    NoGradGuard no_grad;
    const std::int64_t num_images = static_cast<std::int64_t>(image_sizes.size());
    const std::int64_t total = objectness.shape()[0] / std::max<std::int64_t>(num_images, 1);
    const std::int64_t pre_n = is_training() ? options.pre_nms_top_n_train : options.pre_nms_top_n_test;
    const std::int64_t post_n = is_training() ? options.post_nms_top_n_train : options.post_nms_top_n_test;
    const std::vector<double> logit = to_vector<double>(objectness);
    const Tensor flat_logits = reshape(objectness, {objectness.shape()[0]});
    RpnOutput out;
    for (std::int64_t n = 0; n < num_images; ++n) {
      std::vector<std::int64_t> idx, level;
      std::int64_t offset = n * total;
      for (std::size_t l = 0; l < num_anchors_per_level.size(); ++l) {
        const std::int64_t count = num_anchors_per_level[l];
        const std::vector<std::int64_t> top = top_k_indices(logit, offset, offset + count, pre_n);
        idx.insert(idx.end(), top.begin(), top.end());
        level.insert(level.end(), top.size(), static_cast<std::int64_t>(l));
        offset += count;
      }
      Tensor boxes = clip_boxes_to_image(index_select_rows(proposals, idx), image_sizes[static_cast<std::size_t>(n)]);
      Tensor scores = sigmoid(index_select_rows(flat_logits, idx));
      // Small boxes, then low scores (torchvision's order).
      std::vector<std::int64_t> keep = to_vector<std::int64_t>(remove_small_boxes(boxes, options.min_size));
      const std::vector<double> score_values = to_vector<double>(scores);
      std::vector<std::int64_t> kept;
      for (std::int64_t k : keep)
        if (score_values[static_cast<std::size_t>(k)] >= options.score_thresh) kept.push_back(k);
      std::vector<std::int64_t> kept_levels;
      for (std::int64_t k : kept) kept_levels.push_back(level[static_cast<std::size_t>(k)]);
      boxes = index_select_rows(boxes, kept);
      scores = index_select_rows(scores, kept);
      const Tensor level_ids = from_vector(kept_levels, {static_cast<std::int64_t>(kept_levels.size())},
                                           TensorOptions(DType::Int64).with_device(boxes.device()));
      std::vector<std::int64_t> nms_keep =
          to_vector<std::int64_t>(batched_nms(boxes, scores, level_ids, options.nms_thresh));
      if (static_cast<std::int64_t>(nms_keep.size()) > post_n) nms_keep.resize(static_cast<std::size_t>(post_n));
      out.boxes.push_back(index_select_rows(boxes, nms_keep));
      out.scores.push_back(index_select_rows(scores, nms_keep));
    }
    return out;
  }

  // Per image: labels [A] (1 matched, 0 background, -1 ignored; the anchors' dtype) and the matched GT
  // box of every anchor [A, 4] (zeros for an image without GT).
  std::pair<std::vector<Tensor>, std::vector<Tensor>> assign_targets_to_anchors(
      const std::vector<Tensor>& anchors, const std::vector<DetectionTarget>& targets) const {
    NoGradGuard no_grad;
    const Matcher matcher(options.fg_iou_thresh, options.bg_iou_thresh, true);
    std::vector<Tensor> labels, matched_boxes;
    for (std::size_t i = 0; i < anchors.size(); ++i) {
      const Tensor& a = anchors[i];
      const TensorOptions o = TensorOptions(a.dtype()).with_device(a.device());
      const Tensor& gt = targets[i].boxes;
      const std::int64_t num_anchors = a.shape()[0];
      if (!gt.defined() || gt.numel() == 0) {
        // No object: every anchor is background. Torchvision matches them to zero boxes, whose encoding
        // (log of a zero width) is -inf but never read, as no anchor is positive; rpn_loss weighs every
        // row and needs finite targets, so each anchor is matched to itself (regression target 0).
        labels.push_back(zeros({num_anchors}, o));
        matched_boxes.push_back(a);
        continue;
      }
      const Tensor gt_boxes = cast_copy(gt, a.dtype());
      const std::vector<std::int64_t> matches = to_vector<std::int64_t>(matcher(box_iou(gt_boxes, a)));
      std::vector<std::int64_t> gather(matches.size());
      std::vector<double> label(matches.size());
      for (std::size_t p = 0; p < matches.size(); ++p) {
        gather[p] = std::max<std::int64_t>(matches[p], 0);
        label[p] = matches[p] >= 0 ? 1.0 : matches[p] == Matcher::BELOW_LOW_THRESHOLD ? 0.0 : -1.0;
      }
      matched_boxes.push_back(index_select_rows(gt_boxes, gather));
      labels.push_back(anima::to(cast_copy(from_vector(label, {num_anchors}, TensorOptions(DType::Float64)), a.dtype()),
                                 a.device()));
    }
    return {labels, matched_boxes};
  }

  RpnOptions options;
  AnchorGenerator anchor_generator;
  BoxCoder box_coder;
  FgBgSampler fg_bg_sampler;
  std::shared_ptr<RPNHead> head;
};

}  // namespace anima::nets::maskrcnn
