// anima/backends/cuda/factory.cuh — CUDA entries of FillKernel and RandomKernel (anima/backends/cpu/factory.hpp),
// run on anima::cuda::current_stream(). Random draws use the same Philox formula as the CPU
// (anima/kernels/cuda/random.cuh): uniform draws are bit-identical across backends.
#pragma once

#include <cstdint>

#include <anima/backends/cuda/check.cuh>
#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/kernels/cuda/elementwise.cuh>
#include <anima/kernels/cuda/random.cuh>
#include <anima/backends/cpu/factory.hpp>

namespace anima::cuda {

inline void fill(DType dtype, void* y, std::int64_t n, double value) {
  const cudaStream_t s = current_stream();
  switch (dtype) {
    case DType::Float32:
      ANIMA_CUDA_CHECK(kernels::cuda::fill(static_cast<float*>(y), n, static_cast<float>(value), s));
      return;
    case DType::Float64: ANIMA_CUDA_CHECK(kernels::cuda::fill(static_cast<double*>(y), n, value, s)); return;
    case DType::Int64:
      ANIMA_CUDA_CHECK(kernels::cuda::fill(static_cast<std::int64_t*>(y), n, static_cast<std::int64_t>(value), s));
      return;
    case DType::Bool: ANIMA_CUDA_CHECK(kernels::cuda::fill(static_cast<bool*>(y), n, value != 0.0, s)); return;
    default: fail(FillKernel::name, "unsupported dtype ", dtype_name(dtype));
  }
}

inline void random(DType dtype, kernels::Distribution dist, void* y, std::int64_t n, std::uint64_t seed,
                   std::uint64_t offset, double a, double b) {
  ANIMA_DISPATCH_FLOATING(dtype, RandomKernel::name, [&] {
    auto* out = static_cast<scalar_t*>(y);
    if (dist == kernels::Distribution::Uniform)
      ANIMA_CUDA_CHECK(kernels::cuda::random_uniform<scalar_t>(out, n, seed, offset, static_cast<scalar_t>(a),
                                                               static_cast<scalar_t>(b), current_stream()));
    else
      ANIMA_CUDA_CHECK(kernels::cuda::random_normal<scalar_t>(out, n, seed, offset, static_cast<scalar_t>(a),
                                                              static_cast<scalar_t>(b), current_stream()));
  });
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_factory_kernels() {
  KernelRegistry<FillKernel>::cuda = &fill;
  KernelRegistry<RandomKernel>::cuda = &random;
}

}  // namespace anima::cuda
