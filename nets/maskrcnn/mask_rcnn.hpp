// anima/nets/maskrcnn/mask_rcnn.hpp — Mask R-CNN (He et al., "Mask R-CNN", ICCV 2017) as torchvision
// 0.14's MaskRCNN, with its parameter names; by default maskrcnn_resnet50_fpn (v1):
//
//   backbone.body.*, backbone.fpn.*    ResNet-50 (FrozenBatchNorm2d, eps 0) + FPN   (backbone.hpp)
//   rpn.head.*                         anchors, proposals, the RPN's two losses     (rpn.hpp)
//   roi_heads.*                        box head and predictor, mask head and predictor (roi_heads.hpp)
// and GeneralizedRCNNTransform in front (transform.hpp: normalise, resize, pad; no parameters).
// The same model with a MobileNetV2 body and narrower FPN and heads (MaskRcnnOptions: backbone,
// fpn_channels, roi_heads.representation_size, mask_layers, mask_dim_reduced) is torchvision's MaskRCNN
// built on BackboneWithFPN(mobilenet_v2().features, ...) with TwoMLPHead, MaskRCNNHeads and
// MaskRCNNPredictor of those sizes: a detector small enough to train on a CPU.
//
// Eval:      images (each [3, H_i, W_i], values in [0, 1]) -> per image boxes [D, 4] in the image's own
//            pixel coordinates, scores [D], labels [D] int64 in [1, classes), masks [D, 1, H_i, W_i]
//            (probabilities pasted into the image: paste_masks_in_image; binarise at 0.5 to get masks).
// Training:  images + one DetectionTarget per image (boxes in the image's pixels) -> the five terms of
//            the multitask loss, L = L_objectness + L_rpn_box + L_cls + L_box + L_mask, each a scalar
//            with its autograd graph (frozen: the body stages outside trainable_layers, and every
//            FrozenBatchNorm2d).
//
// Checkpoints: load_state_dict takes torchvision's names of any version after
// canonical_maskrcnn_state_dict (checkpoint.hpp); maskrcnn_from_state_dict builds the model the
// checkpoint describes (body, widths and class count, read from its tensors' names and shapes).
// Fine-tuning replaces the two predictors (replace_predictors), keeping everything else, as
// torchvision's tutorial does.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/detection/paste_masks.hpp>
#include <anima/io/state_dict.hpp>
#include <anima/nets/maskrcnn/backbone.hpp>
#include <anima/nets/maskrcnn/checkpoint.hpp>
#include <anima/nets/maskrcnn/image_list.hpp>
#include <anima/nets/maskrcnn/roi_heads.hpp>
#include <anima/nets/maskrcnn/rpn.hpp>
#include <anima/nets/maskrcnn/transform.hpp>
#include <anima/nn/module.hpp>
#include <anima/ops/elementwise.hpp>

namespace anima::nets::maskrcnn {

struct MaskRcnnOptions {
  std::int64_t num_classes = 91;  // background included (COCO: 91)
  BackboneKind backbone = BackboneKind::ResNet50;
  // Channels of the FPN maps, and so of the RPN head's conv and the RoI heads' input (the model sets
  // roi_heads.in_channels to it).
  std::int64_t fpn_channels = 256;
  int trainable_layers = 3;  // body stages that train, counted from the deepest (torchvision's default)
  // ResNet-50's FrozenBatchNorm2d eps: 0, as maskrcnn_resnet50_fpn sets it for the COCO checkpoints it
  // loads (overwrite_eps); 1e-5 is torchvision's value for a backbone built from ImageNet weights alone.
  double frozen_bn_eps = 0.0;
  TransformOptions transform;
  RpnOptions rpn;
  RoiHeadsOptions roi_heads;
};

// One image's detections, in that image's pixel coordinates.
struct ImageDetections {
  Tensor boxes;   // [D, 4] (x1, y1, x2, y2)
  Tensor scores;  // [D], decreasing
  Tensor labels;  // [D] int64
  Tensor masks;   // [D, 1, H, W] probabilities
};

// The five terms of the multitask loss (loss_mask undefined when the targets have no masks).
struct MaskRcnnLosses {
  Tensor loss_objectness, loss_rpn_box_reg, loss_classifier, loss_box_reg, loss_mask;

  Tensor total() const {
    Tensor sum = add(add(add(loss_objectness, loss_rpn_box_reg), loss_classifier), loss_box_reg);
    return loss_mask.defined() ? add(sum, loss_mask) : sum;
  }
};

// Everything one forward pass computed, for tests and for the per-stage benchmark.
struct MaskRcnnTrace {
  TransformedBatch batch;
  FeatureMaps features;
  RpnOutput rpn;
  RoiHeadsOutput heads;
};

class MaskRCNN : public nn::Module {
 public:
  explicit MaskRCNN(MaskRcnnOptions options = {})
      : nn::Module("MaskRCNN"), options(options), transform(options.transform) {
    ANIMA_CHECK(options.num_classes >= 2, "MaskRCNN", "num_classes counts the background and must be >= 2, got ",
                options.num_classes);
    this->options.roi_heads.in_channels = options.fpn_channels;
    backbone = register_module(
        "backbone", std::make_shared<BackboneWithFPN>(BackboneOptions{
                        options.backbone, options.fpn_channels, options.trainable_layers, options.frozen_bn_eps}));
    rpn = register_module("rpn", std::make_shared<RegionProposalNetwork>(backbone->out_channels, options.rpn));
    roi_heads = register_module("roi_heads", std::make_shared<RoIHeads>(options.num_classes, this->options.roi_heads));
  }

  std::int64_t num_classes() const { return roi_heads->num_classes; }

  // Transform, backbone, RPN and RoI heads (training mode: targets required, one per image).
  MaskRcnnTrace trace(const std::vector<Tensor>& images, const std::vector<DetectionTarget>& targets = {}) {
    constexpr const char* op = "MaskRCNN";
    ANIMA_CHECK(!images.empty(), op, "no images");
    if (is_training())
      ANIMA_CHECK(targets.size() == images.size(), op, "training needs one target per image: ", images.size(),
                  " images, ", targets.size(), " targets");
    MaskRcnnTrace t;
    t.batch = transform.forward(images, targets);
    t.features = backbone->forward_maps(t.batch.images.tensors);
    t.rpn = rpn->forward(t.batch.images, t.features, t.batch.targets);
    t.heads = roi_heads->forward(t.features, t.rpn.boxes, t.batch.images.image_sizes, t.batch.targets);
    return t;
  }

  // Eval: the detections of each image (call train(false) first; a model in training mode is refused).
  std::vector<ImageDetections> detect(const std::vector<Tensor>& images) {
    ANIMA_CHECK(!is_training(), "MaskRCNN", "detect runs in eval mode: call train(false) first");
    NoGradGuard no_grad;
    const MaskRcnnTrace t = trace(images);
    return postprocess(t.heads, t.batch.resizes);
  }

  // Training: the multitask loss of one batch (call train(true) first).
  MaskRcnnLosses losses(const std::vector<Tensor>& images, const std::vector<DetectionTarget>& targets) {
    ANIMA_CHECK(is_training(), "MaskRCNN", "losses needs training mode: call train(true) first");
    const MaskRcnnTrace t = trace(images, targets);
    return {t.rpn.loss_objectness, t.rpn.loss_rpn_box_reg, t.heads.loss_classifier, t.heads.loss_box_reg,
            t.heads.loss_mask};
  }

  // The RoI heads' eval output, in the batch's coordinates, mapped back to each original image: boxes
  // scaled (and shifted in square-centred mode), 28x28 mask probabilities pasted at the original size.
  std::vector<ImageDetections> postprocess(const RoiHeadsOutput& heads, const std::vector<ImageResize>& resizes) const {
    ANIMA_CHECK(heads.boxes.size() == resizes.size(), "MaskRCNN", "postprocess: ", heads.boxes.size(),
                " images of detections for ", resizes.size(), " images");
    std::vector<ImageDetections> out;
    for (std::size_t i = 0; i < resizes.size(); ++i) {
      ImageDetections d;
      d.boxes = transform.postprocess_boxes(heads.boxes[i], resizes[i]);
      d.scores = heads.scores[i];
      d.labels = heads.labels[i];
      const ImageSize original = resizes[i].original;
      d.masks = d.boxes.shape()[0] == 0 ? zeros({0, 1, original[0], original[1]},
                                                TensorOptions(d.boxes.dtype()).with_device(d.boxes.device()))
                                        : paste_masks_in_image(heads.masks[i], d.boxes, original[0], original[1]);
      out.push_back(std::move(d));
    }
    return out;
  }

  // Fine-tuning: new box and mask predictors for num_classes (torchvision's initialisation), the rest kept.
  void replace_predictors(std::int64_t classes) { roi_heads->replace_predictors(classes); }

  MaskRcnnOptions options;
  GeneralizedRCNNTransform transform;
  std::shared_ptr<BackboneWithFPN> backbone;
  std::shared_ptr<RegionProposalNetwork> rpn;
  std::shared_ptr<RoIHeads> roi_heads;
};

// A Mask R-CNN for the checkpoint `dict` (any torchvision naming, any class count, either body, any
// widths), loaded strictly: `options` with the architecture replaced by the checkpoint's
// (maskrcnn_architecture). `source` names the file in errors. BatchNorm2d's num_batches_tracked, which
// canonical names drop, restarts at 0 (as PyTorch loads a checkpoint without it).
inline std::shared_ptr<MaskRCNN> maskrcnn_from_state_dict(const io::StateDict& dict, MaskRcnnOptions options = {},
                                                          const std::string& source = "state dict") {
  io::StateDict canonical = canonical_maskrcnn_state_dict(dict, source);
  const MaskRcnnArchitecture a = maskrcnn_architecture(canonical, source);
  options.num_classes = a.num_classes;
  options.backbone = a.mobilenet_v2_body ? BackboneKind::MobileNetV2 : BackboneKind::ResNet50;
  options.fpn_channels = a.fpn_channels;
  options.roi_heads.representation_size = a.representation_size;
  options.roi_heads.mask_layers = a.mask_layers;
  options.roi_heads.mask_dim_reduced = a.mask_dim_reduced;
  auto model = std::make_shared<MaskRCNN>(options);
  const io::StateDict own = model->state_dict();
  for (const auto& [name, tensor] : own.items())
    if (checkpoint_detail::ends_with(name, ".num_batches_tracked") && !canonical.contains(name))
      canonical.insert(name, tensor);
  model->load_state_dict(canonical, /*strict=*/true);
  return model;
}

}  // namespace anima::nets::maskrcnn
