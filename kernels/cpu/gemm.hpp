// anima/kernels/cpu/gemm.hpp — CPU GEMM entry point.
//
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C,   op(X) = X or X^T, row-major.
//
// Versions, side by side:
//   gemm_reference   plain triple loop, templated on T (the oracle; gemm_reference.hpp)
//   gemm_packed      BLIS-style packed, cache-blocked, multi-threaded, with AVX-512F / AVX2+FMA /
//                    portable micro-kernels chosen at run time (gemm_packed.hpp,
//                    gemm_microkernels.hpp)
#pragma once

#include <anima/kernels/cpu/gemm_packed.hpp>
#include <anima/kernels/cpu/gemm_reference.hpp>
