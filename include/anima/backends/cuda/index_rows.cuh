// anima/backends/cuda/index_rows.cuh — CUDA entries of the row gather / row index-add kernel tags
// (anima/backends/cpu/index_rows.hpp), run on anima::cuda::current_stream(). Kernels and determinism:
// anima/kernels/cuda/index_rows.cuh.
#pragma once

#include <cstdint>

#include <anima/backends/cuda/check.cuh>
#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/kernels/cuda/index_rows.cuh>
#include <anima/backends/cpu/index_rows.hpp>

namespace anima::cuda {

inline void index_select_rows(DType dtype, const void* x, const std::int64_t* idx, std::int64_t m,
                              std::int64_t row_elems, void* y) {
  ANIMA_DISPATCH_FLOATING(dtype, IndexSelectRowsKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::index_select_rows<scalar_t>(static_cast<const scalar_t*>(x), idx, m, row_elems,
                                                                static_cast<scalar_t*>(y), current_stream()));
  });
}

inline void index_copy_rows(DType dtype, const void* x, const std::int64_t* idx, std::int64_t m, std::int64_t row_elems,
                            void* y) {
  ANIMA_DISPATCH_FLOATING(dtype, IndexCopyRowsKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::index_copy_rows<scalar_t>(static_cast<const scalar_t*>(x), idx, m, row_elems,
                                                              static_cast<scalar_t*>(y), current_stream()));
  });
}

inline void index_add_rows(DType dtype, const void* gy, const std::int64_t* ptr, const std::int64_t* src,
                           std::int64_t k, std::int64_t row_elems, void* gx) {
  ANIMA_DISPATCH_FLOATING(dtype, IndexAddRowsKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::index_add_rows<scalar_t>(static_cast<const scalar_t*>(gy), ptr, src, k, row_elems,
                                                             static_cast<scalar_t*>(gx), current_stream()));
  });
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_index_rows_kernels() {
  KernelRegistry<IndexSelectRowsKernel>::cuda = &index_select_rows;
  KernelRegistry<IndexCopyRowsKernel>::cuda = &index_copy_rows;
  KernelRegistry<IndexAddRowsKernel>::cuda = &index_add_rows;
}

}  // namespace anima::cuda
