// anima/kernels/cuda/softmax.cuh — softmax and log_softmax along one dim (CUDA). Same contract and math
// as anima/kernels/cpu/softmax.hpp: contiguous arrays viewed as [outer, dim, inner], m = max over dim,
// s = Σ e^(x − m) accumulated in double;
//   softmax:      y = e^(x − m) / s                dx = y · (dy − Σ dy · y)
//   log_softmax:  y = x − m − log s                dx = dy − e^y · Σ dy
//
// Two kernels, picked by inner:
//   softmax_*_warp_rows  inner == 1 (softmax over the last dim): one warp per row, 8 rows per block;
//                        lanes stride over the row (coalesced), warp shuffles combine max and sums
//   softmax_*_columns    inner > 1: one thread per (o, j) slice, looping over dim; neighbouring threads
//                        read neighbouring j (coalesced)
// Limitation: very long rows (dim >> 32·1024) with few rows use few warps; a block-per-row version
// would be the next step.
// Numerics: sums in double in a fixed tree order; for float the result is within ~1 ulp of the CPU's.
// Determinism: fixed launch shape and combination order, no atomics: run-to-run deterministic.
#pragma once

#include <cmath>
#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/cuda/status.cuh>

namespace anima::kernels::cuda {

constexpr int kSoftmaxWarpRowsPerBlock = 8;
constexpr int kSoftmaxColumnBlock = 256;
constexpr std::int64_t kSoftmaxMaxGrid = 65535;

template <class T>
__device__ __forceinline__ T softmax_max_nan(T m, T v) {
  return (v > m || v != v) ? v : m;
}

template <class T>
__device__ __forceinline__ T softmax_warp_max(T v) {
  for (int off = 16; off > 0; off >>= 1) v = softmax_max_nan(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;  // valid in every lane
}

__device__ __forceinline__ double softmax_warp_sum(double v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;  // valid in every lane
}

template <class T>
__device__ __forceinline__ T softmax_neg_inf() {
  return -static_cast<T>(INFINITY);
}

template <class T>
__global__ void __launch_bounds__(kSoftmaxWarpRowsPerBlock * 32)
    softmax_forward_warp_rows(bool log_out, const T* __restrict__ x, T* __restrict__ y, std::int64_t rows,
                              std::int64_t dim) {
  using std::exp;  // float overloads for float (CUDA's device expf/logf), as in elementwise_math.hpp
  using std::log;
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * kSoftmaxWarpRowsPerBlock + warp; r < rows;
       r += static_cast<std::int64_t>(gridDim.x) * kSoftmaxWarpRowsPerBlock) {
    const T* xr = x + r * dim;
    T* yr = y + r * dim;
    T m = softmax_neg_inf<T>();
    for (std::int64_t k = lane; k < dim; k += 32) m = softmax_max_nan(m, xr[k]);
    m = softmax_warp_max(m);
    double s = 0.0;
    for (std::int64_t k = lane; k < dim; k += 32) s += static_cast<double>(exp(xr[k] - m));
    s = softmax_warp_sum(s);
    if (log_out) {
      const T lse = static_cast<T>(log(s));
      for (std::int64_t k = lane; k < dim; k += 32) yr[k] = xr[k] - m - lse;
    } else {
      for (std::int64_t k = lane; k < dim; k += 32) yr[k] = static_cast<T>(static_cast<double>(exp(xr[k] - m)) / s);
    }
  }
}

template <class T>
__global__ void __launch_bounds__(kSoftmaxWarpRowsPerBlock * 32)
    softmax_backward_warp_rows(bool log_out, const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                               std::int64_t rows, std::int64_t dim) {
  using std::exp;  // float overloads for float (CUDA's device expf/logf), as in elementwise_math.hpp
  using std::log;
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * kSoftmaxWarpRowsPerBlock + warp; r < rows;
       r += static_cast<std::int64_t>(gridDim.x) * kSoftmaxWarpRowsPerBlock) {
    const std::int64_t base = r * dim;
    double s = 0.0;
    for (std::int64_t k = lane; k < dim; k += 32)
      s += log_out ? static_cast<double>(dy[base + k])
                   : static_cast<double>(dy[base + k]) * static_cast<double>(y[base + k]);
    const T st = static_cast<T>(softmax_warp_sum(s));
    for (std::int64_t k = lane; k < dim; k += 32) {
      const std::int64_t i = base + k;
      dx[i] = log_out ? dy[i] - exp(y[i]) * st : y[i] * (dy[i] - st);
    }
  }
}

template <class T>
__global__ void __launch_bounds__(kSoftmaxColumnBlock)
    softmax_forward_columns(bool log_out, const T* __restrict__ x, T* __restrict__ y, std::int64_t outer,
                            std::int64_t dim, std::int64_t inner) {
  using std::exp;  // float overloads for float (CUDA's device expf/logf), as in elementwise_math.hpp
  using std::log;
  const std::int64_t slices = outer * inner;
  for (std::int64_t t = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < slices;
       t += static_cast<std::int64_t>(blockDim.x) * gridDim.x) {
    const std::int64_t o = t / inner, j = t % inner;
    const T* xs = x + o * dim * inner + j;
    T* ys = y + o * dim * inner + j;
    T m = softmax_neg_inf<T>();
    for (std::int64_t k = 0; k < dim; ++k) m = softmax_max_nan(m, xs[k * inner]);
    double s = 0.0;
    for (std::int64_t k = 0; k < dim; ++k) s += static_cast<double>(exp(xs[k * inner] - m));
    if (log_out) {
      const T lse = static_cast<T>(log(s));
      for (std::int64_t k = 0; k < dim; ++k) ys[k * inner] = xs[k * inner] - m - lse;
    } else {
      for (std::int64_t k = 0; k < dim; ++k)
        ys[k * inner] = static_cast<T>(static_cast<double>(exp(xs[k * inner] - m)) / s);
    }
  }
}

template <class T>
__global__ void __launch_bounds__(kSoftmaxColumnBlock)
    softmax_backward_columns(bool log_out, const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                             std::int64_t outer, std::int64_t dim, std::int64_t inner) {
  using std::exp;  // float overloads for float (CUDA's device expf/logf), as in elementwise_math.hpp
  using std::log;
  const std::int64_t slices = outer * inner;
  for (std::int64_t t = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < slices;
       t += static_cast<std::int64_t>(blockDim.x) * gridDim.x) {
    const std::int64_t o = t / inner, j = t % inner;
    const std::int64_t base = o * dim * inner + j;
    double s = 0.0;
    for (std::int64_t k = 0; k < dim; ++k) {
      const std::int64_t i = base + k * inner;
      s += log_out ? static_cast<double>(dy[i]) : static_cast<double>(dy[i]) * static_cast<double>(y[i]);
    }
    const T st = static_cast<T>(s);
    for (std::int64_t k = 0; k < dim; ++k) {
      const std::int64_t i = base + k * inner;
      dx[i] = log_out ? dy[i] - exp(y[i]) * st : y[i] * (dy[i] - st);
    }
  }
}

inline unsigned softmax_grid(std::int64_t work, std::int64_t per_block) {
  std::int64_t g = (work + per_block - 1) / per_block;
  if (g < 1) g = 1;
  if (g > kSoftmaxMaxGrid) g = kSoftmaxMaxGrid;
  return static_cast<unsigned>(g);
}

// y [outer, dim, inner] from x [outer, dim, inner], all contiguous on the device.
template <class T>
[[nodiscard]] cudaError_t softmax_forward(bool log_out, const T* x, T* y, std::int64_t outer, std::int64_t dim,
                                          std::int64_t inner, cudaStream_t stream) {
  if (outer <= 0 || dim <= 0 || inner <= 0) return cudaSuccess;
  if (inner == 1) {
    softmax_forward_warp_rows<T>
        <<<softmax_grid(outer, kSoftmaxWarpRowsPerBlock), kSoftmaxWarpRowsPerBlock * 32, 0, stream>>>(log_out, x, y,
                                                                                                      outer, dim);
    ANIMA_KERNEL_TRY_LAUNCH();
  } else {
    softmax_forward_columns<T><<<softmax_grid(outer * inner, kSoftmaxColumnBlock), kSoftmaxColumnBlock, 0, stream>>>(
        log_out, x, y, outer, dim, inner);
    ANIMA_KERNEL_TRY_LAUNCH();
  }
  return cudaSuccess;
}

// dx from the forward's output y and the upstream gradient dy (all [outer, dim, inner], contiguous).
template <class T>
[[nodiscard]] cudaError_t softmax_backward(bool log_out, const T* y, const T* dy, T* dx, std::int64_t outer,
                                           std::int64_t dim, std::int64_t inner, cudaStream_t stream) {
  if (outer <= 0 || dim <= 0 || inner <= 0) return cudaSuccess;
  if (inner == 1) {
    softmax_backward_warp_rows<T>
        <<<softmax_grid(outer, kSoftmaxWarpRowsPerBlock), kSoftmaxWarpRowsPerBlock * 32, 0, stream>>>(log_out, y, dy,
                                                                                                      dx, outer, dim);
    ANIMA_KERNEL_TRY_LAUNCH();
  } else {
    softmax_backward_columns<T><<<softmax_grid(outer * inner, kSoftmaxColumnBlock), kSoftmaxColumnBlock, 0, stream>>>(
        log_out, y, dy, dx, outer, dim, inner);
    ANIMA_KERNEL_TRY_LAUNCH();
  }
  return cudaSuccess;
}

}  // namespace anima::kernels::cuda
