// anima/ops/matmul.hpp — matrix products with PyTorch's matmul semantics.
//
// Math: C[..., m, n] = Σ_k A[..., m, k] · B[..., k, n], batch dims broadcast.
//       dL/dA = dL/dC · Bᵀ,  dL/dB = Aᵀ · dL/dC   (each summed back over broadcast batch dims)
// 1-D operands as torch.matmul: a [K] is a row [1, K] (the dim is removed from the result), b [K] a
// column [K, 1]. 1-D · 1-D is the dot product (0-dim result).
// Runs on GemmKernel (CPU: packed GEMM on the thread pool; CUDA: cuBLAS). Transposed operands (e.g.
// x · Wᵀ from transpose(W, 0, 1)) are passed as a transpose flag, not copied.
// Determinism: CPU results are bitwise reproducible for a given thread count.
#pragma once

#include <cstdint>
#include <vector>

#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/view_meta.hpp>
#include <anima/backends/cpu/matmul.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

namespace anima {

namespace detail {

struct GemmOperand {
  Tensor data;          // holds the memory alive
  bool trans = false;   // stored as the transpose of the logical [rows, cols] matrix
  std::int64_t ld = 0;  // row stride of the stored matrix
  std::int64_t batch_stride = 0;
};

// A logical [batch, rows, cols] operand as the GEMM kernel wants it: each matrix row-major or
// transposed-row-major with a row stride, matrices a fixed stride apart. Copies only when needed.
inline GemmOperand gemm_operand(const Tensor& t3) {
  const std::int64_t rows = t3.shape()[1], cols = t3.shape()[2];
  const std::int64_t s0 = t3.strides()[0], s1 = t3.strides()[1], s2 = t3.strides()[2];
  // A size-1 dim's stride is never used to address memory, so it may be anything: treat it as packed.
  const std::int64_t row_stride = rows == 1 ? std::max<std::int64_t>(cols, 1) : s1;
  const std::int64_t col_stride = cols == 1 ? std::max<std::int64_t>(rows, 1) : s2;
  if ((s2 == 1 || cols == 1) && row_stride >= std::max<std::int64_t>(cols, 1)) return {t3, false, row_stride, s0};
  if ((s1 == 1 || rows == 1) && col_stride >= std::max<std::int64_t>(rows, 1)) return {t3, true, col_stride, s0};
  Tensor c = contiguous_copy(t3);
  return {c, false, std::max<std::int64_t>(cols, 1), rows * cols};
}

// t (shape batch_shape + [r, c]) viewed as [batch, r, c], copying if the batch dims do not merge.
inline Tensor as_batched3d(const Tensor& t, std::int64_t batch) {
  const Shape s3 = {batch, t.shape()[t.dim() - 2], t.shape()[t.dim() - 1]};
  if (auto strides = view_meta::view_strides(t, s3)) return view_meta::with_geometry(t, s3, *strides, t.offset());
  Tensor c = contiguous_copy(t);
  return view_meta::with_geometry(c, s3, contiguous_strides(s3), 0);
}

// C = A · B for A [..., M, K], B [..., K, N] (both >= 2-D), batch dims broadcast. No autograd.
inline Tensor matmul_untracked(const Tensor& a, const Tensor& b) {
  const Shape a_batch(a.shape().begin(), a.shape().end() - 2), b_batch(b.shape().begin(), b.shape().end() - 2);
  const Shape batch_shape = broadcast_shapes(a_batch, b_batch, "matmul");
  const std::int64_t M = a.shape()[a.dim() - 2], K = a.shape()[a.dim() - 1], N = b.shape()[b.dim() - 1];
  const std::int64_t batch = numel_of(batch_shape);
  Shape a_full = batch_shape, b_full = batch_shape, c_shape = batch_shape;
  a_full.insert(a_full.end(), {M, K});
  b_full.insert(b_full.end(), {K, N});
  c_shape.insert(c_shape.end(), {M, N});
  Tensor c = Tensor::empty(c_shape, TensorOptions(a.dtype()).with_device(a.device()));
  if (c.numel() == 0) return c;
  if (K == 0) {
    kernel_for<FillKernel>(c.device())(c.dtype(), c.raw_data(), c.numel(), 0.0);
    return c;
  }
  GemmOperand A = gemm_operand(as_batched3d(view_meta::expand(a, a_full), batch));
  GemmOperand B = gemm_operand(as_batched3d(view_meta::expand(b, b_full), batch));
  kernel_for<GemmKernel>(a.device())(a.dtype(), A.trans, B.trans, batch, M, N, K, 1.0, A.data.raw_data(), A.ld,
                                     A.batch_stride, B.data.raw_data(), B.ld, B.batch_stride, 0.0, c.raw_data(), N,
                                     M * N);
  return c;
}

// Differentiable product of >= 2-D operands.
inline Tensor matmul_nd(const Tensor& a, const Tensor& b) {
  Tensor y = matmul_untracked(a, b);
  Tensor sa = detach(a), sb = detach(b);
  record("matmul", y, {a, b}, [sa, sb](const Tensor& g) -> std::vector<Tensor> {
    Tensor ga = untracked::sum_to(matmul_untracked(g, view_meta::transpose(sb, -1, -2)), sa.shape());
    Tensor gb = untracked::sum_to(matmul_untracked(view_meta::transpose(sa, -1, -2), g), sb.shape());
    return {ga, gb};
  });
  return y;
}

}  // namespace detail

inline Tensor matmul(const Tensor& a, const Tensor& b) {
  ANIMA_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul", "both operands need at least one dimension, got ",
              shape_str(a.shape()), " and ", shape_str(b.shape()));
  untracked::check_same_device_dtype("matmul", a, b);
  untracked::check_floating("matmul", a);
  const std::int64_t ka = a.shape().back();
  const std::int64_t kb = b.dim() == 1 ? b.shape()[0] : b.shape()[b.dim() - 2];
  ANIMA_CHECK(ka == kb, "matmul", "inner dimensions differ: a is ", shape_str(a.shape()), ", b is ",
              shape_str(b.shape()), " (expected a.shape[-1] == b.shape[", b.dim() == 1 ? "0" : "-2", "])");
  const bool a_vec = a.dim() == 1, b_vec = b.dim() == 1;
  Tensor a2 = a_vec ? unsqueeze(a, 0) : a;
  Tensor b2 = b_vec ? unsqueeze(b, 1) : b;
  Tensor y = detail::matmul_nd(a2, b2);
  if (b_vec) y = squeeze(y, -1);
  if (a_vec) y = squeeze(y, a_vec && b_vec ? -1 : -2);
  return y;
}

// Batched product of 3-D tensors [B, M, K] · [B, K, N] (torch.bmm: no broadcasting).
inline Tensor bmm(const Tensor& a, const Tensor& b) {
  ANIMA_CHECK(a.dim() == 3 && b.dim() == 3 && a.shape()[0] == b.shape()[0], "bmm",
              "expected [B, M, K] and [B, K, N], got ", shape_str(a.shape()), " and ", shape_str(b.shape()));
  return matmul(a, b);
}

}  // namespace anima
