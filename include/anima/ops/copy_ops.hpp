// anima/ops/copy_ops.hpp — differentiable copies: contiguous, clone, to(device), to(dtype).
//
// Math: each is the identity on values, so dL/dx = dL/dy, moved back to x's device / dtype.
#pragma once

#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/tensor.hpp>

namespace anima {

// A new tensor with its own contiguous copy of x's data.
inline Tensor clone(const Tensor& x) {
  Tensor y = contiguous_copy(x);
  record("clone", y, {x}, [](const Tensor& g) -> std::vector<Tensor> { return {g}; });
  return y;
}

// x itself if already contiguous, else a contiguous copy.
inline Tensor contiguous(const Tensor& x) { return x.is_contiguous() ? x : clone(x); }

// x on `device` (x itself if it is there already).
inline Tensor to(const Tensor& x, Device device) {
  if (x.device() == device) return x;
  Tensor y = device_copy(x, device);
  const Device from = x.device();
  record("to_device", y, {x}, [from](const Tensor& g) -> std::vector<Tensor> { return {device_copy(g, from)}; });
  return y;
}

// x converted to `dtype` (x itself if it has it already). Gradients flow between floating types.
inline Tensor to(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor y = cast_copy(x, dtype);
  const DType from = x.dtype();
  if (is_floating(dtype) && is_floating(from))
    record("to_dtype", y, {x}, [from](const Tensor& g) -> std::vector<Tensor> { return {cast_copy(g, from)}; });
  return y;
}

}  // namespace anima
