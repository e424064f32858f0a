// anima/detection/paste_masks.hpp — paste_masks_in_image (torchvision 0.14,
// torchvision/models/detection/roi_heads.py): Mask R-CNN's M x M soft masks placed into the image.
//
// paste_masks_in_image(masks [R, 1, M, M], boxes [R, 4] (x1, y1, x2, y2), image_h, image_w, padding = 1)
//   -> [R, 1, image_h, image_w] in masks' dtype (soft values; thresholding is left to the caller).
// torchvision pads each mask by `padding` zeros (expand_masks), widens its box about the centre by
// (M + 2·padding) / M (expand_boxes), truncates the corners to int64, resizes the padded mask to the
// integer box (w = max(x2 - x1 + 1, 1), TO_REMOVE = 1) with F.interpolate(bilinear,
// align_corners=False), and copies the part inside the image into a zero image. We compute each output
// pixel directly from the padded mask with the same resize weights (anima/kernels/paste_masks_math.hpp),
// so the result equals torchvision's to float rounding without the per-box resized copy.
// The integer boxes are computed on the host (in boxes' dtype, as torchvision) and passed to the kernel.
// Differences from torchvision: a box entirely left of / above the image (x2 + 1 <= 0 after expansion)
// pastes nothing, where torchvision's slicing with a negative end fails or pastes the wrong columns.
// Forward only (inference): the output is not tracked by autograd.
// Backends: anima/backends/cpu/paste_masks.hpp, anima/backends/cuda/paste_masks.cuh. Kernels:
// anima/kernels/cpu/paste_masks.hpp (reference and rows versions), anima/kernels/cuda/paste_masks.cuh.
// Determinism: bitwise reproducible on each backend (no atomics); CPU and CUDA agree to float rounding.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/core/error.hpp>
#include <anima/core/shape.hpp>
#include <anima/core/tensor.hpp>
#include <anima/backends/cpu/paste_masks.hpp>
#include <anima/kernels/paste_masks_math.hpp>
#include <anima/ops/factory.hpp>

namespace anima {

namespace detail {
// The expanded integer boxes (X0, Y0, X1, Y1) of torchvision's expand_boxes(boxes, scale).to(int64),
// computed in boxes' dtype; checks that every coordinate is finite and fits int64 comfortably.
inline std::vector<std::int64_t> paste_integer_boxes(const Tensor& boxes, const kernels::PasteMasksGeometry& g) {
  constexpr const char* op = PasteMasksKernel::name;
  std::vector<std::int64_t> out(static_cast<std::size_t>(4 * g.masks));
  const std::vector<double> check = to_vector<double>(boxes);
  for (std::size_t i = 0; i < check.size(); ++i)
    ANIMA_CHECK(std::isfinite(check[i]) && std::fabs(check[i]) <= 1e12, op, "box ", i / 4, " coordinate ", i % 4,
                " is ", check[i], " (boxes ", shape_str(boxes.shape()), " must be finite and within +-1e12)");
  ANIMA_DISPATCH_FLOATING(boxes.dtype(), op, [&] {
    const std::vector<scalar_t> b = to_vector<scalar_t>(boxes);
    const scalar_t scale = kernels::paste_scale<scalar_t>(g);
    for (std::int64_t r = 0; r < g.masks; ++r) {
      const kernels::PasteBox pb = kernels::paste_box(b.data() + 4 * r, scale);
      out[static_cast<std::size_t>(4 * r + 0)] = pb.x0;
      out[static_cast<std::size_t>(4 * r + 1)] = pb.y0;
      out[static_cast<std::size_t>(4 * r + 2)] = pb.x1;
      out[static_cast<std::size_t>(4 * r + 3)] = pb.y1;
    }
  });
  return out;
}
}  // namespace detail

inline Tensor paste_masks_in_image(const Tensor& masks /*[R, 1, M, M]*/, const Tensor& boxes /*[R, 4]*/,
                                   std::int64_t image_h, std::int64_t image_w, std::int64_t padding = 1) {
  constexpr const char* op = PasteMasksKernel::name;
  ANIMA_CHECK(masks.defined() && boxes.defined(), op, "masks and boxes must be defined");
  const Shape& ms = masks.shape();
  ANIMA_CHECK(masks.dim() == 4 && ms[1] == 1 && ms[2] == ms[3] && ms[2] > 0, op,
              "masks must be [R, 1, M, M] with M > 0, got ", shape_str(ms));
  ANIMA_CHECK(is_floating(masks.dtype()), op, "masks ", shape_str(ms), " must be float32 or float64, got ",
              dtype_name(masks.dtype()));
  ANIMA_CHECK(boxes.dim() == 2 && boxes.shape()[0] == ms[0] && boxes.shape()[1] == 4, op, "boxes must be [R, 4] = [",
              ms[0], ", 4] for masks ", shape_str(ms), ", got ", shape_str(boxes.shape()));
  ANIMA_CHECK(is_floating(boxes.dtype()), op, "boxes ", shape_str(boxes.shape()), " must be float32 or float64, got ",
              dtype_name(boxes.dtype()));
  ANIMA_CHECK(boxes.device() == masks.device(), op, "masks ", shape_str(ms), " are on ", masks.device().str(),
              " but boxes ", shape_str(boxes.shape()), " are on ", boxes.device().str());
  ANIMA_CHECK(image_h > 0 && image_w > 0, op, "the image size must be positive, got ", image_h, " x ", image_w);
  ANIMA_CHECK(padding >= 0, op, "padding must be >= 0, got ", padding);
  kernels::PasteMasksGeometry g;
  g.masks = ms[0];
  g.mask_size = ms[2];
  g.padding = padding;
  g.image_h = image_h;
  g.image_w = image_w;
  const TensorOptions opts = TensorOptions(masks.dtype()).with_device(masks.device());
  Tensor out = Tensor::empty({g.masks, 1, image_h, image_w}, opts);
  if (out.numel() == 0) return out;
  const Tensor int_boxes = from_vector(detail::paste_integer_boxes(boxes, g), {g.masks, 4},
                                       TensorOptions(DType::Int64).with_device(masks.device()));
  const Tensor m = masks.is_contiguous() ? masks : contiguous_copy(masks);
  kernel_for<PasteMasksKernel>(m.device())(m.dtype(), m.raw_data(), int_boxes.data<std::int64_t>(), g, out.raw_data());
  return out;
}

}  // namespace anima
