// anima/ops/view.hpp — differentiable views: reshape/view, flatten, permute, transpose, slice,
// narrow, squeeze, unsqueeze, expand. A view shares x's storage (reshape copies only when the
// strides make a view impossible, as PyTorch).
//
// Backward rules (g = dL/dy):
//   reshape/flatten/squeeze/unsqueeze: dL/dx = g reshaped to x.shape
//   permute(p):                        dL/dx = permute(g, p⁻¹); transpose is its own inverse
//   slice/narrow along d:              dL/dx = zeros(x.shape) with g written into the sliced range
//   expand:                            dL/dx = sum_to(g, x.shape)
#pragma once

#include <cstdint>
#include <vector>

#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/view_meta.hpp>
#include <anima/ops/copy_ops.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/reduce.hpp>

namespace anima {

namespace detail {
// g (any layout) re-viewed with `shape` (same element count).
inline Tensor reshape_untracked(const Tensor& g, const Shape& shape) {
  if (auto strides = view_meta::view_strides(g, shape)) return view_meta::with_geometry(g, shape, *strides, g.offset());
  Tensor c = contiguous_copy(g);
  return view_meta::with_geometry(c, shape, contiguous_strides(shape), 0);
}
}  // namespace detail

// x with a new shape (one entry may be -1); a view when the strides allow, else a copy.
inline Tensor reshape(const Tensor& x, const Shape& shape) {
  const Shape target = view_meta::infer_shape(shape, x.numel(), "reshape", x.shape());
  Tensor y = detail::reshape_untracked(x, target);
  const Shape x_shape = x.shape();
  record("reshape", y, {x},
         [x_shape](const Tensor& g) -> std::vector<Tensor> { return {detail::reshape_untracked(g, x_shape)}; });
  return y;
}

// Like reshape, but fails instead of copying (torch.Tensor.view).
inline Tensor view(const Tensor& x, const Shape& shape) {
  const Shape target = view_meta::infer_shape(shape, x.numel(), "view", x.shape());
  ANIMA_CHECK(view_meta::view_strides(x, target).has_value(), "view", "a tensor of shape ", shape_str(x.shape()),
              " and strides ", shape_str(x.strides()), " cannot be viewed as ", shape_str(target),
              " without a copy (use reshape)");
  return reshape(x, target);
}

// Merges dims start..end (inclusive) into one.
inline Tensor flatten(const Tensor& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1) {
  if (x.dim() == 0) return reshape(x, {1});
  const int s = normalize_dim(start_dim, x.shape(), "flatten"), e = normalize_dim(end_dim, x.shape(), "flatten");
  ANIMA_CHECK(s <= e, "flatten", "start_dim ", s, " is after end_dim ", e);
  Shape shape;
  std::int64_t merged = 1;
  for (int d = 0; d < x.dim(); ++d) {
    if (d < s || d > e) {
      shape.push_back(x.shape()[d]);
    } else {
      merged *= x.shape()[d];
      if (d == e) shape.push_back(merged);
    }
  }
  return reshape(x, shape);
}

inline Tensor permute(const Tensor& x, const std::vector<std::int64_t>& dims) {
  Tensor y = view_meta::permute(x, dims);
  std::vector<std::int64_t> inverse(dims.size());
  for (std::size_t i = 0; i < dims.size(); ++i)
    inverse[normalize_dim(dims[i], x.shape(), "permute")] = static_cast<std::int64_t>(i);
  record("permute", y, {x},
         [inverse](const Tensor& g) -> std::vector<Tensor> { return {view_meta::permute(g, inverse)}; });
  return y;
}

inline Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1) {
  Tensor y = view_meta::transpose(x, dim0, dim1);
  record("transpose", y, {x},
         [dim0, dim1](const Tensor& g) -> std::vector<Tensor> { return {view_meta::transpose(g, dim0, dim1)}; });
  return y;
}

namespace detail {
inline Tensor slice_backward(const Tensor& g, const Shape& x_shape, int d, std::int64_t start, std::int64_t end,
                             std::int64_t step) {
  Tensor gx = zeros(x_shape, TensorOptions(g.dtype()).with_device(g.device()));
  copy_into(view_meta::slice(gx, d, start, end, step), g);
  return gx;
}
}  // namespace detail

// Python-style x[start:end:step] along dim (negative start/end count from the end; clamped).
inline Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) {
  Tensor y = view_meta::slice(x, dim, start, end, step);
  const int d = normalize_dim(dim, x.shape(), "slice");
  // The view's offset tells where it starts, whatever negative/clamped arguments were given.
  const std::int64_t begin =
      x.shape()[d] == 0 || y.shape()[d] == 0 || x.strides()[d] == 0 ? 0 : (y.offset() - x.offset()) / x.strides()[d];
  const std::int64_t stop = begin + (y.shape()[d] - 1) * step + 1;
  const Shape x_shape = x.shape();
  record("slice", y, {x}, [x_shape, d, begin, stop, step](const Tensor& g) -> std::vector<Tensor> {
    return {detail::slice_backward(g, x_shape, d, begin, g.shape()[d] == 0 ? begin : stop, step)};
  });
  return y;
}

// `length` elements from `start` along dim (errors when out of range).
inline Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
  Tensor y = view_meta::narrow(x, dim, start, length);
  const int d = normalize_dim(dim, x.shape(), "narrow");
  const Shape x_shape = x.shape();
  record("narrow", y, {x}, [x_shape, d, start, length](const Tensor& g) -> std::vector<Tensor> {
    return {detail::slice_backward(g, x_shape, d, start, start + length, 1)};
  });
  return y;
}

inline Tensor unsqueeze(const Tensor& x, std::int64_t dim) {
  Tensor y = view_meta::unsqueeze(x, dim);
  const Shape x_shape = x.shape();
  record("unsqueeze", y, {x},
         [x_shape](const Tensor& g) -> std::vector<Tensor> { return {detail::reshape_untracked(g, x_shape)}; });
  return y;
}

inline Tensor squeeze(const Tensor& x, std::int64_t dim) {
  Tensor y = view_meta::squeeze(x, dim);
  const Shape x_shape = x.shape();
  record("squeeze", y, {x},
         [x_shape](const Tensor& g) -> std::vector<Tensor> { return {detail::reshape_untracked(g, x_shape)}; });
  return y;
}

inline Tensor squeeze(const Tensor& x) {
  Tensor y = view_meta::squeeze(x);
  const Shape x_shape = x.shape();
  record("squeeze", y, {x},
         [x_shape](const Tensor& g) -> std::vector<Tensor> { return {detail::reshape_untracked(g, x_shape)}; });
  return y;
}

inline Tensor expand(const Tensor& x, const Shape& shape) {
  Tensor y = view_meta::expand(x, shape);
  const Shape x_shape = x.shape();
  record("expand", y, {x},
         [x_shape](const Tensor& g) -> std::vector<Tensor> { return {untracked::sum_to(g, x_shape)}; });
  return y;
}

}  // namespace anima
