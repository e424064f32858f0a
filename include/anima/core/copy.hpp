// anima/core/copy.hpp — moving tensor data without autograd: between devices, into contiguous memory,
// between dtypes; and reading values back to the host (item, to_vector).
//
// These are the plumbing under the differentiable ops contiguous(), clone(), to(device), to(dtype)
// in anima/ops/copy_ops.hpp; use those in models.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include <anima/core/dispatch.hpp>
#include <anima/core/tensor.hpp>
#include <anima/backends/cpu/copy.hpp>

namespace anima {

// Copies raw bytes between any two devices (CPU<->CPU, CPU<->CUDA, CUDA<->CUDA).
inline void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  runtime_for(dst_device.is_cuda() ? dst_device : src_device, "copy")
      .copy_bytes(dst, dst_device, src, src_device, bytes);
}

// A contiguous copy of t's elements on t's device (always a new tensor).
inline Tensor contiguous_copy(const Tensor& t) {
  Tensor out = Tensor::empty(t.shape(), TensorOptions(t.dtype()).with_device(t.device()));
  if (t.numel() > 0)
    kernel_for<StridedCopyKernel>(t.device())(element_size(t.dtype()), t.raw_data(), t.layout(), out.raw_data(),
                                              t.numel());
  return out;
}

// A contiguous copy converted to `dtype` on t's device.
inline Tensor cast_copy(const Tensor& t, DType dtype) {
  if (dtype == t.dtype()) return contiguous_copy(t);
  Tensor out = Tensor::empty(t.shape(), TensorOptions(dtype).with_device(t.device()));
  if (t.numel() > 0)
    kernel_for<CastKernel>(t.device())(t.dtype(), t.raw_data(), t.layout(), dtype, out.raw_data(), t.numel());
  return out;
}

// A contiguous copy on another device.
inline Tensor device_copy(const Tensor& t, Device device) {
  Tensor src = t.is_contiguous() ? t : contiguous_copy(t);
  Tensor out = Tensor::empty(t.shape(), TensorOptions(t.dtype()).with_device(device));
  copy_bytes(out.raw_data(), device, src.raw_data(), src.device(),
             static_cast<std::size_t>(t.numel()) * element_size(t.dtype()));
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
