// anima/kernels/cpu/cpu_features.hpp — which x86 SIMD extensions this CPU and OS can run.
//
// Answered at run time with GCC/Clang's __builtin_cpu_supports (which also checks that the OS
// saves the wider register state, via XGETBV), so one binary built without -march flags can pick
// AVX-512 or AVX2 code paths compiled with __attribute__((target(...))). On non-x86 targets every
// query answers false and callers fall back to portable code.
#pragma once

namespace anima::kernels::cpu {

#if defined(__x86_64__) || defined(__i386__)
#define ANIMA_CPU_X86 1
#else
#define ANIMA_CPU_X86 0
#endif

// AVX-512 Foundation (512-bit vectors, 32 vector registers).
inline bool cpu_supports_avx512f() {
#if ANIMA_CPU_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

// AVX2 together with FMA3 (256-bit vectors, 16 vector registers, fused multiply-add).
inline bool cpu_supports_avx2_fma() {
#if ANIMA_CPU_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

}  // namespace anima::kernels::cpu
