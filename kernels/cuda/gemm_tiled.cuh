// anima/kernels/cuda/gemm_tiled.cuh — our own single-precision GEMM kernels, for study and for
// comparison with cuBLAS (bench/cuda_gemm_bench.cu). Production code uses cuBLAS (gemm_cublas.cuh).
//
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C        row-major, as kernels/cpu/gemm_reference.hpp
//
// Versions (sgemm_tiled(version, ...) runs any one):
//   v1  sgemm_v1_naive        one thread per C element; each thread reads a row of op(A) and a column
//                             of op(B) straight from global memory (K loads each). Supports trans_a,
//                             trans_b. Memory bound: ~2 flops per 8 bytes loaded (L1/L2 help a little).
//   v2  sgemm_v2_smem_tiled   the classic register-blocked tiling: a block of 256 threads computes a
//                             128x128 tile of C, stepping through K in slices of 8. Each slice of A
//                             [128x8] (stored transposed in shared memory, so a thread's 8 A values
//                             are contiguous) and B [8x128] is loaded cooperatively once; each thread
//                             then computes an 8x8 sub-tile as 8 outer products of an 8-vector of A
//                             and an 8-vector of B held in registers: 64 FMAs per 16 shared loads.
//                             Edge tiles: loads outside [M,K] / [K,N] read zero, stores are masked,
//                             so any M, N, K works. NN only (no transposes).
// beta == 0: C is only written, never read (it may hold NaN).
// Determinism: each C element is summed by one thread in a fixed order: run-to-run deterministic.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/cuda/status.cuh>

namespace anima::kernels::cuda {

// ---------------------------------------------------------------------------------------------------
// v1: one thread per output element.
constexpr int kSgemmV1Block = 16;  // 16 x 16 threads, x along N (coalesced B reads and C writes)

__global__ void sgemm_v1_naive(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                               const float* __restrict__ A, std::int64_t lda, const float* __restrict__ B,
                               std::int64_t ldb, float beta, float* __restrict__ C, std::int64_t ldc) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;  // column of C
  const int i = blockIdx.y * blockDim.y + threadIdx.y;  // row of C
  if (i >= M || j >= N) return;
  float sum = 0.f;
  for (int p = 0; p < K; ++p) {
    const float a = trans_a ? A[static_cast<std::int64_t>(p) * lda + i] : A[static_cast<std::int64_t>(i) * lda + p];
    const float b = trans_b ? B[static_cast<std::int64_t>(j) * ldb + p] : B[static_cast<std::int64_t>(p) * ldb + j];
    sum += a * b;
  }
  float& c = C[static_cast<std::int64_t>(i) * ldc + j];
  c = beta == 0.f ? alpha * sum : alpha * sum + beta * c;
}

// ---------------------------------------------------------------------------------------------------
// v2: 128x128x8 block tile, 8x8 per thread, 256 threads.
constexpr int kSgemmV2BM = 128, kSgemmV2BN = 128, kSgemmV2BK = 8, kSgemmV2TM = 8, kSgemmV2TN = 8;
constexpr int kSgemmV2Threads = (kSgemmV2BM / kSgemmV2TM) * (kSgemmV2BN / kSgemmV2TN);  // 256

__global__ void __launch_bounds__(kSgemmV2Threads)
    sgemm_v2_smem_tiled(int M, int N, int K, float alpha, const float* __restrict__ A, std::int64_t lda,
                        const float* __restrict__ B, std::int64_t ldb, float beta, float* __restrict__ C,
                        std::int64_t ldc) {
  constexpr int BM = kSgemmV2BM, BN = kSgemmV2BN, BK = kSgemmV2BK, TM = kSgemmV2TM, TN = kSgemmV2TN;
  static_assert(BM * BK == 4 * kSgemmV2Threads && BK * BN == 4 * kSgemmV2Threads, "each thread loads 4 + 4 values");
  __shared__ __align__(16) float As[BK][BM];  // A slice, transposed: As[k][m]
  __shared__ __align__(16) float Bs[BK][BN];  // B slice: Bs[k][n]

  const int tid = threadIdx.x;
  const int tx = tid % (BN / TN);  // 0..15: which 8 columns of the tile
  const int ty = tid / (BN / TN);  // 0..15: which 8 rows of the tile
  const int block_m = blockIdx.y * BM;
  const int block_n = blockIdx.x * BN;

  // Load assignment: A slice [128 x 8]: row tid / 2, columns (tid % 2) * 4 .. + 3.
  //                  B slice [8 x 128]: row tid / 32, columns (tid % 32) * 4 .. + 3.
  const int a_row = tid / 2, a_col = (tid % 2) * 4;
  const int b_row = tid / 32, b_col = (tid % 32) * 4;
  const int gm_a = block_m + a_row;

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;
  float a_frag[TM], b_frag[TN];

  for (int k0 = 0; k0 < K; k0 += BK) {
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int gk = k0 + a_col + q;
      As[a_col + q][a_row] = (gm_a < M && gk < K) ? A[static_cast<std::int64_t>(gm_a) * lda + gk] : 0.f;
    }
    const int gk_b = k0 + b_row;
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int gn = block_n + b_col + q;
      Bs[b_row][b_col + q] = (gk_b < K && gn < N) ? B[static_cast<std::int64_t>(gk_b) * ldb + gn] : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < BK; ++k) {
#pragma unroll
      for (int i = 0; i < TM; i += 4) {
        const float4 v = *reinterpret_cast<const float4*>(&As[k][ty * TM + i]);
        a_frag[i] = v.x;
        a_frag[i + 1] = v.y;
        a_frag[i + 2] = v.z;
        a_frag[i + 3] = v.w;
      }
#pragma unroll
      for (int j = 0; j < TN; j += 4) {
        const float4 v = *reinterpret_cast<const float4*>(&Bs[k][tx * TN + j]);
        b_frag[j] = v.x;
        b_frag[j + 1] = v.y;
        b_frag[j + 2] = v.z;
        b_frag[j + 3] = v.w;
      }
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] += a_frag[i] * b_frag[j];
    }
    __syncthreads();  // the slice is overwritten by the next iteration
  }

#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int gm = block_m + ty * TM + i;
    if (gm >= M) continue;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const int gn = block_n + tx * TN + j;
      if (gn >= N) continue;
      float& c = C[static_cast<std::int64_t>(gm) * ldc + gn];
      c = beta == 0.f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * c;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Whether sgemm_tiled runs this problem: version 1 or 2, sizes in [0, 2^30], M within the grid's
// y limit, and version 2 only untransposed.
inline bool sgemm_tiled_supports(int version, bool trans_a, bool trans_b, std::int64_t M, std::int64_t N,
                                 std::int64_t K) {
  if (M < 0 || N < 0 || K < 0 || M > (1 << 30) || N > (1 << 30) || K > (1 << 30)) return false;
  if (version == 1) return (M + kSgemmV1Block - 1) / kSgemmV1Block <= 65535;
  if (version == 2) return !trans_a && !trans_b && (M + kSgemmV2BM - 1) / kSgemmV2BM <= 65535;
  return false;
}

// Runs version 1 or 2 on `stream`. Device pointers; sizes as in the header comment. Returns
// cudaErrorInvalidValue, launching nothing, unless sgemm_tiled_supports(...).
[[nodiscard]] inline cudaError_t sgemm_tiled(int version, bool trans_a, bool trans_b, std::int64_t M, std::int64_t N,
                                             std::int64_t K, float alpha, const float* A, std::int64_t lda,
                                             const float* B, std::int64_t ldb, float beta, float* C, std::int64_t ldc,
                                             cudaStream_t stream) {
  if (!sgemm_tiled_supports(version, trans_a, trans_b, M, N, K)) return cudaErrorInvalidValue;
  if (M == 0 || N == 0) return cudaSuccess;
  const int m = static_cast<int>(M), n = static_cast<int>(N), k = static_cast<int>(K);
  switch (version) {
    case 1: {
      const dim3 block(kSgemmV1Block, kSgemmV1Block);
      const dim3 grid(static_cast<unsigned>((N + kSgemmV1Block - 1) / kSgemmV1Block),
                      static_cast<unsigned>((M + kSgemmV1Block - 1) / kSgemmV1Block));
      sgemm_v1_naive<<<grid, block, 0, stream>>>(trans_a, trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
      ANIMA_KERNEL_TRY_LAUNCH();
      return cudaSuccess;
    }
    case 2: {
      const dim3 grid(static_cast<unsigned>((N + kSgemmV2BN - 1) / kSgemmV2BN),
                      static_cast<unsigned>((M + kSgemmV2BM - 1) / kSgemmV2BM));
      sgemm_v2_smem_tiled<<<grid, kSgemmV2Threads, 0, stream>>>(m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
      ANIMA_KERNEL_TRY_LAUNCH();
      return cudaSuccess;
    }
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace anima::kernels::cuda
