// anima/kernels/cuda/pool.cuh — 2-D max / average / adaptive-average pooling and their backward (CUDA).
// Same contract as anima/kernels/cpu/pool.hpp (x/gx [planes, in_h, in_w], y/gy/idx [planes, out_h,
// out_w], contiguous, on the device); window geometry from anima/kernels/pool_math.hpp.
//
//   forward:   one thread per output element (grid-stride, 64-bit indices), looping over its window.
//   backward:  gather, one thread per input element: it visits the outputs whose window can contain it
//              (pool_outputs_reading / adaptive_outputs_reading) in increasing order and sums their
//              share (max: only the outputs whose saved index is this element). No atomics, and the
//              summation order is the CPU scatter's order, so results equal the CPU's bit for bit.
// Determinism: run-to-run deterministic (each output written by one thread from fixed inputs).
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/cuda/status.cuh>
#include <anima/kernels/cuda/elementwise.cuh>
#include <anima/kernels/pool_math.hpp>

namespace anima::kernels::cuda {

template <class T>
__global__ void max_pool2d_forward_kernel(const T* __restrict__ x, Pool2dGeometry g, T* __restrict__ y,
                                          std::int64_t* __restrict__ idx, std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t ow = i % g.out_w, oh = (i / g.out_w) % g.out_h, p = i / (g.out_w * g.out_h);
    const T* xp = x + p * g.in_h * g.in_w;
    const IndexRange rh = max_pool_window(oh, g.in_h, g.kernel_h, g.stride_h, g.pad_h);
    const IndexRange rw = max_pool_window(ow, g.in_w, g.kernel_w, g.stride_w, g.pad_w);
    T best = -INFINITY;
    std::int64_t best_i = rh.begin * g.in_w + rw.begin;
    for (std::int64_t h = rh.begin; h < rh.end; ++h)
      for (std::int64_t w = rw.begin; w < rw.end; ++w) {
        const T v = xp[h * g.in_w + w];
        if (v > best || v != v) {  // a NaN takes over (PyTorch's rule)
          best = v;
          best_i = h * g.in_w + w;
        }
      }
    y[i] = best;
    idx[i] = best_i;
  }
}

template <class T>
__global__ void max_pool2d_backward_gather_kernel(const T* __restrict__ gy, const std::int64_t* __restrict__ idx,
                                                  Pool2dGeometry g, T* __restrict__ gx, std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t w = i % g.in_w, h = (i / g.in_w) % g.in_h, p = i / (g.in_w * g.in_h);
    const std::int64_t target = h * g.in_w + w, base = p * g.out_h * g.out_w;
    const IndexRange rh = pool_outputs_reading(h, g.out_h, g.kernel_h, g.stride_h, g.pad_h);
    const IndexRange rw = pool_outputs_reading(w, g.out_w, g.kernel_w, g.stride_w, g.pad_w);
    T sum = T(0);
    for (std::int64_t oh = rh.begin; oh < rh.end; ++oh)
      for (std::int64_t ow = rw.begin; ow < rw.end; ++ow) {
        const std::int64_t o = base + oh * g.out_w + ow;
        if (idx[o] == target) sum += gy[o];
      }
    gx[i] = sum;
  }
}

template <class T>
__device__ __forceinline__ T avg_divisor(const AvgWindow& wh, const AvgWindow& ww, bool count_include_pad) {
  return static_cast<T>(avg_pool_divisor(wh, ww, count_include_pad));
}

template <class T>
__global__ void avg_pool2d_forward_kernel(const T* __restrict__ x, Pool2dGeometry g, bool count_include_pad,
                                          T* __restrict__ y, std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t ow = i % g.out_w, oh = (i / g.out_w) % g.out_h, p = i / (g.out_w * g.out_h);
    const T* xp = x + p * g.in_h * g.in_w;
    const AvgWindow wh = avg_pool_window(oh, g.in_h, g.kernel_h, g.stride_h, g.pad_h);
    const AvgWindow ww = avg_pool_window(ow, g.in_w, g.kernel_w, g.stride_w, g.pad_w);
    if (wh.window.begin >= wh.window.end || ww.window.begin >= ww.window.end) {
      y[i] = T(0);
      continue;
    }
    T sum = T(0);
    for (std::int64_t h = wh.window.begin; h < wh.window.end; ++h)
      for (std::int64_t w = ww.window.begin; w < ww.window.end; ++w) sum += xp[h * g.in_w + w];
    y[i] = sum / avg_divisor<T>(wh, ww, count_include_pad);
  }
}

template <class T>
__global__ void avg_pool2d_backward_gather_kernel(const T* __restrict__ gy, Pool2dGeometry g, bool count_include_pad,
                                                  T* __restrict__ gx, std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t w = i % g.in_w, h = (i / g.in_w) % g.in_h, p = i / (g.in_w * g.in_h);
    const T* gyp = gy + p * g.out_h * g.out_w;
    const IndexRange rh = pool_outputs_reading(h, g.out_h, g.kernel_h, g.stride_h, g.pad_h);
    const IndexRange rw = pool_outputs_reading(w, g.out_w, g.kernel_w, g.stride_w, g.pad_w);
    T sum = T(0);
    for (std::int64_t oh = rh.begin; oh < rh.end; ++oh) {
      const AvgWindow wh = avg_pool_window(oh, g.in_h, g.kernel_h, g.stride_h, g.pad_h);
      for (std::int64_t ow = rw.begin; ow < rw.end; ++ow) {
        const AvgWindow ww = avg_pool_window(ow, g.in_w, g.kernel_w, g.stride_w, g.pad_w);
        sum += gyp[oh * g.out_w + ow] / avg_divisor<T>(wh, ww, count_include_pad);
      }
    }
    gx[i] = sum;
  }
}

template <class T>
__global__ void adaptive_avg_pool2d_forward_kernel(const T* __restrict__ x, Pool2dGeometry g, T* __restrict__ y,
                                                   std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t ow = i % g.out_w, oh = (i / g.out_w) % g.out_h, p = i / (g.out_w * g.out_h);
    const T* xp = x + p * g.in_h * g.in_w;
    const IndexRange rh = adaptive_window(oh, g.in_h, g.out_h);
    const IndexRange rw = adaptive_window(ow, g.in_w, g.out_w);
    T sum = T(0);
    for (std::int64_t h = rh.begin; h < rh.end; ++h)
      for (std::int64_t w = rw.begin; w < rw.end; ++w) sum += xp[h * g.in_w + w];
    y[i] = sum / static_cast<T>((rh.end - rh.begin) * (rw.end - rw.begin));
  }
}

template <class T>
__global__ void adaptive_avg_pool2d_backward_gather_kernel(const T* __restrict__ gy, Pool2dGeometry g,
                                                           T* __restrict__ gx, std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t w = i % g.in_w, h = (i / g.in_w) % g.in_h, p = i / (g.in_w * g.in_h);
    const T* gyp = gy + p * g.out_h * g.out_w;
    const IndexRange rh = adaptive_outputs_reading(h, g.in_h, g.out_h);
    const IndexRange rw = adaptive_outputs_reading(w, g.in_w, g.out_w);
    T sum = T(0);
    for (std::int64_t oh = rh.begin; oh < rh.end; ++oh) {
      const IndexRange wh = adaptive_window(oh, g.in_h, g.out_h);
      for (std::int64_t ow = rw.begin; ow < rw.end; ++ow) {
        const IndexRange ww = adaptive_window(ow, g.in_w, g.out_w);
        sum += gyp[oh * g.out_w + ow] / static_cast<T>((wh.end - wh.begin) * (ww.end - ww.begin));
      }
    }
    gx[i] = sum;
  }
}

// ---------------------------------------------------------------------------------------------------
// Launchers (host); device pointers, run on `stream`. Empty problems launch nothing.

template <class T>
[[nodiscard]] cudaError_t max_pool2d_forward(const T* x, const Pool2dGeometry& g, T* y, std::int64_t* idx,
                                             cudaStream_t stream) {
  const std::int64_t n = g.planes * g.out_h * g.out_w;
  if (n <= 0) return cudaSuccess;
  max_pool2d_forward_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(x, g, y, idx, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t max_pool2d_backward(const T* gy, const std::int64_t* idx, const Pool2dGeometry& g, T* gx,
                                              cudaStream_t stream) {
  const std::int64_t n = g.planes * g.in_h * g.in_w;
  if (n <= 0) return cudaSuccess;
  max_pool2d_backward_gather_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(gy, idx, g, gx, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t avg_pool2d_forward(const T* x, const Pool2dGeometry& g, bool count_include_pad, T* y,
                                             cudaStream_t stream) {
  const std::int64_t n = g.planes * g.out_h * g.out_w;
  if (n <= 0) return cudaSuccess;
  avg_pool2d_forward_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(x, g, count_include_pad, y, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t avg_pool2d_backward(const T* gy, const Pool2dGeometry& g, bool count_include_pad, T* gx,
                                              cudaStream_t stream) {
  const std::int64_t n = g.planes * g.in_h * g.in_w;
  if (n <= 0) return cudaSuccess;
  avg_pool2d_backward_gather_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(gy, g, count_include_pad, gx, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t adaptive_avg_pool2d_forward(const T* x, const Pool2dGeometry& g, T* y, cudaStream_t stream) {
  const std::int64_t n = g.planes * g.out_h * g.out_w;
  if (n <= 0) return cudaSuccess;
  adaptive_avg_pool2d_forward_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(x, g, y, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t adaptive_avg_pool2d_backward(const T* gy, const Pool2dGeometry& g, T* gx,
                                                       cudaStream_t stream) {
  const std::int64_t n = g.planes * g.in_h * g.in_w;
  if (n <= 0) return cudaSuccess;
  adaptive_avg_pool2d_backward_gather_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(gy, g, gx, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

}  // namespace anima::kernels::cuda
