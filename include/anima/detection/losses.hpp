// anima/detection/losses.hpp — the training losses of Faster / Mask R-CNN with torchvision 0.14's
// semantics (torchvision/models/detection/rpn.py RegionProposalNetwork.compute_loss,
// roi_heads.py fastrcnn_loss; the mask loss is in anima/detection/mask_loss.hpp, included below), and
// the multitask total L = L_objectness + L_rpn_box + L_cls + L_box + L_mask (Ren et al., "Faster
// R-CNN", 2015; He et al., "Mask R-CNN", 2017).
//
// rpn_loss(objectness [A] (any shape of A elements, flattened), pred_bbox_deltas [A, 4], labels [A],
//          regression_targets [A, 4], sampled_pos, sampled_neg), over the A anchors of all images
//          concatenated; sampled_pos / sampled_neg are what torchvision's fg_bg_sampler returns, either
//          int64 indices into [0, A) or bool masks [A]; K = |pos| + |neg| > 0:
//   objectness = (1/K) Σ_{a ∈ pos ∪ neg} bce(objectness[a], labels[a])       (labels[a] in [0, 1])
//   box        = (1/K) Σ_{a ∈ pos} Σ_j smooth_l1_{β=1/9}(pred_bbox_deltas[a, j] - regression_targets[a, j])
// fastrcnn_loss(class_logits [N, C], box_regression [N, 4C], labels [N] int64 in [0, C),
//               regression_targets [N, 4]):
//   classifier = cross_entropy(class_logits, labels)                       (mean over the N proposals)
//   box        = (1/N) Σ_{n: labels[n] > 0} Σ_j smooth_l1_{β=1/9}(box_regression[n, labels[n], j] -
//   regression_targets[n, j])
//
// How: torchvision indexes the sampled rows (x[idx]); we weigh every row instead, by how many times the
// sampler picked it (0 for rows not picked, as many as the index lists name it otherwise: the same sum
// as indexing, duplicates included), with a weight tensor built on the host. The gradients then come
// from the existing differentiable ops (binary_cross_entropy_with_logits with a weight, smooth_l1_loss,
// cross_entropy, mul, sum): dL/dx is the weight times the per-element derivative, exactly 0 for rows
// not picked, as torchvision's index backward. The unweighted per-element loss is computed for every
// row, so rows not picked must hold finite values (torchvision computes targets for every anchor and
// proposal anyway); the cost is O(A) elementwise work instead of O(K).
// Labels, indices and masks are read on the host to check them (an Error names the loss, the bad value
// and its position) and to build the weights.
// Backward: composite (from the parts above); no tensor is saved beyond what those ops save.
// Determinism: as the parts: bitwise reproducible on the CPU; on CUDA the sums use the reduce kernels.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/shape.hpp>
#include <anima/core/tensor.hpp>
#include <anima/detection/mask_loss.hpp>
#include <anima/ops/concat.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/loss.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

namespace anima {

// torchvision's beta of the box-regression smooth L1 in the RPN and the box head.
inline constexpr double kDetectionBoxBeta = 1.0 / 9.0;

struct RpnLoss {
  Tensor objectness;  // scalar: torchvision's "loss_objectness"
  Tensor box_reg;     // scalar: torchvision's "loss_rpn_box_reg"
};

struct FastRcnnLoss {
  Tensor classifier;  // scalar: "loss_classifier"
  Tensor box_reg;     // scalar: "loss_box_reg"
};

// The named losses of one training step (torchvision's loss dict keys) and their sum. Undefined members
// are absent (e.g. no mask head, or the RPN trained apart).
struct DetectionLosses {
  Tensor loss_objectness, loss_rpn_box_reg, loss_classifier, loss_box_reg, loss_mask;

  static DetectionLosses from(const RpnLoss& rpn, const FastRcnnLoss& box, const Tensor& mask = Tensor()) {
    DetectionLosses l;
    l.loss_objectness = rpn.objectness;
    l.loss_rpn_box_reg = rpn.box_reg;
    l.loss_classifier = box.classifier;
    l.loss_box_reg = box.box_reg;
    l.loss_mask = mask;
    return l;
  }

  // The defined losses as (torchvision key, scalar), in torchvision's order (roi_heads, then rpn).
  std::vector<std::pair<std::string, Tensor>> named() const {
    std::vector<std::pair<std::string, Tensor>> out;
    const std::pair<const char*, const Tensor*> all[] = {{"loss_classifier", &loss_classifier},
                                                         {"loss_box_reg", &loss_box_reg},
                                                         {"loss_mask", &loss_mask},
                                                         {"loss_objectness", &loss_objectness},
                                                         {"loss_rpn_box_reg", &loss_rpn_box_reg}};
    for (const auto& kv : all)
      if (kv.second->defined()) out.emplace_back(kv.first, *kv.second);
    return out;
  }

  // L = the sum of the defined losses (differentiable), added in named() order.
  Tensor total() const {
    Tensor l;
    for (const auto& kv : named()) l = l.defined() ? add(l, kv.second) : kv.second;
    ANIMA_CHECK(l.defined(), "DetectionLosses::total", "no loss is defined");
    return l;
  }
};

namespace detail {

// A host vector as a tensor of `like`'s dtype and device with `shape`.
inline Tensor detection_weights(const std::vector<double>& v, const Shape& shape, const Tensor& like) {
  const Tensor host = cast_copy(from_vector(v, shape, TensorOptions(DType::Float64)), like.dtype());
  return like.device().is_cpu() ? host : device_copy(host, like.device());
}

// The rows a sampler picked: int64 indices into [0, count) (any order, repeats allowed) or a bool mask
// [count]; returned as indices.
inline std::vector<std::int64_t> sampled_indices(const char* op, const char* what, const Tensor& s,
                                                 std::int64_t count) {
  ANIMA_CHECK(s.defined(), op, what, " must be defined (int64 indices or a bool mask)");
  std::vector<std::int64_t> idx;
  if (s.dtype() == DType::Bool) {
    ANIMA_CHECK(s.dim() == 1 && s.shape()[0] == count, op, what, " as a bool mask must be [", count, "], got ",
                shape_str(s.shape()));
    const std::vector<std::int64_t> m = to_vector<std::int64_t>(s);
    for (std::int64_t i = 0; i < count; ++i)
      if (m[static_cast<std::size_t>(i)] != 0) idx.push_back(i);
    return idx;
  }
  ANIMA_CHECK(s.dtype() == DType::Int64 && s.dim() == 1, op, what, " must be int64 indices [K] or a bool mask [", count,
              "], got ", dtype_name(s.dtype()), " ", shape_str(s.shape()));
  idx = to_vector<std::int64_t>(s);
  for (std::size_t i = 0; i < idx.size(); ++i)
    ANIMA_CHECK(idx[i] >= 0 && idx[i] < count, op, what, " index ", idx[i], " (position ", i, ") is out of range for ",
                count, " rows");
  return idx;
}

inline void check_same_kind(const char* op, const char* what, const Tensor& t, const Tensor& ref,
                            const char* ref_name) {
  ANIMA_CHECK(t.dtype() == ref.dtype() && t.device() == ref.device(), op, what, " ", shape_str(t.shape()), " (",
              dtype_name(t.dtype()), " on ", t.device().str(), ") must match ", ref_name, " (", dtype_name(ref.dtype()),
              " on ", ref.device().str(), ")");
}

}  // namespace detail

inline RpnLoss rpn_loss(const Tensor& objectness /*[A] or [A, 1]*/, const Tensor& pred_bbox_deltas /*[A, 4]*/,
                        const Tensor& labels /*[A]*/, const Tensor& regression_targets /*[A, 4]*/,
                        const Tensor& sampled_pos /*[P] int64 or [A] bool*/,
                        const Tensor& sampled_neg /*[Q] int64 or [A] bool*/) {
  constexpr const char* op = "rpn_loss";
  ANIMA_CHECK(objectness.defined() && pred_bbox_deltas.defined() && labels.defined() && regression_targets.defined(),
              op, "objectness, pred_bbox_deltas, labels and regression_targets must be defined");
  untracked::check_floating(op, objectness);
  const std::int64_t a = objectness.numel();
  ANIMA_CHECK(pred_bbox_deltas.dim() == 2 && pred_bbox_deltas.shape()[0] == a && pred_bbox_deltas.shape()[1] == 4, op,
              "pred_bbox_deltas must be [A, 4] = [", a, ", 4] for objectness ", shape_str(objectness.shape()), ", got ",
              shape_str(pred_bbox_deltas.shape()));
  ANIMA_CHECK(labels.numel() == a, op, "labels ", shape_str(labels.shape()), " must hold A = ", a,
              " values (one per anchor of objectness ", shape_str(objectness.shape()), ")");
  ANIMA_CHECK(regression_targets.shape() == pred_bbox_deltas.shape(), op, "regression_targets ",
              shape_str(regression_targets.shape()), " must have the shape of pred_bbox_deltas ",
              shape_str(pred_bbox_deltas.shape()));
  detail::check_same_kind(op, "pred_bbox_deltas", pred_bbox_deltas, objectness, "objectness");
  detail::check_same_kind(op, "labels", labels, objectness, "objectness");
  detail::check_same_kind(op, "regression_targets", regression_targets, objectness, "objectness");

  const std::vector<std::int64_t> pos = detail::sampled_indices(op, "sampled_pos", sampled_pos, a);
  const std::vector<std::int64_t> neg = detail::sampled_indices(op, "sampled_neg", sampled_neg, a);
  const std::int64_t k = static_cast<std::int64_t>(pos.size() + neg.size());
  ANIMA_CHECK(k > 0, op, "no anchor was sampled (sampled_pos and sampled_neg are empty; torchvision would return NaN)");
  const std::vector<double> lab = to_vector<double>(labels);
  std::vector<double> w_obj(static_cast<std::size_t>(a), 0.0), w_box(static_cast<std::size_t>(a), 0.0);
  for (const auto* list : {&pos, &neg}) {
    for (std::int64_t i : *list) {
      const double l = lab[static_cast<std::size_t>(i)];
      ANIMA_CHECK(l >= 0.0 && l <= 1.0, op, "label ", l, " of sampled anchor ", i,
                  " is out of range: the objectness target must be in [0, 1] (1 foreground, 0 background)");
      w_obj[static_cast<std::size_t>(i)] += 1.0;
    }
  }
  for (std::int64_t i : pos) w_box[static_cast<std::size_t>(i)] += 1.0;

  const Tensor flat = reshape(objectness, {a});
  const Tensor obj_w = detail::detection_weights(w_obj, {a}, objectness);
  const Tensor bce = binary_cross_entropy_with_logits(flat, reshape(labels, {a}), obj_w, Reduction::Sum);
  const Tensor box_w = detail::detection_weights(w_box, {a, 1}, objectness);
  const Tensor l1 = smooth_l1_loss(pred_bbox_deltas, regression_targets, kDetectionBoxBeta, Reduction::None);
  RpnLoss out;
  out.objectness = div(bce, static_cast<double>(k));
  out.box_reg = div(sum(mul(l1, box_w)), static_cast<double>(k));
  return out;
}

inline FastRcnnLoss fastrcnn_loss(const Tensor& class_logits /*[N, C]*/, const Tensor& box_regression /*[N, 4C]*/,
                                  const Tensor& labels /*[N] int64*/, const Tensor& regression_targets /*[N, 4]*/) {
  constexpr const char* op = "fastrcnn_loss";
  ANIMA_CHECK(class_logits.defined() && box_regression.defined() && labels.defined() && regression_targets.defined(),
              op, "class_logits, box_regression, labels and regression_targets must be defined");
  untracked::check_floating(op, class_logits);
  ANIMA_CHECK(class_logits.dim() == 2, op, "class_logits must be [N, C], got ", shape_str(class_logits.shape()));
  const std::int64_t n = class_logits.shape()[0], c = class_logits.shape()[1];
  ANIMA_CHECK(n > 0, op, "no proposals (class_logits ", shape_str(class_logits.shape()),
              "; torchvision would return NaN)");
  ANIMA_CHECK(box_regression.dim() == 2 && box_regression.shape()[0] == n && box_regression.shape()[1] == 4 * c, op,
              "box_regression must be [N, 4C] = [", n, ", ", 4 * c, "] for class_logits ",
              shape_str(class_logits.shape()), ", got ", shape_str(box_regression.shape()));
  ANIMA_CHECK(labels.dtype() == DType::Int64 && labels.dim() == 1 && labels.shape()[0] == n, op,
              "labels must be int64 [N] = [", n, "], got ", dtype_name(labels.dtype()), " ", shape_str(labels.shape()));
  ANIMA_CHECK(regression_targets.dim() == 2 && regression_targets.shape()[0] == n && regression_targets.shape()[1] == 4,
              op, "regression_targets must be [N, 4] = [", n, ", 4], got ", shape_str(regression_targets.shape()));
  detail::check_same_kind(op, "box_regression", box_regression, class_logits, "class_logits");
  detail::check_same_kind(op, "regression_targets", regression_targets, class_logits, "class_logits");
  ANIMA_CHECK(labels.device() == class_logits.device(), op, "labels are on ", labels.device().str(),
              " but class_logits on ", class_logits.device().str());

  const std::vector<std::int64_t> lab = to_vector<std::int64_t>(labels);
  std::vector<double> pick(static_cast<std::size_t>(n * c * 4), 0.0);  // [N, C, 4]: 1 on the GT class of positives
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t l = lab[static_cast<std::size_t>(i)];
    ANIMA_CHECK(l >= 0 && l < c, op, "label ", l, " (proposal ", i, ") is out of range for ", c,
                " classes (class_logits ", shape_str(class_logits.shape()), ")");
    if (l > 0)
      for (int j = 0; j < 4; ++j) pick[static_cast<std::size_t>((i * c + l) * 4 + j)] = 1.0;
  }
  FastRcnnLoss out;
  out.classifier = cross_entropy(class_logits, labels);
  const Tensor reg = reshape(box_regression, {n, c, 4});
  const Tensor tgt = expand(reshape(regression_targets, {n, 1, 4}), {n, c, 4});
  const Tensor l1 = smooth_l1_loss(reg, tgt, kDetectionBoxBeta, Reduction::None);
  out.box_reg = div(sum(mul(l1, detail::detection_weights(pick, {n, c, 4}, class_logits))), static_cast<double>(n));
  return out;
}

// torchvision's list arguments (one tensor per image), concatenated along dim 0 as torchvision does.
inline FastRcnnLoss fastrcnn_loss(const Tensor& class_logits, const Tensor& box_regression,
                                  const std::vector<Tensor>& labels, const std::vector<Tensor>& regression_targets) {
  ANIMA_CHECK(!labels.empty() && labels.size() == regression_targets.size(), "fastrcnn_loss",
              "labels and regression_targets must be non-empty lists of the same length (one per image), got ",
              labels.size(), " and ", regression_targets.size());
  return fastrcnn_loss(class_logits, box_regression, concat(labels, 0), concat(regression_targets, 0));
}

}  // namespace anima
