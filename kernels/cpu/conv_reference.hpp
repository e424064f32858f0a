// anima/kernels/cpu/conv_reference.hpp — 2-D convolution as plain loops: the oracle for every other
// conv kernel (im2col + GEMM, depthwise direct, cuDNN, CUDA implicit GEMM).
//
// Geometry and notation: anima/kernels/conv_math.hpp. With ih = oh·sh − ph + i·dh, iw = ow·sw − pw + j·dw,
// g = o / (O/groups), and the sums taken only where (ih, iw) lies inside the input:
//   forward          y[n,o,oh,ow]     = b[o] + Σ_{c,i,j} x[n, g·C/g + c, ih, iw] · w[o,c,i,j]
//   backward data    dx[n,g·C/g+c,ih,iw] = Σ_{o in g, oh, ow, i, j} dy[n,o,oh,ow] · w[o,c,i,j]
//   backward filter  dw[o,c,i,j]      = Σ_{n,oh,ow} dy[n,o,oh,ow] · x[n, g·C/g + c, ih, iw]
//                    db[o]            = Σ_{n,oh,ow} dy[n,o,oh,ow]
// All tensors are contiguous NCHW (weight OIHW). Single-threaded, accumulates in T. No allocation.
#pragma once

#include <cstdint>

#include <anima/kernels/conv_math.hpp>

namespace anima::kernels::cpu {

// y [N, O, Ho, Wo] from x [N, C, H, W], w [O, C/groups, kh, kw], b [O] (nullptr: no bias).
template <class T>
void conv2d_fwd_reference(const Conv2dGeometry& p, const T* x, const T* w, const T* b, T* y) {
  const std::int64_t Cg = p.c_per_group(), Og = p.o_per_group();
  for (std::int64_t n = 0; n < p.N; ++n)
    for (std::int64_t o = 0; o < p.O; ++o) {
      const std::int64_t g = o / Og;
      for (std::int64_t oh = 0; oh < p.Ho; ++oh)
        for (std::int64_t ow = 0; ow < p.Wo; ++ow) {
          T acc = b ? b[o] : T(0);
          for (std::int64_t c = 0; c < Cg; ++c)
            for (std::int64_t i = 0; i < p.kh; ++i)
              for (std::int64_t j = 0; j < p.kw; ++j) {
                const std::int64_t ih = oh * p.sh - p.ph + i * p.dh, iw = ow * p.sw - p.pw + j * p.dw;
                if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
                acc += x[((n * p.C + g * Cg + c) * p.H + ih) * p.W + iw] * w[((o * Cg + c) * p.kh + i) * p.kw + j];
              }
          y[((n * p.O + o) * p.Ho + oh) * p.Wo + ow] = acc;
        }
    }
}

// dx [N, C, H, W] (overwritten) from dy [N, O, Ho, Wo] and w.
template <class T>
void conv2d_bwd_data_reference(const Conv2dGeometry& p, const T* dy, const T* w, T* dx) {
  const std::int64_t Cg = p.c_per_group(), Og = p.o_per_group();
  for (std::int64_t e = 0; e < p.N * p.C * p.H * p.W; ++e) dx[e] = T(0);
  for (std::int64_t n = 0; n < p.N; ++n)
    for (std::int64_t o = 0; o < p.O; ++o) {
      const std::int64_t g = o / Og;
      for (std::int64_t oh = 0; oh < p.Ho; ++oh)
        for (std::int64_t ow = 0; ow < p.Wo; ++ow) {
          const T d = dy[((n * p.O + o) * p.Ho + oh) * p.Wo + ow];
          for (std::int64_t c = 0; c < Cg; ++c)
            for (std::int64_t i = 0; i < p.kh; ++i)
              for (std::int64_t j = 0; j < p.kw; ++j) {
                const std::int64_t ih = oh * p.sh - p.ph + i * p.dh, iw = ow * p.sw - p.pw + j * p.dw;
                if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
                dx[((n * p.C + g * Cg + c) * p.H + ih) * p.W + iw] += d * w[((o * Cg + c) * p.kh + i) * p.kw + j];
              }
        }
    }
}

// dw [O, C/groups, kh, kw] and db [O] (nullptr: skipped), both overwritten, from x and dy.
template <class T>
void conv2d_bwd_filter_reference(const Conv2dGeometry& p, const T* x, const T* dy, T* dw, T* db) {
  const std::int64_t Cg = p.c_per_group(), Og = p.o_per_group();
  for (std::int64_t e = 0; e < p.O * Cg * p.kh * p.kw; ++e) dw[e] = T(0);
  if (db)
    for (std::int64_t o = 0; o < p.O; ++o) db[o] = T(0);
  for (std::int64_t n = 0; n < p.N; ++n)
    for (std::int64_t o = 0; o < p.O; ++o) {
      const std::int64_t g = o / Og;
      for (std::int64_t oh = 0; oh < p.Ho; ++oh)
        for (std::int64_t ow = 0; ow < p.Wo; ++ow) {
          const T d = dy[((n * p.O + o) * p.Ho + oh) * p.Wo + ow];
          if (db) db[o] += d;
          for (std::int64_t c = 0; c < Cg; ++c)
            for (std::int64_t i = 0; i < p.kh; ++i)
              for (std::int64_t j = 0; j < p.kw; ++j) {
                const std::int64_t ih = oh * p.sh - p.ph + i * p.dh, iw = ow * p.sw - p.pw + j * p.dw;
                if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
                dw[((o * Cg + c) * p.kh + i) * p.kw + j] += d * x[((n * p.C + g * Cg + c) * p.H + ih) * p.W + iw];
              }
        }
    }
}

}  // namespace anima::kernels::cpu
