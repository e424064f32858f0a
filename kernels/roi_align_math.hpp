// anima/kernels/roi_align_math.hpp — per-RoI and per-sample math of RoIAlign and RoIPool, written once
// and used by every CPU and CUDA kernel (kernels/cpu/roi_align.hpp, kernels/cpu/roi_pool.hpp,
// kernels/cuda/roi_align.cuh, kernels/cuda/roi_pool.cuh).
//
// RoIAlign (He et al., "Mask R-CNN", 2017), torchvision 0.14 semantics (csrc/ops/cpu/roi_align_kernel.cpp):
//   roi = (b, x1, y1, x2, y2); offset = aligned ? 0.5 : 0
//   start = x1·scale - offset, end = x2·scale - offset, size = end - start (aligned = false: size >= 1,
//   so a degenerate box still has unit extent, as torchvision's legacy behaviour)
//   bin = size / P;  grid = sampling_ratio > 0 ? sampling_ratio : ceil(size / P)  (adaptive)
//   sample i of bin p:   v = start + p·bin + (i + 0.5)·bin / grid
//   count = max(grid_h·grid_w, 1);  y[p_h, p_w] = (1 / count) Σ_samples bilinear(x, v_y, v_x)
// Bilinear with torchvision's boundary rules, per axis (the 2-D weights are products of the two axes,
// which is exactly how torchvision forms them: w1 = hy·hx, w2 = hy·lx, w3 = ly·hx, w4 = ly·lx):
//   v < -1 or v > size        -> the whole sample contributes 0 (its weights are 0)
//   v <= 0                    -> v = 0
//   lo = (int) v; lo >= size-1 -> lo = hi = size - 1, v = lo (the last row / column is clamped)
//   else hi = lo + 1;  l = v - lo, h = 1 - l;  weight of lo is h, of hi is l.
// Backward: dL/dx[lo/hi taps] += g · w / count for each sample (the same taps and weights).
//
// RoIPool (Girshick, "Fast R-CNN", 2015), torchvision 0.14 (csrc/ops/cpu/roi_pool_kernel.cpp):
//   start/end = round(coord·scale) (integer pixels, inclusive end), size = max(end - start + 1, 1),
//   bin = size / P; rows [floor(p·bin), ceil((p+1)·bin)) + start clipped to [0, H);
//   y = max over the bin (0 for an empty bin, argmax -1); dL/dx[argmax] += g.
//
// Invalid RoIs (batch index outside [0, N) or a non-finite coordinate) are rejected by the CPU op;
// kernels that meet one (the CUDA op does not read the boxes on the host) write 0 and route no
// gradient for it: roi_box(...).valid == false.
#pragma once

#include <cmath>
#include <cstdint>

#include <anima/kernels/host_device.hpp>
#include <anima/kernels/mul_rn.hpp>

namespace anima::kernels {

// One RoIAlign / RoIPool problem: input [N, C, H, W] (contiguous NCHW), rois [K, 5], output
// [K, C, PH, PW] (contiguous).
struct RoiAlignGeometry {
  std::int64_t batch = 0, channels = 0, height = 0, width = 0;
  std::int64_t num_rois = 0, pooled_h = 1, pooled_w = 1;
  double spatial_scale = 1.0;
  std::int64_t sampling_ratio = -1;  // <= 0: adaptive, ceil(roi size / pooled size)
  bool aligned = false;
};

// The geometry of one RoI along one axis.
template <class T>
struct RoiAxis {
  T start;            // first coordinate of the box, in feature-map pixels
  T bin;              // bin size
  std::int64_t grid;  // samples per bin along this axis
};

template <class T>
struct RoiBox {
  bool valid;          // batch index in [0, N) and finite coordinates
  std::int64_t batch;  // image index (0 when !valid)
  RoiAxis<T> y, x;
  T count;  // max(grid_h · grid_w, 1): the averaging divisor
};

template <class T>
ANIMA_HD bool roi_finite(T v) {
  return v == v && v - v == T(0);  // false for NaN and +-inf (no <cmath> needed on the device)
}

// The batch index of a RoI as torchvision reads it (truncation towards zero); -1 when out of range.
template <class T>
ANIMA_HD std::int64_t roi_batch_index(T b, std::int64_t batch) {
  if (!(b >= T(0)) || !(b < static_cast<T>(batch))) return -1;  // also rejects NaN
  return static_cast<std::int64_t>(b);
}

// The adaptive sampling grid along one axis: ceil(size / pooled) samples per bin, as torchvision, for
// sizes up to kRoiMaxAdaptiveGrid·pooled map pixels. Beyond that (a finite but absurd box, e.g. 1e20
// pixels) torchvision's int cast is undefined and its loops would not end; here the grid is clamped to
// kRoiMaxAdaptiveGrid (no undefined cast, bounded work), and the CPU op rejects such a RoI with an
// Error naming it (anima/ops/roi_align.hpp). A non-positive size gives 0 (no sample).
constexpr std::int64_t kRoiMaxAdaptiveGrid = std::int64_t(1) << 16;

template <class T>
ANIMA_HD std::int64_t roi_adaptive_grid(T size, std::int64_t pooled) {
  const T grid = std::ceil(size / static_cast<T>(pooled));
  if (!(grid > T(0))) return 0;
  if (!(grid < static_cast<T>(kRoiMaxAdaptiveGrid))) return kRoiMaxAdaptiveGrid;
  return static_cast<std::int64_t>(grid);
}

// Box geometry of RoI `roi` ([5]: b, x1, y1, x2, y2) for RoIAlign.
template <class T>
ANIMA_HD RoiBox<T> roi_align_box(const T* roi, const RoiAlignGeometry& g) {
  RoiBox<T> r{};
  const std::int64_t b = roi_batch_index(roi[0], g.batch);
  r.valid = b >= 0 && roi_finite(roi[1]) && roi_finite(roi[2]) && roi_finite(roi[3]) && roi_finite(roi[4]);
  r.batch = r.valid ? b : 0;
  if (!r.valid) {
    r.y = {T(0), T(0), 0};
    r.x = {T(0), T(0), 0};
    r.count = T(1);
    return r;
  }
  const T scale = static_cast<T>(g.spatial_scale);
  const T offset = g.aligned ? T(0.5) : T(0);
  // Products rounded on their own (mul_rn): the same box on the CPU and the GPU (see below).
  const T start_w = mul_rn(roi[1], scale) - offset, start_h = mul_rn(roi[2], scale) - offset;
  T width = mul_rn(roi[3], scale) - offset - start_w;
  T height = mul_rn(roi[4], scale) - offset - start_h;
  if (!g.aligned) {  // torchvision's legacy rule: force malformed RoIs to be 1x1
    width = width > T(1) ? width : T(1);
    height = height > T(1) ? height : T(1);
  }
  const T bin_h = height / static_cast<T>(g.pooled_h), bin_w = width / static_cast<T>(g.pooled_w);
  // Adaptive grid: ceil(size / P) (roi_adaptive_grid). An aligned box of negative size gives a grid
  // <= 0: no sample, and count = 1 keeps the average defined (torchvision's max(grid_h·grid_w, 1)).
  const std::int64_t grid_h = g.sampling_ratio > 0 ? g.sampling_ratio : roi_adaptive_grid(height, g.pooled_h);
  const std::int64_t grid_w = g.sampling_ratio > 0 ? g.sampling_ratio : roi_adaptive_grid(width, g.pooled_w);
  r.y = {start_h, bin_h, grid_h};
  r.x = {start_w, bin_w, grid_w};
  const std::int64_t n = grid_h * grid_w;
  r.count = static_cast<T>(n > 1 ? n : 1);
  return r;
}

// Coordinate of sample i of bin p along an axis: start + p·bin + (i + 0.5)·bin / grid.
// The products are rounded on their own (mul_rn; nvcc would otherwise fuse start + p·bin into one fma),
// so box, coordinates, taps and weights are the same bits on the CPU and the GPU: the gather backward's
// tables (anima/kernels/roi_align_gather_math.hpp) are equal whichever side builds them.
template <class T>
ANIMA_HD T roi_sample_coord(const RoiAxis<T>& a, std::int64_t p, std::int64_t i) {
  return a.start + mul_rn(static_cast<T>(p), a.bin) +
         mul_rn(static_cast<T>(static_cast<float>(i) + .5f), a.bin) / static_cast<T>(a.grid);
}

// One axis of a bilinear sample: the two taps (pixel indices) and their weights.
template <class T>
struct BilinearTap {
  std::int64_t lo, hi;
  T w_lo, w_hi;
  bool inside;  // false: v < -1 or v > size, the whole sample contributes 0
};

template <class T>
ANIMA_HD BilinearTap<T> bilinear_tap(T v, std::int64_t size) {
  if (v < T(-1) || v > static_cast<T>(size)) return {0, 0, T(0), T(0), false};
  if (v <= T(0)) v = T(0);
  std::int64_t lo = static_cast<std::int64_t>(v), hi;
  if (lo >= size - 1) {
    hi = lo = size - 1;
    v = static_cast<T>(lo);
  } else {
    hi = lo + 1;
  }
  const T l = v - static_cast<T>(lo);
  return {lo, hi, T(1) - l, l, true};
}

// The four taps of a 2-D sample (flat offsets y·W + x into one plane) and weights w1..w4 (zero, and
// offsets 0, when the sample lies outside). Same products as torchvision: w1 = hy·hx, w2 = hy·lx,
// w3 = ly·hx, w4 = ly·lx for the taps (lo_y, lo_x), (lo_y, hi_x), (hi_y, lo_x), (hi_y, hi_x).
template <class T>
struct BilinearSample {
  std::int64_t o1, o2, o3, o4;
  T w1, w2, w3, w4;
};

template <class T>
ANIMA_HD BilinearSample<T> bilinear_sample(const BilinearTap<T>& ty, const BilinearTap<T>& tx, std::int64_t width) {
  if (!ty.inside || !tx.inside) return {0, 0, 0, 0, T(0), T(0), T(0), T(0)};
  return {ty.lo * width + tx.lo, ty.lo * width + tx.hi, ty.hi * width + tx.lo, ty.hi * width + tx.hi,
          ty.w_lo * tx.w_lo,     ty.w_lo * tx.w_hi,     ty.w_hi * tx.w_lo,     ty.w_hi * tx.w_hi};
}

template <class T>
ANIMA_HD BilinearSample<T> roi_align_sample(const RoiBox<T>& box, std::int64_t ph, std::int64_t pw, std::int64_t iy,
                                            std::int64_t ix, std::int64_t height, std::int64_t width) {
  return bilinear_sample(bilinear_tap(roi_sample_coord(box.y, ph, iy), height),
                         bilinear_tap(roi_sample_coord(box.x, pw, ix), width), width);
}

// ---- RoIPool ------------------------------------------------------------------------------------

struct RoiPoolBin {
  std::int64_t h0, h1, w0, w1;  // rows [h0, h1), columns [w0, w1), clipped to the map
  ANIMA_HD bool empty() const { return h1 <= h0 || w1 <= w0; }
};

template <class T>
ANIMA_HD std::int64_t roi_pool_round(T v) {
  // round half away from zero (std::round), written out so the device needs no <cmath> overload.
  return static_cast<std::int64_t>(v >= T(0) ? std::floor(v + T(0.5)) : -std::floor(-v + T(0.5)));
}

ANIMA_HD std::int64_t roi_clip(std::int64_t v, std::int64_t hi) { return v < 0 ? 0 : (v > hi ? hi : v); }

// Bin (ph, pw) of RoI `roi` for RoIPool (torchvision's integer geometry; the caller checks validity
// with roi_align_box(...).valid or roi_pool_valid).
template <class T>
ANIMA_HD RoiPoolBin roi_pool_bin(const T* roi, const RoiAlignGeometry& g, std::int64_t ph, std::int64_t pw) {
  const T scale = static_cast<T>(g.spatial_scale);
  const std::int64_t start_w = roi_pool_round(roi[1] * scale), start_h = roi_pool_round(roi[2] * scale);
  const std::int64_t end_w = roi_pool_round(roi[3] * scale), end_h = roi_pool_round(roi[4] * scale);
  const std::int64_t rw = end_w - start_w + 1 > 1 ? end_w - start_w + 1 : 1;
  const std::int64_t rh = end_h - start_h + 1 > 1 ? end_h - start_h + 1 : 1;
  const T bin_h = static_cast<T>(rh) / static_cast<T>(g.pooled_h);
  const T bin_w = static_cast<T>(rw) / static_cast<T>(g.pooled_w);
  RoiPoolBin b;
  b.h0 = roi_clip(static_cast<std::int64_t>(std::floor(static_cast<T>(ph) * bin_h)) + start_h, g.height);
  b.h1 = roi_clip(static_cast<std::int64_t>(std::ceil(static_cast<T>(ph + 1) * bin_h)) + start_h, g.height);
  b.w0 = roi_clip(static_cast<std::int64_t>(std::floor(static_cast<T>(pw) * bin_w)) + start_w, g.width);
  b.w1 = roi_clip(static_cast<std::int64_t>(std::ceil(static_cast<T>(pw + 1) * bin_w)) + start_w, g.width);
  return b;
}

// RoIPool's value for one non-empty bin: the maximum of plane[h·width + w] over the bin and its index,
// row-major scan with `>` from -FLT_MAX and index -1, as torchvision (a NaN never wins, so an all-NaN
// bin gives -FLT_MAX and index -1, which routes no gradient). Both backends call this.
template <class T>
struct RoiPoolMax {
  T value;
  std::int64_t index;
};

template <class T>
ANIMA_HD RoiPoolMax<T> roi_pool_bin_max(const T* plane, std::int64_t width, const RoiPoolBin& b) {
  RoiPoolMax<T> best{static_cast<T>(-3.402823466e+38f), -1};  // -FLT_MAX
  for (std::int64_t h = b.h0; h < b.h1; ++h)
    for (std::int64_t w = b.w0; w < b.w1; ++w)
      if (plane[h * width + w] > best.value) best = {plane[h * width + w], h * width + w};
  return best;
}

}  // namespace anima::kernels
