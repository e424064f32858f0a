// anima/backends/cuda/copy.cuh — CUDA entries of StridedCopyKernel, CopyIntoKernel and CastKernel
// (anima/backends/cpu/copy.hpp), run on anima::cuda::current_stream(). Kernels: anima/kernels/cuda/copy.cuh.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <anima/backends/cuda/check.cuh>
#include <anima/backends/cpu/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/kernels/cuda/copy.cuh>

namespace anima::cuda {

inline void strided_copy(std::size_t element_bytes, const void* x, const kernels::Layout& layout, void* y,
                         std::int64_t n) {
  ANIMA_CUDA_CHECK(kernels::cuda::strided_copy(element_bytes, x, layout, y, n, current_stream()));
}

inline void copy_into(std::size_t element_bytes, const void* x, const kernels::Layout& lx, void* y,
                      const kernels::Layout& ly, std::int64_t n) {
  ANIMA_CUDA_CHECK(kernels::cuda::copy_into(element_bytes, x, lx, y, ly, n, current_stream()));
}

inline void cast(DType from, const void* x, const kernels::Layout& layout, DType to, void* y, std::int64_t n) {
  auto with_to = [&](auto* typed_x) {
    using From = std::remove_const_t<std::remove_pointer_t<decltype(typed_x)>>;
    const cudaStream_t s = current_stream();
    switch (to) {
      case DType::Float32:
        ANIMA_CUDA_CHECK((kernels::cuda::cast<From, float>(typed_x, layout, static_cast<float*>(y), n, s)));
        return;
      case DType::Float64:
        ANIMA_CUDA_CHECK((kernels::cuda::cast<From, double>(typed_x, layout, static_cast<double*>(y), n, s)));
        return;
      case DType::Int64:
        ANIMA_CUDA_CHECK(
            (kernels::cuda::cast<From, std::int64_t>(typed_x, layout, static_cast<std::int64_t*>(y), n, s)));
        return;
      case DType::Bool:
        ANIMA_CUDA_CHECK((kernels::cuda::cast<From, bool>(typed_x, layout, static_cast<bool*>(y), n, s)));
        return;
      default: fail(CastKernel::name, "unsupported target dtype ", dtype_name(to));
    }
  };
  switch (from) {
    case DType::Float32: return with_to(static_cast<const float*>(x));
    case DType::Float64: return with_to(static_cast<const double*>(x));
    case DType::Int64: return with_to(static_cast<const std::int64_t*>(x));
    case DType::Bool: return with_to(static_cast<const bool*>(x));
    default: fail(CastKernel::name, "unsupported source dtype ", dtype_name(from));
  }
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_copy_kernels() {
  KernelRegistry<StridedCopyKernel>::cuda = &strided_copy;
  KernelRegistry<CopyIntoKernel>::cuda = &copy_into;
  KernelRegistry<CastKernel>::cuda = &cast;
}

}  // namespace anima::cuda
