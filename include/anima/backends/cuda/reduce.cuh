// anima/backends/cuda/reduce.cuh — CUDA entry of ReduceKernel (anima/backends/cpu/reduce.hpp): row sum / max / min
// (with first-index arg) of a contiguous x [rows, cols], run on anima::cuda::current_stream().
// Numerics and determinism: anima/kernels/cuda/reduce.cuh.
#pragma once

#include <cstdint>

#include <anima/backends/cuda/check.cuh>
#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/kernels/cuda/reduce.cuh>
#include <anima/backends/cpu/reduce.hpp>

namespace anima::cuda {

inline void reduce(DType dtype, kernels::ReduceOp op, const void* x, std::int64_t rows, std::int64_t cols, void* y,
                   std::int64_t* idx) {
  ANIMA_DISPATCH_FLOATING(dtype, ReduceKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::reduce_rows<scalar_t>(op, static_cast<const scalar_t*>(x), rows, cols,
                                                          static_cast<scalar_t*>(y), idx, current_stream()));
  });
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_reduce_kernels() { KernelRegistry<ReduceKernel>::cuda = &reduce; }

}  // namespace anima::cuda
