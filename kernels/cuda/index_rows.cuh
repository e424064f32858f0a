// anima/kernels/cuda/index_rows.cuh — row gather and row index-add (CUDA). Same contract as
// anima/kernels/cpu/index_rows.hpp (contiguous device arrays, indices validated by the op):
//   index_select_rows_kernel: one thread per element of y [M, R] (grid-stride, 64-bit indices):
//                             y[j, c] = x[idx[j], c]; neighbouring threads read neighbouring c (coalesced).
//   index_copy_rows_kernel:   one thread per element of x [M, R]: y[idx[j], c] = x[j, c] (distinct idx:
//                             every element of y written by at most one thread).
//   index_add_rows_gather_kernel: one thread per element of gx [K, R]: sums gy[src[t], c] for t in
//                             [ptr[r], ptr[r+1]) in increasing t. No atomics; the order is the CPU's.
// Determinism: each output element is written by one thread from fixed inputs in a fixed order: bitwise
// reproducible and equal to the CPU kernels.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/cuda/status.cuh>
#include <anima/kernels/cuda/elementwise.cuh>

namespace anima::kernels::cuda {

template <class T>
__global__ void index_select_rows_kernel(const T* __restrict__ x, const std::int64_t* __restrict__ idx,
                                         std::int64_t row_elems, T* __restrict__ y, std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t j = i / row_elems, c = i - j * row_elems;
    y[i] = x[idx[j] * row_elems + c];
  }
}

template <class T>
__global__ void index_copy_rows_kernel(const T* __restrict__ x, const std::int64_t* __restrict__ idx,
                                       std::int64_t row_elems, T* __restrict__ y, std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t j = i / row_elems, c = i - j * row_elems;
    y[idx[j] * row_elems + c] = x[i];
  }
}

template <class T>
__global__ void index_add_rows_gather_kernel(const T* __restrict__ gy, const std::int64_t* __restrict__ ptr,
                                             const std::int64_t* __restrict__ src, std::int64_t row_elems,
                                             T* __restrict__ gx, std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t r = i / row_elems, c = i - r * row_elems;
    T sum = T(0);
    for (std::int64_t t = ptr[r]; t < ptr[r + 1]; ++t) sum += gy[src[t] * row_elems + c];
    gx[i] = sum;
  }
}

template <class T>
[[nodiscard]] cudaError_t index_select_rows(const T* x, const std::int64_t* idx, std::int64_t m, std::int64_t row_elems,
                                            T* y, cudaStream_t stream) {
  const std::int64_t n = m * row_elems;
  if (n <= 0) return cudaSuccess;
  index_select_rows_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(x, idx, row_elems, y, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t index_copy_rows(const T* x, const std::int64_t* idx, std::int64_t m, std::int64_t row_elems,
                                          T* y, cudaStream_t stream) {
  const std::int64_t n = m * row_elems;
  if (n <= 0) return cudaSuccess;
  index_copy_rows_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(x, idx, row_elems, y, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t index_add_rows(const T* gy, const std::int64_t* ptr, const std::int64_t* src, std::int64_t k,
                                         std::int64_t row_elems, T* gx, cudaStream_t stream) {
  const std::int64_t n = k * row_elems;
  if (n <= 0) return cudaSuccess;
  index_add_rows_gather_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(gy, ptr, src, row_elems, gx, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

}  // namespace anima::kernels::cuda
