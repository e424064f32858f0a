// anima/ops/concat.hpp — concat (torch.cat) and split (torch.split with an int or a list of sizes).
//
// concat(xs, d): y = [x_0 | x_1 | ... ] along d; every x_i has the same shape except along d, the same
//   dtype and device. y is a fresh contiguous tensor; each x_i is written into its slice of y by
//   copy_into. Backward: dL/dx_i = narrow(g, d, start_i, x_i.shape[d]) (a view of g, no copy).
// split(x, size, d): views narrow(x, d, k·size, min(size, rest)) for k = 0, 1, ... (the last one may be
//   shorter); split(x, sizes, d): consecutive views of sizes[i] elements (Σ sizes == x.shape[d]).
//   Views are differentiable through narrow (anima/ops/view.hpp): dL/dx = zeros with g written into
//   the slice, summed over the pieces used.
// Determinism: copies only: bitwise reproducible.
#pragma once

#include <cstdint>
#include <vector>

#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/shape.hpp>
#include <anima/core/tensor.hpp>
#include <anima/core/view_meta.hpp>
#include <anima/ops/view.hpp>

namespace anima {

inline Tensor concat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  ANIMA_CHECK(!tensors.empty(), "concat", "expected a non-empty list of tensors");
  for (std::size_t i = 0; i < tensors.size(); ++i)
    ANIMA_CHECK(tensors[i].defined(), "concat", "tensor ", i, " is undefined");
  const Tensor& first = tensors[0];
  ANIMA_CHECK(first.dim() >= 1, "concat", "zero-dimensional tensor (at position 0) cannot be concatenated");
  const int d = normalize_dim(dim, first.shape(), "concat");
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    ANIMA_CHECK(t.device() == first.device(), "concat", "tensor ", i, " ", shape_str(t.shape()), " is on ",
                t.device().str(), " but tensor 0 ", shape_str(first.shape()), " is on ", first.device().str());
    ANIMA_CHECK(t.dtype() == first.dtype(), "concat", "tensor ", i, " ", shape_str(t.shape()), " is ",
                dtype_name(t.dtype()), " but tensor 0 ", shape_str(first.shape()), " is ", dtype_name(first.dtype()));
    bool same = t.dim() == first.dim();
    for (int k = 0; same && k < first.dim(); ++k) same = k == d || t.shape()[k] == first.shape()[k];
    ANIMA_CHECK(same, "concat", "tensor ", i, " ", shape_str(t.shape()), " and tensor 0 ", shape_str(first.shape()),
                " must have the same shape except in dim ", d);
    out_shape[d] += t.shape()[d];
  }
  Tensor y = Tensor::empty(out_shape, TensorOptions(first.dtype()).with_device(first.device()));
  std::vector<std::int64_t> starts, lengths;
  std::int64_t start = 0;
  for (const Tensor& t : tensors) {
    const std::int64_t len = t.shape()[d];
    copy_into(view_meta::narrow(y, d, start, len), t);
    starts.push_back(start);
    lengths.push_back(len);
    start += len;
  }
  record("concat", y, tensors, [d, starts, lengths](const Tensor& g) -> std::vector<Tensor> {
    std::vector<Tensor> gs;
    for (std::size_t i = 0; i < starts.size(); ++i) gs.push_back(view_meta::narrow(g, d, starts[i], lengths[i]));
    return gs;
  });
  return y;
}

// Consecutive views of `sizes[i]` elements along dim (torch.split with a list).
inline std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim) {
  ANIMA_CHECK(x.dim() >= 1, "split", "cannot split a zero-dimensional tensor");
  const int d = normalize_dim(dim, x.shape(), "split");
  std::int64_t total = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    ANIMA_CHECK(sizes[i] >= 0, "split", "size ", i, " is negative (", sizes[i], ")");
    total += sizes[i];
  }
  ANIMA_CHECK(total == x.shape()[d], "split", "sizes sum to ", total, " but input ", shape_str(x.shape()), " has ",
              x.shape()[d], " elements in dim ", d);
  std::vector<Tensor> out;
  std::int64_t start = 0;
  for (const std::int64_t s : sizes) {
    out.push_back(narrow(x, d, start, s));
    start += s;
  }
  return out;
}

// Views of `split_size` elements along dim, the last one shorter when it does not divide (torch.split).
inline std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim) {
  ANIMA_CHECK(x.dim() >= 1, "split", "cannot split a zero-dimensional tensor");
  const int d = normalize_dim(dim, x.shape(), "split");
  const std::int64_t n = x.shape()[d];
  ANIMA_CHECK(split_size > 0 || (split_size == 0 && n == 0), "split", "split_size must be positive, got ", split_size,
              " for input ", shape_str(x.shape()));
  std::vector<std::int64_t> sizes;
  if (n == 0) {
    sizes.push_back(0);  // torch.split of an empty dim returns one empty piece
  } else {
    for (std::int64_t s = 0; s < n; s += split_size) sizes.push_back(split_size < n - s ? split_size : n - s);
  }
  return split(x, sizes, d);
}

}  // namespace anima
