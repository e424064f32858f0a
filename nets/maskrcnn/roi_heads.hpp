// anima/nets/maskrcnn/roi_heads.hpp — Mask R-CNN's RoI heads (Girshick, "Fast R-CNN", ICCV 2015; He et al.,
// "Mask R-CNN", ICCV 2017) as torchvision 0.14's RoIHeads with the heads of maskrcnn_resnet50_fpn (v1)
// (models/detection/roi_heads.py, faster_rcnn.py TwoMLPHead / FastRCNNPredictor, mask_rcnn.py
// MaskRCNNHeads / MaskRCNNPredictor), with its names:
//   box_head.fc6.{weight,bias}                   Linear 256·7·7 -> 1024, then ReLU
//   box_head.fc7.{weight,bias}                   Linear 1024 -> 1024, then ReLU
//   box_predictor.cls_score.{weight,bias}        Linear 1024 -> C           (class logits, C with background)
//   box_predictor.bbox_pred.{weight,bias}        Linear 1024 -> 4C          (per-class box deltas)
//   mask_head.{0..3}.0.{weight,bias}             Conv2d 3x3 pad 1, 256 -> 256, each then ReLU
//                                                (torchvision's Conv2dNormActivation without a norm)
//   mask_predictor.conv5_mask.{weight,bias}      ConvTranspose2d 256 -> 256, kernel 2, stride 2, then ReLU
//   mask_predictor.mask_fcn_logits.{weight,bias} Conv2d 1x1 256 -> C        (per-class mask logits)
// (The widths are RoiHeadsOptions fields; the defaults are the ones above.)
//
// Box branch (both modes): x = MultiScaleRoIAlign(features "0".."3", boxes, 7x7, sampling_ratio 2,
//   aligned = false) [K, 256, 7, 7]; h = relu(fc7(relu(fc6(flatten(x))))); class_logits = cls_score(h)
//   [K, C]; box_regression = bbox_pred(h) [K, 4C].
// Mask branch (both modes): x = MultiScaleRoIAlign(..., 14x14, sampling_ratio 2) [P, 256, 14, 14];
//   four times x = relu(conv3x3(x)); x = relu(conv5_mask(x)) [P, 256, 28, 28];
//   mask_logits = mask_fcn_logits(x) [P, C, 28, 28].
// Inference (torchvision's postprocess_detections + maskrcnn_inference), per image:
//   scores = softmax(class_logits, classes); boxes[k, c] = decode(box_regression[k, 4c..4c+3],
//   proposal k) with BoxCoder weights (10, 10, 5, 5) (dw, dh clipped at log(1000/16)), clipped to the
//   image; class 0 (background) dropped; every (proposal, class) pair is one candidate, in
//   (proposal, class) row-major order; keep score > score_thresh (0.05, strict, compared in the scores'
//   dtype); drop boxes with a side < min_size (1e-2); NMS at nms_thresh (0.5) within each class
//   (batched_nms); keep the first detections_per_img (100) by decreasing score.
//   Masks: the mask branch on the detected boxes, sigmoid, the channel of each detection's label ->
//   [D, 1, 28, 28] probabilities.
// Training (torchvision's select_training_samples, fastrcnn_loss, maskrcnn_loss), per image:
//   proposals ← concat(proposals, GT boxes); Matcher(fg_iou_thresh 0.5, bg_iou_thresh 0.5, no
//   low-quality matches) on IoU(GT, proposals): label = GT label of the match, 0 below bg_iou_thresh, -1
//   between the thresholds (none with equal thresholds); matched_idxs = match clamped at 0 (all 0 for an
//   image without GT); the fg/bg sampler (512 per image, positive fraction 0.25) picks the rows, kept in
//   increasing index order (torch.where(pos | neg)); regression_targets = encode(matched GT box,
//   proposal) (weights (10, 10, 5, 5)).
//   loss_classifier = cross_entropy(class_logits, labels) (mean over the sampled rows);
//   loss_box_reg = (1/K) Σ_{labels > 0} smooth_l1_{β=1/9}(box_regression[k, 4·label .. +3] - target_k)
//     (RoiHeadsSamples keeps torchvision's targets, -inf in dw, dh for an image without GT; the loss
//     reads them with the rows of label <= 0 zeroed, which it weighs by 0);
//   loss_mask = mean over positives p and 28x28 pixels of bce(mask_logits[p, label_p], target_p), target_p
//   = roi_align(GT mask of the match, the proposal, 28x28, scale 1, sampling_ratio -1, aligned = false)
//   (anima/detection/losses.hpp, mask_loss.hpp); with no positive, mask_logits.sum()·0.
// Gradients: through the heads and the RoIAlign into the features; proposals, targets and the
// inference outputs carry none (as torchvision, whose proposals come detached from the RPN).
// Initialisation (torchvision's): fc6, fc7, cls_score, bbox_pred PyTorch's default; mask_head convs
// kaiming_normal_(fan_out, relu), biases 0; mask_predictor weights kaiming_normal_(fan_out, relu),
// biases PyTorch's default.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/detection/box_coder.hpp>
#include <anima/detection/losses.hpp>
#include <anima/detection/matcher.hpp>
#include <anima/detection/multiscale_roi_align.hpp>
#include <anima/nets/maskrcnn/image_list.hpp>
#include <anima/nets/maskrcnn/rpn.hpp>
#include <anima/nn/activation.hpp>
#include <anima/nn/conv.hpp>
#include <anima/nn/init.hpp>
#include <anima/nn/linear.hpp>
#include <anima/nn/module.hpp>
#include <anima/nn/sequential.hpp>
#include <anima/ops/activation.hpp>
#include <anima/ops/box_ops.hpp>
#include <anima/ops/concat.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/index_rows.hpp>
#include <anima/ops/nms.hpp>
#include <anima/ops/softmax.hpp>
#include <anima/ops/view.hpp>

namespace anima::nets::maskrcnn {

using detection::MultiScaleRoIAlign;

struct RoiHeadsOptions {
  // Architecture (torchvision's maskrcnn_resnet50_fpn).
  std::int64_t in_channels = 256;           // channels of the FPN maps
  std::int64_t representation_size = 1024;  // fc6 / fc7 width
  std::vector<std::int64_t> mask_layers{256, 256, 256, 256};
  std::int64_t mask_dim_reduced = 256;  // conv5_mask output channels
  std::int64_t box_output_size = 7, mask_output_size = 14, sampling_ratio = 2;
  // Training.
  double fg_iou_thresh = 0.5, bg_iou_thresh = 0.5;
  std::int64_t batch_size_per_image = 512;
  double positive_fraction = 0.25;
  // Inference.
  double score_thresh = 0.05;
  double nms_thresh = 0.5;
  std::int64_t detections_per_img = 100;
  double min_size = 1e-2;
};

// torchvision's TwoMLPHead: x [K, C, h, w] -> relu(fc7(relu(fc6(flatten(x))))) [K, representation].
class TwoMLPHead : public nn::Module {
 public:
  TwoMLPHead(std::int64_t in_features, std::int64_t representation_size) : nn::Module("TwoMLPHead") {
    fc6 = register_module("fc6", std::make_shared<nn::Linear>(in_features, representation_size));
    fc7 = register_module("fc7", std::make_shared<nn::Linear>(representation_size, representation_size));
  }

  Tensor forward(const Tensor& x) override {
    ANIMA_CHECK(x.defined() && x.dim() >= 2 && x.numel() == x.shape()[0] * fc6->in_features, "TwoMLPHead",
                "expected [K, ...] with ", fc6->in_features, " features per row, got ",
                x.defined() ? shape_str(x.shape()) : std::string("undefined"));
    return relu(fc7->forward(relu(fc6->forward(flatten(x, 1)))));
  }

  std::shared_ptr<nn::Linear> fc6, fc7;
};

// torchvision's FastRCNNPredictor: x [K, F] -> (class logits [K, C], box deltas [K, 4C]).
class FastRCNNPredictor : public nn::Module {
 public:
  FastRCNNPredictor(std::int64_t in_features, std::int64_t num_classes) : nn::Module("FastRCNNPredictor") {
    cls_score = register_module("cls_score", std::make_shared<nn::Linear>(in_features, num_classes));
    bbox_pred = register_module("bbox_pred", std::make_shared<nn::Linear>(in_features, num_classes * 4));
  }

  std::pair<Tensor, Tensor> forward_pair(const Tensor& x) {
    ANIMA_CHECK(x.defined() && x.dim() >= 2 && x.numel() == x.shape()[0] * cls_score->in_features, "FastRCNNPredictor",
                "expected [K, ", cls_score->in_features, "], got ",
                x.defined() ? shape_str(x.shape()) : std::string("undefined"));
    const Tensor f = flatten(x, 1);
    return {cls_score->forward(f), bbox_pred->forward(f)};
  }

  std::shared_ptr<nn::Linear> cls_score, bbox_pred;
};

// torchvision's MaskRCNNHeads (dilation 1, no norm): [i] is a Sequential {Conv2d 3x3 pad 1, ReLU}.
class MaskRCNNHeads : public nn::Sequential {
 public:
  MaskRCNNHeads(std::int64_t in_channels, const std::vector<std::int64_t>& layers) {
    ANIMA_CHECK(!layers.empty(), "MaskRCNNHeads", "needs at least one conv layer");
    std::int64_t next = in_channels;
    for (std::int64_t features : layers) {
      auto block = std::make_shared<nn::Sequential>();
      auto conv = block->push_back(std::make_shared<nn::Conv2d>(next, features, 3, 1, 1));
      block->push_back(std::make_shared<nn::ReLU>());
      nn::init::kaiming_normal_(conv->weight, nn::init::FanMode::FanOut, 0.0);
      nn::init::zeros_(conv->bias);
      push_back(block);
      next = features;
    }
  }
};

// torchvision's MaskRCNNPredictor: x [P, in, S, S] -> mask_fcn_logits(relu(conv5_mask(x))) [P, C, 2S, 2S].
class MaskRCNNPredictor : public nn::Module {
 public:
  MaskRCNNPredictor(std::int64_t in_channels, std::int64_t dim_reduced, std::int64_t num_classes)
      : nn::Module("MaskRCNNPredictor") {
    conv5_mask =
        register_module("conv5_mask", std::make_shared<nn::ConvTranspose2d>(in_channels, dim_reduced, 2, 2, 0));
    relu = register_module("relu", std::make_shared<nn::ReLU>());
    mask_fcn_logits = register_module("mask_fcn_logits", std::make_shared<nn::Conv2d>(dim_reduced, num_classes, 1));
    nn::init::kaiming_normal_(conv5_mask->weight, nn::init::FanMode::FanOut, 0.0);
    nn::init::kaiming_normal_(mask_fcn_logits->weight, nn::init::FanMode::FanOut, 0.0);
  }

  Tensor forward(const Tensor& x) override { return mask_fcn_logits->forward(relu->forward(conv5_mask->forward(x))); }

  std::shared_ptr<nn::ConvTranspose2d> conv5_mask;
  std::shared_ptr<nn::ReLU> relu;
  std::shared_ptr<nn::Conv2d> mask_fcn_logits;
};

// torchvision's maskrcnn_inference: mask_logits [D, C, M, M] (the images' detections concatenated),
// labels per image [D_i] int64 -> per image sigmoid(mask_logits[d, labels[d]]) as [D_i, 1, M, M].
inline std::vector<Tensor> maskrcnn_inference(const Tensor& mask_logits, const std::vector<Tensor>& labels) {
  constexpr const char* op = "maskrcnn_inference";
  ANIMA_CHECK(mask_logits.defined() && mask_logits.dim() == 4 && mask_logits.shape()[1] > 0, op,
              "mask_logits must be [D, C, M, M], got ",
              mask_logits.defined() ? shape_str(mask_logits.shape()) : std::string("undefined"));
  const Shape& s = mask_logits.shape();
  const std::int64_t c = s[1];
  std::vector<std::int64_t> rows;
  std::vector<std::int64_t> counts;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    ANIMA_CHECK(labels[i].defined() && labels[i].dtype() == DType::Int64 && labels[i].dim() == 1, op, "labels[", i,
                "] must be int64 [D_i], got ",
                labels[i].defined() ? std::string(dtype_name(labels[i].dtype())) + " " + shape_str(labels[i].shape())
                                    : std::string("undefined"));
    const std::vector<std::int64_t> l = to_vector<std::int64_t>(labels[i]);
    for (std::int64_t v : l) {
      ANIMA_CHECK(v >= 0 && v < c, op, "label ", v, " of image ", i, " is out of range for ", c, " mask classes");
      rows.push_back(static_cast<std::int64_t>(rows.size()) * c + v);
    }
    counts.push_back(static_cast<std::int64_t>(l.size()));
  }
  ANIMA_CHECK(static_cast<std::int64_t>(rows.size()) == s[0], op, "mask_logits ", shape_str(s), " has ", s[0],
              " rows but the labels name ", rows.size(), " detections");
  // Row d·C + label_d of the [D·C, M, M] view is detection d's channel.
  const Tensor picked = index_select_rows(reshape(sigmoid(mask_logits), {s[0] * c, s[2], s[3]}), rows);  // [D, M, M]
  const Tensor prob = reshape(picked, {s[0], 1, s[2], s[3]});
  std::vector<Tensor> out;
  std::int64_t offset = 0;
  for (std::int64_t n : counts) {
    out.push_back(narrow(prob, 0, offset, n));
    offset += n;
  }
  return out;
}

// What select_training_samples gives, per image (S_i sampled rows of the proposals with the GT boxes
// appended, in increasing index order).
struct RoiHeadsSamples {
  std::vector<Tensor> sampled_inds;        // [S_i] int64: rows of concat(proposals_i, gt_boxes_i)
  std::vector<Tensor> proposals;           // [S_i, 4]
  std::vector<Tensor> matched_idxs;        // [S_i] int64, the matched GT (clamped at 0)
  std::vector<Tensor> labels;              // [S_i] int64: GT label, 0 background, -1 ignored
  std::vector<Tensor> regression_targets;  // [S_i, 4]: encode(matched GT box, proposal)
};

// Eval: per image the detections (boxes [D_i, 4], scores [D_i], labels [D_i] int64, masks [D_i, 1, 28, 28]
// probabilities). Training: the losses and the samples. Both: the head outputs of the rows they ran on.
struct RoiHeadsOutput {
  std::vector<Tensor> boxes, scores, labels, masks;  // eval
  Tensor loss_classifier, loss_box_reg, loss_mask;   // training (loss_mask: undefined when no target has masks)
  RoiHeadsSamples samples;                           // training
  Tensor class_logits;                               // [K, C]
  Tensor box_regression;                             // [K, 4C]
  Tensor mask_logits;                                // [P, C, 28, 28] (undefined in eval with no detection)
  std::vector<Tensor> mask_proposals;                // training: the positive proposals per image
  std::vector<Tensor> mask_matched_idxs;             // training: their matched GT per image
};

class RoIHeads : public nn::Module {
 public:
  explicit RoIHeads(std::int64_t num_classes = 91, RoiHeadsOptions options = {})
      : nn::Module("RoIHeads"),
        options(options),
        num_classes(num_classes),
        box_coder(BoxCoder::roi_heads()),
        fg_bg_sampler(balanced_sampler(options.batch_size_per_image, options.positive_fraction)),
        box_roi_pool(MultiScaleRoIAlign({"0", "1", "2", "3"}, {options.box_output_size, options.box_output_size},
                                        options.sampling_ratio)),
        mask_roi_pool(MultiScaleRoIAlign({"0", "1", "2", "3"}, {options.mask_output_size, options.mask_output_size},
                                         options.sampling_ratio)) {
    constexpr const char* op = "RoIHeads";
    ANIMA_CHECK(num_classes >= 2, op, "num_classes counts the background and must be >= 2, got ", num_classes);
    ANIMA_CHECK(options.in_channels > 0 && options.representation_size > 0 && options.mask_dim_reduced > 0 &&
                    options.box_output_size > 0 && options.mask_output_size > 0,
                op, "channel counts and output sizes must be positive");
    ANIMA_CHECK(options.detections_per_img >= 0, op, "detections_per_img must be >= 0, got ",
                options.detections_per_img);
    ANIMA_CHECK(options.bg_iou_thresh <= options.fg_iou_thresh, op, "bg_iou_thresh ", options.bg_iou_thresh,
                " must be <= fg_iou_thresh ", options.fg_iou_thresh);
    box_head = register_module("box_head", std::make_shared<TwoMLPHead>(
                                               options.in_channels * options.box_output_size * options.box_output_size,
                                               options.representation_size));
    box_predictor =
        register_module("box_predictor", std::make_shared<FastRCNNPredictor>(options.representation_size, num_classes));
    mask_head = register_module("mask_head", std::make_shared<MaskRCNNHeads>(options.in_channels, options.mask_layers));
    mask_predictor = register_module(
        "mask_predictor",
        std::make_shared<MaskRCNNPredictor>(options.mask_layers.back(), options.mask_dim_reduced, num_classes));
  }

  // Fine-tuning for another class count: new box and mask predictors (torchvision's initialisation);
  // the box head and the mask head keep their weights.
  void replace_predictors(std::int64_t classes) {
    ANIMA_CHECK(classes >= 2, "RoIHeads", "num_classes counts the background and must be >= 2, got ", classes);
    box_predictor =
        replace_module("box_predictor", std::make_shared<FastRCNNPredictor>(options.representation_size, classes));
    mask_predictor = replace_module(
        "mask_predictor",
        std::make_shared<MaskRCNNPredictor>(options.mask_layers.back(), options.mask_dim_reduced, classes));
    num_classes = classes;
  }

  // features: the FPN maps (at least "0".."3"); proposals: per image [P_i, 4] in the batch's resized
  // pixels (the RPN's output); image_sizes: each image's (height, width); targets: one per image in
  // training (ignored in eval).
  RoiHeadsOutput forward(const FeatureMaps& features, const std::vector<Tensor>& proposals,
                         const std::vector<ImageSize>& image_sizes, const std::vector<DetectionTarget>& targets = {}) {
    constexpr const char* op = "RoIHeads";
    check_proposals(op, proposals, image_sizes);
    RoiHeadsOutput out;
    if (!is_training()) {
      std::tie(out.class_logits, out.box_regression) = box_forward(features, proposals, image_sizes);
      postprocess_detections(out.class_logits, out.box_regression, proposals, image_sizes, out);
      std::int64_t total = 0;
      for (const Tensor& b : out.boxes) total += b.shape()[0];
      const std::int64_t m = 2 * options.mask_output_size;
      if (total == 0) {
        for (const Tensor& b : out.boxes)
          out.masks.push_back(zeros({0, 1, m, m}, TensorOptions(b.dtype()).with_device(b.device())));
        return out;
      }
      out.mask_logits = mask_forward(features, out.boxes, image_sizes);
      out.masks = maskrcnn_inference(out.mask_logits, out.labels);
      return out;
    }

    ANIMA_CHECK(targets.size() == proposals.size(), op, "training needs one target per image: ", proposals.size(),
                " images, ", targets.size(), " targets");
    out.samples = select_training_samples(proposals, targets);
    std::tie(out.class_logits, out.box_regression) = box_forward(features, out.samples.proposals, image_sizes);
    const FastRcnnLoss box_loss =
        fastrcnn_loss(out.class_logits, out.box_regression, out.samples.labels, loss_regression_targets(out.samples));
    out.loss_classifier = box_loss.classifier;
    out.loss_box_reg = box_loss.box_reg;

    std::size_t with_masks = 0;
    for (const DetectionTarget& t : targets) with_masks += t.masks.defined() ? 1 : 0;
    if (with_masks == 0) return out;  // box-only training
    ANIMA_CHECK(with_masks == targets.size(), op, "either every target or none must have masks, got ", with_masks,
                " of ", targets.size());
    std::vector<Tensor> gt_masks, gt_labels;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      std::vector<std::int64_t> pos;
      const std::vector<std::int64_t> l = to_vector<std::int64_t>(out.samples.labels[i]);
      const std::vector<std::int64_t> mi = to_vector<std::int64_t>(out.samples.matched_idxs[i]);
      std::vector<std::int64_t> pos_matched;
      for (std::size_t k = 0; k < l.size(); ++k)
        if (l[k] > 0) {
          pos.push_back(static_cast<std::int64_t>(k));
          pos_matched.push_back(mi[k]);
        }
      out.mask_proposals.push_back(index_select_rows(out.samples.proposals[i], pos));
      out.mask_matched_idxs.push_back(int64_tensor(pos_matched, out.samples.proposals[i].device()));
      gt_masks.push_back(targets[i].masks);
      gt_labels.push_back(targets[i].labels);
    }
    out.mask_logits = mask_forward(features, out.mask_proposals, image_sizes);
    out.loss_mask = maskrcnn_loss(out.mask_logits, out.mask_proposals, gt_masks, gt_labels, out.mask_matched_idxs);
    return out;
  }

  // The box branch on boxes per image: (class_logits [K, C], box_regression [K, 4C]), K = Σ K_i.
  std::pair<Tensor, Tensor> box_forward(const FeatureMaps& features, const std::vector<Tensor>& boxes,
                                        const std::vector<ImageSize>& image_sizes) {
    const Tensor x = box_roi_pool.forward(features, boxes, image_sizes);  // [K, 256, 7, 7]
    return box_predictor->forward_pair(box_head->forward(x));
  }

  // The mask branch on boxes per image: mask logits [P, C, 28, 28], P = Σ P_i.
  Tensor mask_forward(const FeatureMaps& features, const std::vector<Tensor>& boxes,
                      const std::vector<ImageSize>& image_sizes) {
    const Tensor x = mask_roi_pool.forward(features, boxes, image_sizes);  // [P, 256, 14, 14]
    return mask_predictor->forward(mask_head->forward(x));
  }

  // torchvision's postprocess_detections (see the top of this file): fills out.boxes, out.scores,
  // out.labels, one entry per image. No gradient.
  void postprocess_detections(const Tensor& class_logits, const Tensor& box_regression,
                              const std::vector<Tensor>& proposals, const std::vector<ImageSize>& image_sizes,
                              RoiHeadsOutput& out) const {
    constexpr const char* op = "RoIHeads.postprocess_detections";
    NoGradGuard no_grad;
    check_proposals(op, proposals, image_sizes);
    std::int64_t total = 0;
    for (const Tensor& p : proposals) total += p.shape()[0];
    ANIMA_CHECK(class_logits.defined() && class_logits.dim() == 2 && class_logits.shape()[0] == total &&
                    class_logits.shape()[1] == num_classes,
                op, "class_logits must be [K, C] = [", total, ", ", num_classes, "], got ",
                class_logits.defined() ? shape_str(class_logits.shape()) : std::string("undefined"));
    ANIMA_CHECK(box_regression.defined() && box_regression.dim() == 2 && box_regression.shape()[0] == total &&
                    box_regression.shape()[1] == 4 * num_classes,
                op, "box_regression must be [K, 4C] = [", total, ", ", 4 * num_classes, "], got ",
                box_regression.defined() ? shape_str(box_regression.shape()) : std::string("undefined"));
    const std::int64_t c = num_classes;
    const DType dtype = proposals[0].dtype();
    const Device device = proposals[0].device();
    out.boxes.clear();
    out.scores.clear();
    out.labels.clear();
    Tensor pred_boxes, pred_scores;  // [K, C, 4], [K, C]
    if (total > 0) {
      pred_boxes = box_coder.decode(detach(box_regression), proposals);
      pred_scores = softmax(detach(class_logits), 1);
    }
    // torch compares a float32 tensor with a Python float in float32.
    const double thresh = class_logits.dtype() == DType::Float32
                              ? static_cast<double>(static_cast<float>(options.score_thresh))
                              : options.score_thresh;
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < proposals.size(); ++i) {
      const std::int64_t n = proposals[i].shape()[0];
      std::vector<std::int64_t> cand, labels;
      Tensor boxes = zeros({0, 4}, TensorOptions(dtype).with_device(device));
      Tensor scores = zeros({0}, TensorOptions(class_logits.dtype()).with_device(device));
      if (n > 0) {
        const Tensor b = clip_boxes_to_image(narrow(pred_boxes, 0, offset, n), image_sizes[i]);  // [n, C, 4]
        boxes = reshape(slice(b, 1, 1, c), {n * (c - 1), 4});
        scores = reshape(slice(narrow(pred_scores, 0, offset, n), 1, 1, c), {n * (c - 1)});
        const std::vector<double> s = to_vector<double>(scores);
        for (std::int64_t j = 0; j < n * (c - 1); ++j)
          if (s[static_cast<std::size_t>(j)] > thresh) {
            cand.push_back(j);
            labels.push_back(j % (c - 1) + 1);
          }
        boxes = index_select_rows(boxes, cand);
        scores = index_select_rows(scores, cand);
        const std::vector<std::int64_t> big = to_vector<std::int64_t>(remove_small_boxes(boxes, options.min_size));
        std::vector<std::int64_t> kept_labels;
        for (std::int64_t k : big) kept_labels.push_back(labels[static_cast<std::size_t>(k)]);
        boxes = index_select_rows(boxes, big);
        scores = index_select_rows(scores, big);
        std::vector<std::int64_t> keep =
            to_vector<std::int64_t>(batched_nms(boxes, scores, int64_tensor(kept_labels, device), options.nms_thresh));
        if (static_cast<std::int64_t>(keep.size()) > options.detections_per_img)
          keep.resize(static_cast<std::size_t>(options.detections_per_img));
        labels.clear();
        for (std::int64_t k : keep) labels.push_back(kept_labels[static_cast<std::size_t>(k)]);
        boxes = index_select_rows(boxes, keep);
        scores = index_select_rows(scores, keep);
      }
      out.boxes.push_back(boxes);
      out.scores.push_back(scores);
      out.labels.push_back(int64_tensor(labels, device));
      offset += n;
    }
  }

  // torchvision's select_training_samples: GT boxes appended to the proposals, matched, sampled, encoded.
  RoiHeadsSamples select_training_samples(const std::vector<Tensor>& proposals,
                                          const std::vector<DetectionTarget>& targets) const {
    constexpr const char* op = "RoIHeads.select_training_samples";
    NoGradGuard no_grad;
    ANIMA_CHECK(!proposals.empty() && targets.size() == proposals.size(), op,
                "expected one target per image and at least one image, got ", proposals.size(), " proposal lists and ",
                targets.size(), " targets");
    const DType dtype = proposals[0].dtype();
    const Device device = proposals[0].device();
    std::vector<Tensor> gt_boxes, gt_labels, all;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      check_target(op, targets[i], i);
      ANIMA_CHECK(targets[i].boxes.device() == device, op, "target ", i, ": boxes are on ",
                  targets[i].boxes.device().str(), " but the proposals on ", device.str());
      const Tensor g =
          targets[i].boxes.dtype() == dtype ? detach(targets[i].boxes) : cast_copy(targets[i].boxes, dtype);
      gt_boxes.push_back(g);
      gt_labels.push_back(targets[i].labels);
      all.push_back(concat({detach(proposals[i]), g}, 0));
    }
    auto [matched_idxs, labels] = assign_targets_to_proposals(all, gt_boxes, gt_labels);
    const std::vector<Tensor> sampled = subsample(labels);
    RoiHeadsSamples out;
    std::vector<Tensor> matched_gt_boxes;
    for (std::size_t i = 0; i < all.size(); ++i) {
      const std::vector<std::int64_t> idx = to_vector<std::int64_t>(sampled[i]);
      const std::vector<std::int64_t> l = to_vector<std::int64_t>(labels[i]);
      const std::vector<std::int64_t> m = to_vector<std::int64_t>(matched_idxs[i]);
      std::vector<std::int64_t> sl, sm;
      for (std::int64_t k : idx) {
        sl.push_back(l[static_cast<std::size_t>(k)]);
        sm.push_back(m[static_cast<std::size_t>(k)]);
      }
      out.sampled_inds.push_back(sampled[i]);
      out.proposals.push_back(index_select_rows(all[i], idx));
      out.labels.push_back(int64_tensor(sl, device));
      out.matched_idxs.push_back(int64_tensor(sm, device));
      const Tensor g =
          gt_boxes[i].shape()[0] == 0 ? zeros({1, 4}, TensorOptions(dtype).with_device(device)) : gt_boxes[i];
      matched_gt_boxes.push_back(index_select_rows(g, sm));
    }
    out.regression_targets = box_coder.encode(matched_gt_boxes, out.proposals);
    return out;
  }

  // torchvision's assign_targets_to_proposals: per image (matched_idxs [P] int64 clamped at 0, labels [P]
  // int64: the matched GT's label, 0 below bg_iou_thresh, -1 between the thresholds).
  std::pair<std::vector<Tensor>, std::vector<Tensor>> assign_targets_to_proposals(
      const std::vector<Tensor>& proposals, const std::vector<Tensor>& gt_boxes,
      const std::vector<Tensor>& gt_labels) const {
    constexpr const char* op = "RoIHeads.assign_targets_to_proposals";
    NoGradGuard no_grad;
    ANIMA_CHECK(gt_boxes.size() == proposals.size() && gt_labels.size() == proposals.size(), op,
                "expected one GT box and label tensor per image (", proposals.size(), " images), got ", gt_boxes.size(),
                " and ", gt_labels.size());
    const detection::Matcher matcher(options.fg_iou_thresh, options.bg_iou_thresh, false);
    std::vector<Tensor> matched_out, labels_out;
    for (std::size_t i = 0; i < proposals.size(); ++i) {
      const std::int64_t p = proposals[i].shape()[0];
      const Device device = proposals[i].device();
      std::vector<std::int64_t> matched(static_cast<std::size_t>(p), 0), labels(static_cast<std::size_t>(p), 0);
      if (gt_boxes[i].numel() > 0) {
        const std::vector<std::int64_t> gl = to_vector<std::int64_t>(gt_labels[i]);
        const std::vector<std::int64_t> m = to_vector<std::int64_t>(matcher(box_iou(gt_boxes[i], proposals[i])));
        for (std::size_t k = 0; k < m.size(); ++k) {
          matched[k] = std::max<std::int64_t>(m[k], 0);
          labels[k] = m[k] >= 0                                         ? gl[static_cast<std::size_t>(m[k])]
                      : m[k] == detection::Matcher::BELOW_LOW_THRESHOLD ? 0
                                                                        : -1;
        }
      }
      matched_out.push_back(int64_tensor(matched, device));
      labels_out.push_back(int64_tensor(labels, device));
    }
    return {matched_out, labels_out};
  }

  // torchvision's subsample: per image the rows the fg/bg sampler picked, in increasing order
  // (torch.where(pos | neg)), as int64 [S_i] on the labels' device.
  std::vector<Tensor> subsample(const std::vector<Tensor>& labels) const {
    constexpr const char* op = "RoIHeads.subsample";
    ANIMA_CHECK(static_cast<bool>(fg_bg_sampler), op, "no fg/bg sampler is set");
    const auto [pos, neg] = fg_bg_sampler(labels);
    ANIMA_CHECK(pos.size() == labels.size() && neg.size() == labels.size(), op, "the sampler returned ", pos.size(),
                " positive and ", neg.size(), " negative selections for ", labels.size(), " images");
    std::vector<Tensor> out;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const std::int64_t p = labels[i].shape()[0];
      std::vector<char> picked(static_cast<std::size_t>(p), 0);
      for (const Tensor* s : {&pos[i], &neg[i]})
        for (std::int64_t k :
             anima::detail::sampled_indices(op, s == &pos[i] ? "positive selection" : "negative selection", *s, p))
          picked[static_cast<std::size_t>(k)] = 1;
      std::vector<std::int64_t> idx;
      for (std::int64_t k = 0; k < p; ++k)
        if (picked[static_cast<std::size_t>(k)]) idx.push_back(k);
      out.push_back(int64_tensor(idx, labels[i].device()));
    }
    return out;
  }

  // The regression targets fastrcnn_loss reads: the samples' targets with the rows of label <= 0 set to
  // 0. Those rows never enter the box loss (torchvision indexes the positives), but fastrcnn_loss weighs
  // every row, so they must be finite; in an image without GT they are encode((0, 0, 0, 0), proposal),
  // whose dw, dh are -inf.
  static std::vector<Tensor> loss_regression_targets(const RoiHeadsSamples& samples) {
    std::vector<Tensor> out;
    for (std::size_t i = 0; i < samples.labels.size(); ++i) {
      const Tensor& t = samples.regression_targets[i];
      const std::vector<std::int64_t> l = to_vector<std::int64_t>(samples.labels[i]);
      std::vector<double> v = to_vector<double>(t);
      bool changed = false;
      for (std::size_t k = 0; k < l.size(); ++k)
        if (l[k] <= 0)
          for (std::size_t j = 0; j < 4; ++j) {
            changed = changed || v[k * 4 + j] != 0.0;
            v[k * 4 + j] = 0.0;
          }
      if (!changed) {
        out.push_back(t);
        continue;
      }
      const Tensor host = cast_copy(from_vector(v, t.shape(), TensorOptions(DType::Float64)), t.dtype());
      out.push_back(t.device().is_cpu() ? host : device_copy(host, t.device()));
    }
    return out;
  }

  RoiHeadsOptions options;
  std::int64_t num_classes;
  BoxCoder box_coder;
  FgBgSampler fg_bg_sampler;  // replaceable (tests put a fixed selection here)
  MultiScaleRoIAlign box_roi_pool, mask_roi_pool;
  std::shared_ptr<TwoMLPHead> box_head;
  std::shared_ptr<FastRCNNPredictor> box_predictor;
  std::shared_ptr<MaskRCNNHeads> mask_head;
  std::shared_ptr<MaskRCNNPredictor> mask_predictor;

 private:
  static Tensor int64_tensor(const std::vector<std::int64_t>& v, Device device) {
    return from_vector(v, {static_cast<std::int64_t>(v.size())}, TensorOptions(DType::Int64).with_device(device));
  }

  static void check_proposals(const char* op, const std::vector<Tensor>& proposals,
                              const std::vector<ImageSize>& image_sizes) {
    ANIMA_CHECK(!proposals.empty(), op, "expected one proposal tensor [P_i, 4] per image, got none");
    ANIMA_CHECK(image_sizes.size() == proposals.size(), op, "got ", proposals.size(), " proposal lists but ",
                image_sizes.size(), " image sizes");
    for (std::size_t i = 0; i < proposals.size(); ++i) {
      const Tensor& p = proposals[i];
      ANIMA_CHECK(
          p.defined() && p.dim() == 2 && p.shape()[1] == 4 && is_floating(p.dtype()), op, "proposals[", i,
          "] must be float [P, 4] (x1, y1, x2, y2), got ",
          p.defined() ? std::string(dtype_name(p.dtype())) + " " + shape_str(p.shape()) : std::string("undefined"));
      ANIMA_CHECK(p.dtype() == proposals[0].dtype() && p.device() == proposals[0].device(), op, "proposals[", i,
                  "] is ", dtype_name(p.dtype()), " on ", p.device().str(), ", expected ",
                  dtype_name(proposals[0].dtype()), " on ", proposals[0].device().str(), " like proposals[0]");
    }
  }

  static void check_target(const char* op, const DetectionTarget& t, std::size_t i) {
    ANIMA_CHECK(t.boxes.defined() && t.boxes.dim() == 2 && t.boxes.shape()[1] == 4 && is_floating(t.boxes.dtype()), op,
                "target ", i, ": boxes must be float [G, 4], got ",
                t.boxes.defined() ? std::string(dtype_name(t.boxes.dtype())) + " " + shape_str(t.boxes.shape())
                                  : std::string("undefined"));
    const std::int64_t g = t.boxes.shape()[0];
    ANIMA_CHECK(
        t.labels.defined() && t.labels.dtype() == DType::Int64 && t.labels.dim() == 1 && t.labels.shape()[0] == g, op,
        "target ", i, ": labels must be int64 [G] = [", g, "], got ",
        t.labels.defined() ? std::string(dtype_name(t.labels.dtype())) + " " + shape_str(t.labels.shape())
                           : std::string("undefined"));
    if (t.masks.defined())
      ANIMA_CHECK(t.masks.dim() == 3 && t.masks.shape()[0] == g, op, "target ", i,
                  ": masks must be [G, H, W] with G = ", g, ", got ", shape_str(t.masks.shape()));
  }
};

}  // namespace anima::nets::maskrcnn
