// anima/nets/maskrcnn/transform.hpp — Mask R-CNN's input transform: torchvision 0.14's
// GeneralizedRCNNTransform (models/detection/transform.py), and a "square" mode as matterport's
// utils.resize_image(mode="square").
//
// Per image x [3, H, W] (float32 or float64, values in [0, 1]), in this order:
//   normalise:  x'[c] = (x[c] - mean[c]) / std[c]        (mean/std cast to x's dtype; BEFORE resizing)
//   resize:     bilinear, align_corners = false, to an explicit (h, w), so the source ratio is in / out
//               (PyTorch's with recompute_scale_factor = True), with anima's interpolate (ops/interpolate.hpp).
//               PyTorch 1.13's CPU kernel forms the source coordinate in double and fuses its
//               multiply-adds, ours works in the tensor's type: the pixels agree to a few float32 ulps
//               (about 1e-6 here), not bitwise. To size:
//     torchvision: scale = min(f32(1 / min(H, W)) · min_size, f32(1 / max(H, W)) · max_size), every step
//                  rounded to FLOAT32 (PyTorch evaluates `number / tensor` as tensor.reciprocal() · number);
//                  (h, w) = (floor(double(H) · double(scale)), floor(double(W) · double(scale))).
//                  The float32 rounding matters: 77x103 with 128/200 gives f32(128/77) · 77 =
//                  127.99999988, so h = 127, not 128.
//     square:      the long side becomes S = square_side, the short side round-half-up(short · S / long)
//                  = (2 · short · S + long) div (2 · long) in integers (at least 1); then the image sits
//                  in an S x S zero canvas at the top-left, or centred at (top, left) = ((S - h) div 2,
//                  (S - w) div 2) when square_centered.
//   batch:      zero-pad every image at the bottom/right to (ceil(maxH / d) · d, ceil(maxW / d) · d),
//               d = size_divisible (maxH, maxW over the images, or over the canvases in square mode).
// Targets (training), in the resized image's pixels:
//   boxes (x1, y1, x2, y2): x · f32(w) / f32(W), y · f32(h) / f32(H) (torchvision's resize_boxes: float32
//     ratios, applied in the boxes' dtype), plus (left, top) in square-centred mode;
//   masks [G, H, W]: nearest resize to (h, w) (torchvision: interpolate(masks[:, None].float()), ratio
//     in / out, source = min(floor(dst · ratio), in - 1)), back to the masks' dtype; square-centred mode
//     places them in a [G, S, S] zero canvas at (top, left) so they share the boxes' coordinates.
// Postprocess (detections back to the original image): subtract (left, top), then x · f32(W) / f32(w),
//   y · f32(H) / f32(h) (torchvision's resize_boxes from (h, w) to (H, W)); square-centred mode then clips
//   to the original image (the network only clipped to the canvas). Mask pasting is the RoI heads' job.
// ImageList::image_sizes, what the RPN and RoI heads clip boxes to: (h, w) in torchvision and
//   top-left square mode (torchvision's meaning); (S, S) in square-centred mode, where the image does not
//   start at (0, 0).
// No gradient flows through the transform (inputs are data, not parameters).
// Determinism: bitwise reproducible (elementwise ops and a per-pixel bilinear / nearest gather).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/core/view_meta.hpp>
#include <anima/nets/maskrcnn/image_list.hpp>
#include <anima/ops/box_ops.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/interpolate.hpp>

namespace anima::nets::maskrcnn {

enum class ResizeMode {
  Torchvision,  // shorter side to min_size unless the longer side would pass max_size
  Square,       // longer side to square_side, placed in a square_side x square_side canvas
};

struct TransformOptions {
  std::int64_t min_size = 800;   // torchvision mode
  std::int64_t max_size = 1333;  // torchvision mode
  std::array<double, 3> image_mean{0.485, 0.456, 0.406};
  std::array<double, 3> image_std{0.229, 0.224, 0.225};
  std::int64_t size_divisible = 32;
  ResizeMode mode = ResizeMode::Torchvision;
  std::int64_t square_side = 1024;  // square mode: S
  bool square_centered = false;     // square mode: centre the image in the canvas (else top-left)
};

// Where one image went: what postprocess needs to map boxes back.
struct ImageResize {
  ImageSize original{0, 0};  // (H, W) as given
  ImageSize resized{0, 0};   // (h, w) after resizing, before any padding
  ImageSize offset{0, 0};    // (top, left) of the resized image in the batch: (0, 0) but in square-centred mode
};

struct TransformedBatch {
  ImageList images;                      // [N, 3, Hb, Wb] and the sizes the heads clip to (see above)
  std::vector<ImageResize> resizes;      // one per image
  std::vector<DetectionTarget> targets;  // the resized targets (empty when none were given)
};

namespace transform_detail {
constexpr const char* kOp = "maskrcnn transform";

inline void check_options(const TransformOptions& o) {
  if (o.mode == ResizeMode::Torchvision) {
    ANIMA_CHECK(o.min_size > 0 && o.max_size > 0, kOp, "min_size and max_size must be positive, got min_size ",
                o.min_size, ", max_size ", o.max_size);
  } else {
    ANIMA_CHECK(o.square_side > 0, kOp, "square_side must be positive, got ", o.square_side);
  }
  ANIMA_CHECK(o.size_divisible > 0, kOp, "size_divisible must be positive, got ", o.size_divisible);
  for (int c = 0; c < 3; ++c)
    ANIMA_CHECK(o.image_std[c] != 0.0 && std::isfinite(o.image_std[c]) && std::isfinite(o.image_mean[c]), kOp,
                "image_mean and image_std must be finite and image_std non-zero, got mean[", c, "] = ", o.image_mean[c],
                ", std[", c, "] = ", o.image_std[c]);
}

inline void check_image(const Tensor& image, std::size_t index) {
  ANIMA_CHECK(image.defined(), kOp, "image ", index, " is undefined");
  ANIMA_CHECK(image.dim() == 3, kOp, "expected image ", index, " of shape [3, H, W], got shape ",
              shape_str(image.shape()));
  ANIMA_CHECK(image.shape()[0] == 3, kOp, "expected image ", index, " with 3 channels [3, H, W], got shape ",
              shape_str(image.shape()));
  ANIMA_CHECK(image.shape()[1] > 0 && image.shape()[2] > 0, kOp, "expected image ", index,
              " with non-zero height and width [3, H, W], got shape ", shape_str(image.shape()));
  ANIMA_CHECK(is_floating(image.dtype()), kOp, "expected image ", index,
              " to be float32 or float64 (values in [0, 1]), got ", dtype_name(image.dtype()));
}

inline void check_size(ImageSize s, const char* what) {
  ANIMA_CHECK(s[0] > 0 && s[1] > 0, kOp, "expected a positive ", what, " size, got (", s[0], ", ", s[1], ")");
}

inline std::int64_t round_up(std::int64_t v, std::int64_t d) { return (v + d - 1) / d * d; }

}  // namespace transform_detail

// torchvision's resize scale, in float32 (transform.py: torch.min(min_size / min(h, w), max_size / max(h, w))
// with min(h, w), max(h, w) float32 tensors and min_size, max_size Python numbers).
inline float torchvision_resize_scale(ImageSize original, std::int64_t min_size, std::int64_t max_size) {
  transform_detail::check_size(original, "image");
  ANIMA_CHECK(min_size > 0 && max_size > 0, transform_detail::kOp,
              "min_size and max_size must be positive, got min_size ", min_size, ", max_size ", max_size);
  const float lo = static_cast<float>(std::min(original[0], original[1]));
  const float hi = static_cast<float>(std::max(original[0], original[1]));
  // `size / tensor` in PyTorch is tensor.reciprocal() * size (torch/_tensor.py __rdiv__): two float32
  // roundings, not one. It decides sizes: f32(1/12) * 40 = 3.3333335 gives 12 -> 40, where
  // f32(40/12) = 3.3333333 would give 39.
  const float by_min = (1.0f / lo) * static_cast<float>(min_size);
  const float by_max = (1.0f / hi) * static_cast<float>(max_size);
  return std::min(by_min, by_max);
}

// The size torchvision resizes to: floor(double(side) · double(float32 scale)) per axis (F.interpolate's
// output size with recompute_scale_factor = True).
inline ImageSize torchvision_resized_size(ImageSize original, std::int64_t min_size, std::int64_t max_size) {
  const double scale = static_cast<double>(torchvision_resize_scale(original, min_size, max_size));
  const ImageSize out{static_cast<std::int64_t>(std::floor(static_cast<double>(original[0]) * scale)),
                      static_cast<std::int64_t>(std::floor(static_cast<double>(original[1]) * scale))};
  ANIMA_CHECK(out[0] > 0 && out[1] > 0, transform_detail::kOp, "image (", original[0], ", ", original[1],
              ") resizes to an empty (", out[0], ", ", out[1], ") with min_size ", min_size, ", max_size ", max_size);
  return out;
}

// Square mode's size: the long side S, the short side round-half-up(short · S / long) in integers, >= 1.
inline ImageSize square_resized_size(ImageSize original, std::int64_t side) {
  transform_detail::check_size(original, "image");
  ANIMA_CHECK(side > 0, transform_detail::kOp, "square_side must be positive, got ", side);
  const std::int64_t lng = std::max(original[0], original[1]), shrt = std::min(original[0], original[1]);
  const std::int64_t short_out = std::max<std::int64_t>(1, (2 * shrt * side + lng) / (2 * lng));
  return original[0] >= original[1] ? ImageSize{side, short_out} : ImageSize{short_out, side};
}

// (image - mean) / std per channel, in the image's dtype: [3, H, W] -> [3, H, W].
inline Tensor normalize_image(const Tensor& image, const TransformOptions& opts = {}) {
  transform_detail::check_image(image, 0);
  // Like torch.as_tensor(list, dtype=x.dtype): each value rounded once to the image's dtype.
  const Tensor mean = cast_copy(from_vector<double>({opts.image_mean[0], opts.image_mean[1], opts.image_mean[2]},
                                                    {3, 1, 1}, TensorOptions().with_device(image.device())),
                                image.dtype());
  const Tensor std = cast_copy(from_vector<double>({opts.image_std[0], opts.image_std[1], opts.image_std[2]}, {3, 1, 1},
                                                   TensorOptions().with_device(image.device())),
                               image.dtype());
  return div(sub(image, mean), std);
}

// torchvision's resize_boxes: boxes [G, 4] (x1, y1, x2, y2) in an image of size `from` -> the same boxes
// in an image of size `to`: x · f32(to_w) / f32(from_w), y · f32(to_h) / f32(from_h) (float32 ratios).
inline Tensor resize_boxes(const Tensor& boxes, ImageSize from, ImageSize to) {
  ANIMA_CHECK(boxes.defined() && boxes.dim() == 2 && boxes.shape()[1] == 4, transform_detail::kOp,
              "expected boxes of shape [G, 4], got ", boxes.defined() ? shape_str(boxes.shape()) : "undefined");
  ANIMA_CHECK(is_floating(boxes.dtype()), transform_detail::kOp, "expected float32 or float64 boxes, got ",
              dtype_name(boxes.dtype()));
  transform_detail::check_size(from, "source image");
  transform_detail::check_size(to, "target image");
  const float rh = static_cast<float>(to[0]) / static_cast<float>(from[0]);
  const float rw = static_cast<float>(to[1]) / static_cast<float>(from[1]);
  const Tensor ratio =
      cast_copy(from_vector<double>({rw, rh, rw, rh}, {4}, TensorOptions().with_device(boxes.device())), boxes.dtype());
  return mul(boxes, ratio);
}

// Masks [G, H, W] (0/1, any dtype) -> [G, to_h, to_w] of the same dtype, nearest (PyTorch's "nearest":
// source = min(floor(dst · in / out), in - 1), ratio in float32).
inline Tensor resize_masks(const Tensor& masks, ImageSize to) {
  ANIMA_CHECK(masks.defined() && masks.dim() == 3, transform_detail::kOp, "expected masks of shape [G, H, W], got ",
              masks.defined() ? shape_str(masks.shape()) : "undefined");
  ANIMA_CHECK(masks.shape()[1] > 0 && masks.shape()[2] > 0, transform_detail::kOp,
              "expected masks with non-zero height and width [G, H, W], got ", shape_str(masks.shape()));
  transform_detail::check_size(to, "mask target");
  const Tensor m = cast_copy(masks, DType::Float32);
  InterpolateOptions nearest;
  nearest.size = to;
  nearest.mode = InterpolateMode::Nearest;
  const Tensor r = interpolate(view_meta::unsqueeze(m, 1), nearest);  // [G, 1, h, w]
  return cast_copy(view_meta::squeeze(r, 1), masks.dtype());
}

// GeneralizedRCNNTransform: normalise, resize, batch (and resize training targets); postprocess maps
// detected boxes back to the original images.
class GeneralizedRCNNTransform {
 public:
  explicit GeneralizedRCNNTransform(TransformOptions options = {}) : options_(options) {
    transform_detail::check_options(options_);
  }

  const TransformOptions& options() const { return options_; }

  // The size image `original` is resized to (before padding).
  ImageSize resized_size(ImageSize original) const {
    return options_.mode == ResizeMode::Torchvision
               ? torchvision_resized_size(original, options_.min_size, options_.max_size)
               : square_resized_size(original, options_.square_side);
  }

  // images: each [3, H_i, W_i] float (same dtype and device); targets: none, or one per image in its
  // original pixels. Returns the padded batch [N, 3, Hb, Wb] and what each image went through.
  TransformedBatch forward(const std::vector<Tensor>& images, const std::vector<DetectionTarget>& targets = {}) const {
    using namespace transform_detail;
    ANIMA_CHECK(!images.empty(), kOp, "expected at least one image [3, H, W], got none");
    ANIMA_CHECK(targets.empty() || targets.size() == images.size(), kOp, "expected one target per image, got ",
                targets.size(), " targets for ", images.size(), " images");
    for (std::size_t i = 0; i < images.size(); ++i) {
      check_image(images[i], i);
      ANIMA_CHECK(images[i].dtype() == images[0].dtype() && images[i].device() == images[0].device(), kOp,
                  "expected every image to have image 0's dtype and device (", dtype_name(images[0].dtype()), ", ",
                  images[0].device().str(), "), image ", i, " is ", dtype_name(images[i].dtype()), " on ",
                  images[i].device().str());
    }
    NoGradGuard no_grad;
    const bool square = options_.mode == ResizeMode::Square;
    const std::int64_t side = options_.square_side;
    TransformedBatch out;
    std::vector<Tensor> resized;
    std::int64_t max_h = 0, max_w = 0;
    for (std::size_t i = 0; i < images.size(); ++i) {
      ImageResize r;
      r.original = {images[i].shape()[1], images[i].shape()[2]};
      r.resized = resized_size(r.original);
      if (square && options_.square_centered) r.offset = {(side - r.resized[0]) / 2, (side - r.resized[1]) / 2};
      InterpolateOptions bilinear;
      bilinear.size = r.resized;
      bilinear.mode = InterpolateMode::Bilinear;
      bilinear.align_corners = false;
      const Tensor x = normalize_image(images[i], options_);
      resized.push_back(view_meta::squeeze(interpolate(view_meta::unsqueeze(x, 0), bilinear), 0));  // [3, h, w]
      max_h = std::max(max_h, square ? side : r.resized[0]);
      max_w = std::max(max_w, square ? side : r.resized[1]);
      out.resizes.push_back(r);
    }
    const std::int64_t n = static_cast<std::int64_t>(images.size());
    const std::int64_t hb = round_up(max_h, options_.size_divisible), wb = round_up(max_w, options_.size_divisible);
    Tensor batch = zeros({n, 3, hb, wb}, TensorOptions(images[0].dtype()).with_device(images[0].device()));
    for (std::int64_t i = 0; i < n; ++i) {
      const ImageResize& r = out.resizes[static_cast<std::size_t>(i)];
      Tensor dst = view_meta::narrow(view_meta::narrow(view_meta::narrow(batch, 0, i, 1), 2, r.offset[0], r.resized[0]),
                                     3, r.offset[1], r.resized[1]);
      copy_into(dst, view_meta::unsqueeze(resized[static_cast<std::size_t>(i)], 0));
      out.images.image_sizes.push_back(square && options_.square_centered ? ImageSize{side, side} : r.resized);
    }
    out.images.tensors = batch;
    for (std::size_t i = 0; i < targets.size(); ++i) out.targets.push_back(resize_target(targets[i], out.resizes[i]));
    return out;
  }

  // One image's ground truth in its original pixels -> in the batch's pixels (boxes, masks; labels as given).
  DetectionTarget resize_target(const DetectionTarget& target, const ImageResize& r) const {
    using namespace transform_detail;
    NoGradGuard no_grad;
    DetectionTarget t = target;
    t.boxes = resize_boxes(target.boxes, r.original, r.resized);
    const bool centered = options_.mode == ResizeMode::Square && options_.square_centered;
    if (centered) t.boxes = add(t.boxes, offset_row(t.boxes, r));
    if (target.masks.defined()) {
      ANIMA_CHECK(target.masks.dim() == 3 && target.masks.shape()[1] == r.original[0] &&
                      target.masks.shape()[2] == r.original[1],
                  kOp, "expected masks of shape [G, ", r.original[0], ", ", r.original[1], "] (the image's size), got ",
                  shape_str(target.masks.shape()));
      t.masks = resize_masks(target.masks, r.resized);
      if (centered) {
        const std::int64_t side = options_.square_side;
        Tensor canvas =
            zeros({t.masks.shape()[0], side, side}, TensorOptions(t.masks.dtype()).with_device(t.masks.device()));
        copy_into(
            view_meta::narrow(view_meta::narrow(canvas, 1, r.offset[0], r.resized[0]), 2, r.offset[1], r.resized[1]),
            t.masks);
        t.masks = canvas;
      }
    }
    return t;
  }

  // Detected boxes [D, 4] in the batch's pixels of image r -> in the original image's pixels.
  Tensor postprocess_boxes(const Tensor& boxes, const ImageResize& r) const {
    NoGradGuard no_grad;
    const bool centered = options_.mode == ResizeMode::Square && options_.square_centered;
    const Tensor b = centered ? sub(boxes, offset_row(boxes, r)) : boxes;
    const Tensor back = resize_boxes(b, r.resized, r.original);
    return centered ? clip_boxes_to_image(back, r.original) : back;
  }

  std::vector<Tensor> postprocess_boxes(const std::vector<Tensor>& boxes, const std::vector<ImageResize>& rs) const {
    ANIMA_CHECK(boxes.size() == rs.size(), transform_detail::kOp, "expected one box set per image, got ", boxes.size(),
                " box sets for ", rs.size(), " images");
    std::vector<Tensor> out;
    for (std::size_t i = 0; i < boxes.size(); ++i) out.push_back(postprocess_boxes(boxes[i], rs[i]));
    return out;
  }

 private:
  // (left, top, left, top) in boxes' dtype and device.
  static Tensor offset_row(const Tensor& boxes, const ImageResize& r) {
    return cast_copy(from_vector<double>({static_cast<double>(r.offset[1]), static_cast<double>(r.offset[0]),
                                          static_cast<double>(r.offset[1]), static_cast<double>(r.offset[0])},
                                         {4}, TensorOptions().with_device(boxes.device())),
                     boxes.dtype());
  }

  TransformOptions options_;
};

}  // namespace anima::nets::maskrcnn
