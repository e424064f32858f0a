// anima/kernels/cuda/reduce.cuh — row reductions (CUDA). Same contract as anima/kernels/cpu/reduce.hpp:
// over the `cols` elements of each of `rows` rows of a contiguous x [rows, cols]:
//   sum:    y[r] = Σ_c x[r, c]
//   max:    y[r] = max_c x[r, c], idx[r] = the first c attaining it (NaN wins: the first NaN)
//   min:    likewise with min
// idx may be null. Max/min need cols >= 1 (the op layer rejects empty rows); sum of an empty row is 0.
//
// Two kernels, picked by row length:
//   reduce_rows_warp   cols <= kWarpRowMaxCols: one warp per row, 8 rows per block (many short rows)
//   reduce_rows_block  longer rows: one block of kReduceBlock threads per row, grid-stride over rows
// Each thread folds a strided subset of the row (coalesced reads), then warp shuffles and one shared
// memory step combine the partials.
//
// Accumulation: sums are accumulated in double for float and double inputs (like the CPU kernel,
// which sums float in double), in a fixed tree order. For float the result is the correctly rounded
// float of a double sum whose own error (~log2(cols) * 2^-53 * Σ|x|) is far below float resolution,
// so it equals the CPU result to within 1 float ulp (almost always bit-identical). For double the
// tree order differs from the CPU's sequential order: expect agreement to ~cols * 2^-53 * Σ|x|
// (the tree's own error bound is tighter than the sequential one).
//
// Arg max/min: partials are (value, index) pairs combined by a rule that is associative and
// commutative — a NaN beats a number, between two NaNs or two equal values the smaller index wins,
// otherwise the larger (max) / smaller (min) value — so any combination order returns exactly the
// CPU's answer (first NaN if any, else the first index of the extreme; -0.0 and 0.0 count as equal,
// so the first of them is returned, as on the CPU).
//
// Limitation: a few very long rows (rows much smaller than the number of SMs) use only `rows` blocks;
// a split-row two-pass version would need a workspace and is left for a later version.
// Determinism: fixed launch shape and combination tree, no atomics: run-to-run deterministic.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/cuda/status.cuh>
#include <anima/kernels/reduce_op.hpp>

namespace anima::kernels::cuda {

constexpr int kReduceBlock = 512;     // threads per block of reduce_rows_block (16 warps)
constexpr int kWarpRowsPerBlock = 8;  // rows per block of reduce_rows_warp (256 threads)
constexpr std::int64_t kWarpRowMaxCols = 1024;
constexpr std::int64_t kReduceMaxGrid = 65535;

// A partial result of max/min: index < 0 means "no element seen yet".
template <class T>
struct ArgPartial {
  T value;
  std::int64_t index;
};

template <class T>
__device__ __forceinline__ ArgPartial<T> combine_arg(ReduceOp op, ArgPartial<T> a, ArgPartial<T> b) {
  if (a.index < 0) return b;
  if (b.index < 0) return a;
  const bool a_nan = a.value != a.value, b_nan = b.value != b.value;
  if (a_nan || b_nan) {
    if (a_nan && b_nan) return a.index < b.index ? a : b;
    return a_nan ? a : b;
  }
  const bool b_better = op == ReduceOp::Max ? b.value > a.value : b.value < a.value;
  const bool a_better = op == ReduceOp::Max ? a.value > b.value : a.value < b.value;
  if (b_better) return b;
  if (a_better) return a;
  return a.index < b.index ? a : b;  // equal values: first index
}

__device__ __forceinline__ double warp_sum(double v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  return v;  // valid in lane 0
}

template <class T>
__device__ __forceinline__ ArgPartial<T> warp_arg(ReduceOp op, ArgPartial<T> p) {
  for (int off = 16; off > 0; off >>= 1) {
    ArgPartial<T> other;
    other.value = __shfl_down_sync(0xffffffffu, p.value, off);
    other.index = static_cast<std::int64_t>(__shfl_down_sync(0xffffffffu, static_cast<long long>(p.index), off));
    p = combine_arg(op, p, other);
  }
  return p;  // valid in lane 0
}

// This thread's fold of row[c] for c = first, first + step, ... < cols.
template <class T>
__device__ __forceinline__ double thread_sum(const T* __restrict__ row, std::int64_t cols, std::int64_t first,
                                             std::int64_t step) {
  double acc = 0.0;
  for (std::int64_t c = first; c < cols; c += step) acc += static_cast<double>(row[c]);
  return acc;
}

template <class T>
__device__ __forceinline__ ArgPartial<T> thread_arg(ReduceOp op, const T* __restrict__ row, std::int64_t cols,
                                                    std::int64_t first, std::int64_t step) {
  // Within one thread the indices increase, so a strict comparison keeps the first extreme, and the
  // first NaN is kept by stopping there (later elements cannot beat it).
  ArgPartial<T> p{T(0), -1};
  for (std::int64_t c = first; c < cols; c += step) {
    const T v = row[c];
    if (v != v) return {v, c};
    if (p.index < 0 || (op == ReduceOp::Max ? v > p.value : v < p.value)) p = {v, c};
  }
  return p;
}

template <class T>
__global__ void __launch_bounds__(kWarpRowsPerBlock * 32)
    reduce_rows_warp(ReduceOp op, const T* __restrict__ x, std::int64_t rows, std::int64_t cols, T* __restrict__ y,
                     std::int64_t* __restrict__ idx) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * kWarpRowsPerBlock + warp; r < rows;
       r += static_cast<std::int64_t>(gridDim.x) * kWarpRowsPerBlock) {
    const T* row = x + r * cols;
    if (op == ReduceOp::Sum) {
      const double s = warp_sum(thread_sum(row, cols, lane, 32));
      if (lane == 0) y[r] = static_cast<T>(s);
    } else {
      const ArgPartial<T> p = warp_arg(op, thread_arg(op, row, cols, lane, 32));
      if (lane == 0) {
        y[r] = p.value;
        if (idx) idx[r] = p.index;
      }
    }
  }
}

template <class T>
__global__ void __launch_bounds__(kReduceBlock)
    reduce_rows_block(ReduceOp op, const T* __restrict__ x, std::int64_t rows, std::int64_t cols, T* __restrict__ y,
                      std::int64_t* __restrict__ idx) {
  constexpr int kWarps = kReduceBlock / 32;
  __shared__ double sum_parts[kWarps];
  __shared__ T val_parts[kWarps];
  __shared__ std::int64_t idx_parts[kWarps];
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + r * cols;
    if (op == ReduceOp::Sum) {
      const double s = warp_sum(thread_sum(row, cols, threadIdx.x, kReduceBlock));
      if (lane == 0) sum_parts[warp] = s;
      __syncthreads();
      if (warp == 0) {
        const double t = warp_sum(lane < kWarps ? sum_parts[lane] : 0.0);
        if (lane == 0) y[r] = static_cast<T>(t);
      }
    } else {
      const ArgPartial<T> p = warp_arg(op, thread_arg(op, row, cols, threadIdx.x, kReduceBlock));
      if (lane == 0) {
        val_parts[warp] = p.value;
        idx_parts[warp] = p.index;
      }
      __syncthreads();
      if (warp == 0) {
        ArgPartial<T> q{T(0), -1};
        if (lane < kWarps) q = {val_parts[lane], idx_parts[lane]};
        q = warp_arg(op, q);
        if (lane == 0) {
          y[r] = q.value;
          if (idx) idx[r] = q.index;
        }
      }
    }
    __syncthreads();  // the shared partials are reused by the next row
  }
}

// y [rows], idx [rows] or null; x [rows, cols] contiguous, on the device.
template <class T>
[[nodiscard]] cudaError_t reduce_rows(ReduceOp op, const T* x, std::int64_t rows, std::int64_t cols, T* y,
                                      std::int64_t* idx, cudaStream_t stream) {
  if (rows <= 0) return cudaSuccess;
  if (op != ReduceOp::Sum && cols <= 0) return cudaErrorInvalidValue;  // max/min of an empty row has no value
  if (cols <= kWarpRowMaxCols) {
    std::int64_t grid = (rows + kWarpRowsPerBlock - 1) / kWarpRowsPerBlock;
    if (grid > kReduceMaxGrid) grid = kReduceMaxGrid;
    reduce_rows_warp<T><<<static_cast<unsigned>(grid), kWarpRowsPerBlock * 32, 0, stream>>>(op, x, rows, cols, y, idx);
    ANIMA_KERNEL_TRY_LAUNCH();
  } else {
    const std::int64_t grid = rows < kReduceMaxGrid ? rows : kReduceMaxGrid;
    reduce_rows_block<T><<<static_cast<unsigned>(grid), kReduceBlock, 0, stream>>>(op, x, rows, cols, y, idx);
    ANIMA_KERNEL_TRY_LAUNCH();
  }
  return cudaSuccess;
}

}  // namespace anima::kernels::cuda
