// anima/kernels/cuda/random.cuh — fill with Philox draws (CUDA). See anima/kernels/philox.hpp.
//   uniform: y[i] = lo + (hi - lo) * U(seed, offset + i)
//   normal:  y[i] = mean + std * N(seed, offset + i)
// Element i calls the same ANIMA_HD philox_uniform / philox_normal as the CPU kernel
// (anima/kernels/cpu/random.hpp). The affine map is written with round-to-nearest intrinsics
// (__fmul_rn, __fadd_rn, ...) so nvcc cannot contract it into an FMA: with the host's separately
// rounded multiply and add, uniform draws are bit-identical to the CPU's. Normal draws agree to
// the last few ulps of CUDA's log/cos versus the host libm.
// Determinism: stateless counter-based generator, one thread per element: run-to-run deterministic
// and independent of the launch shape.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/cuda/status.cuh>
#include <anima/kernels/cuda/elementwise.cuh>  // grid_1d, kBlock, grid-stride helpers
#include <anima/kernels/philox.hpp>

namespace anima::kernels::cuda {

// a + b * c with two separate roundings (never an FMA), as the host computes it.
__device__ __forceinline__ float affine_rn(float a, float b, float c) { return __fadd_rn(a, __fmul_rn(b, c)); }
__device__ __forceinline__ double affine_rn(double a, double b, double c) { return __dadd_rn(a, __dmul_rn(b, c)); }

template <class T>
__global__ void random_uniform_kernel(T* __restrict__ y, std::int64_t n, std::uint64_t seed, std::uint64_t offset, T lo,
                                      T hi) {
  const T span = hi - lo;
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride())
    y[i] = philox_keep_in_range(affine_rn(lo, span, philox_uniform<T>(seed, offset, static_cast<std::uint64_t>(i))), lo,
                                hi);
}

template <class T>
__global__ void random_normal_kernel(T* __restrict__ y, std::int64_t n, std::uint64_t seed, std::uint64_t offset,
                                     T mean, T stddev) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride())
    y[i] = affine_rn(mean, stddev, philox_normal<T>(seed, offset, static_cast<std::uint64_t>(i)));
}

template <class T>
[[nodiscard]] cudaError_t random_uniform(T* y, std::int64_t n, std::uint64_t seed, std::uint64_t offset, T lo, T hi,
                                         cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  random_uniform_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(y, n, seed, offset, lo, hi);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t random_normal(T* y, std::int64_t n, std::uint64_t seed, std::uint64_t offset, T mean,
                                        T stddev, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  random_normal_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(y, n, seed, offset, mean, stddev);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

}  // namespace anima::kernels::cuda
