// anima/core/view_meta.hpp — views as pure metadata (new shape/strides/offset over the same storage),
// with the argument checks. No autograd: the differentiable views in anima/ops/view.hpp wrap these,
// and backward rules use them directly.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/core/shape.hpp>
#include <anima/core/tensor.hpp>

namespace anima::view_meta {

inline Tensor with_geometry(const Tensor& t, Shape shape, Shape strides, std::int64_t offset) {
  return Tensor::view_of(t.storage(), t.dtype(), std::move(shape), std::move(strides), offset);
}

// Resolves one -1 in a requested shape and checks the element count.
inline Shape infer_shape(const Shape& requested, std::int64_t numel, const char* op, const Shape& from) {
  Shape s = requested;
  std::int64_t known = 1;
  int infer = -1;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      ANIMA_CHECK(infer < 0, op, "only one dimension can be -1, got ", shape_str(requested));
      infer = static_cast<int>(i);
    } else {
      ANIMA_CHECK(s[i] >= 0, op, "invalid size ", s[i], " in shape ", shape_str(requested));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    ANIMA_CHECK(known > 0 && numel % known == 0, op, "cannot reshape ", shape_str(from), " (", numel, " elements) to ",
                shape_str(requested));
    s[infer] = numel / known;
  }
  ANIMA_CHECK(numel_of(s) == numel, op, "cannot reshape ", shape_str(from), " (", numel, " elements) to ",
              shape_str(requested), " (", numel_of(s), " elements)");
  return s;
}

// Strides for viewing t with `shape` without copying, if possible (PyTorch's computeStride rule:
// every run of merged/split dimensions must be contiguous within itself).
inline std::optional<Shape> view_strides(const Tensor& t, const Shape& shape) {
  const Shape& old_shape = t.shape();
  const Shape& old_strides = t.strides();
  if (t.numel() == 0 || old_shape.empty()) return contiguous_strides(shape);
  if (t.is_contiguous()) return contiguous_strides(shape);
  Shape strides(shape.size());
  std::int64_t view_d = static_cast<std::int64_t>(shape.size()) - 1;
  std::int64_t chunk_base_stride = old_strides.back();
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (std::int64_t d = static_cast<std::int64_t>(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return strides;
}

inline Tensor permute(const Tensor& t, const std::vector<std::int64_t>& dims) {
  const std::int64_t n = t.dim();
  ANIMA_CHECK(static_cast<std::int64_t>(dims.size()) == n, "permute", "expected ", n, " dims for a tensor of shape ",
              shape_str(t.shape()), ", got ", dims.size());
  Shape shape(n), strides(n);
  std::vector<bool> seen(n, false);
  for (std::int64_t i = 0; i < n; ++i) {
    const int d = normalize_dim(dims[i], t.shape(), "permute");
    ANIMA_CHECK(!seen[d], "permute", "dim ", d, " repeated in the permutation");
    seen[d] = true;
    shape[i] = t.shape()[d];
    strides[i] = t.strides()[d];
  }
  return with_geometry(t, shape, strides, t.offset());
}

inline Tensor transpose(const Tensor& t, std::int64_t d0, std::int64_t d1) {
  const int a = normalize_dim(d0, t.shape(), "transpose"), b = normalize_dim(d1, t.shape(), "transpose");
  Shape shape = t.shape(), strides = t.strides();
  std::swap(shape[a], shape[b]);
  std::swap(strides[a], strides[b]);
  return with_geometry(t, shape, strides, t.offset());
}

// Elements start, start+step, ... < end along dim (end clamped to the size, as Python slicing).
inline Tensor slice(const Tensor& t, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) {
  const int d = normalize_dim(dim, t.shape(), "slice");
  const std::int64_t size = t.shape()[d];
  ANIMA_CHECK(step > 0, "slice", "step must be positive, got ", step);
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<std::int64_t>(start, 0, size);
  end = std::clamp<std::int64_t>(end, start, size);
  Shape shape = t.shape(), strides = t.strides();
  shape[d] = (end - start + step - 1) / step;
  strides[d] = t.strides()[d] * step;
  return with_geometry(t, shape, strides, t.offset() + start * t.strides()[d]);
}

// `length` elements from `start` along dim; unlike slice, out-of-range arguments are errors.
inline Tensor narrow(const Tensor& t, std::int64_t dim, std::int64_t start, std::int64_t length) {
  const int d = normalize_dim(dim, t.shape(), "narrow");
  const std::int64_t size = t.shape()[d];
  ANIMA_CHECK(start >= 0 && length >= 0 && start + length <= size, "narrow", "start ", start, " and length ", length,
              " are out of range for dim ", d, " of size ", size, " (shape ", shape_str(t.shape()), ")");
  return slice(t, d, start, start + length, 1);
}

inline Tensor unsqueeze(const Tensor& t, std::int64_t dim) {
  const int d = normalize_insert_dim(dim, t.shape(), "unsqueeze");
  Shape shape = t.shape(), strides = t.strides();
  const std::int64_t stride = d < t.dim() ? t.strides()[d] * t.shape()[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return with_geometry(t, shape, strides, t.offset());
}

// Removes dim if its size is 1 (a no-op otherwise, as PyTorch).
inline Tensor squeeze(const Tensor& t, std::int64_t dim) {
  const int d = normalize_dim(dim, t.shape(), "squeeze");
  if (t.shape()[d] != 1) return with_geometry(t, t.shape(), t.strides(), t.offset());
  Shape shape = t.shape(), strides = t.strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return with_geometry(t, shape, strides, t.offset());
}

// Removes every size-1 dim.
inline Tensor squeeze(const Tensor& t) {
  Shape shape, strides;
  for (std::int64_t i = 0; i < t.dim(); ++i)
    if (t.shape()[i] != 1) {
      shape.push_back(t.shape()[i]);
      strides.push_back(t.strides()[i]);
    }
  return with_geometry(t, shape, strides, t.offset());
}

// Broadcasts size-1 dims (and new leading dims) to `shape` with stride 0. -1 keeps a size.
inline Tensor expand(const Tensor& t, const Shape& shape) {
  const std::int64_t n = static_cast<std::int64_t>(shape.size());
  ANIMA_CHECK(n >= t.dim(), "expand", "cannot expand ", shape_str(t.shape()), " to fewer dimensions ",
              shape_str(shape));
  Shape out(n), strides(n);
  const std::int64_t lead = n - t.dim();
  for (std::int64_t i = 0; i < n; ++i) {
    if (i < lead) {
      ANIMA_CHECK(shape[i] >= 0, "expand", "invalid size ", shape[i], " for a new leading dim in ", shape_str(shape));
      out[i] = shape[i];
      strides[i] = 0;
      continue;
    }
    const std::int64_t have = t.shape()[i - lead];
    const std::int64_t want = shape[i] == -1 ? have : shape[i];
    ANIMA_CHECK(want >= 0, "expand", "invalid size ", shape[i], " at dim ", i, " of ", shape_str(shape));
    ANIMA_CHECK(have == want || have == 1, "expand", "cannot expand ", shape_str(t.shape()), " to ", shape_str(shape),
                " (dim ", i, ": size ", have, " is not 1)");
    out[i] = want;
    strides[i] = have == want ? t.strides()[i - lead] : 0;
  }
  return with_geometry(t, out, strides, t.offset());
}

}  // namespace anima::view_meta
