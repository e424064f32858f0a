// anima/kernels/cpu/roi_pool.hpp — RoIPool (max over integer bins) forward and backward on the CPU.
//
// Bin geometry: roi_pool_bin in anima/kernels/roi_align_math.hpp (torchvision 0.14's rounding).
// Arrays: x / gx contiguous [N, C, H, W], rois [K, 5], y / gy / argmax contiguous [K, C, PH, PW];
// argmax holds the flat index h·W + w inside the input plane of the maximum (first maximum in
// row-major bin order; `>` from -FLT_MAX so a NaN never wins, as torchvision), or -1 for an empty
// bin (y = 0), an all-NaN bin (y = -FLT_MAX) and an invalid RoI (y = 0); -1 routes no gradient.
//   forward:  y = max over the bin; parallel over (k, c) planes.
//   backward: gx[n, c, argmax] += gy; channel-parallel (each task owns channels, RoIs in order).
// Determinism: run-to-run deterministic (fixed order per gx element).
#pragma once

#include <algorithm>
#include <cstdint>

#include <anima/kernels/parallel.hpp>
#include <anima/kernels/roi_align_math.hpp>

namespace anima::kernels::cpu {

template <class T>
void roi_pool_forward(const T* x, const T* rois, const RoiAlignGeometry& g, T* y, std::int64_t* argmax,
                      const ParallelFor& parallel) {
  const std::int64_t C = g.channels, HW = g.height * g.width, PP = g.pooled_h * g.pooled_w;
  parallel(0, g.num_rois * C, 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t kc = begin; kc < end; ++kc) {
      const std::int64_t k = kc / C, c = kc % C;
      const T* roi = rois + k * 5;
      const bool valid = roi_align_box(roi, g).valid;
      const std::int64_t n = valid ? roi_batch_index(roi[0], g.batch) : 0;
      const T* plane = x + (n * C + c) * HW;
      for (std::int64_t ph = 0; ph < g.pooled_h; ++ph)
        for (std::int64_t pw = 0; pw < g.pooled_w; ++pw) {
          const std::int64_t o = kc * PP + ph * g.pooled_w + pw;
          const RoiPoolBin b = roi_pool_bin(roi, g, ph, pw);
          if (!valid || b.empty()) {
            y[o] = T(0);
            argmax[o] = -1;
            continue;
          }
          const RoiPoolMax<T> best = roi_pool_bin_max(plane, g.width, b);
          y[o] = best.value;
          argmax[o] = best.index;
        }
    }
  });
}

// Overwrites gx.
template <class T>
void roi_pool_backward(const T* gy, const std::int64_t* argmax, const T* rois, const RoiAlignGeometry& g, T* gx,
                       const ParallelFor& parallel) {
  const std::int64_t C = g.channels, HW = g.height * g.width, PP = g.pooled_h * g.pooled_w;
  std::fill(gx, gx + g.batch * C * HW, T(0));
  parallel(0, C, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t k = 0; k < g.num_rois; ++k) {
      const std::int64_t n = roi_batch_index(rois[k * 5], g.batch);
      if (n < 0) continue;
      for (std::int64_t c = c0; c < c1; ++c) {
        T* plane = gx + (n * C + c) * HW;
        for (std::int64_t p = 0; p < PP; ++p) {
          const std::int64_t i = argmax[(k * C + c) * PP + p];
          if (i >= 0) plane[i] += gy[(k * C + c) * PP + p];
        }
      }
    }
  });
}

}  // namespace anima::kernels::cpu
