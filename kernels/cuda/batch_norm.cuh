// anima/kernels/cuda/batch_norm.cuh — 2-D batch normalisation (CUDA). Same contract and formulas as
// anima/kernels/cpu/batch_norm.hpp: x, y, gy, gx contiguous [N, C, HW]; mean, var, w, b, gw, gb [C];
// w, b, gx, gw, gb may be null.
//
//   batch_norm_stats_kernel     one block per channel (grid-stride over channels; 1024 threads for
//                               channels of >= 64K values, else 256): Σx, then Σ(x - mean)² (two
//                               passes, so no cancellation), accumulated in double, reduced by warp
//                               shuffles and one shared-memory step in a fixed tree.
//   batch_norm_transform_kernel 2-D grid: y = planes (n, c), x = blocks over HW; each thread derives
//                               α = w/sqrt(var + eps) (in double, as the CPU) and β = b - mean·α once,
//                               then y = x·α + β for its elements.
//   batch_norm_backward_kernel  one block per channel (block size as for the stats): Σdy and Σdy·x̂
//                               (double, fixed tree), then the same block writes gx of the channel and
//                               gw, gb. No workspace needed.
// The per-channel kernels use C blocks: for few channels with large N·HW (a ResNet stem at batch 8:
// 64 channels x 100K values) the GPU is under-filled; a split-channel two-pass version would need a
// workspace and is left for a later version.
// Numerics: the sums are in double like the CPU's (but in tree order, not sequential): float results
// agree with the CPU to ~1 float ulp; double results to ~m·2^-53 relative.
// Determinism: fixed launch shape and reduction tree, no atomics: run-to-run deterministic.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/cuda/status.cuh>

namespace anima::kernels::cuda {

constexpr int kBnBlock = 256;        // threads per block of the transform, and of the per-channel kernels on
constexpr int kBnBlockLarge = 1024;  // ... channels of at least kBnLargeChannel values (more loads in flight
constexpr std::int64_t kBnLargeChannel = 65536;  // per SM when there are few channels, e.g. 64 at batch 8)
constexpr std::int64_t kBnMaxGrid = 65535;

// Sum of v over the block of Block threads (all threads get the result). `shared` holds Block/32
// doubles; the trailing __syncthreads lets the caller reuse `shared` right away.
template <int Block>
__device__ __forceinline__ double bn_block_sum(double v, double* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  double total = 0.0;
  for (int k = 0; k < Block / 32; ++k) total += shared[k];  // every thread, same order
  __syncthreads();
  return total;
}

// Calls f(offset) for the elements e = threadIdx.x, threadIdx.x + Block, ... < N·HW of channel c, where
// element e = n·HW + i lies at offset (n·C + c)·HW + i. (n, i) advance without a division per element.
// Needs HW > 0 (the launchers return early for empty channels).
template <int Block, class F>
__device__ __forceinline__ void for_channel_elements(std::int64_t N, std::int64_t C, std::int64_t HW, std::int64_t c,
                                                     F&& f) {
  std::int64_t n = threadIdx.x / HW, i = threadIdx.x - n * HW;
  while (n < N) {
    f((n * C + c) * HW + i);
    i += Block;
    while (i >= HW) {
      i -= HW;
      ++n;
    }
  }
}

template <int Block, class T>
__global__ void __launch_bounds__(Block)
    batch_norm_stats_kernel(const T* __restrict__ x, std::int64_t N, std::int64_t C, std::int64_t HW,
                            T* __restrict__ mean, T* __restrict__ var) {
  __shared__ double shared[Block / 32];
  const double m = static_cast<double>(N * HW);
  for (std::int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double s = 0.0;
    for_channel_elements<Block>(N, C, HW, c, [&](std::int64_t at) { s += static_cast<double>(x[at]); });
    const double mu = bn_block_sum<Block>(s, shared) / m;
    double ss = 0.0;
    for_channel_elements<Block>(N, C, HW, c, [&](std::int64_t at) {
      const double d = static_cast<double>(x[at]) - mu;
      ss += d * d;
    });
    const double v = bn_block_sum<Block>(ss, shared) / m;
    if (threadIdx.x == 0) {
      mean[c] = static_cast<T>(mu);
      var[c] = static_cast<T>(v);
    }
  }
}

template <class T>
__device__ __forceinline__ T bn_invstd(T var, double eps) {
  return static_cast<T>(1.0 / sqrt(static_cast<double>(var) + eps));
}

template <class T>
__global__ void batch_norm_transform_kernel(const T* __restrict__ x, std::int64_t N, std::int64_t C, std::int64_t HW,
                                            const T* __restrict__ mean, const T* __restrict__ var,
                                            const T* __restrict__ w, const T* __restrict__ b, double eps,
                                            T* __restrict__ y) {
  const std::int64_t planes = N * C;
  for (std::int64_t p = blockIdx.y; p < planes; p += gridDim.y) {
    const std::int64_t c = p % C;
    const T alpha = (w ? w[c] : T(1)) * bn_invstd(var[c], eps);
    const T beta = (b ? b[c] : T(0)) - mean[c] * alpha;
    const T* xp = x + p * HW;
    T* yp = y + p * HW;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < HW;
         i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
      yp[i] = xp[i] * alpha + beta;
  }
}

template <int Block, class T>
__global__ void __launch_bounds__(Block)
    batch_norm_backward_kernel(const T* __restrict__ x, const T* __restrict__ gy, std::int64_t N, std::int64_t C,
                               std::int64_t HW, const T* __restrict__ mean, const T* __restrict__ var,
                               const T* __restrict__ w, double eps, bool training, T* __restrict__ gx,
                               T* __restrict__ gw, T* __restrict__ gb) {
  __shared__ double shared[Block / 32];
  const double m = static_cast<double>(N * HW);
  for (std::int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const T mu = mean[c];
    const T invstd = bn_invstd(var[c], eps);
    double s_dy = 0.0, s_dy_xhat = 0.0;
    for_channel_elements<Block>(N, C, HW, c, [&](std::int64_t at) {
      const double d = static_cast<double>(gy[at]);
      s_dy += d;
      s_dy_xhat += d * static_cast<double>((x[at] - mu) * invstd);
    });
    const double sum_dy = bn_block_sum<Block>(s_dy, shared);
    const double sum_dy_xhat = bn_block_sum<Block>(s_dy_xhat, shared);
    if (threadIdx.x == 0) {
      if (gw) gw[c] = static_cast<T>(sum_dy_xhat);
      if (gb) gb[c] = static_cast<T>(sum_dy);
    }
    if (!gx) continue;
    const T scale = (w ? w[c] : T(1)) * invstd;
    const T mean_dy = training ? static_cast<T>(sum_dy / m) : T(0);
    const T mean_dy_xhat = training ? static_cast<T>(sum_dy_xhat / m) : T(0);
    for_channel_elements<Block>(N, C, HW, c, [&](std::int64_t at) {
      const T xhat = (x[at] - mu) * invstd;
      gx[at] = scale * (gy[at] - mean_dy - xhat * mean_dy_xhat);
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Launchers (host); device pointers, run on `stream`.

inline unsigned bn_channel_grid(std::int64_t C) {
  return static_cast<unsigned>(C < kBnMaxGrid ? (C < 1 ? 1 : C) : kBnMaxGrid);
}

template <class T>
[[nodiscard]] cudaError_t batch_norm_stats(const T* x, std::int64_t N, std::int64_t C, std::int64_t HW, T* mean, T* var,
                                           cudaStream_t stream) {
  if (C <= 0 || N * HW <= 0) return cudaSuccess;
  if (N * HW >= kBnLargeChannel)
    batch_norm_stats_kernel<kBnBlockLarge, T><<<bn_channel_grid(C), kBnBlockLarge, 0, stream>>>(x, N, C, HW, mean, var);
  else
    batch_norm_stats_kernel<kBnBlock, T><<<bn_channel_grid(C), kBnBlock, 0, stream>>>(x, N, C, HW, mean, var);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t batch_norm_transform(const T* x, std::int64_t N, std::int64_t C, std::int64_t HW,
                                               const T* mean, const T* var, const T* w, const T* b, double eps, T* y,
                                               cudaStream_t stream) {
  const std::int64_t planes = N * C;
  if (planes <= 0 || HW <= 0) return cudaSuccess;
  std::int64_t gx = (HW + kBnBlock - 1) / kBnBlock;
  if (gx > 64) gx = 64;  // each thread then loops over several elements of its plane
  const std::int64_t gy = planes < kBnMaxGrid ? planes : kBnMaxGrid;
  batch_norm_transform_kernel<T><<<dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy)), kBnBlock, 0, stream>>>(
      x, N, C, HW, mean, var, w, b, eps, y);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t batch_norm_backward(const T* x, const T* gy, std::int64_t N, std::int64_t C, std::int64_t HW,
                                              const T* mean, const T* var, const T* w, double eps, bool training, T* gx,
                                              T* gw, T* gb, cudaStream_t stream) {
  if (C <= 0 || N * HW <= 0) return cudaSuccess;  // the op layer fills gw, gb with 0 for an empty batch
  if (N * HW >= kBnLargeChannel)
    batch_norm_backward_kernel<kBnBlockLarge, T>
        <<<bn_channel_grid(C), kBnBlockLarge, 0, stream>>>(x, gy, N, C, HW, mean, var, w, eps, training, gx, gw, gb);
  else
    batch_norm_backward_kernel<kBnBlock, T>
        <<<bn_channel_grid(C), kBnBlock, 0, stream>>>(x, gy, N, C, HW, mean, var, w, eps, training, gx, gw, gb);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

}  // namespace anima::kernels::cuda
