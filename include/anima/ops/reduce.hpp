// anima/ops/reduce.hpp — reductions: sum, mean, max, min, argmax, argmin (over all elements or dims),
// and sum_to, the adjoint of broadcasting.
//
// Math (R = the reduced index set, |R| its size, x̂ the result broadcast back to x's shape):
//   sum:  y = Σ_R x                      dL/dx = dL/dy broadcast over R
//   mean: y = Σ_R x / |R|                dL/dx = dL/dy / |R| broadcast over R
//   max over dim d with indices i*:      dL/dx[..., i*, ...] = dL/dy, 0 elsewhere (one winner, the
//                                        first, as the index returned; PyTorch does the same)
//   max over all elements:               dL/dx = dL/dy * [x == y] / #{x == y} (ties share evenly,
//                                        PyTorch's evenly_distribute rule)
//   argmax/argmin: int64 indices, not differentiable.
//   sum_to(g, shape): sums g over the dims that broadcasting added or expanded, so that
//                     sum_to(dL/d(broadcast x), x.shape) = dL/dx.
// Implementation: the reduced dims are permuted last, made contiguous, and reduced row by row by
// ReduceKernel (anima/backends/cpu/reduce.hpp). Float sums accumulate in double on the CPU.
// Determinism: the CPU kernel is deterministic for a given thread count and shape.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/view_meta.hpp>
#include <anima/ops/elementwise_untracked.hpp>
#include <anima/ops/factory.hpp>
#include <anima/backends/cpu/reduce.hpp>

namespace anima {

namespace untracked {

struct Reduced {
  Tensor values;   // x's dtype
  Tensor indices;  // int64, only for max/min
};

// Normalised, sorted, unique dims; empty `dims` means all dims.
inline std::vector<int> reduction_dims(const Tensor& x, const std::vector<std::int64_t>& dims, const char* op) {
  std::vector<int> out;
  if (dims.empty()) {
    for (int d = 0; d < x.dim(); ++d) out.push_back(d);
    return out;
  }
  for (auto d : dims) out.push_back(normalize_dim(d, x.shape(), op, true));
  std::sort(out.begin(), out.end());
  ANIMA_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op, "dim repeated in the reduction dims");
  if (x.dim() == 0) out.clear();  // a 0-dim tensor reduces to itself
  return out;
}

inline Shape reduced_shape(const Tensor& x, const std::vector<int>& rdims, bool keepdim) {
  Shape out;
  for (int d = 0; d < x.dim(); ++d) {
    const bool reduced = std::binary_search(rdims.begin(), rdims.end(), d);
    if (!reduced)
      out.push_back(x.shape()[d]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

inline Reduced reduce(const Tensor& x, kernels::ReduceOp op, const std::vector<int>& rdims, bool keepdim,
                      const char* op_name) {
  check_floating(op_name, x);
  std::vector<std::int64_t> order;
  std::int64_t rows = 1, cols = 1;
  for (int d = 0; d < x.dim(); ++d)
    if (!std::binary_search(rdims.begin(), rdims.end(), d)) {
      order.push_back(d);
      rows *= x.shape()[d];
    }
  for (int d : rdims) {
    order.push_back(d);
    cols *= x.shape()[d];
  }
  const bool needs_index = op != kernels::ReduceOp::Sum;
  ANIMA_CHECK(!(needs_index && cols == 0), op_name, "cannot reduce over an empty set of elements (shape ",
              shape_str(x.shape()), ")");
  Tensor moved = view_meta::permute(x, order);
  Tensor input = moved.is_contiguous() ? moved : contiguous_copy(moved);
  const Shape out_shape = reduced_shape(x, rdims, keepdim);
  Reduced r;
  r.values = Tensor::empty(out_shape, TensorOptions(x.dtype()).with_device(x.device()));
  if (needs_index) r.indices = Tensor::empty(out_shape, TensorOptions(DType::Int64).with_device(x.device()));
  if (rows == 0) return r;
  if (cols == 0) {  // sum of nothing
    kernel_for<FillKernel>(x.device())(x.dtype(), r.values.raw_data(), rows, 0.0);
    return r;
  }
  kernel_for<ReduceKernel>(x.device())(x.dtype(), op, input.raw_data(), rows, cols, r.values.raw_data(),
                                       needs_index ? r.indices.data<std::int64_t>() : nullptr);
  return r;
}

// g reshaped so that it broadcasts against x: the reduced dims put back as size 1.
inline Tensor keepdim_view(const Tensor& g, const Shape& x_shape, const std::vector<int>& rdims) {
  Shape kept = x_shape;
  for (int d : rdims) kept[d] = 1;
  Tensor gc = g.is_contiguous() ? g : contiguous_copy(g);
  return view_meta::with_geometry(gc, kept, contiguous_strides(kept), gc.offset());
}

// Σ of g over the dims in which `shape` was broadcast to g.shape().
inline Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const std::int64_t lead = g.dim() - static_cast<std::int64_t>(shape.size());
  ANIMA_CHECK(lead >= 0, "sum_to", "cannot sum ", shape_str(g.shape()), " to the larger shape ", shape_str(shape));
  std::vector<int> rdims;
  for (std::int64_t d = 0; d < g.dim(); ++d) {
    if (d < lead) {
      rdims.push_back(static_cast<int>(d));
      continue;
    }
    const std::int64_t want = shape[d - lead];
    ANIMA_CHECK(want == g.shape()[d] || want == 1, "sum_to", "cannot sum ", shape_str(g.shape()), " to ",
                shape_str(shape));
    if (want == 1 && g.shape()[d] != 1) rdims.push_back(static_cast<int>(d));
  }
  Tensor r = rdims.empty() ? g : reduce(g, kernels::ReduceOp::Sum, rdims, /*keepdim=*/true, "sum_to").values;
  Tensor rc = r.is_contiguous() ? r : contiguous_copy(r);
  return view_meta::with_geometry(rc, shape, contiguous_strides(shape), rc.offset());
}

}  // namespace untracked

inline Tensor sum_to(const Tensor& g, const Shape& shape) { return untracked::sum_to(g, shape); }

// Σ over `dims` (all dims when empty).
inline Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false) {
  const auto rdims = untracked::reduction_dims(x, dims, "sum");
  Tensor y = untracked::reduce(x, kernels::ReduceOp::Sum, rdims, keepdim, "sum").values;
  const Shape x_shape = x.shape();
  record("sum", y, {x}, [x_shape, rdims](const Tensor& g) -> std::vector<Tensor> {
    return {view_meta::expand(untracked::keepdim_view(g, x_shape, rdims), x_shape)};
  });
  return y;
}
inline Tensor sum(const Tensor& x) { return sum(x, {}, false); }

// Σ over `dims` / count (all dims when empty).
inline Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false) {
  const auto rdims = untracked::reduction_dims(x, dims, "mean");
  std::int64_t count = 1;
  for (int d : rdims) count *= x.shape()[d];
  ANIMA_CHECK(count > 0, "mean", "mean over an empty set of elements (shape ", shape_str(x.shape()), ")");
  Tensor s = untracked::reduce(x, kernels::ReduceOp::Sum, rdims, keepdim, "mean").values;
  Tensor y =
      untracked::binary("mean", kernels::BinaryOp::Div, s, untracked::scalar_like(s, static_cast<double>(count)));
  const Shape x_shape = x.shape();
  record("mean", y, {x}, [x_shape, rdims, count](const Tensor& g) -> std::vector<Tensor> {
    Tensor scaled = untracked::binary("mean_backward", kernels::BinaryOp::Div, g,
                                      untracked::scalar_like(g, static_cast<double>(count)));
    return {view_meta::expand(untracked::keepdim_view(scaled, x_shape, rdims), x_shape)};
  });
  return y;
}
inline Tensor mean(const Tensor& x) { return mean(x, {}, false); }

struct ValuesIndices {
  Tensor values;
  Tensor indices;  // int64
};

namespace detail {

// max/min along one dim, with the gradient routed to the returned index.
inline ValuesIndices extreme_dim(const Tensor& x, std::int64_t dim, bool keepdim, kernels::ReduceOp op,
                                 const char* name) {
  const int d = normalize_dim(dim, x.shape(), name, true);
  const std::vector<int> rdims = x.dim() == 0 ? std::vector<int>{} : std::vector<int>{d};
  auto r = untracked::reduce(x, op, rdims, keepdim, name);
  const Shape x_shape = x.shape();
  Tensor idx = r.indices;
  record(name, r.values, {x}, [x_shape, rdims, idx, d](const Tensor& g) -> std::vector<Tensor> {
    if (rdims.empty()) return {g};
    // one-hot along d: positions == index, as float for the comparison (exact below 2^24).
    Tensor positions =
        arange(0.0, static_cast<double>(x_shape[d]), 1.0, TensorOptions(g.dtype()).with_device(g.device()));
    Shape pos_shape(x_shape.size(), 1);
    pos_shape[d] = x_shape[d];
    positions = view_meta::with_geometry(positions, pos_shape, contiguous_strides(pos_shape), 0);
    Tensor idx_f = untracked::keepdim_view(cast_copy(idx, g.dtype()), x_shape, rdims);
    Tensor hit = untracked::compare("max_backward", kernels::CompareOp::Eq, positions, idx_f);
    Tensor gk = untracked::keepdim_view(g, x_shape, rdims);
    return {untracked::where(hit, view_meta::expand(gk, x_shape), untracked::scalar_like(g, 0.0))};
  });
  return {r.values, r.indices};
}

// max/min over all elements; ties share the gradient evenly.
inline Tensor extreme_all(const Tensor& x, kernels::ReduceOp op, const char* name) {
  std::vector<int> rdims;
  for (int d = 0; d < x.dim(); ++d) rdims.push_back(d);
  Tensor y = untracked::reduce(x, op, rdims, false, name).values;
  Tensor x_saved = detach(x);
  Tensor y_saved = detach(y);
  record(name, y, {x}, [x_saved, y_saved](const Tensor& g) -> std::vector<Tensor> {
    Tensor hit = untracked::compare("max_backward", kernels::CompareOp::Eq, x_saved, y_saved);
    Tensor hit_f = cast_copy(hit, g.dtype());
    std::vector<int> all;
    for (int d = 0; d < hit_f.dim(); ++d) all.push_back(d);
    Tensor count = untracked::reduce(hit_f, kernels::ReduceOp::Sum, all, false, "max_backward").values;
    Tensor share = untracked::binary("max_backward", kernels::BinaryOp::Div, g, count);
    return {untracked::binary("max_backward", kernels::BinaryOp::Mul, hit_f, share)};
  });
  return y;
}

}  // namespace detail

inline Tensor max(const Tensor& x) { return detail::extreme_all(x, kernels::ReduceOp::Max, "max"); }
inline Tensor min(const Tensor& x) { return detail::extreme_all(x, kernels::ReduceOp::Min, "min"); }
inline ValuesIndices max(const Tensor& x, std::int64_t dim, bool keepdim = false) {
  return detail::extreme_dim(x, dim, keepdim, kernels::ReduceOp::Max, "max");
}
inline ValuesIndices min(const Tensor& x, std::int64_t dim, bool keepdim = false) {
  return detail::extreme_dim(x, dim, keepdim, kernels::ReduceOp::Min, "min");
}

// Index of the first maximum along dim (int64).
inline Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false) {
  const int d = normalize_dim(dim, x.shape(), "argmax", true);
  return untracked::reduce(x, kernels::ReduceOp::Max, x.dim() == 0 ? std::vector<int>{} : std::vector<int>{d}, keepdim,
                           "argmax")
      .indices;
}
// Index of the first maximum in the flattened tensor (0-dim int64).
inline Tensor argmax(const Tensor& x) {
  std::vector<int> all;
  for (int d = 0; d < x.dim(); ++d) all.push_back(d);
  return untracked::reduce(x, kernels::ReduceOp::Max, all, false, "argmax").indices;
}
// Index of the first minimum in the flattened tensor (0-dim int64).
inline Tensor argmin(const Tensor& x) {
  std::vector<int> all;
  for (int d = 0; d < x.dim(); ++d) all.push_back(d);
  return untracked::reduce(x, kernels::ReduceOp::Min, all, false, "argmin").indices;
}
inline Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim = false) {
  const int d = normalize_dim(dim, x.shape(), "argmin", true);
  return untracked::reduce(x, kernels::ReduceOp::Min, x.dim() == 0 ? std::vector<int>{} : std::vector<int>{d}, keepdim,
                           "argmin")
      .indices;
}

}  // namespace anima
