// anima/kernels/cpu/conv_depthwise.hpp — direct depthwise convolution (groups == C, O = C·m).
//
// Output channel o reads only input channel c = o / m (m = O / C, the channel multiplier) with its
// own kh x kw filter, so there is no reduction over channels and im2col + GEMM would run GEMMs with
// M = m (usually 1): the direct loops are faster (MobileNet's 3x3 depthwise layers).
//   forward          y[n,o,oh,ow] = b[o] + Σ_{i,j} x[n, o/m, ih, iw] · w[o,0,i,j]
//   backward data    dx[n,c,ih,iw] = Σ_{o = c·m .. c·m+m-1} Σ_{oh,ow,i,j : tap lands on (ih,iw)} dy[n,o,oh,ow] ·
//   w[o,0,i,j]
//   backward filter  dw[o,0,i,j] = Σ_{n,oh,ow} dy[n,o,oh,ow] · x[n, o/m, ih, iw],   db[o] = Σ dy[n,o,·,·]
// (ih = oh·sh − ph + i·dh, iw = ow·sw − pw + j·dw, taps outside the input skipped.)
// Each output row is split into the padded edges and the interior with conv_valid_range, so the
// inner loop over ow carries no bounds test.
// SIMD: the per-plane loops are written once (always-inline templates) and compiled twice, plainly
// and inside __attribute__((target("avx2,fma"))) wrappers picked at run time (cpu_features.hpp), so
// the unit-stride rows auto-vectorise 8 floats wide without -march flags.
// Threading, on the caller's ParallelFor: forward over (n, o) planes, backward data over (n, c)
// planes (a plane gathers from its m output planes, so no two threads write the same dx), backward
// filter over o. Each sum runs in a
// fixed order: run-to-run deterministic for any thread count. No allocation.
#pragma once

#include <algorithm>
#include <cstdint>

#include <anima/kernels/conv_math.hpp>
#include <anima/kernels/cpu/cpu_features.hpp>
#include <anima/kernels/parallel.hpp>

namespace anima::kernels::cpu {

namespace conv_depthwise_detail {

// Runs fn(begin, end) over [0, n) on `parallel` (inline when it has one thread).
template <class Fn>
void run(std::int64_t n, const ParallelFor& parallel, const Fn& fn) {
  if (parallel.size() > 1)
    parallel(0, n, 1, [&](std::int64_t a, std::int64_t b) { fn(a, b); });
  else
    fn(0, n);
}

#if defined(__GNUC__)
#define ANIMA_DW_INLINE __attribute__((always_inline)) inline
#else
#define ANIMA_DW_INLINE inline
#endif

// yp [Ho, Wo] = bias + Σ_{i,j} wp[i, j] · xp[ih, iw]  (one output plane; xp one input plane)
template <class T>
ANIMA_DW_INLINE void fwd_plane(const Conv2dGeometry& p, const T* xp, const T* wp, T bias, T* yp) {
  std::fill(yp, yp + p.Ho * p.Wo, bias);
  for (std::int64_t i = 0; i < p.kh; ++i) {
    std::int64_t oh_lo, oh_hi;
    conv_valid_range(p.Ho, p.H, p.sh, i * p.dh - p.ph, oh_lo, oh_hi);
    for (std::int64_t j = 0; j < p.kw; ++j) {
      std::int64_t ow_lo, ow_hi;
      conv_valid_range(p.Wo, p.W, p.sw, j * p.dw - p.pw, ow_lo, ow_hi);
      const T wv = wp[i * p.kw + j];
      for (std::int64_t oh = oh_lo; oh < oh_hi; ++oh) {
        const T* xrow = xp + (oh * p.sh - p.ph + i * p.dh) * p.W + (j * p.dw - p.pw);
        T* yrow = yp + oh * p.Wo;
        if (p.sw == 1)
          for (std::int64_t ow = ow_lo; ow < ow_hi; ++ow) yrow[ow] += wv * xrow[ow];
        else
          for (std::int64_t ow = ow_lo; ow < ow_hi; ++ow) yrow[ow] += wv * xrow[ow * p.sw];
      }
    }
  }
}

// fwd_plane for 3x3 filters without dilation (MobileNet's case): the three taps of a filter row are
// applied in one pass over an output row, and only the columns whose taps cross the left/right
// border take the checked path, so a plane costs 3 row passes per output row instead of 9.
template <class T>
ANIMA_DW_INLINE void fwd_plane_3x3(const Conv2dGeometry& p, const T* xp, const T* wp, T bias, T* yp) {
  std::fill(yp, yp + p.Ho * p.Wo, bias);
  std::int64_t lo, hi, unused;
  conv_valid_range(p.Wo, p.W, p.sw, -p.pw, lo, unused);     // first column whose tap j = 0 is inside
  conv_valid_range(p.Wo, p.W, p.sw, 2 - p.pw, unused, hi);  // end of the columns whose tap j = 2 is inside
  if (hi < lo) hi = lo;                                     // no interior: every column is an edge
  for (std::int64_t i = 0; i < 3; ++i) {
    std::int64_t oh_lo, oh_hi;
    conv_valid_range(p.Ho, p.H, p.sh, i - p.ph, oh_lo, oh_hi);
    const T w0 = wp[i * 3], w1 = wp[i * 3 + 1], w2 = wp[i * 3 + 2];
    for (std::int64_t oh = oh_lo; oh < oh_hi; ++oh) {
      const T* xrow = xp + (oh * p.sh - p.ph + i) * p.W;
      T* yrow = yp + oh * p.Wo;
      auto edge = [&](std::int64_t ow) {
        const std::int64_t iw0 = ow * p.sw - p.pw;
        T acc = T(0);
        if (iw0 >= 0 && iw0 < p.W) acc += w0 * xrow[iw0];
        if (iw0 + 1 >= 0 && iw0 + 1 < p.W) acc += w1 * xrow[iw0 + 1];
        if (iw0 + 2 >= 0 && iw0 + 2 < p.W) acc += w2 * xrow[iw0 + 2];
        yrow[ow] += acc;
      };
      for (std::int64_t ow = 0; ow < lo; ++ow) edge(ow);
      if (p.sw == 1) {
        const T* s = xrow - p.pw;
        for (std::int64_t ow = lo; ow < hi; ++ow) yrow[ow] += w0 * s[ow] + w1 * s[ow + 1] + w2 * s[ow + 2];
      } else {
        for (std::int64_t ow = lo; ow < hi; ++ow) {
          const T* s = xrow + ow * p.sw - p.pw;
          yrow[ow] += w0 * s[0] + w1 * s[1] + w2 * s[2];
        }
      }
      for (std::int64_t ow = hi; ow < p.Wo; ++ow) edge(ow);
    }
  }
}

// dxp [H, W] += the transposed taps of one output plane dyp [Ho, Wo] with filter wp.
template <class T>
ANIMA_DW_INLINE void bwd_data_plane(const Conv2dGeometry& p, const T* dyp, const T* wp, T* dxp) {
  for (std::int64_t i = 0; i < p.kh; ++i) {
    std::int64_t oh_lo, oh_hi;
    conv_valid_range(p.Ho, p.H, p.sh, i * p.dh - p.ph, oh_lo, oh_hi);
    for (std::int64_t j = 0; j < p.kw; ++j) {
      std::int64_t ow_lo, ow_hi;
      conv_valid_range(p.Wo, p.W, p.sw, j * p.dw - p.pw, ow_lo, ow_hi);
      const T wv = wp[i * p.kw + j];
      for (std::int64_t oh = oh_lo; oh < oh_hi; ++oh) {
        T* dxrow = dxp + (oh * p.sh - p.ph + i * p.dh) * p.W + (j * p.dw - p.pw);
        const T* dyrow = dyp + oh * p.Wo;
        if (p.sw == 1)
          for (std::int64_t ow = ow_lo; ow < ow_hi; ++ow) dxrow[ow] += wv * dyrow[ow];
        else
          for (std::int64_t ow = ow_lo; ow < ow_hi; ++ow) dxrow[ow * p.sw] += wv * dyrow[ow];
      }
    }
  }
}

template <class T>
ANIMA_DW_INLINE void fwd_plane_any(const Conv2dGeometry& p, const T* xp, const T* wp, T bias, T* yp) {
  if (p.kh == 3 && p.kw == 3 && p.dh == 1 && p.dw == 1)
    fwd_plane_3x3(p, xp, wp, bias, yp);
  else
    fwd_plane(p, xp, wp, bias, yp);
}

template <class T>
void fwd_plane_portable(const Conv2dGeometry& p, const T* xp, const T* wp, T bias, T* yp) {
  fwd_plane_any(p, xp, wp, bias, yp);
}
template <class T>
void bwd_data_plane_portable(const Conv2dGeometry& p, const T* dyp, const T* wp, T* dxp) {
  bwd_data_plane(p, dyp, wp, dxp);
}
#if ANIMA_CPU_X86
template <class T>
__attribute__((target("avx2,fma"))) void fwd_plane_avx2(const Conv2dGeometry& p, const T* xp, const T* wp, T bias,
                                                        T* yp) {
  fwd_plane_any(p, xp, wp, bias, yp);
}
template <class T>
__attribute__((target("avx2,fma"))) void bwd_data_plane_avx2(const Conv2dGeometry& p, const T* dyp, const T* wp,
                                                             T* dxp) {
  bwd_data_plane(p, dyp, wp, dxp);
}
#endif

template <class T>
using FwdPlaneFn = void (*)(const Conv2dGeometry&, const T*, const T*, T, T*);
template <class T>
using BwdDataPlaneFn = void (*)(const Conv2dGeometry&, const T*, const T*, T*);

template <class T>
FwdPlaneFn<T> fwd_plane_fn() {
#if ANIMA_CPU_X86
  if (cpu_supports_avx2_fma()) return &fwd_plane_avx2<T>;
#endif
  return &fwd_plane_portable<T>;
}
template <class T>
BwdDataPlaneFn<T> bwd_data_plane_fn() {
#if ANIMA_CPU_X86
  if (cpu_supports_avx2_fma()) return &bwd_data_plane_avx2<T>;
#endif
  return &bwd_data_plane_portable<T>;
}

#undef ANIMA_DW_INLINE

}  // namespace conv_depthwise_detail

// y [N, O, Ho, Wo] from x [N, C, H, W], w [O, 1, kh, kw], b [O] or nullptr. Requires p.is_depthwise().
// act: applied to each plane right after it is computed (still in cache), ConvActivation::None to skip.
template <class T>
void conv2d_fwd_depthwise(const Conv2dGeometry& p, const T* x, const T* w, const T* b, T* y,
                          const ParallelFor& parallel, ConvActivation act = ConvActivation::None) {
  const std::int64_t m = p.O / p.C;
  const auto plane = conv_depthwise_detail::fwd_plane_fn<T>();
  conv_depthwise_detail::run(p.N * p.O, parallel, [&](std::int64_t e0, std::int64_t e1) {
    for (std::int64_t e = e0; e < e1; ++e) {
      const std::int64_t n = e / p.O, o = e % p.O;
      T* yp = y + e * p.Ho * p.Wo;
      plane(p, x + (n * p.C + o / m) * p.H * p.W, w + o * p.kh * p.kw, b ? b[o] : T(0), yp);
      if (act != ConvActivation::None)
        for (std::int64_t q = 0; q < p.Ho * p.Wo; ++q) yp[q] = conv_activate(act, yp[q]);
    }
  });
}

// dx [N, C, H, W] (overwritten) from dy [N, O, Ho, Wo] and w [O, 1, kh, kw].
template <class T>
void conv2d_bwd_data_depthwise(const Conv2dGeometry& p, const T* dy, const T* w, T* dx, const ParallelFor& parallel) {
  const std::int64_t m = p.O / p.C;
  const auto plane = conv_depthwise_detail::bwd_data_plane_fn<T>();
  conv_depthwise_detail::run(p.N * p.C, parallel, [&](std::int64_t e0, std::int64_t e1) {
    for (std::int64_t e = e0; e < e1; ++e) {
      const std::int64_t n = e / p.C, c = e % p.C;
      T* dxp = dx + e * p.H * p.W;
      std::fill(dxp, dxp + p.H * p.W, T(0));
      for (std::int64_t o = c * m; o < (c + 1) * m; ++o)
        plane(p, dy + (n * p.O + o) * p.Ho * p.Wo, w + o * p.kh * p.kw, dxp);
    }
  });
}

// dw [O, 1, kh, kw] and db [O] (nullptr: skipped), overwritten, from x and dy.
template <class T>
void conv2d_bwd_filter_depthwise(const Conv2dGeometry& p, const T* x, const T* dy, T* dw, T* db,
                                 const ParallelFor& parallel) {
  const std::int64_t m = p.O / p.C;
  conv_depthwise_detail::run(p.O, parallel, [&](std::int64_t o0, std::int64_t o1) {
    for (std::int64_t o = o0; o < o1; ++o) {
      T* dwp = dw + o * p.kh * p.kw;
      for (std::int64_t i = 0; i < p.kh; ++i) {
        std::int64_t oh_lo, oh_hi;
        conv_valid_range(p.Ho, p.H, p.sh, i * p.dh - p.ph, oh_lo, oh_hi);
        for (std::int64_t j = 0; j < p.kw; ++j) {
          std::int64_t ow_lo, ow_hi;
          conv_valid_range(p.Wo, p.W, p.sw, j * p.dw - p.pw, ow_lo, ow_hi);
          T acc = T(0);
          for (std::int64_t n = 0; n < p.N; ++n) {
            const T* xp = x + (n * p.C + o / m) * p.H * p.W;
            const T* dyp = dy + (n * p.O + o) * p.Ho * p.Wo;
            for (std::int64_t oh = oh_lo; oh < oh_hi; ++oh) {
              const T* xrow = xp + (oh * p.sh - p.ph + i * p.dh) * p.W + (j * p.dw - p.pw);
              const T* dyrow = dyp + oh * p.Wo;
              for (std::int64_t ow = ow_lo; ow < ow_hi; ++ow) acc += dyrow[ow] * xrow[ow * p.sw];
            }
          }
          dwp[i * p.kw + j] = acc;
        }
      }
      if (db) {
        T acc = T(0);
        for (std::int64_t n = 0; n < p.N; ++n) {
          const T* dyp = dy + (n * p.O + o) * p.Ho * p.Wo;
          for (std::int64_t e = 0; e < p.Ho * p.Wo; ++e) acc += dyp[e];
        }
        db[o] = acc;
      }
    }
  });
}

}  // namespace anima::kernels::cpu
