// anima/backends/cpu/index_rows.hpp — dispatch tags of the row gather / row index-add kernels, with their
// CPU implementations (anima/kernels/cpu/index_rows.hpp). CUDA: anima/backends/cuda/index_rows.cuh.
//
// Contract shared by every backend: contiguous arrays on the kernel's device; values float32 or float64,
// indices int64 already validated by the op (anima/ops/index_rows.hpp).
//   IndexSelectRowsKernel: y [M, R] = x [K, R] rows idx [M].
//   IndexCopyRowsKernel:   y [K, R] rows idx [M] (distinct) = x [M, R]; other rows of y untouched.
//   IndexAddRowsKernel:    gx [K, R], gx[r] = Σ_{t in [ptr[r], ptr[r+1])} gy[src[t]] (every row written).
#pragma once

#include <cstdint>

#include <anima/core/dtype.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/index_rows.hpp>

namespace anima {

struct IndexSelectRowsKernel {
  using Fn = void(DType dtype, const void* x, const std::int64_t* idx, std::int64_t m, std::int64_t row_elems, void* y);
  static constexpr const char* name = "index_select_rows";
  static void cpu(DType dtype, const void* x, const std::int64_t* idx, std::int64_t m, std::int64_t row_elems,
                  void* y) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::index_select_rows<scalar_t>(static_cast<const scalar_t*>(x), idx, m, row_elems,
                                                static_cast<scalar_t*>(y), default_parallel());
    });
  }
};

struct IndexCopyRowsKernel {
  using Fn = void(DType dtype, const void* x, const std::int64_t* idx, std::int64_t m, std::int64_t row_elems, void* y);
  static constexpr const char* name = "index_copy_rows";
  static void cpu(DType dtype, const void* x, const std::int64_t* idx, std::int64_t m, std::int64_t row_elems,
                  void* y) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::index_copy_rows<scalar_t>(static_cast<const scalar_t*>(x), idx, m, row_elems,
                                              static_cast<scalar_t*>(y), default_parallel());
    });
  }
};

struct IndexAddRowsKernel {
  using Fn = void(DType dtype, const void* gy, const std::int64_t* ptr, const std::int64_t* src, std::int64_t k,
                  std::int64_t row_elems, void* gx);
  static constexpr const char* name = "index_add_rows";
  static void cpu(DType dtype, const void* gy, const std::int64_t* ptr, const std::int64_t* src, std::int64_t k,
                  std::int64_t row_elems, void* gx) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::index_add_rows<scalar_t>(static_cast<const scalar_t*>(gy), ptr, src, k, row_elems,
                                             static_cast<scalar_t*>(gx), default_parallel());
    });
  }
};

}  // namespace anima
