// anima/core/copy.hpp — moving tensor data without autograd: between devices, into contiguous memory,
// between dtypes; and reading values back to the host (item, to_vector).
//
// These are the plumbing under the differentiable ops contiguous(), clone(), to(device), to(dtype)
// in anima/ops/copy_ops.hpp; use those in models.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include <anima/core/dispatch.hpp>
#include <anima/core/tensor.hpp>
#include <anima/kernels/cpu/copy.hpp>

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
        case DType::Int64: return kernels::cpu::cast<From, std::int64_t>(typed_x, layout, static_cast<std::int64_t*>(y), n);
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

// Copies raw bytes between any two devices (CPU<->CPU, CPU<->CUDA, CUDA<->CUDA).
inline void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  runtime_for(dst_device.is_cuda() ? dst_device : src_device, "copy").copy_bytes(dst, dst_device, src, src_device, bytes);
}

// A contiguous copy of t's elements on t's device (always a new tensor).
inline Tensor contiguous_copy(const Tensor& t) {
  Tensor out = Tensor::empty(t.shape(), TensorOptions(t.dtype()).with_device(t.device()));
  if (t.numel() > 0)
    kernel_for<StridedCopyKernel>(t.device())(element_size(t.dtype()), t.raw_data(), t.layout(), out.raw_data(), t.numel());
  return out;
}

// A contiguous copy converted to `dtype` on t's device.
inline Tensor cast_copy(const Tensor& t, DType dtype) {
  if (dtype == t.dtype()) return contiguous_copy(t);
  Tensor out = Tensor::empty(t.shape(), TensorOptions(dtype).with_device(t.device()));
  if (t.numel() > 0) kernel_for<CastKernel>(t.device())(t.dtype(), t.raw_data(), t.layout(), dtype, out.raw_data(), t.numel());
  return out;
}

// A contiguous copy on another device.
inline Tensor device_copy(const Tensor& t, Device device) {
  Tensor src = t.is_contiguous() ? t : contiguous_copy(t);
  Tensor out = Tensor::empty(t.shape(), TensorOptions(t.dtype()).with_device(device));
  copy_bytes(out.raw_data(), device, src.raw_data(), src.device(), static_cast<std::size_t>(t.numel()) * element_size(t.dtype()));
  return out;
}

// Writes src (broadcast to dst's shape) into the view dst, in place; same dtype and device. No autograd.
inline void copy_into(const Tensor& dst, const Tensor& src) {
  ANIMA_CHECK(dst.dtype() == src.dtype(), "copy_into", "dtype mismatch: destination ", dtype_name(dst.dtype()),
              ", source ", dtype_name(src.dtype()));
  ANIMA_CHECK(dst.device() == src.device(), "copy_into", "device mismatch: destination ", dst.device().str(),
              ", source ", src.device().str());
  if (dst.numel() == 0) return;
  kernel_for<CopyIntoKernel>(dst.device())(element_size(dst.dtype()), src.raw_data(), src.layout_as(dst.shape()),
                                           dst.raw_data(), dst.layout(), dst.numel());
}

// All elements, row-major, converted to T, on the host.
template <class T>
std::vector<T> to_vector(const Tensor& t) {
  Tensor host = t.device().is_cpu() ? t : device_copy(t, Device::cpu());
  Tensor typed = cast_copy(host, dtype_of<T>::value);
  const T* p = typed.template data<T>();
  return std::vector<T>(p, p + typed.numel());
}

// The value of a one-element tensor.
template <class T>
T item(const Tensor& t) {
  ANIMA_CHECK(t.numel() == 1, "item", "expected a tensor with one element, got shape ", shape_str(t.shape()));
  return to_vector<T>(t)[0];
}

}  // namespace anima
