// anima/kernels/cpu/paste_masks.hpp — paste_masks_in_image on the CPU (forward only).
//
// masks: contiguous [R, M, M]; boxes: int64 [R, 4] (X0, Y0, X1, Y1, inclusive, after expand_boxes);
// out: contiguous [R, H, W]. Per-pixel math: anima/kernels/paste_masks_math.hpp.
// Two versions:
//   paste_masks_reference  every output pixel through paste_pixel (plain loops, reads like the math)
//   paste_masks_rows       per mask (masks in parallel on the caller's ParallelFor): zero the plane, then visit only
//                          the pixels the box covers, the row tap computed once per row (no workspace)
// Both give the same bits (the same expressions in the same order). Determinism: bitwise reproducible.
#pragma once

#include <cstdint>

#include <anima/kernels/parallel.hpp>
#include <anima/kernels/paste_masks_math.hpp>

namespace anima::kernels::cpu {

template <class T>
void paste_masks_reference(const T* masks, const std::int64_t* boxes, const PasteMasksGeometry& g, T* out) {
  const std::int64_t mm = g.mask_size * g.mask_size, hw = g.image_h * g.image_w;
  for (std::int64_t r = 0; r < g.masks; ++r)
    for (std::int64_t y = 0; y < g.image_h; ++y)
      for (std::int64_t x = 0; x < g.image_w; ++x)
        out[r * hw + y * g.image_w + x] = paste_pixel(masks + r * mm, boxes + 4 * r, y, x, g);
}

template <class T>
void paste_masks_rows(const T* masks, const std::int64_t* boxes, const PasteMasksGeometry& g, T* out,
                      const ParallelFor& parallel) {
  const std::int64_t mm = g.mask_size * g.mask_size, hw = g.image_h * g.image_w;
  const std::int64_t grain = hw > 0 ? (65536 + hw - 1) / hw : 1;
  parallel(0, g.masks, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      T* plane = out + r * hw;
      for (std::int64_t i = 0; i < hw; ++i) plane[i] = T(0);
      const std::int64_t* bx = boxes + 4 * r;
      const PasteBox b{bx[0], bx[1], bx[2], bx[3]};
      const std::int64_t w = paste_extent(b.x0, b.x1), h = paste_extent(b.y0, b.y1);
      const std::int64_t ylo = b.y0 > 0 ? b.y0 : 0, xlo = b.x0 > 0 ? b.x0 : 0;
      const std::int64_t yhi = b.y1 + 1 < g.image_h ? b.y1 + 1 : g.image_h;
      const std::int64_t xhi = b.x1 + 1 < g.image_w ? b.x1 + 1 : g.image_w;
      const T* mask = masks + r * mm;
      for (std::int64_t y = ylo; y < yhi; ++y) {
        const LinearTap<T> th = paste_tap<T>(y - b.y0, h, g);
        T* row = plane + y * g.image_w;
        for (std::int64_t x = xlo; x < xhi; ++x) row[x] = paste_value(mask, th, paste_tap<T>(x - b.x0, w, g), g);
      }
    }
  });
}

}  // namespace anima::kernels::cpu
