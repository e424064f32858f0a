// anima/core/dtype.hpp — element types.
//
// float32 is the storage type everywhere; float64 serves references and gradient checks; int64 holds
// indices (argmax, class labels); bool holds comparison results (one byte per element). float16 and
// bfloat16 are named so that readers of weight files can report them; tensors of those types are
// converted to float32 on load (no kernels run on them yet).
#pragma once

#include <cstddef>
#include <cstdint>

#include <anima/core/error.hpp>

namespace anima {

enum class DType : std::uint8_t { Float32, Float64, Int64, Bool, Float16, BFloat16 };

inline std::size_t element_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::Bool: return 1;
    case DType::Float16: return 2;
    case DType::BFloat16: return 2;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::Bool: return "bool";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
  }
  return "?";
}

inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

// C++ type -> DType.
template <class T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = DType::Float32;
};
template <>
struct dtype_of<double> {
  static constexpr DType value = DType::Float64;
};
template <>
struct dtype_of<std::int64_t> {
  static constexpr DType value = DType::Int64;
};
template <>
struct dtype_of<bool> {
  static constexpr DType value = DType::Bool;
};

}  // namespace anima

// Runs the body with `scalar_t` bound to the C++ type of a floating dtype; other dtypes throw.
// Usage: ANIMA_DISPATCH_FLOATING(t.dtype(), "op", [&] { kernel<scalar_t>(...); });
#define ANIMA_DISPATCH_FLOATING(DTYPE, OP, ...)                                                             \
  [&] {                                                                                                     \
    switch (DTYPE) {                                                                                        \
      case ::anima::DType::Float32: {                                                                       \
        using scalar_t = float;                                                                             \
        return __VA_ARGS__();                                                                               \
      }                                                                                                     \
      case ::anima::DType::Float64: {                                                                       \
        using scalar_t = double;                                                                            \
        return __VA_ARGS__();                                                                               \
      }                                                                                                     \
      default: ::anima::fail(OP, "expected a float32 or float64 tensor, got ", ::anima::dtype_name(DTYPE)); \
    }                                                                                                       \
  }()
