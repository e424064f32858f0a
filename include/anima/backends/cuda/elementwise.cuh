// anima/backends/cuda/elementwise.cuh — CUDA entries of the elementwise kernel tags
// (anima/backends/cpu/elementwise.hpp):
// UnaryKernel, BinaryKernel, CompareKernel, WhereKernel. Each adapter has the tag's exact Fn signature,
// picks the typed launcher of anima/kernels/cuda/elementwise.cuh by dtype and runs it on
// anima::cuda::current_stream().
#pragma once

#include <cstdint>

#include <anima/backends/cuda/check.cuh>
#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/kernels/cuda/elementwise.cuh>
#include <anima/backends/cpu/elementwise.hpp>

namespace anima::cuda {

inline void unary(DType dtype, kernels::UnaryOp op, double p0, double p1, const void* x, const kernels::Layout& lx,
                  void* y, std::int64_t n) {
  ANIMA_DISPATCH_FLOATING(dtype, UnaryKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::unary<scalar_t>(op, static_cast<scalar_t>(p0), static_cast<scalar_t>(p1),
                                                    static_cast<const scalar_t*>(x), lx, static_cast<scalar_t*>(y), n,
                                                    current_stream()));
  });
}

inline void binary(DType dtype, kernels::BinaryOp op, const void* a, const kernels::Layout& la, const void* b,
                   const kernels::Layout& lb, void* y, std::int64_t n) {
  ANIMA_DISPATCH_FLOATING(dtype, BinaryKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::binary<scalar_t>(op, static_cast<const scalar_t*>(a), la,
                                                     static_cast<const scalar_t*>(b), lb, static_cast<scalar_t*>(y), n,
                                                     current_stream()));
  });
}

inline void compare(DType dtype, kernels::CompareOp op, const void* a, const kernels::Layout& la, const void* b,
                    const kernels::Layout& lb, void* y_bool, std::int64_t n) {
  ANIMA_DISPATCH_FLOATING(dtype, CompareKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::compare<scalar_t>(op, static_cast<const scalar_t*>(a), la,
                                                      static_cast<const scalar_t*>(b), lb, static_cast<bool*>(y_bool),
                                                      n, current_stream()));
  });
}

inline void where(DType dtype, const void* cond_bool, const kernels::Layout& lc, const void* a,
                  const kernels::Layout& la, const void* b, const kernels::Layout& lb, void* y, std::int64_t n) {
  ANIMA_DISPATCH_FLOATING(dtype, WhereKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::where<scalar_t>(
        static_cast<const bool*>(cond_bool), lc, static_cast<const scalar_t*>(a), la, static_cast<const scalar_t*>(b),
        lb, static_cast<scalar_t*>(y), n, current_stream()));
  });
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_elementwise_kernels() {
  KernelRegistry<UnaryKernel>::cuda = &unary;
  KernelRegistry<BinaryKernel>::cuda = &binary;
  KernelRegistry<CompareKernel>::cuda = &compare;
  KernelRegistry<WhereKernel>::cuda = &where;
}

}  // namespace anima::cuda
