// anima/kernels/cuda/elementwise.cuh — elementwise kernels over strided, broadcast inputs (CUDA).
//
//   unary:   y[i] = f(x[lx(i)])                 binary:  y[i] = a[la(i)] (op) b[lb(i)]
//   compare: y[i] = a[la(i)] (cmp) b[lb(i)]      where:   y[i] = c[lc(i)] ? a[la(i)] : b[lb(i)]
//   fill:    y[i] = value
// l*(i) is Layout::offset (anima/kernels/layout.hpp); y is contiguous with n elements. The formulas
// are the ANIMA_HD ones of anima/kernels/elementwise_math.hpp, shared with the CPU kernels.
//
// Launch shape: 1-D grid-stride loops with 64-bit indices, kBlock threads per block, at most
// kMaxGrid blocks (each thread then handles several elements). When every input is contiguous the
// kernel is instantiated with Contiguous = true and indexes x[i] directly (no div/mod per element).
// Determinism: every output element is written by exactly one thread from the same inputs:
// run-to-run deterministic.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/cuda/status.cuh>
#include <anima/kernels/elementwise_math.hpp>
#include <anima/kernels/layout.hpp>

namespace anima::kernels::cuda {

constexpr int kBlock = 256;
// 65536 blocks x 256 threads = 16.7 M threads: enough to fill any current GPU many times over; larger
// n is covered by the grid-stride loop.
constexpr std::int64_t kMaxGrid = 65536;

// Number of blocks for n elements at `block` threads per block (at least 1).
inline unsigned grid_1d(std::int64_t n, int block = kBlock) {
  std::int64_t g = (n + block - 1) / block;
  if (g < 1) g = 1;
  if (g > kMaxGrid) g = kMaxGrid;
  return static_cast<unsigned>(g);
}

__device__ __forceinline__ std::int64_t global_thread_index() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ std::int64_t grid_stride() { return static_cast<std::int64_t>(blockDim.x) * gridDim.x; }

template <class T, bool Contiguous>
__global__ void unary_kernel(UnaryOp op, T p0, T p1, const T* __restrict__ x, Layout lx, T* __restrict__ y,
                             std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride())
    y[i] = apply_unary(op, x[Contiguous ? i : lx.offset(i)], p0, p1);
}

template <class T, bool Contiguous>
__global__ void binary_kernel(BinaryOp op, const T* __restrict__ a, Layout la, const T* __restrict__ b, Layout lb,
                              T* __restrict__ y, std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride())
    y[i] = Contiguous ? apply_binary(op, a[i], b[i]) : apply_binary(op, a[la.offset(i)], b[lb.offset(i)]);
}

template <class T, bool Contiguous>
__global__ void compare_kernel(CompareOp op, const T* __restrict__ a, Layout la, const T* __restrict__ b, Layout lb,
                               bool* __restrict__ y, std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride())
    y[i] = Contiguous ? apply_compare(op, a[i], b[i]) : apply_compare(op, a[la.offset(i)], b[lb.offset(i)]);
}

template <class T, bool Contiguous>
__global__ void where_kernel(const bool* __restrict__ c, Layout lc, const T* __restrict__ a, Layout la,
                             const T* __restrict__ b, Layout lb, T* __restrict__ y, std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    if (Contiguous)
      y[i] = c[i] ? a[i] : b[i];
    else
      y[i] = c[lc.offset(i)] ? a[la.offset(i)] : b[lb.offset(i)];
  }
}

template <class T>
__global__ void fill_kernel(T* __restrict__ y, std::int64_t n, T value) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) y[i] = value;
}

// ---------------------------------------------------------------------------------------------------
// Launchers (host). n == 0 launches nothing.

template <class T>
[[nodiscard]] cudaError_t unary(UnaryOp op, T p0, T p1, const T* x, const Layout& lx, T* y, std::int64_t n,
                                cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (lx.contiguous)
    unary_kernel<T, true><<<grid_1d(n), kBlock, 0, stream>>>(op, p0, p1, x, lx, y, n);
  else
    unary_kernel<T, false><<<grid_1d(n), kBlock, 0, stream>>>(op, p0, p1, x, lx, y, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t binary(BinaryOp op, const T* a, const Layout& la, const T* b, const Layout& lb, T* y,
                                 std::int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (la.contiguous && lb.contiguous)
    binary_kernel<T, true><<<grid_1d(n), kBlock, 0, stream>>>(op, a, la, b, lb, y, n);
  else
    binary_kernel<T, false><<<grid_1d(n), kBlock, 0, stream>>>(op, a, la, b, lb, y, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t compare(CompareOp op, const T* a, const Layout& la, const T* b, const Layout& lb, bool* y,
                                  std::int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (la.contiguous && lb.contiguous)
    compare_kernel<T, true><<<grid_1d(n), kBlock, 0, stream>>>(op, a, la, b, lb, y, n);
  else
    compare_kernel<T, false><<<grid_1d(n), kBlock, 0, stream>>>(op, a, la, b, lb, y, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t where(const bool* c, const Layout& lc, const T* a, const Layout& la, const T* b,
                                const Layout& lb, T* y, std::int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (lc.contiguous && la.contiguous && lb.contiguous)
    where_kernel<T, true><<<grid_1d(n), kBlock, 0, stream>>>(c, lc, a, la, b, lb, y, n);
  else
    where_kernel<T, false><<<grid_1d(n), kBlock, 0, stream>>>(c, lc, a, la, b, lb, y, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

// T: float, double, std::int64_t or bool.
template <class T>
[[nodiscard]] cudaError_t fill(T* y, std::int64_t n, T value, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  fill_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(y, n, value);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

}  // namespace anima::kernels::cuda
