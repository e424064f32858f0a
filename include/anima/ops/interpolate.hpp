// anima/ops/interpolate.hpp — interpolate (torch.nn.functional.interpolate, PyTorch 1.13) for
// [N, C, H, W] tensors: modes "nearest" and "bilinear".
//
// Output size: `size` as given, or floor(H·scale_h), floor(W·scale_w) for `scale_factor` (exactly one
// of the two; PyTorch's recompute_scale_factor=None, so the kernels use the scale factor itself).
// Source indices (anima/kernels/interpolate_math.hpp), with ratio = 1/scale when a scale factor was
// given, else In/Out (align_corners: (In-1)/(Out-1)):
//   nearest:   y[oh, ow] = x[min(floor(oh·ratio_h), H-1), min(floor(ow·ratio_w), W-1)]
//   bilinear:  src = (dst + 0.5)·ratio - 0.5 clamped at 0 (align_corners false) or dst·ratio (true);
//              y = Σ λh·λw·x over the 2x2 neighbours of src, λ1 = src - floor(src), λ0 = 1 - λ1.
// The forward is bit-identical to PyTorch 1.13's CPU kernel (float32 and float64; coordinates and weights
// formed in double, fused multiply-adds in its order), except for C == 1 inputs, which PyTorch sends to
// its channels-last kernel: see anima/kernels/interpolate_math.hpp.
// Backward (g = dL/dy): the adjoint: nearest adds g[oh, ow] to its source pixel; bilinear adds
//   λh·λw·g to each of the four neighbours. Saves nothing but the geometry.
// Source: PyTorch aten/src/ATen/native/UpSample.h, UpSampleKernel.cpp; kernels in
// anima/kernels/cpu/interpolate.hpp, anima/kernels/cuda/interpolate.cuh.
// Determinism: forward bitwise reproducible on both backends; backward: CPU scatters sequentially per
// plane (deterministic); CUDA scatters with atomicAdd (not run-to-run deterministic in the last bits
// where several outputs share a source pixel).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/tensor.hpp>
#include <anima/backends/cpu/interpolate.hpp>

namespace anima {

enum class InterpolateMode { Nearest, Bilinear };

struct InterpolateOptions {
  std::optional<std::array<std::int64_t, 2>> size;
  std::optional<std::array<double, 2>> scale_factor;  // exactly one of size / scale_factor
  InterpolateMode mode = InterpolateMode::Nearest;
  bool align_corners = false;  // bilinear only
};

// [N, C, H, W] -> [N, C, OH, OW]
inline Tensor interpolate(const Tensor& input, const InterpolateOptions& opts) {
  constexpr const char* op = "interpolate";
  ANIMA_CHECK(input.defined(), op, "the input is undefined");
  const Shape& s = input.shape();
  ANIMA_CHECK(input.dim() == 4, op, "expected a 4-D input [N, C, H, W], got shape ", shape_str(s));
  ANIMA_CHECK(is_floating(input.dtype()), op, "expected a float32 or float64 input, got ", dtype_name(input.dtype()),
              " ", shape_str(s));
  ANIMA_CHECK(input.device().is_cpu() || cuda_is_available(), op, "input ", shape_str(s), " is on ",
              input.device().str(), ", but CUDA is not available here (no CUDA device, or ", kCudaNotRegistered, ")");
  ANIMA_CHECK(opts.size.has_value() != opts.scale_factor.has_value(), op,
              "exactly one of size and scale_factor must be given (input ", shape_str(s), ", got ",
              opts.size ? "both" : "neither", ")");
  ANIMA_CHECK(!opts.align_corners || opts.mode == InterpolateMode::Bilinear, op,
              "align_corners applies to bilinear mode only (input ", shape_str(s), ")");
  ANIMA_CHECK(s[2] > 0 && s[3] > 0, op, "expected non-zero spatial sizes, got input ", shape_str(s));
  kernels::Interp2dGeometry g;
  g.planes = s[0] * s[1];
  g.in_h = s[2];
  g.in_w = s[3];
  g.align_corners = opts.align_corners;
  if (opts.size) {
    g.out_h = (*opts.size)[0];
    g.out_w = (*opts.size)[1];
    ANIMA_CHECK(g.out_h > 0 && g.out_w > 0, op, "size must be positive, got (", g.out_h, ", ", g.out_w, ") for input ",
                shape_str(s));
  } else {
    const auto& sf = *opts.scale_factor;
    ANIMA_CHECK(sf[0] > 0 && sf[1] > 0 && std::isfinite(sf[0]) && std::isfinite(sf[1]), op,
                "scale_factor must be positive and finite, got (", sf[0], ", ", sf[1], ") for input ", shape_str(s));
    g.scale_h = sf[0];
    g.scale_w = sf[1];
    g.out_h = static_cast<std::int64_t>(std::floor(static_cast<double>(g.in_h) * sf[0]));
    g.out_w = static_cast<std::int64_t>(std::floor(static_cast<double>(g.in_w) * sf[1]));
    ANIMA_CHECK(g.out_h > 0 && g.out_w > 0, op, "scale_factor (", sf[0], ", ", sf[1], ") gives an empty output ",
                g.out_h, "x", g.out_w, " for input ", shape_str(s));
  }
  const kernels::InterpMode mode =
      opts.mode == InterpolateMode::Nearest ? kernels::InterpMode::Nearest : kernels::InterpMode::Bilinear;
  const Tensor x = input.is_contiguous() ? input : contiguous_copy(input);
  Tensor y = Tensor::empty({s[0], s[1], g.out_h, g.out_w}, TensorOptions(x.dtype()).with_device(x.device()));
  if (y.numel() > 0) kernel_for<Interpolate2dForwardKernel>(x.device())(x.dtype(), mode, x.raw_data(), g, y.raw_data());
  const Shape x_shape = s;
  record("interpolate", y, {input}, [g, mode, x_shape](const Tensor& grad) -> std::vector<Tensor> {
    const Tensor gy = grad.is_contiguous() ? grad : contiguous_copy(grad);
    Tensor gx = Tensor::empty(x_shape, TensorOptions(gy.dtype()).with_device(gy.device()));
    if (gx.numel() > 0)
      kernel_for<Interpolate2dBackwardKernel>(gy.device())(gy.dtype(), mode, gy.raw_data(), g, gx.raw_data());
    return {gx};
  });
  return y;
}

}  // namespace anima
