// anima/kernels/interpolate_math.hpp — source indices and weights of 2-D nearest / bilinear resizing,
// and the bilinear sum, shared by the CPU and CUDA kernels (PyTorch 1.13, aten/src/ATen/native/UpSample.h
// and cpu/UpSampleKernel.cpp).
//
// The arithmetic is PyTorch 1.13's CPU kernel's, operation for operation, so that a float32 or float64
// forward is bit-identical to F.interpolate on the CPU (verified against torch 1.13 on NCHW inputs with
// C >= 2; see "C == 1" below). T is the tensor's type; "double" is PyTorch's CPU accumulation type
// (acc_type<float, false> is double).
//
// ratio (source pixels per destination pixel), in T:
//   align_corners:      T(in - 1) / T(out - 1), 0 when out == 1 (a given scale factor is ignored)
//   scale factor s > 0: T(1 / s)  (F.interpolate with recompute_scale_factor None / False passes s down)
//   otherwise:          T(in) / T(out)
// nearest:  src = min(floor(float(ratio · dst)), in - 1)   ("nearest", not "nearest-exact"). The product
//           is formed in T's accumulation type and rounded to float before the floor, as PyTorch's
//           compute_indices_weights (nearest) does: for float exactly the float product; for double the
//           double product rounded once more to float (it can move a source across an integer).
// bilinear, one axis (compute_source_index_and_lambda<T, double>):
//   real = double(ratio)·dst                                (align_corners)
//        = max(fma(double(ratio), dst + 0.5, -0.5), 0)      (half-pixel centres)
//          in DOUBLE: rounding the coordinate to float instead would move a float32 weight by up
//          to half an ulp of the coordinate (~3e-5 at coordinates ~1000). For float the product is exact
//          (24 + 30 bits), so fused and unfused agree; for double PyTorch's AVX2 build fuses it (measured),
//          hence the explicit fma (and no silent contraction by nvcc either way).
//   i0 = min(trunc(real), in - 1) (real >= 0), i1 = i0 + 1 unless i0 is the last index,
//   λ1 = T(clamp(real - i0, 0, 1)) (the difference in double, rounded to T once), λ0 = T(1) - λ1 in T.
//   When out == in the source is the destination (λ0 = 1, λ1 = 0), PyTorch's copy shortcut.
// bilinear sum (bilinear_blend): PyTorch's Interpolate<2> evaluates t0·λ0 + t1·λ1 per axis, which its
//   build contracts to one fma (measured; a plain sum, or the other product fused, differs in ~40% of the
//   outputs by 1-2 ulp):
//     t0 = fma(x[i0h, i0w], λ0w, x[i0h, i1w]·λ1w),  t1 = fma(x[i1h, i0w], λ0w, x[i1h, i1w]·λ1w),
//     y  = fma(t0, λ0h, t1·λ1h)
//   with each lone product rounded on its own (mul_rn: never contracted by nvcc), so the CUDA kernels
//   give the same bits as the CPU ones.
// The backward (not bit-matched to PyTorch: its scatter order differs) uses the same indices and λs.
// C == 1: PyTorch sends NCHW inputs that are also channels-last contiguous (C == 1, or H == W == 1) to
//   another kernel (cpu_upsample_linear_channels_last / nearest channels-last) with other arithmetic;
//   anima follows the generic kernel above, which can differ from those in the last bit (bilinear) or,
//   for float64 nearest, pick the neighbouring source where float(ratio) and double ratio disagree.
#pragma once

#include <cmath>
#include <cstdint>

#include <anima/kernels/host_device.hpp>
#include <anima/kernels/mul_rn.hpp>

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

// a·b + c rounded once (fmaf / fma: a true fused operation on the host, libm, and on the device).
ANIMA_HD float interp_fma(float a, float b, float c) { return fmaf(a, b, c); }
ANIMA_HD double interp_fma(double a, double b, double c) { return fma(a, b, c); }

template <class T>
ANIMA_HD T interp_ratio(std::int64_t in, std::int64_t out, double scale, bool align_corners) {
  if (align_corners) return out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0);
  if (scale > 0.0) return static_cast<T>(1.0 / scale);
  return static_cast<T>(in) / static_cast<T>(out);
}

template <class T>
ANIMA_HD std::int64_t nearest_source_index(T ratio, std::int64_t dst, std::int64_t in) {
  // ratio·dst in T (float: the exact product rounded to float once; double: rounded to double), then to float.
  const float real = static_cast<float>(mul_rn(ratio, static_cast<T>(dst)));
  const std::int64_t src = static_cast<std::int64_t>(floorf(real));
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
  const double r = static_cast<double>(ratio);
  const double d = static_cast<double>(dst);
  double real = align_corners ? mul_rn(r, d) : interp_fma(r, d + 0.5, -0.5);
  if (real < 0.0) real = 0.0;
  std::int64_t i0 = static_cast<std::int64_t>(real);  // real >= 0: truncation is floor
  if (i0 > in - 1) i0 = in - 1;
  const std::int64_t i1 = i0 < in - 1 ? i0 + 1 : i0;
  double frac = real - static_cast<double>(i0);
  frac = frac < 0.0 ? 0.0 : (frac > 1.0 ? 1.0 : frac);
  const T l1 = static_cast<T>(frac);
  return {i0, i1, T(1) - l1, l1};
}

// One bilinear output from rows i0h (r0) and i1h (r1) of its plane: PyTorch's fused sum (header comment).
template <class T>
ANIMA_HD T bilinear_blend(const T* r0, const T* r1, const LinearTap<T>& th, const LinearTap<T>& tw) {
  const T t0 = interp_fma(r0[tw.i0], tw.l0, mul_rn(r0[tw.i1], tw.l1));
  const T t1 = interp_fma(r1[tw.i0], tw.l0, mul_rn(r1[tw.i1], tw.l1));
  return interp_fma(t0, th.l0, mul_rn(t1, th.l1));
}

}  // namespace anima::kernels
