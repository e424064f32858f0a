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

namespace conv_reference_detail {

// f(n, o, oh, ow, flat index of y[n, o, oh, ow]) for every output element, in memory order.
template <class F>
void for_each_output(const Conv2dGeometry& p, F&& f) {
  for (std::int64_t n = 0; n < p.N; ++n)
    for (std::int64_t o = 0; o < p.O; ++o)
      for (std::int64_t oh = 0; oh < p.Ho; ++oh)
        for (std::int64_t ow = 0; ow < p.Wo; ++ow) f(n, o, oh, ow, ((n * p.O + o) * p.Ho + oh) * p.Wo + ow);
}

// f(flat index into x, flat index into w) for every product x·w that y[n, o, oh, ow] sums: over
// c < C/groups, i < kh, j < kw in that order, where (ih, iw) lies inside the input.
template <class F>
void for_each_product(const Conv2dGeometry& p, std::int64_t n, std::int64_t o, std::int64_t oh, std::int64_t ow,
                      F&& f) {
  const std::int64_t Cg = p.c_per_group(), g = o / p.o_per_group();
  for (std::int64_t c = 0; c < Cg; ++c)
    for (std::int64_t i = 0; i < p.kh; ++i)
      for (std::int64_t j = 0; j < p.kw; ++j) {
        const std::int64_t ih = oh * p.sh - p.ph + i * p.dh, iw = ow * p.sw - p.pw + j * p.dw;
        if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
        f(((n * p.C + g * Cg + c) * p.H + ih) * p.W + iw, ((o * Cg + c) * p.kh + i) * p.kw + j);
      }
}

}  // namespace conv_reference_detail

// y [N, O, Ho, Wo] from x [N, C, H, W], w [O, C/groups, kh, kw], b [O] (nullptr: no bias).
template <class T>
void conv2d_fwd_reference(const Conv2dGeometry& p, const T* x, const T* w, const T* b, T* y) {
  using namespace conv_reference_detail;
  for_each_output(p, [&](std::int64_t n, std::int64_t o, std::int64_t oh, std::int64_t ow, std::int64_t out) {
    T acc = b ? b[o] : T(0);
    for_each_product(p, n, o, oh, ow, [&](std::int64_t xi, std::int64_t wi) { acc += x[xi] * w[wi]; });
    y[out] = acc;
  });
}

// dx [N, C, H, W] (overwritten) from dy [N, O, Ho, Wo] and w.
template <class T>
void conv2d_bwd_data_reference(const Conv2dGeometry& p, const T* dy, const T* w, T* dx) {
  using namespace conv_reference_detail;
  for (std::int64_t e = 0; e < p.N * p.C * p.H * p.W; ++e) dx[e] = T(0);
  for_each_output(p, [&](std::int64_t n, std::int64_t o, std::int64_t oh, std::int64_t ow, std::int64_t out) {
    const T d = dy[out];
    for_each_product(p, n, o, oh, ow, [&](std::int64_t xi, std::int64_t wi) { dx[xi] += d * w[wi]; });
  });
}

// dw [O, C/groups, kh, kw] and db [O] (nullptr: skipped), both overwritten, from x and dy.
template <class T>
void conv2d_bwd_filter_reference(const Conv2dGeometry& p, const T* x, const T* dy, T* dw, T* db) {
  using namespace conv_reference_detail;
  for (std::int64_t e = 0; e < p.O * p.c_per_group() * p.kh * p.kw; ++e) dw[e] = T(0);
  if (db)
    for (std::int64_t o = 0; o < p.O; ++o) db[o] = T(0);
  for_each_output(p, [&](std::int64_t n, std::int64_t o, std::int64_t oh, std::int64_t ow, std::int64_t out) {
    const T d = dy[out];
    if (db) db[o] += d;
    for_each_product(p, n, o, oh, ow, [&](std::int64_t xi, std::int64_t wi) { dw[wi] += d * x[xi]; });
  });
}

}  // namespace anima::kernels::cpu
