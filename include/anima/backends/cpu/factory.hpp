// anima/backends/cpu/factory.hpp — dispatch tags for filling new tensors: a constant, or Philox draws.
// CUDA implementations: anima/backends/cuda/factory.cuh.
#pragma once

#include <cstdint>

#include <anima/core/dtype.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/elementwise.hpp>
#include <anima/kernels/cpu/random.hpp>
#include <anima/kernels/philox.hpp>

namespace anima {

// y[i] = value for i < n; any dtype (value converted to it).
struct FillKernel {
  using Fn = void(DType dtype, void* y, std::int64_t n, double value);
  static constexpr const char* name = "fill";
  static void cpu(DType dtype, void* y, std::int64_t n, double value) {
    switch (dtype) {
      case DType::Float32: return kernels::cpu::fill(static_cast<float*>(y), n, static_cast<float>(value));
      case DType::Float64: return kernels::cpu::fill(static_cast<double*>(y), n, value);
      case DType::Int64: return kernels::cpu::fill(static_cast<std::int64_t*>(y), n, static_cast<std::int64_t>(value));
      case DType::Bool: return kernels::cpu::fill(static_cast<bool*>(y), n, value != 0.0);
      default: fail(name, "unsupported dtype ", dtype_name(dtype));
    }
  }
};

// Uniform: y[i] = a + (b - a) * U(seed, offset + i).  Normal: y[i] = a + b * N(seed, offset + i).
struct RandomKernel {
  using Fn = void(DType dtype, kernels::Distribution dist, void* y, std::int64_t n, std::uint64_t seed,
                  std::uint64_t offset, double a, double b);
  static constexpr const char* name = "random";
  static void cpu(DType dtype, kernels::Distribution dist, void* y, std::int64_t n, std::uint64_t seed,
                  std::uint64_t offset, double a, double b) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      auto* out = static_cast<scalar_t*>(y);
      if (dist == kernels::Distribution::Uniform)
        kernels::cpu::random_uniform<scalar_t>(out, n, seed, offset, static_cast<scalar_t>(a), static_cast<scalar_t>(b),
                                               default_parallel());
      else
        kernels::cpu::random_normal<scalar_t>(out, n, seed, offset, static_cast<scalar_t>(a), static_cast<scalar_t>(b),
                                              default_parallel());
    });
  }
};

}  // namespace anima
