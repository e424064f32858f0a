// anima/kernels/interpolate_math.hpp — source indices and weights of 2-D nearest / bilinear resizing,
// shared by the CPU and CUDA kernels (PyTorch 1.13, aten/src/ATen/native/UpSample.h).
//
// ratio (source pixels per destination pixel), computed in the tensor's type T as PyTorch does:
//   align_corners:      (in - 1) / (out - 1), 0 when out == 1 (a given scale factor is ignored)
//   scale factor s > 0: 1 / s     (F.interpolate with recompute_scale_factor=None passes s down)
//   otherwise:          in / out
// nearest:  src = min(floor(ratio · dst), in - 1)                       ("nearest", not "nearest-exact")
// bilinear: real = ratio · dst (align_corners) or max(ratio · (dst + 0.5) - 0.5, 0) (half-pixel centres);
//           i0 = floor(real) (real >= 0), i1 = i0 + 1 unless i0 is the last index, λ1 = clamp(real - i0, 0, 1),
//           λ0 = 1 - λ1. When out == in the source is the destination (λ1 = 0), PyTorch's copy shortcut.
#pragma once

#include <cmath>
#include <cstdint>

#include <anima/kernels/host_device.hpp>

namespace anima::kernels {

enum class InterpMode : int { Nearest, Bilinear };

// One resize over `planes` = N·C contiguous [in_h, in_w] planes to [out_h, out_w]. scale_h / scale_w
// are the user's scale factors (0 when the output size was given instead).
struct Interp2dGeometry {
  std::int64_t planes = 0;
  std::int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  double scale_h = 0.0, scale_w = 0.0;
  bool align_corners = false;
};

template <class T>
ANIMA_HD T interp_ratio(std::int64_t in, std::int64_t out, double scale, bool align_corners) {
  if (align_corners) return out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0);
  if (scale > 0.0) return static_cast<T>(1.0 / scale);
  return static_cast<T>(in) / static_cast<T>(out);
}

template <class T>
ANIMA_HD std::int64_t nearest_source_index(T ratio, std::int64_t dst, std::int64_t in) {
  const std::int64_t src = static_cast<std::int64_t>(floor(ratio * static_cast<T>(dst)));
  return src < in - 1 ? src : in - 1;
}

template <class T>
struct LinearTap {
  std::int64_t i0, i1;
  T l0, l1;  // weights of i0 and i1
};

template <class T>
ANIMA_HD LinearTap<T> linear_source(T ratio, std::int64_t dst, std::int64_t in, std::int64_t out, bool align_corners) {
  if (in == out) return {dst, dst, T(1), T(0)};
  T real = align_corners ? ratio * static_cast<T>(dst) : ratio * (static_cast<T>(dst) + T(0.5)) - T(0.5);
  if (real < T(0)) real = T(0);
  const std::int64_t i0 = static_cast<std::int64_t>(real);  // real >= 0: truncation is floor
  const std::int64_t i1 = i0 < in - 1 ? i0 + 1 : i0;
  T l1 = real - static_cast<T>(i0);
  l1 = l1 < T(0) ? T(0) : (l1 > T(1) ? T(1) : l1);
  return {i0, i1, T(1) - l1, l1};
}

}  // namespace anima::kernels
