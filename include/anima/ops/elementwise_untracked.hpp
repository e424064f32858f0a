// anima/ops/elementwise_untracked.hpp — the elementwise kernels called on tensors without autograd:
// dtype and device checks, broadcasting, a new contiguous output. The differentiable ops
// (anima/ops/elementwise.hpp) and the backward rules of every op build on these.
#pragma once

#include <anima/backends/cpu/elementwise.hpp>
#include <anima/backends/cpu/factory.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/tensor.hpp>
#include <anima/kernels/elementwise_math.hpp>

namespace anima {

namespace untracked {

inline void check_same_device_dtype(const char* op, const Tensor& a, const Tensor& b) {
  ANIMA_CHECK(a.device() == b.device(), op, "tensors are on different devices: ", a.device().str(), " ",
              shape_str(a.shape()), " and ", b.device().str(), " ", shape_str(b.shape()));
  ANIMA_CHECK(a.dtype() == b.dtype(), op, "dtype mismatch: ", dtype_name(a.dtype()), " ", shape_str(a.shape()), " and ",
              dtype_name(b.dtype()), " ", shape_str(b.shape()));
}

inline void check_floating(const char* op, const Tensor& t) {
  ANIMA_CHECK(is_floating(t.dtype()), op, "expected a float32 or float64 tensor, got ", dtype_name(t.dtype()), " ",
              shape_str(t.shape()));
}

inline Tensor unary(const char* op_name, kernels::UnaryOp op, const Tensor& x, double p0 = 0, double p1 = 0) {
  check_floating(op_name, x);
  Tensor y = Tensor::empty(x.shape(), TensorOptions(x.dtype()).with_device(x.device()));
  if (x.numel() > 0)
    kernel_for<UnaryKernel>(x.device())(x.dtype(), op, p0, p1, x.raw_data(), x.layout(), y.raw_data(), y.numel());
  return y;
}

inline Tensor binary(const char* op_name, kernels::BinaryOp op, const Tensor& a, const Tensor& b) {
  check_same_device_dtype(op_name, a, b);
  check_floating(op_name, a);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op_name);
  Tensor y = Tensor::empty(shape, TensorOptions(a.dtype()).with_device(a.device()));
  if (y.numel() > 0)
    kernel_for<BinaryKernel>(a.device())(a.dtype(), op, a.raw_data(), a.layout_as(shape), b.raw_data(),
                                         b.layout_as(shape), y.raw_data(), y.numel());
  return y;
}

inline Tensor compare(const char* op_name, kernels::CompareOp op, const Tensor& a, const Tensor& b) {
  check_same_device_dtype(op_name, a, b);
  check_floating(op_name, a);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op_name);
  Tensor y = Tensor::empty(shape, TensorOptions(DType::Bool).with_device(a.device()));
  if (y.numel() > 0)
    kernel_for<CompareKernel>(a.device())(a.dtype(), op, a.raw_data(), a.layout_as(shape), b.raw_data(),
                                          b.layout_as(shape), y.raw_data(), y.numel());
  return y;
}

inline Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  ANIMA_CHECK(cond.dtype() == DType::Bool, "where", "condition must be a bool tensor, got ", dtype_name(cond.dtype()),
              " ", shape_str(cond.shape()));
  ANIMA_CHECK(cond.device() == a.device(), "where", "condition on ", cond.device().str(), " but values on ",
              a.device().str());
  check_same_device_dtype("where", a, b);
  check_floating("where", a);
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor y = Tensor::empty(shape, TensorOptions(a.dtype()).with_device(a.device()));
  if (y.numel() > 0)
    kernel_for<WhereKernel>(a.device())(a.dtype(), cond.raw_data(), cond.layout_as(shape), a.raw_data(),
                                        a.layout_as(shape), b.raw_data(), b.layout_as(shape), y.raw_data(), y.numel());
  return y;
}

// A 0-dim tensor holding `value`, with t's dtype and device.
inline Tensor scalar_like(const Tensor& t, double value) {
  Tensor s = Tensor::empty({}, TensorOptions(t.dtype()).with_device(t.device()));
  kernel_for<FillKernel>(t.device())(t.dtype(), s.raw_data(), 1, value);
  return s;
}

}  // namespace untracked

}  // namespace anima
