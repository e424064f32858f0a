// anima/kernels/paste_masks_math.hpp — per-pixel math of paste_masks_in_image (torchvision 0.14,
// torchvision/models/detection/roi_heads.py: expand_masks, expand_boxes, paste_mask_in_image), shared
// by the CPU and CUDA kernels.
//
// For mask r (M x M, soft) and its box (x1, y1, x2, y2), with padding p and S = M + 2p:
//   scale      = T((M + 2p) / M)                      (a double rounded to T, as torch's tensor * float)
//   box        : half extents ((x2 - x1)·0.5, (y2 - y1)·0.5) · scale about the centre ((x1 + x2)·0.5, ...),
//                each corner truncated toward zero to int64 (Tensor.to(int64)): X0, Y0, X1, Y1
//   w = max(X1 - X0 + 1, 1), h = max(Y1 - Y0 + 1, 1)  (TO_REMOVE = 1: the corners are inclusive)
//   pasted     : the zero-padded S x S mask resized to h x w by F.interpolate(bilinear, align_corners=False)
//   image[y, x] = pasted[y - Y0, x - X0] for max(Y0, 0) <= y < min(Y1 + 1, H), max(X0, 0) <= x < min(X1 + 1, W),
//                 0 elsewhere (the part of the box outside the image is clipped).
// The resize weights are F.interpolate's (ratio S / w in T, source max(ratio·(dst + 0.5) - 0.5, 0) as
// PyTorch evaluates it, see paste_tap), so a pixel is computed directly instead of resizing then copying.
// A padded source index i reads mask[i - p] when p <= i < p + M, else 0.
// The integer boxes are computed once per mask (paste_box, on the host: the op reads the boxes there to
// check them anyway, and a float expression compiled by nvcc may be contracted into an FMA, which could
// move a corner across an integer); the kernels get them as int64 [R, 4] (X0, Y0, X1, Y1).
#pragma once

#include <cstdint>

#include <anima/kernels/host_device.hpp>
#include <anima/kernels/interpolate_math.hpp>

namespace anima::kernels {

// R masks [R, M, M] pasted into [R, image_h, image_w].
struct PasteMasksGeometry {
  std::int64_t masks = 0;      // R
  std::int64_t mask_size = 0;  // M
  std::int64_t padding = 1;    // p
  std::int64_t image_h = 0, image_w = 0;
};

// The integer box of one mask after expand_boxes (inclusive corners).
struct PasteBox {
  std::int64_t x0, y0, x1, y1;
};

// The size of the resized mask along an axis with inclusive corners lo..hi: max(hi - lo + 1, 1).
ANIMA_HD std::int64_t paste_extent(std::int64_t lo, std::int64_t hi) { return hi - lo + 1 > 1 ? hi - lo + 1 : 1; }

template <class T>
ANIMA_HD T paste_scale(const PasteMasksGeometry& g) {
  return static_cast<T>(static_cast<double>(g.mask_size + 2 * g.padding) / static_cast<double>(g.mask_size));
}

// box: the four coordinates (x1, y1, x2, y2) of one mask. Coordinates must be finite and small enough
// for int64 (the op checks that on the host).
template <class T>
ANIMA_HD PasteBox paste_box(const T* box, T scale) {
  const T w_half = (box[2] - box[0]) * T(0.5) * scale;
  const T h_half = (box[3] - box[1]) * T(0.5) * scale;
  const T xc = (box[2] + box[0]) * T(0.5);
  const T yc = (box[3] + box[1]) * T(0.5);
  PasteBox b;
  b.x0 = static_cast<std::int64_t>(xc - w_half);  // truncation toward zero, as Tensor.to(torch.int64)
  b.x1 = static_cast<std::int64_t>(xc + w_half);
  b.y0 = static_cast<std::int64_t>(yc - h_half);
  b.y1 = static_cast<std::int64_t>(yc + h_half);
  return b;
}

// Whether image pixel (y, x) receives a value from the box (else it is 0).
ANIMA_HD bool paste_covers(const PasteBox& b, std::int64_t y, std::int64_t x, const PasteMasksGeometry& g) {
  const std::int64_t ylo = b.y0 > 0 ? b.y0 : 0, xlo = b.x0 > 0 ? b.x0 : 0;
  const std::int64_t yhi = b.y1 + 1 < g.image_h ? b.y1 + 1 : g.image_h;
  const std::int64_t xhi = b.x1 + 1 < g.image_w ? b.x1 + 1 : g.image_w;
  return y >= ylo && y < yhi && x >= xlo && x < xhi;
}

// The value of the padded mask (S x S) at (i, j): the mask inside, 0 in the border.
template <class T>
ANIMA_HD T padded_mask_at(const T* mask, std::int64_t i, std::int64_t j, const PasteMasksGeometry& g) {
  const std::int64_t a = i - g.padding, c = j - g.padding;
  return a >= 0 && a < g.mask_size && c >= 0 && c < g.mask_size ? mask[a * g.mask_size + c] : T(0);
}

// Bilinear tap (source rows / columns of the padded mask and their weights) for box-local position dst
// along an axis of `out` pixels.
// PyTorch 1.13's CPU bilinear resize (compute_indices_weights_linear) takes the ratio S / out in T but
// forms the source coordinate ratio·(dst + 0.5) - 0.5 and its fraction λ1 = real - floor(real) in double,
// rounding λ1 to T once (measured: its weights match these bit for bit for float32; for float32 these are
// the taps of anima/kernels/interpolate_math.hpp's linear_source too). Doing it all in T moves float32
// weights, and so values, by up to ~1e-6.
template <class T>
ANIMA_HD LinearTap<T> paste_tap(std::int64_t dst, std::int64_t out, const PasteMasksGeometry& g) {
  const std::int64_t s = g.mask_size + 2 * g.padding;
  if (s == out) return {dst, dst, T(1), T(0)};  // F.interpolate's same-size copy
  const double ratio = static_cast<double>(static_cast<T>(s) / static_cast<T>(out));
  double real = ratio * (static_cast<double>(dst) + 0.5) - 0.5;
  if (real < 0.0) real = 0.0;
  const std::int64_t i0 = static_cast<std::int64_t>(real);  // real >= 0: truncation is floor
  const std::int64_t i1 = i0 < s - 1 ? i0 + 1 : i0;
  double frac = real - static_cast<double>(i0);
  frac = frac < 0.0 ? 0.0 : (frac > 1.0 ? 1.0 : frac);
  const T l1 = static_cast<T>(frac);
  return {i0, i1, T(1) - l1, l1};
}

// The pasted value at an image pixel the box covers (paste_covers), from its row and column taps.
template <class T>
ANIMA_HD T paste_value(const T* mask, const LinearTap<T>& th, const LinearTap<T>& tw, const PasteMasksGeometry& g) {
  const T v00 = padded_mask_at(mask, th.i0, tw.i0, g), v01 = padded_mask_at(mask, th.i0, tw.i1, g);
  const T v10 = padded_mask_at(mask, th.i1, tw.i0, g), v11 = padded_mask_at(mask, th.i1, tw.i1, g);
  return th.l0 * (tw.l0 * v00 + tw.l1 * v01) + th.l1 * (tw.l0 * v10 + tw.l1 * v11);
}

// One output pixel: image pixel (y, x) of the plane of the mask whose integer box is `box` (X0, Y0, X1, Y1).
template <class T>
ANIMA_HD T paste_pixel(const T* mask, const std::int64_t* box, std::int64_t y, std::int64_t x,
                       const PasteMasksGeometry& g) {
  const PasteBox b{box[0], box[1], box[2], box[3]};
  if (!paste_covers(b, y, x, g)) return T(0);
  return paste_value(mask, paste_tap<T>(y - b.y0, paste_extent(b.y0, b.y1), g),
                     paste_tap<T>(x - b.x0, paste_extent(b.x0, b.x1), g), g);
}

}  // namespace anima::kernels
