// anima/cuda/index_rows.cuh — CUDA entries of the row gather / row index-add kernel tags
// (anima/ops/index_rows_kernels.hpp), run on anima::cuda::current_stream(). Including this header
// registers them (and the CUDA runtime). Kernels and determinism: anima/kernels/cuda/index_rows.cuh.
#pragma once

#include <cstdint>

#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/cuda/runtime.cuh>
#include <anima/kernels/cuda/index_rows.cuh>
#include <anima/ops/index_rows_kernels.hpp>

namespace anima::cuda {

inline void index_select_rows(DType dtype, const void* x, const std::int64_t* idx, std::int64_t m,
                              std::int64_t row_elems, void* y) {
  ANIMA_DISPATCH_FLOATING(dtype, IndexSelectRowsKernel::name, [&] {
    kernels::cuda::index_select_rows<scalar_t>(static_cast<const scalar_t*>(x), idx, m, row_elems,
                                               static_cast<scalar_t*>(y), current_stream());
  });
}

inline void index_copy_rows(DType dtype, const void* x, const std::int64_t* idx, std::int64_t m,
                            std::int64_t row_elems, void* y) {
  ANIMA_DISPATCH_FLOATING(dtype, IndexCopyRowsKernel::name, [&] {
    kernels::cuda::index_copy_rows<scalar_t>(static_cast<const scalar_t*>(x), idx, m, row_elems,
                                             static_cast<scalar_t*>(y), current_stream());
  });
}

inline void index_add_rows(DType dtype, const void* gy, const std::int64_t* ptr, const std::int64_t* src,
                           std::int64_t k, std::int64_t row_elems, void* gx) {
  ANIMA_DISPATCH_FLOATING(dtype, IndexAddRowsKernel::name, [&] {
    kernels::cuda::index_add_rows<scalar_t>(static_cast<const scalar_t*>(gy), ptr, src, k, row_elems,
                                            static_cast<scalar_t*>(gx), current_stream());
  });
}

inline const bool kIndexSelectRowsRegistered = (KernelRegistry<IndexSelectRowsKernel>::cuda = &index_select_rows, true);
inline const bool kIndexCopyRowsRegistered = (KernelRegistry<IndexCopyRowsKernel>::cuda = &index_copy_rows, true);
inline const bool kIndexAddRowsRegistered = (KernelRegistry<IndexAddRowsKernel>::cuda = &index_add_rows, true);

}  // namespace anima::cuda
