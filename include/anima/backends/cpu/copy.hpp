// anima/backends/cpu/copy.hpp — dispatch tags of the copy kernels (anima/core/copy.hpp: strided copies,
// copies into views, dtype casts) and their CPU entries (anima/kernels/cpu/copy.hpp). CUDA:
// anima/backends/cuda/copy.cuh.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <anima/core/dtype.hpp>
#include <anima/core/error.hpp>
#include <anima/kernels/cpu/copy.hpp>
#include <anima/kernels/layout.hpp>

namespace anima {

// y[i] = x[layout.offset(i)], elements of `element_bytes` bytes; y contiguous.
struct StridedCopyKernel {
  using Fn = void(std::size_t element_bytes, const void* x, const kernels::Layout& layout, void* y, std::int64_t n);
  static constexpr const char* name = "strided_copy";
  static void cpu(std::size_t element_bytes, const void* x, const kernels::Layout& layout, void* y, std::int64_t n) {
    kernels::cpu::strided_copy(element_bytes, x, layout, y, n);
  }
};

// y[ly.offset(i)] = x[lx.offset(i)]: copy into a strided view (no two i may map to one y element).
struct CopyIntoKernel {
  using Fn = void(std::size_t element_bytes, const void* x, const kernels::Layout& lx, void* y,
                  const kernels::Layout& ly, std::int64_t n);
  static constexpr const char* name = "copy_into";
  static void cpu(std::size_t element_bytes, const void* x, const kernels::Layout& lx, void* y,
                  const kernels::Layout& ly, std::int64_t n) {
    kernels::cpu::copy_into(element_bytes, x, lx, y, ly, n);
  }
};

// y[i] = To(x[layout.offset(i)]); y contiguous.
struct CastKernel {
  using Fn = void(DType from, const void* x, const kernels::Layout& layout, DType to, void* y, std::int64_t n);
  static constexpr const char* name = "cast";
  static void cpu(DType from, const void* x, const kernels::Layout& layout, DType to, void* y, std::int64_t n) {
    auto with_to = [&](auto* typed_x) {
      using From = std::remove_const_t<std::remove_pointer_t<decltype(typed_x)>>;
      switch (to) {
        case DType::Float32: return kernels::cpu::cast<From, float>(typed_x, layout, static_cast<float*>(y), n);
        case DType::Float64: return kernels::cpu::cast<From, double>(typed_x, layout, static_cast<double*>(y), n);
        case DType::Int64:
          return kernels::cpu::cast<From, std::int64_t>(typed_x, layout, static_cast<std::int64_t*>(y), n);
        case DType::Bool: return kernels::cpu::cast<From, bool>(typed_x, layout, static_cast<bool*>(y), n);
        default: fail("cast", "unsupported target dtype ", dtype_name(to));
      }
    };
    switch (from) {
      case DType::Float32: return with_to(static_cast<const float*>(x));
      case DType::Float64: return with_to(static_cast<const double*>(x));
      case DType::Int64: return with_to(static_cast<const std::int64_t*>(x));
      case DType::Bool: return with_to(static_cast<const bool*>(x));
      default: fail("cast", "unsupported source dtype ", dtype_name(from));
    }
  }
};

}  // namespace anima
