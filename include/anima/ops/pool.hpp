// anima/ops/pool.hpp — 2-D pooling over [N, C, H, W]: max_pool2d, avg_pool2d, adaptive_avg_pool2d,
// global_avg_pool2d (PyTorch 1.13's torch.nn.functional semantics, dilation 1).
//
// Shapes: input [N, C, H, W] -> output [N, C, OH, OW] with, per spatial dim (k kernel, s stride
// (0 = k), p padding <= k/2),
//   OH = floor((H + 2p - k + (ceil_mode ? s - 1 : 0)) / s) + 1, minus 1 when ceil_mode would start the
//   last window in the right padding ((OH - 1)·s >= H + p). Window geometry: anima/kernels/pool_math.hpp.
// Forward / backward (g = dL/dy):
//   max_pool2d:  y = max over the window clipped to the input (padding is -inf); saved: the int64
//                arg-max index of each output (first maximum in row-major window order; a NaN wins).
//                dL/dx[idx] += g (several outputs may route to one input when windows overlap).
//   avg_pool2d:  y = Σ window / divisor, divisor = the window's size inside the padded input
//                (count_include_pad, cut where a ceil_mode window runs past H + p) or inside the input
//                (count_include_pad = false). dL/dx[window] += g / divisor. Saves nothing but shapes.
//   adaptive_avg_pool2d(x, [OH, OW]): window rows [floor(i·H/OH), ceil((i+1)·H/OH)) (same for
//                columns), y = mean over the window; dL/dx[window] += g / |window|.
//   global_avg_pool2d: adaptive_avg_pool2d(x, [1, 1]) -> [N, C, 1, 1].
// Source: PyTorch aten/src/ATen/native/{Pool.h, AvgPoolKernel.cpp, MaxPoolKernel.cpp,
// AdaptiveAveragePooling.cpp}; kernels: anima/kernels/cpu/pool.hpp, anima/kernels/cuda/pool.cuh.
// Determinism: forward kernels write each output from its own window: bitwise reproducible. Backward:
// CPU scatters sequentially within each plane, CUDA gathers (each input element sums the outputs that
// read it, in a fixed order, no atomics): both run-to-run deterministic.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/tensor.hpp>
#include <anima/kernels/pool_math.hpp>
#include <anima/backends/cpu/pool.hpp>

namespace anima {

struct Pool2dOptions {
  std::array<std::int64_t, 2> kernel_size{2, 2};
  std::array<std::int64_t, 2> stride{0, 0};  // 0 = kernel_size (PyTorch's default)
  std::array<std::int64_t, 2> padding{0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg_pool2d only
};

namespace detail {

inline std::string pool_pair_str(const std::array<std::int64_t, 2>& a) { return str_cat("(", a[0], ", ", a[1], ")"); }

// Rank, dtype and device of a pooling input.
inline void check_pool_input(const Tensor& x, const char* op) {
  ANIMA_CHECK(x.defined(), op, "the input is undefined");
  ANIMA_CHECK(x.dim() == 4, op, "expected a 4-D input [N, C, H, W], got shape ", shape_str(x.shape()));
  ANIMA_CHECK(is_floating(x.dtype()), op, "expected a float32 or float64 input, got ", dtype_name(x.dtype()), " ",
              shape_str(x.shape()));
  // As PyTorch: only the batch may be empty.
  ANIMA_CHECK(x.shape()[1] > 0 && x.shape()[2] > 0 && x.shape()[3] > 0, op,
              "expected non-zero channel and spatial sizes, got input ", shape_str(x.shape()));
  ANIMA_CHECK(x.device().is_cpu() || cuda_is_available(), op, "input ", shape_str(x.shape()), " is on ",
              x.device().str(), ", but CUDA is not available here (no CUDA device, or ", kCudaNotRegistered, ")");
}

inline kernels::Pool2dGeometry pool2d_geometry(const Tensor& x, const Pool2dOptions& o, const char* op) {
  check_pool_input(x, op);
  const Shape& s = x.shape();
  kernels::Pool2dGeometry g;
  g.planes = s[0] * s[1];
  g.in_h = s[2];
  g.in_w = s[3];
  for (int d = 0; d < 2; ++d) {
    ANIMA_CHECK(o.kernel_size[d] > 0, op, "kernel_size must be positive, got ", pool_pair_str(o.kernel_size),
                " for input ", shape_str(s));
    ANIMA_CHECK(o.stride[d] >= 0, op, "stride must be positive (or 0 for the kernel size), got ",
                pool_pair_str(o.stride), " for input ", shape_str(s));
    ANIMA_CHECK(o.padding[d] >= 0, op, "padding must be non-negative, got ", pool_pair_str(o.padding), " for input ",
                shape_str(s));
    ANIMA_CHECK(o.padding[d] <= o.kernel_size[d] / 2, op, "padding ", pool_pair_str(o.padding),
                " should be at most half of kernel_size ", pool_pair_str(o.kernel_size), " (input ", shape_str(s), ")");
  }
  g.kernel_h = o.kernel_size[0];
  g.kernel_w = o.kernel_size[1];
  g.stride_h = o.stride[0] == 0 ? o.kernel_size[0] : o.stride[0];
  g.stride_w = o.stride[1] == 0 ? o.kernel_size[1] : o.stride[1];
  g.pad_h = o.padding[0];
  g.pad_w = o.padding[1];
  g.out_h = kernels::pool_output_size(g.in_h, g.kernel_h, g.stride_h, g.pad_h, o.ceil_mode);
  g.out_w = kernels::pool_output_size(g.in_w, g.kernel_w, g.stride_w, g.pad_w, o.ceil_mode);
  ANIMA_CHECK(g.out_h >= 1 && g.out_w >= 1, op, "kernel_size ", pool_pair_str(o.kernel_size),
              " is larger than the padded input: input ", shape_str(s), " with padding ", pool_pair_str(o.padding),
              " gives an output of ", g.out_h, "x", g.out_w);
  return g;
}

inline Shape pool_output_shape(const Tensor& x, const kernels::Pool2dGeometry& g) {
  return {x.shape()[0], x.shape()[1], g.out_h, g.out_w};
}

inline Tensor pool_contiguous(const Tensor& t) { return t.is_contiguous() ? t : contiguous_copy(t); }

}  // namespace detail

// [N, C, H, W] -> [N, C, OH, OW]
inline Tensor max_pool2d(const Tensor& input, const Pool2dOptions& opts) {
  const kernels::Pool2dGeometry g = detail::pool2d_geometry(input, opts, "max_pool2d");
  const Tensor x = detail::pool_contiguous(input);  // [N, C, H, W]
  const TensorOptions to = TensorOptions(x.dtype()).with_device(x.device());
  Tensor y = Tensor::empty(detail::pool_output_shape(x, g), to);                               // [N, C, OH, OW]
  Tensor idx = Tensor::empty(y.shape(), TensorOptions(DType::Int64).with_device(x.device()));  // [N, C, OH, OW]
  if (y.numel() > 0)
    kernel_for<MaxPool2dForwardKernel>(x.device())(x.dtype(), x.raw_data(), g, y.raw_data(), idx.data<std::int64_t>());
  const Shape x_shape = x.shape();
  record("max_pool2d", y, {input}, [g, idx, x_shape](const Tensor& grad) -> std::vector<Tensor> {
    const Tensor gy = detail::pool_contiguous(grad);
    Tensor gx = Tensor::empty(x_shape, TensorOptions(gy.dtype()).with_device(gy.device()));
    if (gx.numel() > 0)
      kernel_for<MaxPool2dBackwardKernel>(gy.device())(gy.dtype(), gy.raw_data(), idx.data<std::int64_t>(), g,
                                                       gx.raw_data());
    return {gx};
  });
  return y;
}

// [N, C, H, W] -> [N, C, OH, OW]
inline Tensor avg_pool2d(const Tensor& input, const Pool2dOptions& opts) {
  const kernels::Pool2dGeometry g = detail::pool2d_geometry(input, opts, "avg_pool2d");
  const Tensor x = detail::pool_contiguous(input);
  Tensor y = Tensor::empty(detail::pool_output_shape(x, g), TensorOptions(x.dtype()).with_device(x.device()));
  const bool include_pad = opts.count_include_pad;
  if (y.numel() > 0)
    kernel_for<AvgPool2dForwardKernel>(x.device())(x.dtype(), x.raw_data(), g, include_pad, y.raw_data());
  const Shape x_shape = x.shape();
  record("avg_pool2d", y, {input}, [g, include_pad, x_shape](const Tensor& grad) -> std::vector<Tensor> {
    const Tensor gy = detail::pool_contiguous(grad);
    Tensor gx = Tensor::empty(x_shape, TensorOptions(gy.dtype()).with_device(gy.device()));
    if (gx.numel() > 0)
      kernel_for<AvgPool2dBackwardKernel>(gy.device())(gy.dtype(), gy.raw_data(), g, include_pad, gx.raw_data());
    return {gx};
  });
  return y;
}

// [N, C, H, W] -> [N, C, output_size[0], output_size[1]]
inline Tensor adaptive_avg_pool2d(const Tensor& input, std::array<std::int64_t, 2> output_size) {
  detail::check_pool_input(input, "adaptive_avg_pool2d");
  const Shape& s = input.shape();
  ANIMA_CHECK(output_size[0] > 0 && output_size[1] > 0, "adaptive_avg_pool2d", "output_size must be positive, got ",
              detail::pool_pair_str(output_size), " for input ", shape_str(s));
  kernels::Pool2dGeometry g;
  g.planes = s[0] * s[1];
  g.in_h = s[2];
  g.in_w = s[3];
  g.out_h = output_size[0];
  g.out_w = output_size[1];
  const Tensor x = detail::pool_contiguous(input);
  Tensor y = Tensor::empty(detail::pool_output_shape(x, g), TensorOptions(x.dtype()).with_device(x.device()));
  if (y.numel() > 0) kernel_for<AdaptiveAvgPool2dForwardKernel>(x.device())(x.dtype(), x.raw_data(), g, y.raw_data());
  const Shape x_shape = x.shape();
  record("adaptive_avg_pool2d", y, {input}, [g, x_shape](const Tensor& grad) -> std::vector<Tensor> {
    const Tensor gy = detail::pool_contiguous(grad);
    Tensor gx = Tensor::empty(x_shape, TensorOptions(gy.dtype()).with_device(gy.device()));
    if (gx.numel() > 0)
      kernel_for<AdaptiveAvgPool2dBackwardKernel>(gy.device())(gy.dtype(), gy.raw_data(), g, gx.raw_data());
    return {gx};
  });
  return y;
}

// [N, C, H, W] -> [N, C, 1, 1]
inline Tensor global_avg_pool2d(const Tensor& input) {
  detail::check_pool_input(input, "global_avg_pool2d");
  return adaptive_avg_pool2d(input, {1, 1});
}

}  // namespace anima
