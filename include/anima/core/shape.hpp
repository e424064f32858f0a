// anima/core/shape.hpp — shapes, strides and the rules that relate them.
//
// Strides are in elements (not bytes). A contiguous (row-major) tensor of shape [d0, ..., dn-1] has
// stride[i] = d(i+1) * ... * d(n-1). Broadcasting follows NumPy/PyTorch: shapes are aligned at the
// right, and each pair of sizes must be equal or one of them 1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <anima/core/error.hpp>

namespace anima {

using Shape = std::vector<std::int64_t>;

inline std::int64_t numel_of(const Shape& s) {
  std::int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

inline Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  std::int64_t acc = 1;
  for (std::size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i] > 0 ? s[i] : 1;
  }
  return st;
}

inline std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

// Wraps a possibly negative dim into [0, ndim); throws naming the op otherwise.
inline int normalize_dim(std::int64_t dim, std::int64_t ndim, const char* op) {
  ANIMA_CHECK(dim >= -ndim && dim < ndim, op, "dim ", dim, " is out of range for a tensor with ", ndim,
              " dimensions (expected ", -ndim, " <= dim < ", ndim, ")");
  return static_cast<int>(dim < 0 ? dim + ndim : dim);
}

// normalize_dim for a tensor of `shape`, naming the shape in the error. `scalar_as_vector` lets a 0-dim
// tensor accept dim 0 / -1, as PyTorch's reductions do.
inline int normalize_dim(std::int64_t dim, const Shape& shape, const char* op, bool scalar_as_vector = false) {
  std::int64_t ndim = static_cast<std::int64_t>(shape.size());
  if (scalar_as_vector && ndim == 0) ndim = 1;
  ANIMA_CHECK(dim >= -ndim && dim < ndim, op, "dim ", dim, " is out of range for a tensor of shape ", shape_str(shape),
              " (expected ", -ndim, " <= dim < ", ndim, ")");
  return static_cast<int>(dim < 0 ? dim + ndim : dim);
}

// Same as normalize_dim, but for positions where dim == ndim is allowed (unsqueeze).
inline int normalize_insert_dim(std::int64_t dim, const Shape& shape, const char* op) {
  const std::int64_t ndim = static_cast<std::int64_t>(shape.size()) + 1;
  ANIMA_CHECK(dim >= -ndim && dim < ndim, op, "dim ", dim, " is out of range for inserting into a tensor of shape ",
              shape_str(shape), " (expected ", -ndim, " <= dim < ", ndim, ")");
  return static_cast<int>(dim < 0 ? dim + ndim : dim);
}

inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t n = a.size() > b.size() ? a.size() : b.size();
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    ANIMA_CHECK(da == db || da == 1 || db == 1, op, "shapes ", shape_str(a), " and ", shape_str(b),
                " cannot be broadcast together (dimension ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace anima
