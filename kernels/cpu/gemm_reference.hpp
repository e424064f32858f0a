// anima/kernels/cpu/gemm_reference.hpp — reference GEMM: plain loops that read like the math.
//
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C,   op(X) = X or X^T
//
// Row-major storage. A is stored [M,K] (row stride lda) when !trans_a, [K,M] when trans_a;
// B is stored [K,N] (row stride ldb) when !trans_b, [N,K] when trans_b; C is [M,N] (row stride ldc).
// beta == 0 means C is only written, never read (so it may hold NaN or garbage).
// Each dot product is summed in T, in order p = 0..K-1; instantiate with a wider T
// (double, long double) to get a more accurate oracle.
// Determinism: fully deterministic (single thread, fixed summation order).
#pragma once

#include <cstdint>

namespace anima::kernels::cpu {

template <class T>
void gemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                    int64_t lda,                  // [M,K] or, if trans_a, [K,M]
                    const T* B, int64_t ldb,      // [K,N] or, if trans_b, [N,K]
                    T beta, T* C, int64_t ldc) {  // [M,N]
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      T sum = T(0);
      for (int64_t p = 0; p < K; ++p) {
        const T a_ip = trans_a ? A[p * lda + i] : A[i * lda + p];
        const T b_pj = trans_b ? B[j * ldb + p] : B[p * ldb + j];
        sum += a_ip * b_pj;
      }
      T& c_ij = C[i * ldc + j];
      c_ij = (beta == T(0)) ? alpha * sum : alpha * sum + beta * c_ij;
    }
  }
}

}  // namespace anima::kernels::cpu
