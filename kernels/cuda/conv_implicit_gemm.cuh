// anima/kernels/cuda/conv_implicit_gemm.cuh — our own CUDA convolution: forward pass as an implicit
// GEMM (the im2col matrix is never stored; each tile of it is gathered from x into shared memory).
// It exists beside cuDNN for study and comparison (CudaConvAlgorithm::ImplicitGemm); the backward passes
// of that algorithm run on cuDNN (anima/backends/cuda/conv.cuh).
//
// Per group g (blockIdx.z), with K = C/groups·kh·kw and P = Ho·Wo:
//   Y_g[o, q] = Σ_k W_g[o, k] · B_g[k, q],   o < O/groups, q = n·P + oh·Wo + ow < N·P
//   W_g[o, k] = w[g·O/groups + o, k]                    (the weight is already [O, K] row-major)
//   B_g[k, q] = x[n, g·C/groups + c, oh·sh − ph + i·dh, ow·sw − pw + j·dw],  k = (c·kh + i)·kw + j
//               (0 in the padding)
//   y[n, g·O/groups + o, oh, ow] = Y_g[o, q] + b[g·O/groups + o]
//
// Versions:
//   conv2d_fwd_implicit_gemm_v1  64x64 tile of Y per block of 256 threads, K in steps of 16 through
//     shared memory; each thread owns a 4x4 sub-tile (rows ty + 16·a, columns tx + 16·b, so a warp's
//     global stores and shared loads of B are unit-stride). Loads: A along k (contiguous in w), B along
//     q (contiguous in x for stride 1). No double buffering, no tensor cores: a clear baseline.
//     Depthwise layers (O/groups = 1) use 1/64 of each tile: correct but slow (cuDNN serves them).
// Numerics: accumulates in T by FMA in k order; not bitwise equal to cuDNN.
// Determinism: run-to-run deterministic (no atomics; every output is one thread's fixed-order sum).
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/conv_math.hpp>
#include <anima/kernels/cuda/status.cuh>

namespace anima::kernels::cuda {

namespace conv_implicit_gemm_detail {
constexpr int kTileM = 64, kTileN = 64, kTileK = 16, kThreads = 256, kSub = 4;
}  // namespace conv_implicit_gemm_detail

template <class T>
__global__ void __launch_bounds__(256)
    conv2d_fwd_implicit_gemm_v1(Conv2dGeometry p, const T* __restrict__ x, const T* __restrict__ w,
                                const T* __restrict__ b, T* __restrict__ y) {
  using namespace conv_implicit_gemm_detail;
  // +1 column: the A tile is written along k (stride kTileM + 1 words apart), avoiding bank conflicts.
  __shared__ T As[kTileK][kTileM + 1];
  __shared__ T Bs[kTileK][kTileN];
  const int tid = static_cast<int>(threadIdx.x);
  const int tx = tid % 16, ty = tid / 16;
  const std::int64_t g = blockIdx.z;
  const std::int64_t Og = p.O / p.groups, Cg = p.C / p.groups, khw = p.kh * p.kw, K = Cg * khw;
  const std::int64_t P = p.Ho * p.Wo, NP = p.N * P;
  const std::int64_t m0 = static_cast<std::int64_t>(blockIdx.y) * kTileM;
  const std::int64_t q0 = static_cast<std::int64_t>(blockIdx.x) * kTileN;
  const T* wg = w + g * Og * K;
  const T* xg = x + g * Cg * p.H * p.W;

  T acc[kSub][kSub];
#pragma unroll
  for (int a = 0; a < kSub; ++a)
#pragma unroll
    for (int c = 0; c < kSub; ++c) acc[a][c] = T(0);

  for (std::int64_t k0 = 0; k0 < K; k0 += kTileK) {
    // A tile: kTileM x kTileK weights, 4 per thread, consecutive threads along k.
#pragma unroll
    for (int r = 0; r < (kTileM * kTileK) / kThreads; ++r) {
      const int e = tid + r * kThreads;
      const int mm = e / kTileK, kk = e % kTileK;
      const std::int64_t o = m0 + mm, k = k0 + kk;
      As[kk][mm] = (o < Og && k < K) ? wg[o * K + k] : T(0);
    }
    // B tile: kTileK x kTileN gathered input pixels, 4 per thread, consecutive threads along q.
#pragma unroll
    for (int r = 0; r < (kTileK * kTileN) / kThreads; ++r) {
      const int e = tid + r * kThreads;
      const int kk = e / kTileN, nn = e % kTileN;
      const std::int64_t k = k0 + kk, q = q0 + nn;
      T v = T(0);
      if (k < K && q < NP) {
        const std::int64_t c = k / khw, rem = k % khw, i = rem / p.kw, j = rem % p.kw;
        const std::int64_t n = q / P, pix = q % P, oh = pix / p.Wo, ow = pix % p.Wo;
        const std::int64_t ih = oh * p.sh - p.ph + i * p.dh, iw = ow * p.sw - p.pw + j * p.dw;
        if (ih >= 0 && ih < p.H && iw >= 0 && iw < p.W) v = xg[((n * p.C + c) * p.H + ih) * p.W + iw];
      }
      Bs[kk][nn] = v;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTileK; ++kk) {
      T av[kSub], bv[kSub];
#pragma unroll
      for (int a = 0; a < kSub; ++a) av[a] = As[kk][ty + 16 * a];
#pragma unroll
      for (int c = 0; c < kSub; ++c) bv[c] = Bs[kk][tx + 16 * c];
#pragma unroll
      for (int a = 0; a < kSub; ++a)
#pragma unroll
        for (int c = 0; c < kSub; ++c) acc[a][c] = fma(av[a], bv[c], acc[a][c]);
    }
    __syncthreads();
  }

#pragma unroll
  for (int a = 0; a < kSub; ++a) {
    const std::int64_t o = m0 + ty + 16 * a;
    if (o >= Og) continue;
    const std::int64_t oc = g * Og + o;
    const T bias = b ? b[oc] : T(0);
#pragma unroll
    for (int c = 0; c < kSub; ++c) {
      const std::int64_t q = q0 + tx + 16 * c;
      if (q >= NP) continue;
      const std::int64_t n = q / P, pix = q % P;
      y[(n * p.O + oc) * P + pix] = acc[a][c] + bias;
    }
  }
}

// Whether one launch covers the problem: grid (ceil(N·Ho·Wo / tile), ceil((O/groups) / tile), groups)
// within CUDA's grid limits (2^31 - 1, 65535, 65535).
inline bool conv2d_implicit_gemm_fits(const Conv2dGeometry& p) {
  using namespace conv_implicit_gemm_detail;
  const std::int64_t Og = p.O / p.groups, NP = p.N * p.Ho * p.Wo;
  return (NP + kTileN - 1) / kTileN <= 0x7fffffff && (Og + kTileM - 1) / kTileM <= 65535 && p.groups <= 65535;
}

// y [N, O, Ho, Wo] = conv(x, w) (+ b when not nullptr) on `stream`. No workspace. Returns
// cudaErrorInvalidValue, launching nothing, unless conv2d_implicit_gemm_fits(p).
template <class T>
[[nodiscard]] cudaError_t conv2d_fwd_implicit_gemm(const Conv2dGeometry& p, const T* x, const T* w, const T* b, T* y,
                                                   cudaStream_t stream) {
  using namespace conv_implicit_gemm_detail;
  const std::int64_t Og = p.O / p.groups, NP = p.N * p.Ho * p.Wo;
  if (NP == 0 || Og == 0) return cudaSuccess;
  const std::int64_t gx = (NP + kTileN - 1) / kTileN, gy = (Og + kTileM - 1) / kTileM;
  if (!conv2d_implicit_gemm_fits(p)) return cudaErrorInvalidValue;
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(p.groups));
  conv2d_fwd_implicit_gemm_v1<T><<<grid, kThreads, 0, stream>>>(p, x, w, b, y);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

}  // namespace anima::kernels::cuda
