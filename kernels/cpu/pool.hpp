// anima/kernels/cpu/pool.hpp — 2-D max / average / adaptive-average pooling and their backward (CPU).
//
// x, y, gx, gy are contiguous [planes, H, W] arrays (planes = N·C); idx holds, per max-pool output, the
// flat index h·in_w + w of its arg-max inside its input plane (PyTorch's return_indices convention).
// Window geometry: anima/kernels/pool_math.hpp.
//   max:       y = max over the window, idx = its first position in row-major window order; a NaN
//              takes over whenever it is met (so the last NaN of a window), as PyTorch's CPU and CUDA
//              kernels (`val > max || isnan(val)`); an all -inf window returns -inf and its first index.
//              gx[idx] += gy.
//   avg:       y = Σ_window x / divisor (divisor per pool_math.hpp); gx[window] += gy / divisor.
//   adaptive:  y = Σ_window x / |window|; gx[window] += gy / |window|.
// Two versions of each: *_reference (plain loops over everything, the math as written) and *_planes
// (run in parallel over planes on the caller's ParallelFor). avg_pool2d_forward_planes splits each plane
// into its interior (outputs whose window lies wholly inside the input) and its border: the interior
// runs tap by tap over a whole output row, so the inner loop is one fixed-stride pass the compiler
// vectorises instead of a window computed per output (2.4x on one thread for a 3x3 window); every
// output still meets its taps in the reference's order, so the results are bitwise the reference's.
// The same split does not pay for max pooling (its arg-max indices double the row traffic: measured
// slower than the per-output loop), which runs the reference's plane loop in parallel. Backward kernels write
// every element of gx (zero first); within a plane the scatter is sequential, so both versions are
// deterministic and give identical results.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include <anima/kernels/parallel.hpp>
#include <anima/kernels/pool_math.hpp>

namespace anima::kernels::cpu {

namespace pool_detail {

template <class T>
void max_plane(const T* x, const Pool2dGeometry& g, T* y, std::int64_t* idx) {
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    const IndexRange rh = max_pool_window(oh, g.in_h, g.kernel_h, g.stride_h, g.pad_h);
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      const IndexRange rw = max_pool_window(ow, g.in_w, g.kernel_w, g.stride_w, g.pad_w);
      T best = -std::numeric_limits<T>::infinity();
      std::int64_t best_i = rh.begin * g.in_w + rw.begin;
      for (std::int64_t h = rh.begin; h < rh.end; ++h)
        for (std::int64_t w = rw.begin; w < rw.end; ++w) {
          // Branch-free select (random data mispredicts a branch half the time); v != v is isnan.
          const T v = x[h * g.in_w + w];
          const bool take = v > best || v != v;
          best = take ? v : best;
          best_i = take ? h * g.in_w + w : best_i;
        }
      y[oh * g.out_w + ow] = best;
      idx[oh * g.out_w + ow] = best_i;
    }
  }
}

template <class T>
void max_backward_plane(const T* gy, const std::int64_t* idx, const Pool2dGeometry& g, T* gx) {
  for (std::int64_t i = 0; i < g.in_h * g.in_w; ++i) gx[i] = T(0);
  for (std::int64_t o = 0; o < g.out_h * g.out_w; ++o) gx[idx[o]] += gy[o];
}

template <class T>
T avg_divisor(const AvgWindow& wh, const AvgWindow& ww, bool count_include_pad) {
  return static_cast<T>(avg_pool_divisor(wh, ww, count_include_pad));
}

template <class T>
void avg_plane(const T* x, const Pool2dGeometry& g, bool count_include_pad, T* y) {
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    const AvgWindow wh = avg_pool_window(oh, g.in_h, g.kernel_h, g.stride_h, g.pad_h);
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      const AvgWindow ww = avg_pool_window(ow, g.in_w, g.kernel_w, g.stride_w, g.pad_w);
      if (wh.window.begin >= wh.window.end || ww.window.begin >= ww.window.end) {
        y[oh * g.out_w + ow] = T(0);  // a window with no input element (PyTorch writes 0)
        continue;
      }
      T sum = T(0);
      for (std::int64_t h = wh.window.begin; h < wh.window.end; ++h)
        for (std::int64_t w = ww.window.begin; w < ww.window.end; ++w) sum += x[h * g.in_w + w];
      y[oh * g.out_w + ow] = sum / avg_divisor<T>(wh, ww, count_include_pad);
    }
  }
}

template <class T>
void avg_backward_plane(const T* gy, const Pool2dGeometry& g, bool count_include_pad, T* gx) {
  for (std::int64_t i = 0; i < g.in_h * g.in_w; ++i) gx[i] = T(0);
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    const AvgWindow wh = avg_pool_window(oh, g.in_h, g.kernel_h, g.stride_h, g.pad_h);
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      const AvgWindow ww = avg_pool_window(ow, g.in_w, g.kernel_w, g.stride_w, g.pad_w);
      if (wh.window.begin >= wh.window.end || ww.window.begin >= ww.window.end) continue;
      const T share = gy[oh * g.out_w + ow] / avg_divisor<T>(wh, ww, count_include_pad);
      for (std::int64_t h = wh.window.begin; h < wh.window.end; ++h)
        for (std::int64_t w = ww.window.begin; w < ww.window.end; ++w) gx[h * g.in_w + w] += share;
    }
  }
}

template <class T>
void adaptive_plane(const T* x, std::int64_t in_h, std::int64_t in_w, std::int64_t out_h, std::int64_t out_w, T* y) {
  for (std::int64_t oh = 0; oh < out_h; ++oh) {
    const IndexRange rh = adaptive_window(oh, in_h, out_h);
    for (std::int64_t ow = 0; ow < out_w; ++ow) {
      const IndexRange rw = adaptive_window(ow, in_w, out_w);
      T sum = T(0);
      for (std::int64_t h = rh.begin; h < rh.end; ++h)
        for (std::int64_t w = rw.begin; w < rw.end; ++w) sum += x[h * in_w + w];
      y[oh * out_w + ow] = sum / static_cast<T>((rh.end - rh.begin) * (rw.end - rw.begin));
    }
  }
}

template <class T>
void adaptive_backward_plane(const T* gy, std::int64_t in_h, std::int64_t in_w, std::int64_t out_h, std::int64_t out_w,
                             T* gx) {
  for (std::int64_t i = 0; i < in_h * in_w; ++i) gx[i] = T(0);
  for (std::int64_t oh = 0; oh < out_h; ++oh) {
    const IndexRange rh = adaptive_window(oh, in_h, out_h);
    for (std::int64_t ow = 0; ow < out_w; ++ow) {
      const IndexRange rw = adaptive_window(ow, in_w, out_w);
      const T share = gy[oh * out_w + ow] / static_cast<T>((rh.end - rh.begin) * (rw.end - rw.begin));
      for (std::int64_t h = rh.begin; h < rh.end; ++h)
        for (std::int64_t w = rw.begin; w < rw.end; ++w) gx[h * in_w + w] += share;
    }
  }
}

// The outputs o in [lo, hi) whose window [o·s − p, o·s − p + k) lies wholly inside [0, in).
inline IndexRange pool_interior(std::int64_t out, std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p) {
  const std::int64_t lo = (p + s - 1) / s;
  const std::int64_t hi = in - k + p < 0 ? 0 : pool_min(out, (in - k + p) / s + 1);
  return {pool_min(lo, hi), hi};
}

// avg_plane, with the interior of each row done tap by tap over the row (divisor kh·kw there in both
// count_include_pad modes: the window lies wholly inside).
template <class T>
void avg_plane_fast(const T* x, const Pool2dGeometry& g, bool count_include_pad, T* y) {
  const IndexRange ih = pool_interior(g.out_h, g.in_h, g.kernel_h, g.stride_h, g.pad_h);
  const IndexRange iw = pool_interior(g.out_w, g.in_w, g.kernel_w, g.stride_w, g.pad_w);
  if (ih.begin >= ih.end || iw.begin >= iw.end) return avg_plane(x, g, count_include_pad, y);
  const T divisor = static_cast<T>(g.kernel_h * g.kernel_w);
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    T* yrow = y + oh * g.out_w;
    const AvgWindow wh = avg_pool_window(oh, g.in_h, g.kernel_h, g.stride_h, g.pad_h);
    const bool inside = oh >= ih.begin && oh < ih.end;
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      if (inside && ow == iw.begin) {
        ow = iw.end - 1;
        continue;
      }
      const AvgWindow ww = avg_pool_window(ow, g.in_w, g.kernel_w, g.stride_w, g.pad_w);
      if (wh.window.begin >= wh.window.end || ww.window.begin >= ww.window.end) {
        yrow[ow] = T(0);
        continue;
      }
      T sum = T(0);
      for (std::int64_t h = wh.window.begin; h < wh.window.end; ++h)
        for (std::int64_t w = ww.window.begin; w < ww.window.end; ++w) sum += x[h * g.in_w + w];
      yrow[ow] = sum / avg_divisor<T>(wh, ww, count_include_pad);
    }
    if (!inside) continue;
    const std::int64_t sw = g.stride_w, h0 = oh * g.stride_h - g.pad_h, w0 = -g.pad_w;
    for (std::int64_t ow = iw.begin; ow < iw.end; ++ow) yrow[ow] = T(0);
    for (std::int64_t i = 0; i < g.kernel_h; ++i)
      for (std::int64_t j = 0; j < g.kernel_w; ++j) {
        const T* src = x + (h0 + i) * g.in_w + w0 + j;
        for (std::int64_t ow = iw.begin; ow < iw.end; ++ow) yrow[ow] += src[ow * sw];
      }
    for (std::int64_t ow = iw.begin; ow < iw.end; ++ow) yrow[ow] = yrow[ow] / divisor;
  }
}

}  // namespace pool_detail

// ---- max ----------------------------------------------------------------------------------------

template <class T>
void max_pool2d_forward_reference(const T* x, const Pool2dGeometry& g, T* y, std::int64_t* idx) {
  const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for (std::int64_t p = 0; p < g.planes; ++p)
    pool_detail::max_plane(x + p * in_plane, g, y + p * out_plane, idx + p * out_plane);
}

template <class T>
void max_pool2d_forward_planes(const T* x, const Pool2dGeometry& g, T* y, std::int64_t* idx,
                               const ParallelFor& parallel) {
  const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for_each_item(parallel, g.planes, out_plane * g.kernel_h * g.kernel_w, [&](std::int64_t p) {
    pool_detail::max_plane(x + p * in_plane, g, y + p * out_plane, idx + p * out_plane);
  });
}

template <class T>
void max_pool2d_backward_reference(const T* gy, const std::int64_t* idx, const Pool2dGeometry& g, T* gx) {
  const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for (std::int64_t p = 0; p < g.planes; ++p)
    pool_detail::max_backward_plane(gy + p * out_plane, idx + p * out_plane, g, gx + p * in_plane);
}

template <class T>
void max_pool2d_backward_planes(const T* gy, const std::int64_t* idx, const Pool2dGeometry& g, T* gx,
                                const ParallelFor& parallel) {
  const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for_each_item(parallel, g.planes, in_plane + out_plane, [&](std::int64_t p) {
    pool_detail::max_backward_plane(gy + p * out_plane, idx + p * out_plane, g, gx + p * in_plane);
  });
}

// ---- avg ----------------------------------------------------------------------------------------

template <class T>
void avg_pool2d_forward_reference(const T* x, const Pool2dGeometry& g, bool count_include_pad, T* y) {
  const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for (std::int64_t p = 0; p < g.planes; ++p)
    pool_detail::avg_plane(x + p * in_plane, g, count_include_pad, y + p * out_plane);
}

template <class T>
void avg_pool2d_forward_planes(const T* x, const Pool2dGeometry& g, bool count_include_pad, T* y,
                               const ParallelFor& parallel) {
  const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for_each_item(parallel, g.planes, out_plane * g.kernel_h * g.kernel_w, [&](std::int64_t p) {
    pool_detail::avg_plane_fast(x + p * in_plane, g, count_include_pad, y + p * out_plane);
  });
}

template <class T>
void avg_pool2d_backward_reference(const T* gy, const Pool2dGeometry& g, bool count_include_pad, T* gx) {
  const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for (std::int64_t p = 0; p < g.planes; ++p)
    pool_detail::avg_backward_plane(gy + p * out_plane, g, count_include_pad, gx + p * in_plane);
}

template <class T>
void avg_pool2d_backward_planes(const T* gy, const Pool2dGeometry& g, bool count_include_pad, T* gx,
                                const ParallelFor& parallel) {
  const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for_each_item(parallel, g.planes, in_plane + out_plane * g.kernel_h * g.kernel_w, [&](std::int64_t p) {
    pool_detail::avg_backward_plane(gy + p * out_plane, g, count_include_pad, gx + p * in_plane);
  });
}

// ---- adaptive avg (g.kernel/stride/pad unused) --------------------------------------------------

template <class T>
void adaptive_avg_pool2d_forward_reference(const T* x, const Pool2dGeometry& g, T* y) {
  const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for (std::int64_t p = 0; p < g.planes; ++p)
    pool_detail::adaptive_plane(x + p * in_plane, g.in_h, g.in_w, g.out_h, g.out_w, y + p * out_plane);
}

template <class T>
void adaptive_avg_pool2d_forward_planes(const T* x, const Pool2dGeometry& g, T* y, const ParallelFor& parallel) {
  const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for_each_item(parallel, g.planes, in_plane + out_plane, [&](std::int64_t p) {
    pool_detail::adaptive_plane(x + p * in_plane, g.in_h, g.in_w, g.out_h, g.out_w, y + p * out_plane);
  });
}

template <class T>
void adaptive_avg_pool2d_backward_reference(const T* gy, const Pool2dGeometry& g, T* gx) {
  const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for (std::int64_t p = 0; p < g.planes; ++p)
    pool_detail::adaptive_backward_plane(gy + p * out_plane, g.in_h, g.in_w, g.out_h, g.out_w, gx + p * in_plane);
}

template <class T>
void adaptive_avg_pool2d_backward_planes(const T* gy, const Pool2dGeometry& g, T* gx, const ParallelFor& parallel) {
  const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for_each_item(parallel, g.planes, in_plane + out_plane, [&](std::int64_t p) {
    pool_detail::adaptive_backward_plane(gy + p * out_plane, g.in_h, g.in_w, g.out_h, g.out_w, gx + p * in_plane);
  });
}

}  // namespace anima::kernels::cpu
