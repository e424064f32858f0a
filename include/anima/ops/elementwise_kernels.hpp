// anima/ops/elementwise_kernels.hpp — dispatch tags of the elementwise kernels, with their CPU
// implementations. The differentiable ops built on them are in anima/ops/elementwise.hpp; the CUDA
// implementations are registered by anima/cuda/elementwise.cuh.
//
// It also holds the `untracked::` tensor-level calls of these kernels (broadcasting, checks, no
// autograd) that the differentiable ops and the backward rules build on.
//
// Contract shared by every backend: the output y is contiguous with n elements; each input is read
// through its Layout over the output's shape (see anima/kernels/layout.hpp); dtype is the dtype of
// the floating inputs (float32 or float64); compare writes bool, where reads a bool condition.
#pragma once

#include <cstdint>

#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/core/tensor.hpp>
#include <anima/kernels/cpu/elementwise.hpp>
#include <anima/kernels/elementwise_math.hpp>
#include <anima/kernels/layout.hpp>
#include <anima/ops/factory_kernels.hpp>

namespace anima {

struct UnaryKernel {
  using Fn = void(DType dtype, kernels::UnaryOp op, double p0, double p1, const void* x, const kernels::Layout& lx,
                  void* y, std::int64_t n);
  static constexpr const char* name = "unary";
  static void cpu(DType dtype, kernels::UnaryOp op, double p0, double p1, const void* x, const kernels::Layout& lx,
                  void* y, std::int64_t n) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::unary<scalar_t>(op, static_cast<scalar_t>(p0), static_cast<scalar_t>(p1),
                                    static_cast<const scalar_t*>(x), lx, static_cast<scalar_t*>(y), n);
    });
  }
};

struct BinaryKernel {
  using Fn = void(DType dtype, kernels::BinaryOp op, const void* a, const kernels::Layout& la, const void* b,
                  const kernels::Layout& lb, void* y, std::int64_t n);
  static constexpr const char* name = "binary";
  static void cpu(DType dtype, kernels::BinaryOp op, const void* a, const kernels::Layout& la, const void* b,
                  const kernels::Layout& lb, void* y, std::int64_t n) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::binary<scalar_t>(op, static_cast<const scalar_t*>(a), la, static_cast<const scalar_t*>(b), lb,
                                     static_cast<scalar_t*>(y), n);
    });
  }
};

struct CompareKernel {
  using Fn = void(DType dtype, kernels::CompareOp op, const void* a, const kernels::Layout& la, const void* b,
                  const kernels::Layout& lb, void* y_bool, std::int64_t n);
  static constexpr const char* name = "compare";
  static void cpu(DType dtype, kernels::CompareOp op, const void* a, const kernels::Layout& la, const void* b,
                  const kernels::Layout& lb, void* y_bool, std::int64_t n) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::compare<scalar_t>(op, static_cast<const scalar_t*>(a), la, static_cast<const scalar_t*>(b), lb,
                                      static_cast<bool*>(y_bool), n);
    });
  }
};

struct WhereKernel {
  using Fn = void(DType dtype, const void* cond_bool, const kernels::Layout& lc, const void* a,
                  const kernels::Layout& la, const void* b, const kernels::Layout& lb, void* y, std::int64_t n);
  static constexpr const char* name = "where";
  static void cpu(DType dtype, const void* cond_bool, const kernels::Layout& lc, const void* a,
                  const kernels::Layout& la, const void* b, const kernels::Layout& lb, void* y, std::int64_t n) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::where<scalar_t>(static_cast<const bool*>(cond_bool), lc, static_cast<const scalar_t*>(a), la,
                                    static_cast<const scalar_t*>(b), lb, static_cast<scalar_t*>(y), n);
    });
  }
};

namespace untracked {

inline void check_same_device_dtype(const char* op, const Tensor& a, const Tensor& b) {
  ANIMA_CHECK(a.device() == b.device(), op, "tensors are on different devices: ", a.device().str(), " ",
              shape_str(a.shape()), " and ", b.device().str(), " ", shape_str(b.shape()));
  ANIMA_CHECK(a.dtype() == b.dtype(), op, "dtype mismatch: ", dtype_name(a.dtype()), " ", shape_str(a.shape()),
              " and ", dtype_name(b.dtype()), " ", shape_str(b.shape()));
}

inline void check_floating(const char* op, const Tensor& t) {
  ANIMA_CHECK(is_floating(t.dtype()), op, "expected a float32 or float64 tensor, got ", dtype_name(t.dtype()), " ",
              shape_str(t.shape()));
}

inline Tensor unary(const char* op_name, kernels::UnaryOp op, const Tensor& x, double p0 = 0, double p1 = 0) {
  check_floating(op_name, x);
  Tensor y = Tensor::empty(x.shape(), TensorOptions(x.dtype()).with_device(x.device()));
  if (x.numel() > 0) kernel_for<UnaryKernel>(x.device())(x.dtype(), op, p0, p1, x.raw_data(), x.layout(), y.raw_data(), y.numel());
  return y;
}

inline Tensor binary(const char* op_name, kernels::BinaryOp op, const Tensor& a, const Tensor& b) {
  check_same_device_dtype(op_name, a, b);
  check_floating(op_name, a);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op_name);
  Tensor y = Tensor::empty(shape, TensorOptions(a.dtype()).with_device(a.device()));
  if (y.numel() > 0)
    kernel_for<BinaryKernel>(a.device())(a.dtype(), op, a.raw_data(), a.layout_as(shape), b.raw_data(), b.layout_as(shape),
                                         y.raw_data(), y.numel());
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
    kernel_for<WhereKernel>(a.device())(a.dtype(), cond.raw_data(), cond.layout_as(shape), a.raw_data(), a.layout_as(shape),
                                        b.raw_data(), b.layout_as(shape), y.raw_data(), y.numel());
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
