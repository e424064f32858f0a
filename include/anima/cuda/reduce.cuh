// anima/cuda/reduce.cuh — CUDA entry of ReduceKernel (anima/ops/reduce_kernels.hpp): row sum / max / min
// (with first-index arg) of a contiguous x [rows, cols], run on anima::cuda::current_stream().
// Numerics and determinism: anima/kernels/cuda/reduce.cuh. Including this header registers it (and
// the CUDA runtime).
#pragma once

#include <cstdint>

#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/cuda/runtime.cuh>
#include <anima/kernels/cuda/reduce.cuh>
#include <anima/ops/reduce_kernels.hpp>

namespace anima::cuda {

inline void reduce(DType dtype, kernels::ReduceOp op, const void* x, std::int64_t rows, std::int64_t cols, void* y,
                   std::int64_t* idx) {
  ANIMA_DISPATCH_FLOATING(dtype, ReduceKernel::name, [&] {
    kernels::cuda::reduce_rows<scalar_t>(op, static_cast<const scalar_t*>(x), rows, cols, static_cast<scalar_t*>(y), idx,
                                         current_stream());
  });
}

inline const bool kReduceRegistered = (KernelRegistry<ReduceKernel>::cuda = &reduce, true);

}  // namespace anima::cuda
