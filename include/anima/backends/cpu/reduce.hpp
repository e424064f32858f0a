// anima/backends/cpu/reduce.hpp — dispatch tag of the row-reduction kernel (x contiguous [rows, cols]).
// CUDA implementation: anima/backends/cuda/reduce.cuh. idx (int64, may be null) receives the arg-max/min.
#pragma once

#include <cstdint>

#include <anima/core/dtype.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/reduce.hpp>
#include <anima/kernels/reduce_op.hpp>

namespace anima {

struct ReduceKernel {
  using Fn = void(DType dtype, kernels::ReduceOp op, const void* x, std::int64_t rows, std::int64_t cols, void* y,
                  std::int64_t* idx);
  static constexpr const char* name = "reduce";
  static void cpu(DType dtype, kernels::ReduceOp op, const void* x, std::int64_t rows, std::int64_t cols, void* y,
                  std::int64_t* idx) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::reduce_rows<scalar_t>(op, static_cast<const scalar_t*>(x), rows, cols, static_cast<scalar_t*>(y),
                                          idx, default_parallel());
    });
  }
};

}  // namespace anima
