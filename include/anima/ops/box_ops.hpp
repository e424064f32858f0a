// anima/ops/box_ops.hpp — box utilities of torchvision 0.14 (torchvision/ops/boxes.py and the box
// coder of models/detection/_utils.py). Boxes are (x1, y1, x2, y2) rows.
//
//   box_area(boxes [K, 4]) -> [K]             (x2 - x1)·(y2 - y1); built from slice/sub/mul, so it is
//                                             differentiable (gradient from its parts).
//   box_iou(a [N, 4], b [M, 4]) -> [N, M]     inter / union (anima/kernels/box_math.hpp). Forward only.
//   clip_boxes_to_image(boxes [..., 4], {height, width}) -> same shape: x clamped to [0, width],
//                                             y to [0, height] (NaN stays NaN). Forward only.
//   remove_small_boxes(boxes [K, 4], min_size) -> [M] int64: indices of boxes with width >= min_size
//                                             and height >= min_size (a NaN side fails the test, so
//                                             the box is removed). Computed on the host.
//   box_decode(deltas [N, K·4], anchors [N, 4], weights, clip) -> [N, K, 4]   BoxCoder.decode_single
//   box_encode(reference [N, 4], proposals [N, 4], weights) -> [N, 4]         BoxCoder.encode_single
//     (math in anima/kernels/box_math.hpp; dw, dh clamped at clip = log(1000/16) before exp).
//     Forward only: torchvision decodes without gradient (inference, proposals are detached) and
//     encodes targets only.
// Determinism: every output element is computed from its own inputs: bitwise reproducible per backend.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/tensor.hpp>
#include <anima/kernels/box_math.hpp>
#include <anima/backends/cpu/box_ops.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/nms.hpp>
#include <anima/ops/view.hpp>

namespace anima {

// [K, 4] -> [K]
inline Tensor box_area(const Tensor& boxes) {
  detail::check_boxes(boxes, "box_area");
  const Tensor w = sub(slice(boxes, 1, 2, 3), slice(boxes, 1, 0, 1));  // [K, 1]
  const Tensor h = sub(slice(boxes, 1, 3, 4), slice(boxes, 1, 1, 2));  // [K, 1]
  return reshape(mul(w, h), {boxes.shape()[0]});
}

// [N, 4], [M, 4] -> [N, M]
inline Tensor box_iou(const Tensor& boxes1, const Tensor& boxes2) {
  detail::check_boxes(boxes1, "box_iou", "boxes1");
  detail::check_boxes(boxes2, "box_iou", "boxes2");
  ANIMA_CHECK(boxes1.dtype() == boxes2.dtype(), "box_iou", "boxes1 (", dtype_name(boxes1.dtype()), ") and boxes2 (",
              dtype_name(boxes2.dtype()), ") must have one dtype");
  ANIMA_CHECK(boxes1.device() == boxes2.device(), "box_iou", "boxes1 are on ", boxes1.device().str(), ", boxes2 on ",
              boxes2.device().str());
  const Tensor a = detail::contiguous_or_self(boxes1), b = detail::contiguous_or_self(boxes2);
  const std::int64_t n = a.shape()[0], m = b.shape()[0];
  Tensor iou = Tensor::empty({n, m}, TensorOptions(a.dtype()).with_device(a.device()));
  if (n > 0 && m > 0) kernel_for<BoxIouKernel>(a.device())(a.dtype(), a.raw_data(), n, b.raw_data(), m, iou.raw_data());
  return iou;
}

// [..., 4] -> [..., 4]; image_size = {height, width}
inline Tensor clip_boxes_to_image(const Tensor& boxes, std::array<std::int64_t, 2> image_size) {
  ANIMA_CHECK(boxes.defined(), "clip_boxes_to_image", "boxes is undefined");
  ANIMA_CHECK(boxes.dim() >= 1 && boxes.shape().back() == 4, "clip_boxes_to_image",
              "expected boxes of shape [..., 4], got ", shape_str(boxes.shape()));
  detail::check_boxes(reshape(boxes, {boxes.numel() / 4, 4}), "clip_boxes_to_image");
  ANIMA_CHECK(image_size[0] >= 0 && image_size[1] >= 0, "clip_boxes_to_image", "image size (", image_size[0], ", ",
              image_size[1], ") must be non-negative");
  const Tensor b = detail::contiguous_or_self(boxes);
  Tensor out = Tensor::empty(b.shape(), TensorOptions(b.dtype()).with_device(b.device()));
  if (b.numel() > 0)
    kernel_for<BoxClipKernel>(b.device())(b.dtype(), b.raw_data(), b.numel() / 4, static_cast<double>(image_size[1]),
                                          static_cast<double>(image_size[0]), out.raw_data());
  return out;
}

// [K, 4] -> [M] int64 (on boxes' device)
inline Tensor remove_small_boxes(const Tensor& boxes, double min_size) {
  detail::check_boxes(boxes, "remove_small_boxes");
  std::vector<std::int64_t> keep;
  ANIMA_DISPATCH_FLOATING(boxes.dtype(), "remove_small_boxes", [&] {
    // torchvision: ws = x2 - x1 in the boxes' dtype, then ws >= min_size (in that dtype too).
    const std::vector<scalar_t> v = to_vector<scalar_t>(boxes);
    const scalar_t min_s = static_cast<scalar_t>(min_size);
    for (std::int64_t i = 0; i < boxes.shape()[0]; ++i) {
      const scalar_t* b = v.data() + 4 * i;
      if (b[2] - b[0] >= min_s && b[3] - b[1] >= min_s) keep.push_back(i);
    }
  });
  return from_buffer(keep.data(), {static_cast<std::int64_t>(keep.size())},
                     TensorOptions(DType::Int64).with_device(boxes.device()));
}

// deltas [N, K·4], anchors [N, 4] -> [N, K, 4]
inline Tensor box_decode(const Tensor& deltas, const Tensor& anchors, const kernels::BoxCoderWeights& weights,
                         double clip = kernels::kBboxXformClip) {
  detail::check_boxes(anchors, "box_decode", "anchors (reference boxes)");
  ANIMA_CHECK(
      deltas.defined() && deltas.dim() == 2 && deltas.shape()[0] == anchors.shape()[0] && deltas.shape()[1] % 4 == 0,
      "box_decode", "expected deltas of shape [", anchors.shape()[0], ", K*4] (one row per anchor), got ",
      deltas.defined() ? shape_str(deltas.shape()) : std::string("undefined"));
  ANIMA_CHECK(deltas.dtype() == anchors.dtype(), "box_decode", "deltas (", dtype_name(deltas.dtype()),
              ") and anchors (", dtype_name(anchors.dtype()), ") must have one dtype");
  ANIMA_CHECK(deltas.device() == anchors.device(), "box_decode", "deltas are on ", deltas.device().str(),
              ", anchors on ", anchors.device().str());
  const std::int64_t n = anchors.shape()[0], k = deltas.shape()[1] / 4;
  const Tensor a = detail::contiguous_or_self(anchors), d = detail::contiguous_or_self(deltas);
  Tensor out = Tensor::empty({n, k, 4}, TensorOptions(a.dtype()).with_device(a.device()));
  if (n > 0 && k > 0)
    kernel_for<BoxDecodeKernel>(a.device())(a.dtype(), a.raw_data(), d.raw_data(), n, k, weights, clip, out.raw_data());
  return out;
}

// reference [N, 4] (target boxes), proposals [N, 4] -> [N, 4] (dx, dy, dw, dh)
inline Tensor box_encode(const Tensor& reference, const Tensor& proposals, const kernels::BoxCoderWeights& weights) {
  detail::check_boxes(reference, "box_encode", "reference boxes");
  detail::check_boxes(proposals, "box_encode", "proposals");
  ANIMA_CHECK(reference.shape()[0] == proposals.shape()[0], "box_encode", "reference boxes ",
              shape_str(reference.shape()), " and proposals ", shape_str(proposals.shape()), " must pair up");
  ANIMA_CHECK(reference.dtype() == proposals.dtype(), "box_encode", "reference boxes (", dtype_name(reference.dtype()),
              ") and proposals (", dtype_name(proposals.dtype()), ") must have one dtype");
  ANIMA_CHECK(reference.device() == proposals.device(), "box_encode", "reference boxes are on ",
              reference.device().str(), ", proposals on ", proposals.device().str());
  const Tensor r = detail::contiguous_or_self(reference), p = detail::contiguous_or_self(proposals);
  Tensor out = Tensor::empty({r.shape()[0], 4}, TensorOptions(r.dtype()).with_device(r.device()));
  if (r.shape()[0] > 0)
    kernel_for<BoxEncodeKernel>(r.device())(r.dtype(), r.raw_data(), p.raw_data(), r.shape()[0], weights,
                                            out.raw_data());
  return out;
}

}  // namespace anima
