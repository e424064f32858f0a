// anima/ops/nms.hpp — non-maximum suppression: nms and batched_nms (torchvision 0.14's
// torchvision.ops.nms / batched_nms semantics).
//
//   nms(boxes [K, 4], scores [K], iou_threshold) -> keep [M] int64, box indices by decreasing score.
//     Boxes are visited by score, highest first; a box is kept unless a kept box has
//     IoU > iou_threshold with it (strict: IoU == threshold keeps both). IoU as torchvision's NMS
//     computes it (anima/kernels/box_math.hpp), compared with the threshold in double.
//   batched_nms(boxes [K, 4], scores [K], idxs [K] int64, iou_threshold) -> keep [M] int64:
//     NMS within each category idxs[k] only, as torchvision.ops.batched_nms, with its two algorithms
//     and its CPU switch-over, more than 4000 coordinates (K > 1000), on both backends (torchvision
//     switches at 20000 on CUDA; one switch keeps anima's CPU and CUDA results equal):
//       up to it, the coordinate trick (_batched_nms_coordinate_trick): every box of category c is
//       shifted by c·(max(boxes) + 1) so boxes of different categories never overlap, then one nms;
//       above it, one nms per category (_batched_nms_vanilla): the kept boxes of every category,
//       ordered by decreasing score (stable: equal scores by index; torch.sort's unstable order may
//       differ there), which for K boxes in C categories costs about K²/C IoUs instead of K².
//     The two keep the same boxes except where the shift's float rounding moves an IoU across the
//     threshold.
// Ties: boxes are visited in a stable descending sort of the scores, as torchvision 0.14's CPU kernel
// does: equal scores lowest index first; NaN scores come first, as in torch.sort (see
// anima/kernels/cpu/nms.hpp). Both backends use that order (the CUDA path sorts on the device with a
// stable radix sort of keys that order scores the same way, -0.0 tied with +0.0: anima/kernels/nms_math.hpp),
// so CPU and CUDA keep the same indices, in the same order.
// Bad input: boxes not [K, 4], scores not [K], dtypes or devices that differ, a NaN threshold ->
// anima::Error. A box with a NaN coordinate has a NaN IoU with every box, which never exceeds the
// threshold: it is kept (when its score's turn comes) and suppresses nothing — torchvision's result.
// batched_nms rejects NaN coordinates (the shift would turn every box into NaN).
// Not differentiable (returns indices). Source: torchvision/ops/boxes.py, csrc/ops/cpu/nms_kernel.cpp,
// csrc/ops/cuda/nms_kernel.cu. Kernels: anima/kernels/cpu/nms.hpp, anima/kernels/cuda/nms.cuh.
// Determinism: the kept list is a pure function of the inputs, on both backends (no atomics: each
// mask word is written by one thread; the radix sort is stable; the greedy pass walks the boxes in order).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/tensor.hpp>
#include <anima/kernels/cpu/nms.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/index_rows.hpp>
#include <anima/backends/cpu/nms.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

namespace anima {

namespace detail {

// Boxes [K, 4] of a floating dtype on a usable device.
inline void check_boxes(const Tensor& boxes, const char* op, const char* what = "boxes") {
  ANIMA_CHECK(boxes.defined(), op, what, " is undefined");
  ANIMA_CHECK(boxes.dim() == 2 && boxes.shape()[1] == 4, op, "expected ", what, " of shape [K, 4], got ",
              shape_str(boxes.shape()));
  ANIMA_CHECK(is_floating(boxes.dtype()), op, "expected float32 or float64 ", what, ", got ",
              dtype_name(boxes.dtype()));
  ANIMA_CHECK(boxes.device().is_cpu() || cuda_is_available(), op, what, " ", shape_str(boxes.shape()), " are on ",
              boxes.device().str(), ", but CUDA is not available here (no CUDA device, or ", kCudaNotRegistered, ")");
}

inline void check_nms_args(const Tensor& boxes, const Tensor& scores, double iou_threshold, const char* op) {
  check_boxes(boxes, op);
  ANIMA_CHECK(scores.defined(), op, "scores is undefined");
  ANIMA_CHECK(scores.dim() == 1 && scores.shape()[0] == boxes.shape()[0], op, "expected scores of shape [",
              boxes.shape()[0], "] (one per box), got ", shape_str(scores.shape()));
  ANIMA_CHECK(scores.dtype() == boxes.dtype(), op, "scores (", dtype_name(scores.dtype()),
              ") must have the dtype of boxes (", dtype_name(boxes.dtype()), ")");
  ANIMA_CHECK(scores.device() == boxes.device(), op, "scores are on ", scores.device().str(), ", boxes on ",
              boxes.device().str());
  ANIMA_CHECK(!std::isnan(iou_threshold), op, "iou_threshold is NaN");
}

inline Tensor contiguous_or_self(const Tensor& t) { return t.is_contiguous() ? t : contiguous_copy(t); }

// The visiting order of nms: [n] indices by decreasing score, ties by index (what the kernels use;
// exposed for the golden test).
inline std::vector<std::int64_t> nms_order(const Tensor& scores) {
  const Tensor host = contiguous_or_self(scores.device().is_cpu() ? scores : device_copy(scores, Device::cpu()));
  const std::int64_t n = host.numel();
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  ANIMA_DISPATCH_FLOATING(host.dtype(), "nms", [&] {
    std::vector<std::pair<scalar_t, std::int64_t>> pairs(static_cast<std::size_t>(n));
    kernels::cpu::nms_score_order<scalar_t>(host.data<scalar_t>(), n, pairs.data(), order.data());
  });
  return order;
}

}  // namespace detail

inline Tensor nms(const Tensor& boxes, const Tensor& scores, double iou_threshold);

namespace detail {

// batched_nms above the switch-over: one nms per category (in increasing category order), the kept
// indices gathered, then ordered by decreasing score as nms orders its own.
inline Tensor batched_nms_per_category(const Tensor& boxes, const Tensor& scores, const Tensor& idxs,
                                       double iou_threshold) {
  const std::vector<std::int64_t> category = to_vector<std::int64_t>(idxs);
  std::map<std::int64_t, std::vector<std::int64_t>> members;  // category -> its boxes, increasing
  for (std::size_t k = 0; k < category.size(); ++k) members[category[k]].push_back(static_cast<std::int64_t>(k));
  std::vector<std::int64_t> kept;
  for (const auto& [c, rows] : members) {
    (void)c;
    const std::vector<std::int64_t> keep =
        to_vector<std::int64_t>(nms(index_select_rows(boxes, rows), index_select_rows(scores, rows), iou_threshold));
    for (const std::int64_t k : keep) kept.push_back(rows[static_cast<std::size_t>(k)]);
  }
  std::sort(kept.begin(), kept.end());
  const std::vector<std::int64_t> order = nms_order(index_select_rows(scores, kept));
  std::vector<std::int64_t> result(kept.size());
  for (std::size_t i = 0; i < kept.size(); ++i) result[i] = kept[static_cast<std::size_t>(order[i])];
  return from_vector<std::int64_t>(result, {static_cast<std::int64_t>(result.size())},
                                   TensorOptions(DType::Int64).with_device(boxes.device()));
}

}  // namespace detail

// boxes [K, 4], scores [K] -> [M] int64 (on boxes' device)
inline Tensor nms(const Tensor& boxes, const Tensor& scores, double iou_threshold) {
  detail::check_nms_args(boxes, scores, iou_threshold, "nms");
  const std::int64_t n = boxes.shape()[0];
  const TensorOptions idx_opts = TensorOptions(DType::Int64).with_device(boxes.device());
  if (n == 0) return Tensor::empty({0}, idx_opts);
  const Tensor b = detail::contiguous_or_self(boxes);   // [K, 4]
  const Tensor s = detail::contiguous_or_self(scores);  // [K]
  std::vector<std::int64_t> keep(static_cast<std::size_t>(n));
  const std::int64_t count = kernel_for<NmsKernel>(b.device())(b.device(), b.dtype(), b.raw_data(), s.raw_data(), n,
                                                               iou_threshold, keep.data());
  return from_buffer(keep.data(), {count}, idx_opts);
}

// boxes [K, 4], scores [K], idxs [K] int64 -> [M] int64 (on boxes' device)
inline Tensor batched_nms(const Tensor& boxes, const Tensor& scores, const Tensor& idxs, double iou_threshold) {
  detail::check_nms_args(boxes, scores, iou_threshold, "batched_nms");
  ANIMA_CHECK(idxs.defined(), "batched_nms", "idxs is undefined");
  ANIMA_CHECK(idxs.dim() == 1 && idxs.shape()[0] == boxes.shape()[0], "batched_nms", "expected idxs of shape [",
              boxes.shape()[0], "] (one category per box), got ", shape_str(idxs.shape()));
  ANIMA_CHECK(idxs.dtype() == DType::Int64, "batched_nms", "expected int64 idxs, got ", dtype_name(idxs.dtype()));
  ANIMA_CHECK(idxs.device() == boxes.device(), "batched_nms", "idxs are on ", idxs.device().str(), ", boxes on ",
              boxes.device().str());
  if (boxes.shape()[0] == 0) return Tensor::empty({0}, TensorOptions(DType::Int64).with_device(boxes.device()));
  NoGradGuard no_grad;
  // offsets = idxs·(max(boxes) + 1), in the boxes' dtype, as torchvision computes them.
  const Tensor max_coordinate = max(boxes);  // []
  ANIMA_CHECK(!std::isnan(item<double>(max_coordinate)), "batched_nms",
              "boxes contain NaN coordinates (the per-category offset max(boxes) + 1 would be NaN)");
  if (boxes.numel() > 4000)
    return detail::batched_nms_per_category(boxes, scores, idxs, iou_threshold);
  const Tensor offsets = mul(cast_copy(idxs, boxes.dtype()), add(max_coordinate, 1.0));  // [K]
  const Tensor shifted = add(boxes, unsqueeze(offsets, 1));                              // [K, 4]
  return nms(shifted, scores, iou_threshold);
}

}  // namespace anima
