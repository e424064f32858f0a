// anima/backends/cuda/gemm_cublas.cuh — row-major batched GEMM through cuBLAS.
//
//   for b < batch:  C_b[M,N] = alpha * op(A_b) op(B_b) + beta * C_b,   X_b = X + b * stride_x
// Row-major; op(X) = X^T when its trans flag is set; lda/ldb/ldc are the row strides of the stored
// matrices (A stored [M,K], or [K,M] if trans_a; B stored [K,N], or [N,K] if trans_b). beta == 0
// means C is only written (cuBLAS does not read C then, so C may hold NaN). Same contract as
// GemmKernel (anima/backends/cpu/matmul.hpp) and kernels/cpu/gemm_reference.hpp.
//
// Row-major trick: a row-major matrix with row stride ld is, to column-major cuBLAS, its transpose
// with leading dimension ld. So the row-major product C = op(A) op(B) is computed as the
// column-major product C^T = op(B)^T op(A)^T: cuBLAS gets (B, A) in that order, m = N, n = M, k = K,
// transa = trans_b, transb = trans_a, and every leading dimension unchanged.
//
// Handle: the caller's, bound to `stream` (cublasSetStream; the CUDA backend's come from
// anima/backends/cuda/library_handles.cuh); the K == 0 kernel is launched on `stream`.
// Math mode is cuBLAS's default (CUBLAS_DEFAULT_MATH: no TF32 for float32), so results match an FP32
// reference to FP32 accuracy.
// Determinism: cuBLAS GEMM is run-to-run deterministic on one GPU and stream for fixed sizes (no
// split-K atomics in the default configuration); results may differ across GPU models/versions.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <anima/core/error.hpp>
#include <anima/backends/cuda/check.cuh>
#include <anima/kernels/cuda/gemm_scale.cuh>

namespace anima::cuda {

// cublasSgemmStridedBatched or cublasDgemmStridedBatched, by T.
template <class T>
void cublas_gemm_strided_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                 const T* alpha, const T* A, int lda, long long sa, const T* B, int ldb, long long sb,
                                 const T* beta, T* C, int ldc, long long sc, int batch) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "cuBLAS GEMM: float or double");
  if constexpr (std::is_same_v<T, float>)
    ANIMA_CUBLAS_CHECK(
        cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch));
  else
    ANIMA_CUBLAS_CHECK(
        cublasDgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch));
}

// T: float or double. Pointers are device pointers on the current device.
template <class T>
void gemm_cublas(bool trans_a, bool trans_b, std::int64_t batch, std::int64_t M, std::int64_t N, std::int64_t K,
                 T alpha, const T* A, std::int64_t lda, std::int64_t stride_a, const T* B, std::int64_t ldb,
                 std::int64_t stride_b, T beta, T* C, std::int64_t ldc, std::int64_t stride_c, cublasHandle_t handle,
                 cudaStream_t stream) {
  ANIMA_CHECK(batch >= 0 && M >= 0 && N >= 0 && K >= 0, "gemm", "negative size: batch ", batch, ", M ", M, ", N ", N,
              ", K ", K);
  if (batch == 0 || M == 0 || N == 0) return;
  ANIMA_CHECK(ldc >= N, "gemm", "ldc ", ldc, " is smaller than N ", N);
  if (K == 0) {
    ANIMA_CUDA_CHECK(kernels::cuda::gemm_scale_c(batch, M, N, beta, C, ldc, stride_c, stream));
    return;
  }
  // Row-major stored shapes: the leading dimension must cover a stored row.
  ANIMA_CHECK(lda >= (trans_a ? M : K), "gemm", "lda ", lda, " is smaller than a row of A (", trans_a ? M : K, ")");
  ANIMA_CHECK(ldb >= (trans_b ? K : N), "gemm", "ldb ", ldb, " is smaller than a row of B (", trans_b ? K : N, ")");
  constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
  ANIMA_CHECK(M <= kIntMax && N <= kIntMax && K <= kIntMax && lda <= kIntMax && ldb <= kIntMax && ldc <= kIntMax &&
                  batch <= kIntMax,
              "gemm", "sizes exceed cuBLAS's 32-bit int arguments (M ", M, ", N ", N, ", K ", K, ", batch ", batch,
              ")");
  // C^T[N,M] = op(B)^T[N,K] * op(A)^T[K,M] in column-major terms.
  cublas_gemm_strided_batched(handle, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                              static_cast<int>(N), static_cast<int>(M), static_cast<int>(K), &alpha, B,
                              static_cast<int>(ldb), static_cast<long long>(stride_b), A, static_cast<int>(lda),
                              static_cast<long long>(stride_a), &beta, C, static_cast<int>(ldc),
                              static_cast<long long>(stride_c), static_cast<int>(batch));
}

}  // namespace anima::cuda
