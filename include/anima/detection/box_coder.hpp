// anima/detection/box_coder.hpp — torchvision 0.14's BoxCoder (models/detection/_utils.py): box
// regression targets between reference boxes (anchors / proposals) and target boxes.
//
//   encode_single(reference [N, 4], proposals [N, 4]) -> [N, 4]   targets (dx, dy, dw, dh) that turn
//                                                                each proposal into its reference box
//   decode_single(rel_codes [N, K·4], boxes [N, 4]) -> [N, K·4]    K boxes per reference box
//   decode(rel_codes [sum N_i, K·4], boxes {[N_i, 4]}) -> [sum N_i, K, 4]
//   encode({[N_i, 4]} reference, {[N_i, 4]} proposals) -> {[N_i, 4]}
// Math (weights (wx, wy, ww, wh), dw/dh clamped at bbox_xform_clip = log(1000/16) before exp):
// anima/kernels/box_math.hpp. Weights: (10, 10, 5, 5) for the RoI box head, (1, 1, 1, 1) for the RPN.
// Forward only (see anima/ops/box_ops.hpp). Determinism: elementwise, bitwise reproducible.
#pragma once

#include <cstdint>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/kernels/box_math.hpp>
#include <anima/ops/box_ops.hpp>
#include <anima/ops/concat.hpp>
#include <anima/ops/view.hpp>

namespace anima::detection {

class BoxCoder {
 public:
  explicit BoxCoder(kernels::BoxCoderWeights weights, double bbox_xform_clip = kernels::kBboxXformClip)
      : weights_(weights), clip_(bbox_xform_clip) {}

  static BoxCoder rpn() { return BoxCoder({1.0, 1.0, 1.0, 1.0}); }
  static BoxCoder roi_heads() { return BoxCoder({10.0, 10.0, 5.0, 5.0}); }

  const kernels::BoxCoderWeights& weights() const { return weights_; }
  double bbox_xform_clip() const { return clip_; }

  Tensor encode_single(const Tensor& reference_boxes, const Tensor& proposals) const {
    return box_encode(reference_boxes, proposals, weights_);
  }

  std::vector<Tensor> encode(const std::vector<Tensor>& reference_boxes, const std::vector<Tensor>& proposals) const {
    ANIMA_CHECK(reference_boxes.size() == proposals.size(), "BoxCoder.encode", "got ", reference_boxes.size(),
                " images of reference boxes and ", proposals.size(), " of proposals");
    std::vector<Tensor> out;
    for (std::size_t i = 0; i < proposals.size(); ++i) out.push_back(encode_single(reference_boxes[i], proposals[i]));
    return out;
  }

  // [N, K·4], [N, 4] -> [N, K·4]
  Tensor decode_single(const Tensor& rel_codes, const Tensor& boxes) const {
    const Tensor d = box_decode(rel_codes, boxes, weights_, clip_);  // [N, K, 4]
    return reshape(d, {d.shape()[0], d.shape()[1] * 4});
  }

  // [sum N_i, K·4], {[N_i, 4]} -> [sum N_i, K, 4]
  Tensor decode(const Tensor& rel_codes, const std::vector<Tensor>& boxes) const {
    ANIMA_CHECK(!boxes.empty(), "BoxCoder.decode", "no reference boxes (one tensor per image expected)");
    const Tensor all = boxes.size() == 1 ? boxes[0] : concat(boxes, 0);
    const std::int64_t n = all.dim() == 2 ? all.shape()[0] : -1;
    // torchvision reshapes rel_codes to [box_sum, -1]
    ANIMA_CHECK(rel_codes.defined() && n >= 0 && (n == 0 ? rel_codes.numel() == 0 : rel_codes.numel() % (4 * n) == 0),
                "BoxCoder.decode", "rel_codes ",
                rel_codes.defined() ? shape_str(rel_codes.shape()) : std::string("undefined"), " cannot be split into ",
                n, " rows of K*4 codes");
    const Tensor codes = reshape(rel_codes, {n, n == 0 ? 4 : rel_codes.numel() / n});
    return box_decode(codes, all, weights_, clip_);
  }

 private:
  kernels::BoxCoderWeights weights_;
  double clip_;
};

}  // namespace anima::detection
