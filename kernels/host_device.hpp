// anima/kernels/host_device.hpp — ANIMA_HD marks per-element math that both backends share.
//
// Math needed by the CPU and the CUDA kernels (bilinear weights, Philox rounds, elementwise formulas)
// is written once as an ANIMA_HD inline function; nvcc compiles it for the device, g++ for the host.
#pragma once

#if defined(__CUDACC__)
#define ANIMA_HD __host__ __device__ __forceinline__
#else
#define ANIMA_HD inline
#endif

// ANIMA_UNROLL(n): ask g++ to unroll a host loop n times (the CPU GEMM micro-kernels). nvcc's front
// end does not know the GCC pragma and warns, so in translation units it compiles the hint is
// dropped (those units never run the CPU GEMM hot loops anyway: the CUDA path uses cuBLAS).
#define ANIMA_PRAGMA(x) _Pragma(#x)
#if defined(__CUDACC__)
#define ANIMA_UNROLL(n)
#else
#define ANIMA_UNROLL(n) ANIMA_PRAGMA(GCC unroll n)
#endif
