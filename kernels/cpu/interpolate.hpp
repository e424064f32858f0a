// anima/kernels/cpu/interpolate.hpp — 2-D nearest and bilinear resizing and their backward (CPU).
//
// x, gx: contiguous [planes, in_h, in_w]; y, gy: contiguous [planes, out_h, out_w]. Source indices and
// weights: anima/kernels/interpolate_math.hpp.
//   nearest:   y[oh, ow] = x[sh(oh), sw(ow)]                     gx[sh, sw] += gy[oh, ow]
//   bilinear:  y = Σ_{a,b ∈ {0,1}} λh_a·λw_b·x[ih_a, iw_b]        gx[ih_a, iw_b] += λh_a·λw_b·gy
//              (the forward sums as PyTorch's CPU kernel does, with fmas: bilinear_blend; bit-identical)
// Two versions: *_reference (plain loops) and *_planes (planes in parallel on the caller's ParallelFor). The
// backward scatters within a plane sequentially in output order: deterministic, both versions equal.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <anima/kernels/cpu/cpu_features.hpp>
#include <anima/kernels/interpolate_math.hpp>
#include <anima/kernels/parallel.hpp>

namespace anima::kernels::cpu {

namespace interp_detail {

// One output row of a bilinear resize from source rows r0 (th.i0) and r1 (th.i1).
template <class T>
inline void bilinear_row_portable(const T* r0, const T* r1, const LinearTap<T>& th, const LinearTap<T>* taps_w,
                                  std::int64_t out_w, T* y) {
  for (std::int64_t ow = 0; ow < out_w; ++ow) y[ow] = bilinear_blend(r0, r1, th, taps_w[ow]);
}

#if ANIMA_CPU_X86
// The same loop compiled for AVX2 + FMA, called only when the CPU has both: fmaf / fma become one
// instruction instead of a libm call. The same bits (a fused multiply-add is exactly rounded either way).
template <class T>
__attribute__((target("avx2,fma"), noinline)) void bilinear_row_avx2(const T* r0, const T* r1, const LinearTap<T>& th,
                                                                     const LinearTap<T>* taps_w, std::int64_t out_w,
                                                                     T* y) {
  for (std::int64_t ow = 0; ow < out_w; ++ow) y[ow] = bilinear_blend(r0, r1, th, taps_w[ow]);
}
#endif

template <class T>
inline void bilinear_row(const T* r0, const T* r1, const LinearTap<T>& th, const LinearTap<T>* taps_w,
                         std::int64_t out_w, T* y) {
#if ANIMA_CPU_X86
  static const bool fma_isa = cpu_supports_avx2_fma();
  if (fma_isa) return bilinear_row_avx2(r0, r1, th, taps_w, out_w, y);
#endif
  bilinear_row_portable(r0, r1, th, taps_w, out_w, y);
}

// The column taps of a bilinear resize (the same for every row and plane): computed once per call.
template <class T>
std::vector<LinearTap<T>> column_taps(InterpMode mode, const Interp2dGeometry& g) {
  if (mode != InterpMode::Bilinear) return {};
  const T rw = interp_ratio<T>(g.in_w, g.out_w, g.scale_w, g.align_corners);
  std::vector<LinearTap<T>> taps(static_cast<std::size_t>(g.out_w));
  for (std::int64_t ow = 0; ow < g.out_w; ++ow) taps[ow] = linear_source(rw, ow, g.in_w, g.out_w, g.align_corners);
  return taps;
}

// (rows, columns) source pixels per output pixel (align_corners applies to bilinear only).
template <class T>
std::pair<T, T> plane_ratios(InterpMode mode, const Interp2dGeometry& g) {
  const bool corners = mode == InterpMode::Bilinear && g.align_corners;
  return {interp_ratio<T>(g.in_h, g.out_h, g.scale_h, corners), interp_ratio<T>(g.in_w, g.out_w, g.scale_w, corners)};
}

template <class T>
void forward_plane(InterpMode mode, const T* x, const Interp2dGeometry& g, const LinearTap<T>* taps_w, T* y) {
  const auto [rh, rw] = plane_ratios<T>(mode, g);
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    if (mode == InterpMode::Nearest) {
      const std::int64_t sh = nearest_source_index(rh, oh, g.in_h);
      for (std::int64_t ow = 0; ow < g.out_w; ++ow)
        y[oh * g.out_w + ow] = x[sh * g.in_w + nearest_source_index(rw, ow, g.in_w)];
      continue;
    }
    const LinearTap<T> th = linear_source(rh, oh, g.in_h, g.out_h, g.align_corners);
    bilinear_row(x + th.i0 * g.in_w, x + th.i1 * g.in_w, th, taps_w, g.out_w, y + oh * g.out_w);
  }
}

template <class T>
void backward_plane(InterpMode mode, const T* gy, const Interp2dGeometry& g, const LinearTap<T>* taps_w, T* gx) {
  for (std::int64_t i = 0; i < g.in_h * g.in_w; ++i) gx[i] = T(0);
  const auto [rh, rw] = plane_ratios<T>(mode, g);
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    if (mode == InterpMode::Nearest) {
      const std::int64_t sh = nearest_source_index(rh, oh, g.in_h);
      for (std::int64_t ow = 0; ow < g.out_w; ++ow)
        gx[sh * g.in_w + nearest_source_index(rw, ow, g.in_w)] += gy[oh * g.out_w + ow];
      continue;
    }
    const LinearTap<T> th = linear_source(rh, oh, g.in_h, g.out_h, g.align_corners);
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      const LinearTap<T>& tw = taps_w[ow];
      const T d = gy[oh * g.out_w + ow];
      T* r0 = gx + th.i0 * g.in_w;
      T* r1 = gx + th.i1 * g.in_w;
      r0[tw.i0] += th.l0 * tw.l0 * d;
      r0[tw.i1] += th.l0 * tw.l1 * d;
      r1[tw.i0] += th.l1 * tw.l0 * d;
      r1[tw.i1] += th.l1 * tw.l1 * d;
    }
  }
}

}  // namespace interp_detail

template <class T>
void interpolate2d_forward_planes(InterpMode mode, const T* x, const Interp2dGeometry& g, T* y,
                                  const ParallelFor& parallel) {
  const std::vector<LinearTap<T>> taps_w = interp_detail::column_taps<T>(mode, g);
  for_each_item(parallel, g.planes, g.out_h * g.out_w * 4, [&](std::int64_t p) {
    interp_detail::forward_plane(mode, x + p * g.in_h * g.in_w, g, taps_w.data(), y + p * g.out_h * g.out_w);
  });
}

template <class T>
void interpolate2d_backward_planes(InterpMode mode, const T* gy, const Interp2dGeometry& g, T* gx,
                                   const ParallelFor& parallel) {
  const std::vector<LinearTap<T>> taps_w = interp_detail::column_taps<T>(mode, g);
  for_each_item(parallel, g.planes, g.out_h * g.out_w * 4 + g.in_h * g.in_w, [&](std::int64_t p) {
    interp_detail::backward_plane(mode, gy + p * g.out_h * g.out_w, g, taps_w.data(), gx + p * g.in_h * g.in_w);
  });
}

// The references: the same per-plane code, one plane after another on the calling thread.
template <class T>
void interpolate2d_forward_reference(InterpMode mode, const T* x, const Interp2dGeometry& g, T* y) {
  interpolate2d_forward_planes(mode, x, g, y, ParallelFor());
}

template <class T>
void interpolate2d_backward_reference(InterpMode mode, const T* gy, const Interp2dGeometry& g, T* gx) {
  interpolate2d_backward_planes(mode, gy, g, gx, ParallelFor());
}

}  // namespace anima::kernels::cpu
