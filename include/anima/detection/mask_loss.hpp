// anima/detection/mask_loss.hpp — Mask R-CNN's mask targets and mask loss with torchvision 0.14's
// semantics (torchvision/models/detection/roi_heads.py: project_masks_on_boxes, maskrcnn_loss; He et al.,
// "Mask R-CNN", 2017). Also reached through anima/detection/losses.hpp.
//
// mask_targets(gt_masks [G, H, W], boxes [P, 4], matched_idxs [P] int64 in [0, G), M) -> [P, M, M]
//   (torchvision's project_masks_on_boxes): each positive proposal's box cut out of its matched GT mask
//   and resampled to M x M by RoIAlign: roi_align(gt_masks[:, None] as boxes' dtype,
//   rois = cat(matched_idxs, boxes) [P, 5], (M, M), spatial_scale 1, sampling_ratio -1 (adaptive),
//   aligned = false)[:, 0]. Soft values in [0, 1] for binary masks. No gradient (targets).
// maskrcnn_loss(mask_logits [P, C, M, M], proposals (per image [P_i, 4]), gt_masks (per image
//               [G_i, H_i, W_i]), gt_labels (per image [G_i] int64), mask_matched_idxs (per image [P_i] int64)):
//   labels_p = gt_labels_i[matched_p] (must be in [0, C)), targets = mask_targets per image, concatenated;
//   L_mask = (1 / (P·M·M)) Σ_p Σ_{y,x} bce(mask_logits[p, labels_p, y, x], targets[p, y, x])
//   and, with no positive proposal (P = 0), mask_logits.sum() · 0 (a zero that keeps the graph).
// How: torchvision indexes mask_logits[arange(P), labels]; we weigh the C channels with a one-hot
// [P, C, 1, 1] of the labels in binary_cross_entropy_with_logits (targets broadcast over the channels),
// so the gradient is the per-element derivative on the label channel and exactly 0 on the others; the
// cost is C times the elementwise work of the indexed form (C = 2 for faces).
// Backward: composite (binary_cross_entropy_with_logits, mul, sum). Determinism: as roi_align and the parts.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/shape.hpp>
#include <anima/core/tensor.hpp>
#include <anima/ops/concat.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/loss.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/roi_align.hpp>
#include <anima/ops/view.hpp>

namespace anima {

inline Tensor mask_targets(const Tensor& gt_masks /*[G, H, W]*/, const Tensor& boxes /*[P, 4]*/,
                           const Tensor& matched_idxs /*[P] int64*/, std::int64_t m) {
  constexpr const char* op = "mask_targets";
  ANIMA_CHECK(gt_masks.defined() && boxes.defined() && matched_idxs.defined(), op,
              "gt_masks, boxes and matched_idxs must be defined");
  ANIMA_CHECK(gt_masks.dim() == 3, op, "gt_masks must be [G, H, W], got ", shape_str(gt_masks.shape()));
  ANIMA_CHECK(boxes.dim() == 2 && boxes.shape()[1] == 4 && is_floating(boxes.dtype()), op,
              "boxes must be float32/float64 [P, 4], got ", dtype_name(boxes.dtype()), " ", shape_str(boxes.shape()));
  const std::int64_t p = boxes.shape()[0], g = gt_masks.shape()[0];
  ANIMA_CHECK(matched_idxs.dtype() == DType::Int64 && matched_idxs.dim() == 1 && matched_idxs.shape()[0] == p, op,
              "matched_idxs must be int64 [P] = [", p, "] for boxes ", shape_str(boxes.shape()), ", got ",
              dtype_name(matched_idxs.dtype()), " ", shape_str(matched_idxs.shape()));
  ANIMA_CHECK(m > 0, op, "the mask size M must be positive, got ", m);
  ANIMA_CHECK(gt_masks.device() == boxes.device() && matched_idxs.device() == boxes.device(), op, "gt_masks (",
              gt_masks.device().str(), "), boxes (", boxes.device().str(), ") and matched_idxs (",
              matched_idxs.device().str(), ") must be on one device");
  const TensorOptions to = TensorOptions(boxes.dtype()).with_device(boxes.device());
  if (p == 0) return Tensor::empty({0, m, m}, to);
  const std::vector<std::int64_t> idx = to_vector<std::int64_t>(matched_idxs);
  const std::vector<double> b = to_vector<double>(boxes);
  std::vector<double> rois(static_cast<std::size_t>(5 * p));
  for (std::int64_t i = 0; i < p; ++i) {
    const std::int64_t j = idx[static_cast<std::size_t>(i)];
    ANIMA_CHECK(j >= 0 && j < g, op, "matched index ", j, " (proposal ", i, ") is out of range for ", g,
                " ground-truth masks (gt_masks ", shape_str(gt_masks.shape()), ")");
    rois[static_cast<std::size_t>(5 * i)] = static_cast<double>(j);
    for (int k = 0; k < 4; ++k) rois[static_cast<std::size_t>(5 * i + 1 + k)] = b[static_cast<std::size_t>(4 * i + k)];
  }
  NoGradGuard no_grad;
  // Box coordinates round-trip exactly through double (float32 and float64 values both fit).
  Tensor r = cast_copy(from_vector(rois, {p, 5}, TensorOptions(DType::Float64)), boxes.dtype());
  if (!boxes.device().is_cpu()) r = device_copy(r, boxes.device());
  const Shape& s = gt_masks.shape();
  const Tensor input = reshape(cast_copy(detach(gt_masks), boxes.dtype()), {g, 1, s[1], s[2]});
  const Tensor t = roi_align(input, r, std::array<std::int64_t, 2>{m, m}, 1.0, -1, false);  // [P, 1, M, M]
  return reshape(t, {p, m, m});
}

inline Tensor maskrcnn_loss(const Tensor& mask_logits /*[P, C, M, M]*/, const std::vector<Tensor>& proposals,
                            const std::vector<Tensor>& gt_masks, const std::vector<Tensor>& gt_labels,
                            const std::vector<Tensor>& mask_matched_idxs) {
  constexpr const char* op = "maskrcnn_loss";
  ANIMA_CHECK(mask_logits.defined(), op, "mask_logits must be defined");
  untracked::check_floating(op, mask_logits);
  const Shape& ls = mask_logits.shape();
  ANIMA_CHECK(mask_logits.dim() == 4 && ls[2] == ls[3] && ls[1] > 0, op,
              "mask_logits must be [P, C, M, M] with C > 0, got ", shape_str(ls));
  const std::size_t images = proposals.size();
  ANIMA_CHECK(gt_masks.size() == images && gt_labels.size() == images && mask_matched_idxs.size() == images, op,
              "proposals, gt_masks, gt_labels and mask_matched_idxs must have one entry per image, got ",
              proposals.size(), ", ", gt_masks.size(), ", ", gt_labels.size(), " and ", mask_matched_idxs.size());
  const std::int64_t c = ls[1], m = ls[3];
  std::vector<std::int64_t> labels;
  std::vector<Tensor> targets;
  for (std::size_t i = 0; i < images; ++i) {
    ANIMA_CHECK(
        proposals[i].defined() && gt_labels[i].defined() && gt_masks[i].defined() && mask_matched_idxs[i].defined(), op,
        "image ", i, ": every tensor must be defined");
    ANIMA_CHECK(gt_labels[i].dtype() == DType::Int64 && gt_labels[i].dim() == 1 && gt_masks[i].dim() == 3 &&
                    gt_labels[i].shape()[0] == gt_masks[i].shape()[0],
                op, "image ", i, ": gt_labels must be int64 [G] with one label per mask of gt_masks [G, H, W], got ",
                dtype_name(gt_labels[i].dtype()), " ", shape_str(gt_labels[i].shape()), " and ",
                shape_str(gt_masks[i].shape()));
    ANIMA_CHECK(proposals[i].dim() == 2 && mask_matched_idxs[i].dim() == 1 &&
                    mask_matched_idxs[i].shape()[0] == proposals[i].shape()[0],
                op, "image ", i, ": mask_matched_idxs ", shape_str(mask_matched_idxs[i].shape()),
                " must hold one index per proposal of ", shape_str(proposals[i].shape()));
    targets.push_back(mask_targets(gt_masks[i], proposals[i], mask_matched_idxs[i], m));
    const std::vector<std::int64_t> gl = to_vector<std::int64_t>(gt_labels[i]);
    for (std::int64_t j : to_vector<std::int64_t>(mask_matched_idxs[i])) {  // in range: mask_targets checked it
      const std::int64_t l = gl[static_cast<std::size_t>(j)];
      ANIMA_CHECK(l >= 0 && l < c, op, "image ", i, ": label ", l, " of ground truth ", j, " is out of range for ", c,
                  " mask classes (mask_logits ", shape_str(ls), ")");
      labels.push_back(l);
    }
  }
  const std::int64_t p = static_cast<std::int64_t>(labels.size());
  ANIMA_CHECK(p == ls[0], op, "mask_logits ", shape_str(ls), " has ", ls[0], " rows but the images have ", p,
              " positive proposals");
  if (p == 0) return mul(sum(mask_logits), 0.0);  // torchvision: mask_logits.sum() * 0
  std::vector<double> onehot(static_cast<std::size_t>(p * c), 0.0);
  for (std::int64_t i = 0; i < p; ++i)
    onehot[static_cast<std::size_t>(i * c + labels[static_cast<std::size_t>(i)])] = 1.0;
  Tensor w = cast_copy(from_vector(onehot, {p, c, 1, 1}, TensorOptions(DType::Float64)), mask_logits.dtype());
  if (!mask_logits.device().is_cpu()) w = device_copy(w, mask_logits.device());
  Tensor t = concat(targets, 0);  // [P, M, M]
  ANIMA_CHECK(t.device() == mask_logits.device(), op, "the proposals are on ", t.device().str(), " but mask_logits on ",
              mask_logits.device().str());
  if (t.dtype() != mask_logits.dtype()) t = cast_copy(t, mask_logits.dtype());
  const Tensor target = expand(reshape(t, {p, 1, m, m}), ls);
  const Tensor bce = binary_cross_entropy_with_logits(mask_logits, target, w, Reduction::Sum);
  return div(bce, static_cast<double>(p * m * m));
}

}  // namespace anima
