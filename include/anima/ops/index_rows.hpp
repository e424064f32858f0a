// anima/ops/index_rows.hpp — row gather and scatter by host indices:
//   index_select_rows (torch's x.index_select(0, idx) with the indices on the host) and
//   scatter_rows (its transpose for distinct indices, over several source tensors at once: torch's
//   y = zeros; y[idx_l] = x_l for each l, as torchvision's MultiScaleRoIAlign builds its result).
//
// index_select_rows
// Shapes: x [K, ...] (float32 or float64, any device), idx int64 [M] on the CPU (or a std::vector), every
// idx[j] in [0, K) -> y [M, ...] on x's device, R = elements per row.
// Forward:  y[j, :] = x[idx[j], :].
// Backward: dL/dx = index_add: dL/dx[r, :] = Σ_{j : idx[j] = r} dL/dy[j, :], summed in increasing j; a row
//           no j selects gets 0. Computed as a gather over the inverse of idx in CSR form (ptr [K + 1],
//           src [M]: the j with idx[j] = r are src[ptr[r] .. ptr[r+1]-1], increasing), built on the host
//           by a counting sort, so duplicate indices need no atomics.
// Saved: idx, ptr and src on x's device (copied there in one transfer with the forward's indices).
// Why host indices: they are validated on the host (an out-of-range index is an anima::Error, never an
// out-of-bounds read on the device) and inverted there without reading device memory (no sync).
//
// scatter_rows: parts x_l [M_l, ...] (same trailing shape, dtype, device), idx int64 [Σ M_l] on the host:
// the rows of part 0, then part 1, ..., all distinct in [0, K) -> y [K, ...].
// Forward:  y[idx[o_l + j], :] = x_l[j, :] (o_l = M_0 + ... + M_{l-1}); rows no index names are 0 (the
//           zero fill is skipped when Σ M_l = K). One copy kernel per non-empty part, one index transfer.
// Backward: dL/dx_l = index_select(dL/dy, idx[o_l .. o_l + M_l)) (a gather; distinct indices make the
//           scatter a permutation of rows, so no sums). Saved: idx on y's device.
// Why distinct: with a repeated index the forward would depend on the write order; it is an Error.
//
// Kernels: anima/kernels/cpu/index_rows.hpp, anima/kernels/cuda/index_rows.cuh.
// Determinism: scatter_rows is copies both ways; index_select_rows' forward is a copy, its backward sums in a fixed
// order on every backend: bitwise reproducible,
// CPU and CUDA equal.
#pragma once

#include <cstdint>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/ops/factory.hpp>
#include <anima/backends/cpu/index_rows.hpp>

namespace anima {

namespace detail {

// The inverse of idx (values in [0, k)) in CSR form, appended to `out` as ptr [k + 1] then src [M].
inline void invert_rows_csr(const std::vector<std::int64_t>& idx, std::int64_t k, std::vector<std::int64_t>& out) {
  const std::size_t ptr0 = out.size();
  out.resize(ptr0 + static_cast<std::size_t>(k) + 1 + idx.size(), 0);
  std::int64_t* ptr = out.data() + ptr0;
  std::int64_t* src = ptr + k + 1;
  for (const std::int64_t r : idx) ++ptr[r + 1];
  for (std::int64_t r = 0; r < k; ++r) ptr[r + 1] += ptr[r];
  std::vector<std::int64_t> fill(ptr, ptr + k);
  for (std::size_t j = 0; j < idx.size(); ++j)
    src[fill[static_cast<std::size_t>(idx[j])]++] = static_cast<std::int64_t>(j);
}

}  // namespace detail

// x [K, ...], idx [M] (host) -> [M, ...]
inline Tensor index_select_rows(const Tensor& x, const std::vector<std::int64_t>& idx) {
  const char* op = "index_select_rows";
  ANIMA_CHECK(x.defined(), op, "the input is undefined");
  ANIMA_CHECK(x.dim() >= 1, op, "expected an input [K, ...] with at least one dimension, got a scalar");
  ANIMA_CHECK(is_floating(x.dtype()), op, "expected a float32 or float64 input, got ", dtype_name(x.dtype()), " ",
              shape_str(x.shape()));
  const std::int64_t k = x.shape()[0];
  const std::int64_t m = static_cast<std::int64_t>(idx.size());
  for (std::size_t j = 0; j < idx.size(); ++j)
    ANIMA_CHECK(idx[j] >= 0 && idx[j] < k, op, "index ", idx[j], " at position ", j, " is out of range for input ",
                shape_str(x.shape()), " (expected a value in [0, ", k, "))");
  Shape y_shape = x.shape();
  y_shape[0] = m;
  Tensor y = Tensor::empty(y_shape, TensorOptions(x.dtype()).with_device(x.device()));
  if (y.numel() == 0) return y;                  // nothing to gather: M = 0 or empty rows (then K > 0 or M = 0)
  const std::int64_t row_elems = x.numel() / k;  // k > 0 here: with K = 0 every index is out of range

  // One host buffer [idx | ptr | src] (ptr/src only when a backward will be recorded), one transfer.
  const bool needs_grad = GradMode::is_enabled() && x.requires_grad();
  std::vector<std::int64_t> packed(idx);
  if (needs_grad) detail::invert_rows_csr(idx, k, packed);
  Tensor ind = from_vector<std::int64_t>(packed, {static_cast<std::int64_t>(packed.size())},
                                         TensorOptions(DType::Int64).with_device(x.device()));
  const Tensor xc = x.is_contiguous() ? x : contiguous_copy(x);
  const std::int64_t* d_idx = static_cast<const std::int64_t*>(ind.raw_data());
  kernel_for<IndexSelectRowsKernel>(xc.device())(xc.dtype(), xc.raw_data(), d_idx, m, row_elems, y.raw_data());
  const Shape x_shape = x.shape();
  record("index_select_rows", y, {x}, [ind, x_shape, k, m, row_elems](const Tensor& grad) -> std::vector<Tensor> {
    const Tensor gy = grad.is_contiguous() ? grad : contiguous_copy(grad);
    Tensor gx = Tensor::empty(x_shape, TensorOptions(gy.dtype()).with_device(gy.device()));
    const std::int64_t* ptr = static_cast<const std::int64_t*>(ind.raw_data()) + m;
    kernel_for<IndexAddRowsKernel>(gy.device())(gy.dtype(), gy.raw_data(), ptr, ptr + k + 1, k, row_elems,
                                                gx.raw_data());
    return {gx};
  });
  return y;
}

// idx: an int64 [M] tensor on the CPU.
inline Tensor index_select_rows(const Tensor& x, const Tensor& idx) {
  const char* op = "index_select_rows";
  ANIMA_CHECK(idx.defined() && idx.dim() == 1, op, "expected indices [M], got ",
              idx.defined() ? shape_str(idx.shape()) : std::string("undefined"));
  ANIMA_CHECK(idx.dtype() == DType::Int64, op, "expected int64 indices, got ", dtype_name(idx.dtype()));
  ANIMA_CHECK(idx.device().is_cpu(), op,
              "indices must be on the CPU (they are validated and inverted on the host), got ", idx.device().str());
  return index_select_rows(x, to_vector<std::int64_t>(idx));
}

// parts x_l [M_l, ...], idx [Σ M_l] distinct in [0, num_rows) (host) -> [num_rows, ...]
inline Tensor scatter_rows(const std::vector<Tensor>& parts, const std::vector<std::int64_t>& idx,
                           std::int64_t num_rows) {
  const char* op = "scatter_rows";
  ANIMA_CHECK(!parts.empty(), op, "expected at least one source tensor");
  const Tensor& p0 = parts[0];
  ANIMA_CHECK(p0.defined() && p0.dim() >= 1, op, "source 0 must be a tensor [M, ...], got ",
              p0.defined() ? shape_str(p0.shape()) : std::string("undefined"));
  ANIMA_CHECK(is_floating(p0.dtype()), op, "expected float32 or float64 sources, got ", dtype_name(p0.dtype()));
  ANIMA_CHECK(num_rows >= 0, op, "num_rows must be non-negative, got ", num_rows);
  std::int64_t total = 0;
  for (std::size_t l = 0; l < parts.size(); ++l) {
    const Tensor& p = parts[l];
    ANIMA_CHECK(p.defined() && p.dim() == p0.dim(), op, "source ", l, " must be ", p0.dim(), "-D like source 0 ",
                shape_str(p0.shape()), ", got ", p.defined() ? shape_str(p.shape()) : std::string("undefined"));
    bool same = p.dtype() == p0.dtype() && p.device() == p0.device();
    for (int d = 1; same && d < p0.dim(); ++d) same = p.shape()[d] == p0.shape()[d];
    ANIMA_CHECK(same, op, "source ", l, " ", shape_str(p.shape()), " (", dtype_name(p.dtype()), " on ",
                p.device().str(), ") must match source 0 ", shape_str(p0.shape()), " (", dtype_name(p0.dtype()), " on ",
                p0.device().str(), ") in dtype, device and every dimension but the first");
    total += p.shape()[0];
  }
  ANIMA_CHECK(static_cast<std::int64_t>(idx.size()) == total, op, "got ", idx.size(), " indices for ", total,
              " source rows");
  std::vector<char> seen(static_cast<std::size_t>(num_rows), 0);
  for (std::size_t j = 0; j < idx.size(); ++j) {
    ANIMA_CHECK(idx[j] >= 0 && idx[j] < num_rows, op, "index ", idx[j], " at position ", j,
                " is out of range (expected a value in [0, ", num_rows, "))");
    char& s = seen[static_cast<std::size_t>(idx[j])];
    ANIMA_CHECK(!s, op, "index ", idx[j], " appears more than once (at position ", j, "); indices must be distinct");
    s = 1;
  }
  Shape y_shape = p0.shape();
  y_shape[0] = num_rows;
  const TensorOptions y_opts = TensorOptions(p0.dtype()).with_device(p0.device());
  Tensor y = total < num_rows ? zeros(y_shape, y_opts) : Tensor::empty(y_shape, y_opts);
  std::vector<Shape> part_shapes;
  for (const Tensor& p : parts) part_shapes.push_back(p.shape());
  if (y.numel() == 0) return y;
  const std::int64_t row_elems = y.numel() / num_rows;
  const Tensor ind = from_vector<std::int64_t>(idx, {total}, TensorOptions(DType::Int64).with_device(y.device()));
  const std::int64_t* d_idx = static_cast<const std::int64_t*>(ind.raw_data());
  std::int64_t offset = 0;
  for (const Tensor& p : parts) {
    const std::int64_t m = p.shape()[0];
    if (m > 0) {
      const Tensor pc = p.is_contiguous() ? p : contiguous_copy(p);
      kernel_for<IndexCopyRowsKernel>(y.device())(y.dtype(), pc.raw_data(), d_idx + offset, m, row_elems, y.raw_data());
    }
    offset += m;
  }
  record("scatter_rows", y, parts, [ind, part_shapes, row_elems](const Tensor& grad) -> std::vector<Tensor> {
    const Tensor g = grad.is_contiguous() ? grad : contiguous_copy(grad);
    const std::int64_t* gi = static_cast<const std::int64_t*>(ind.raw_data());
    std::vector<Tensor> grads;
    std::int64_t off = 0;
    for (const Shape& s : part_shapes) {
      Tensor gl = Tensor::empty(s, TensorOptions(g.dtype()).with_device(g.device()));
      if (gl.numel() > 0)
        kernel_for<IndexSelectRowsKernel>(g.device())(g.dtype(), g.raw_data(), gi + off, s[0], row_elems,
                                                      gl.raw_data());
      off += s[0];
      grads.push_back(gl);
    }
    return grads;
  });
  return y;
}

}  // namespace anima
