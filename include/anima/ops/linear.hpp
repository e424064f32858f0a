// anima/ops/linear.hpp — the fully connected layer (torch.nn.functional.linear).
//
// Forward:  y[..., o] = Σ_i x[..., i] · W[o, i] + b[o]      x [*, in], W [out, in], b [out] (optional)
// Backward: dL/dx = g · W,  dL/dW = Σ over the leading dims of gᵀ · x,  dL/db = Σ over the leading dims of g
// Composite: matmul(x, Wᵀ) (Wᵀ is a transposed view passed to the GEMM as a flag, not copied) plus a
// broadcast add, so the gradients come from matmul's and add's rules.
// Determinism: as matmul (bitwise reproducible on the CPU for a given thread count).
#pragma once

#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/matmul.hpp>
#include <anima/ops/view.hpp>

namespace anima {

inline Tensor linear(const Tensor& x /*[*, in]*/, const Tensor& weight /*[out, in]*/,
                     const Tensor& bias = Tensor() /*[out]*/) {
  ANIMA_CHECK(x.defined() && weight.defined(), "linear", "input and weight must be defined");
  ANIMA_CHECK(weight.dim() == 2, "linear", "weight must be 2-D [out, in], got ", shape_str(weight.shape()));
  ANIMA_CHECK(x.dim() >= 1, "linear", "input must have at least 1 dim [*, in], got ", shape_str(x.shape()));
  ANIMA_CHECK(x.device() == weight.device(), "linear", "input ", shape_str(x.shape()), " is on ", x.device().str(),
              " but weight ", shape_str(weight.shape()), " is on ", weight.device().str());
  ANIMA_CHECK(x.dtype() == weight.dtype(), "linear", "input ", shape_str(x.shape()), " is ", dtype_name(x.dtype()),
              " but weight ", shape_str(weight.shape()), " is ", dtype_name(weight.dtype()));
  ANIMA_CHECK(x.shape().back() == weight.shape()[1], "linear", "input ", shape_str(x.shape()), " has ",
              x.shape().back(), " features but weight ", shape_str(weight.shape()), " expects ", weight.shape()[1]);
  if (bias.defined()) {
    ANIMA_CHECK(bias.dim() == 1 && bias.shape()[0] == weight.shape()[0], "linear", "bias ", shape_str(bias.shape()),
                " must be [", weight.shape()[0], "] for weight ", shape_str(weight.shape()));
    ANIMA_CHECK(bias.device() == x.device() && bias.dtype() == x.dtype(), "linear", "bias ", shape_str(bias.shape()),
                " (", dtype_name(bias.dtype()), " on ", bias.device().str(), ") must match input (",
                dtype_name(x.dtype()), " on ", x.device().str(), ")");
  }
  Tensor y = matmul(x, transpose(weight, 0, 1));
  return bias.defined() ? add(y, bias) : y;
}

}  // namespace anima
