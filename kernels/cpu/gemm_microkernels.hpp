// anima/kernels/cpu/gemm_microkernels.hpp — GEMM micro-kernels: one MR x NR tile of C.
//
// Contract (every kernel here):
//   C[MR,NR] (row stride ldc) = Ap^T * Bp + beta * C
//   Ap: packed A micro-panel [kc][MR] (MR rows of op(A), k-major, alpha already folded in)
//   Bp: packed B micro-panel [kc][NR] (NR columns of op(B), k-major)
//   beta == 0: C is written without being read (NaN-safe); beta == 1: plain accumulate.
//   Full tiles only; the caller handles edge tiles through a scratch tile.
//
// Scheme (broadcast-A, vector-B): for each k, load NR/W vectors of B and, for each of the MR rows,
// broadcast one element of A and FMA it into that row's accumulators. The MR x NR accumulators
// stay in registers for the whole kc loop; C is touched once per kernel call.
//
//   kernel                       MR x NR   accumulators      registers used
//   sgemm_ukernel_avx512_14x32   14 x 32   28 zmm            28 + 2 B + 1 A = 31 of 32
//   dgemm_ukernel_avx512_14x16   14 x 16   28 zmm            31 of 32
//   sgemm_ukernel_avx2_6x16       6 x 16   12 ymm            12 + 2 B + 1 A = 15 of 16
//   dgemm_ukernel_avx2_6x8        6 x 8    12 ymm            15 of 16
//   gemm_ukernel_portable<T,4,8>  4 x 8    left to the compiler
//
// Why these shapes: an FMA has ~4 cycles latency and 2 issue ports, so >= 8 independent
// accumulators are needed to keep the FMA units busy; using (almost) all registers for
// accumulators also maximises FMAs per load (28 FMAs per 2 vector loads + 14 broadcasts).
//
// The AVX-512 kernels prefetch their C tile into L1 as they start: C is the one operand not packed,
// its rows lie ldc apart (often a power of two, so they compete for the same L1 sets) and, with
// several K blocks, each tile is read back from L2 or L3 after every block; fetched while the kc loop
// runs, those reads no longer stall the final load-add-store (2048^3 SGEMM on one Zen 5-class core:
// 73% -> 82-84% of the FMA peak together with kc = 512; gemm_packed.hpp). In L1 alone the 14x32
// kernel runs at the FMA peak.
//
// The AVX kernels are compiled with __attribute__((target(...))) so the translation unit needs no
// -m flags; they must only be called after cpu_supports_* (cpu_features.hpp) said yes.
#pragma once

#include <anima/kernels/host_device.hpp>

#include <anima/kernels/cpu/cpu_features.hpp>

#include <cstdint>

#if ANIMA_CPU_X86
#include <immintrin.h>
#endif

namespace anima::kernels::cpu {

template <class T>
using GemmMicroKernel = void (*)(int64_t kc, const T* Ap, const T* Bp, T* C, int64_t ldc, T beta);

// Portable C++: the compiler may vectorise the j loops for the baseline ISA.
template <class T, int MR, int NR>
void gemm_ukernel_portable(int64_t kc, const T* Ap, const T* Bp, T* C, int64_t ldc, T beta) {
  T acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p) {
    for (int i = 0; i < MR; ++i) {
      const T a = Ap[p * MR + i];
      for (int j = 0; j < NR; ++j) acc[i][j] += a * Bp[p * NR + j];
    }
  }
  for (int i = 0; i < MR; ++i) {
    T* c = C + i * ldc;
    for (int j = 0; j < NR; ++j) c[j] = (beta == T(0)) ? acc[i][j] : acc[i][j] + beta * c[j];
  }
}

#if ANIMA_CPU_X86

// Prefetches `rows` rows of a C tile (`lines` cache lines each, rows `row_bytes` apart) into L1. Not
// inlined: inside a kernel the compiler would keep the row addresses for the final store, taking
// registers the accumulators need.
__attribute__((noinline)) inline void prefetch_c_tile(const void* C, int64_t row_bytes, int rows, int lines) {
  const char* row = static_cast<const char*>(C);
  for (int i = 0; i < rows; ++i, row += row_bytes)
    for (int l = 0; l < lines; ++l) _mm_prefetch(row + 64 * l, _MM_HINT_T0);
}

__attribute__((target("avx512f"))) inline void sgemm_ukernel_avx512_14x32(int64_t kc, const float* Ap, const float* Bp,
                                                                          float* C, int64_t ldc, float beta) {
  constexpr int MR = 14;
  prefetch_c_tile(C, ldc * static_cast<int64_t>(sizeof(float)), MR, 2);
  __m512 c0[MR], c1[MR];
  ANIMA_UNROLL(14)
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(Bp);
    const __m512 b1 = _mm512_loadu_ps(Bp + 16);
    ANIMA_UNROLL(14)
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(Ap[i]);
      c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
    }
    Ap += MR;
    Bp += 32;
  }
  if (beta == 0.0f) {
    ANIMA_UNROLL(14)
    for (int i = 0; i < MR; ++i) {
      _mm512_storeu_ps(C + i * ldc, c0[i]);
      _mm512_storeu_ps(C + i * ldc + 16, c1[i]);
    }
  } else if (beta == 1.0f) {
    ANIMA_UNROLL(14)
    for (int i = 0; i < MR; ++i) {
      _mm512_storeu_ps(C + i * ldc, _mm512_add_ps(c0[i], _mm512_loadu_ps(C + i * ldc)));
      _mm512_storeu_ps(C + i * ldc + 16, _mm512_add_ps(c1[i], _mm512_loadu_ps(C + i * ldc + 16)));
    }
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
    ANIMA_UNROLL(14)
    for (int i = 0; i < MR; ++i) {
      _mm512_storeu_ps(C + i * ldc, _mm512_fmadd_ps(vb, _mm512_loadu_ps(C + i * ldc), c0[i]));
      _mm512_storeu_ps(C + i * ldc + 16, _mm512_fmadd_ps(vb, _mm512_loadu_ps(C + i * ldc + 16), c1[i]));
    }
  }
}

__attribute__((target("avx512f"))) inline void dgemm_ukernel_avx512_14x16(int64_t kc, const double* Ap,
                                                                          const double* Bp, double* C, int64_t ldc,
                                                                          double beta) {
  constexpr int MR = 14;
  prefetch_c_tile(C, ldc * static_cast<int64_t>(sizeof(double)), MR, 2);
  __m512d c0[MR], c1[MR];
  ANIMA_UNROLL(14)
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_pd();
  for (int64_t p = 0; p < kc; ++p) {
    const __m512d b0 = _mm512_loadu_pd(Bp);
    const __m512d b1 = _mm512_loadu_pd(Bp + 8);
    ANIMA_UNROLL(14)
    for (int i = 0; i < MR; ++i) {
      const __m512d a = _mm512_set1_pd(Ap[i]);
      c0[i] = _mm512_fmadd_pd(a, b0, c0[i]);
      c1[i] = _mm512_fmadd_pd(a, b1, c1[i]);
    }
    Ap += MR;
    Bp += 16;
  }
  if (beta == 0.0) {
    ANIMA_UNROLL(14)
    for (int i = 0; i < MR; ++i) {
      _mm512_storeu_pd(C + i * ldc, c0[i]);
      _mm512_storeu_pd(C + i * ldc + 8, c1[i]);
    }
  } else if (beta == 1.0) {
    ANIMA_UNROLL(14)
    for (int i = 0; i < MR; ++i) {
      _mm512_storeu_pd(C + i * ldc, _mm512_add_pd(c0[i], _mm512_loadu_pd(C + i * ldc)));
      _mm512_storeu_pd(C + i * ldc + 8, _mm512_add_pd(c1[i], _mm512_loadu_pd(C + i * ldc + 8)));
    }
  } else {
    const __m512d vb = _mm512_set1_pd(beta);
    ANIMA_UNROLL(14)
    for (int i = 0; i < MR; ++i) {
      _mm512_storeu_pd(C + i * ldc, _mm512_fmadd_pd(vb, _mm512_loadu_pd(C + i * ldc), c0[i]));
      _mm512_storeu_pd(C + i * ldc + 8, _mm512_fmadd_pd(vb, _mm512_loadu_pd(C + i * ldc + 8), c1[i]));
    }
  }
}

__attribute__((target("avx2,fma"))) inline void sgemm_ukernel_avx2_6x16(int64_t kc, const float* Ap, const float* Bp,
                                                                        float* C, int64_t ldc, float beta) {
  constexpr int MR = 6;
  __m256 c0[MR], c1[MR];
  ANIMA_UNROLL(6)
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(Bp);
    const __m256 b1 = _mm256_loadu_ps(Bp + 8);
    ANIMA_UNROLL(6)
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(Ap + i);
      c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
    }
    Ap += MR;
    Bp += 16;
  }
  if (beta == 0.0f) {
    ANIMA_UNROLL(6)
    for (int i = 0; i < MR; ++i) {
      _mm256_storeu_ps(C + i * ldc, c0[i]);
      _mm256_storeu_ps(C + i * ldc + 8, c1[i]);
    }
  } else if (beta == 1.0f) {
    ANIMA_UNROLL(6)
    for (int i = 0; i < MR; ++i) {
      _mm256_storeu_ps(C + i * ldc, _mm256_add_ps(c0[i], _mm256_loadu_ps(C + i * ldc)));
      _mm256_storeu_ps(C + i * ldc + 8, _mm256_add_ps(c1[i], _mm256_loadu_ps(C + i * ldc + 8)));
    }
  } else {
    const __m256 vb = _mm256_set1_ps(beta);
    ANIMA_UNROLL(6)
    for (int i = 0; i < MR; ++i) {
      _mm256_storeu_ps(C + i * ldc, _mm256_fmadd_ps(vb, _mm256_loadu_ps(C + i * ldc), c0[i]));
      _mm256_storeu_ps(C + i * ldc + 8, _mm256_fmadd_ps(vb, _mm256_loadu_ps(C + i * ldc + 8), c1[i]));
    }
  }
}

__attribute__((target("avx2,fma"))) inline void dgemm_ukernel_avx2_6x8(int64_t kc, const double* Ap, const double* Bp,
                                                                       double* C, int64_t ldc, double beta) {
  constexpr int MR = 6;
  __m256d c0[MR], c1[MR];
  ANIMA_UNROLL(6)
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm256_setzero_pd();
  for (int64_t p = 0; p < kc; ++p) {
    const __m256d b0 = _mm256_loadu_pd(Bp);
    const __m256d b1 = _mm256_loadu_pd(Bp + 4);
    ANIMA_UNROLL(6)
    for (int i = 0; i < MR; ++i) {
      const __m256d a = _mm256_broadcast_sd(Ap + i);
      c0[i] = _mm256_fmadd_pd(a, b0, c0[i]);
      c1[i] = _mm256_fmadd_pd(a, b1, c1[i]);
    }
    Ap += MR;
    Bp += 8;
  }
  if (beta == 0.0) {
    ANIMA_UNROLL(6)
    for (int i = 0; i < MR; ++i) {
      _mm256_storeu_pd(C + i * ldc, c0[i]);
      _mm256_storeu_pd(C + i * ldc + 4, c1[i]);
    }
  } else if (beta == 1.0) {
    ANIMA_UNROLL(6)
    for (int i = 0; i < MR; ++i) {
      _mm256_storeu_pd(C + i * ldc, _mm256_add_pd(c0[i], _mm256_loadu_pd(C + i * ldc)));
      _mm256_storeu_pd(C + i * ldc + 4, _mm256_add_pd(c1[i], _mm256_loadu_pd(C + i * ldc + 4)));
    }
  } else {
    const __m256d vb = _mm256_set1_pd(beta);
    ANIMA_UNROLL(6)
    for (int i = 0; i < MR; ++i) {
      _mm256_storeu_pd(C + i * ldc, _mm256_fmadd_pd(vb, _mm256_loadu_pd(C + i * ldc), c0[i]));
      _mm256_storeu_pd(C + i * ldc + 4, _mm256_fmadd_pd(vb, _mm256_loadu_pd(C + i * ldc + 4), c1[i]));
    }
  }
}

#endif  // ANIMA_CPU_X86

}  // namespace anima::kernels::cpu
