// anima/backends/cpu/elementwise.hpp — dispatch tags of the elementwise kernels, with their CPU
// implementations. The differentiable ops built on them are in anima/ops/elementwise.hpp; the CUDA
// implementations are registered by anima/backends/cuda/elementwise.cuh.
//
// Contract shared by every backend: the output y is contiguous with n elements; each input is read
// through its Layout over the output's shape (see anima/kernels/layout.hpp); dtype is the dtype of
// the floating inputs (float32 or float64); compare writes bool, where reads a bool condition.
#pragma once

#include <cstdint>

#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/elementwise.hpp>
#include <anima/kernels/elementwise_math.hpp>
#include <anima/kernels/layout.hpp>
#include <anima/backends/cpu/factory.hpp>

namespace anima {

struct UnaryKernel {
  using Fn = void(DType dtype, kernels::UnaryOp op, double p0, double p1, const void* x, const kernels::Layout& lx,
                  void* y, std::int64_t n);
  static constexpr const char* name = "unary";
  static void cpu(DType dtype, kernels::UnaryOp op, double p0, double p1, const void* x, const kernels::Layout& lx,
                  void* y, std::int64_t n) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::unary<scalar_t>(op, static_cast<scalar_t>(p0), static_cast<scalar_t>(p1),
                                    static_cast<const scalar_t*>(x), lx, static_cast<scalar_t*>(y), n,
                                    default_parallel());
    });
  }
};

struct BinaryKernel {
  using Fn = void(DType dtype, kernels::BinaryOp op, const void* a, const kernels::Layout& la, const void* b,
                  const kernels::Layout& lb, void* y, std::int64_t n);
  static constexpr const char* name = "binary";
  static void cpu(DType dtype, kernels::BinaryOp op, const void* a, const kernels::Layout& la, const void* b,
                  const kernels::Layout& lb, void* y, std::int64_t n) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::binary<scalar_t>(op, static_cast<const scalar_t*>(a), la, static_cast<const scalar_t*>(b), lb,
                                     static_cast<scalar_t*>(y), n, default_parallel());
    });
  }
};

struct CompareKernel {
  using Fn = void(DType dtype, kernels::CompareOp op, const void* a, const kernels::Layout& la, const void* b,
                  const kernels::Layout& lb, void* y_bool, std::int64_t n);
  static constexpr const char* name = "compare";
  static void cpu(DType dtype, kernels::CompareOp op, const void* a, const kernels::Layout& la, const void* b,
                  const kernels::Layout& lb, void* y_bool, std::int64_t n) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::compare<scalar_t>(op, static_cast<const scalar_t*>(a), la, static_cast<const scalar_t*>(b), lb,
                                      static_cast<bool*>(y_bool), n, default_parallel());
    });
  }
};

struct WhereKernel {
  using Fn = void(DType dtype, const void* cond_bool, const kernels::Layout& lc, const void* a,
                  const kernels::Layout& la, const void* b, const kernels::Layout& lb, void* y, std::int64_t n);
  static constexpr const char* name = "where";
  static void cpu(DType dtype, const void* cond_bool, const kernels::Layout& lc, const void* a,
                  const kernels::Layout& la, const void* b, const kernels::Layout& lb, void* y, std::int64_t n) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::where<scalar_t>(static_cast<const bool*>(cond_bool), lc, static_cast<const scalar_t*>(a), la,
                                    static_cast<const scalar_t*>(b), lb, static_cast<scalar_t*>(y), n,
                                    default_parallel());
    });
  }
};

}  // namespace anima
