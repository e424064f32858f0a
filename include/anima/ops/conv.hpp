// anima/ops/conv.hpp — 2-D convolution and transposed convolution (torch.nn.functional.conv2d /
// conv_transpose2d semantics, NCHW).
//
// conv2d: x [N, C, H, W], w [O, C/groups, kh, kw], b [O] (optional) -> y [N, O, Ho, Wo],
//   Ho = floor((H + 2·ph − dh·(kh − 1) − 1) / sh) + 1   (Wo likewise)
//   y[n,o,oh,ow] = b[o] + Σ_{c < C/g, i, j} x[n, g·C/g + c, oh·sh − ph + i·dh, ow·sw − pw + j·dw] · w[o,c,i,j]
//   with g = o / (O/groups) and zero padding. As a matrix product per image and group (im2col):
//   Y_g = W_g · cols_g, so
//     dX = col2im(W_gᵀ · dY_g)          (Conv2dBackwardDataKernel, the adjoint of the forward in x)
//     dW_g = Σ_n dY_g · cols_gᵀ         (Conv2dBackwardFilterKernel)
//     db[o] = Σ_{n, oh, ow} dY[n, o, oh, ow]
//   Saved: x and w (b is not needed). Explicit backward (a fused op, not a composite).
//
// conv_transpose2d: x [N, Cin, H, W], w [Cin, Cout/groups, kh, kw] (PyTorch layout), b [Cout] ->
//   y [N, Cout, Hout, Wout], Hout = (H − 1)·sh − 2·ph + dh·(kh − 1) + output_padding_h + 1.
//   It is the adjoint of the conv2d (input [N, Cout, Hout, Wout], weight w read as [O = Cin, Cout/groups,
//   kh, kw], output [N, Cin, H, W]) with the same stride/padding/dilation/groups, so it reuses that
//   conv's kernels with the roles swapped:
//     y  = conv2d_backward_data(x, w) + b
//     dx = conv2d_forward(dy, w)               dw = conv2d_backward_filter(input = dy, grad_output = x)
//     db = Σ_{n, h, w} dy
//   output_padding only adds rows/columns at the bottom/right that the conv never reads back (they
//   get the bias only); it must be smaller than stride or dilation (as in PyTorch).
//
// Sources: Chellapilla et al. 2006 (im2col); Dumoulin & Visin, "A guide to convolution arithmetic for
// deep learning", 2016 (transposed convolution as the adjoint).
// Algorithms (Conv2dOptions::algorithms, one choice per backend; anima/backends/conv_algorithms.hpp):
// CPU Reference / Im2colGemm / Depthwise, CUDA Cudnn / ImplicitGemm (its backward runs on cuDNN). The
// backward uses the algorithms of the forward. conv_transpose2d always uses Auto.
// Determinism: CPU run-to-run deterministic for a fixed thread count. CUDA: cuDNN's algorithm comes
// from its heuristic per shape; some backward-data/filter algorithms accumulate with atomics and are
// not bitwise reproducible; the implicit-GEMM forward is deterministic.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/tensor.hpp>
#include <anima/kernels/conv_math.hpp>
#include <anima/backends/cpu/conv.hpp>
#include <anima/ops/elementwise_untracked.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

namespace anima {

struct Conv2dOptions {
  std::array<std::int64_t, 2> stride{1, 1};
  std::array<std::int64_t, 2> padding{0, 0};
  std::array<std::int64_t, 2> dilation{1, 1};
  std::int64_t groups = 1;
  ConvAlgorithms algorithms{};  // per backend (anima/backends/conv_algorithms.hpp); Auto: each backend's fastest
};

struct ConvTranspose2dOptions {
  std::array<std::int64_t, 2> stride{1, 1};
  std::array<std::int64_t, 2> padding{0, 0};
  std::array<std::int64_t, 2> output_padding{0, 0};
  std::array<std::int64_t, 2> dilation{1, 1};
  std::int64_t groups = 1;
};

namespace detail {

inline Tensor conv_contiguous(const Tensor& t) { return t.is_contiguous() ? t : contiguous_copy(t); }

inline void conv_check_options(const char* op, const std::array<std::int64_t, 2>& stride,
                               const std::array<std::int64_t, 2>& padding, const std::array<std::int64_t, 2>& dilation,
                               std::int64_t groups) {
  for (int a = 0; a < 2; ++a) {
    ANIMA_CHECK(stride[a] > 0, op, "stride must be positive, got [", stride[0], ", ", stride[1], "]");
    ANIMA_CHECK(dilation[a] > 0, op, "dilation must be positive, got [", dilation[0], ", ", dilation[1], "]");
    ANIMA_CHECK(padding[a] >= 0, op, "padding must be >= 0, got [", padding[0], ", ", padding[1], "]");
  }
  ANIMA_CHECK(groups > 0, op, "groups must be positive, got ", groups);
}

// Rank, dtype, device, bias and hyper-parameter checks shared by conv2d and conv_transpose2d. They run
// before any memory is touched (a fake CUDA tensor must fail here, not in a kernel).
inline void conv_check_common(const char* op, const Tensor& x, const Tensor& w, const Tensor& b,
                              const std::array<std::int64_t, 2>& stride, const std::array<std::int64_t, 2>& padding,
                              const std::array<std::int64_t, 2>& dilation, std::int64_t groups) {
  ANIMA_CHECK(x.defined() && w.defined(), op, "input and weight must be defined tensors");
  ANIMA_CHECK(x.dim() == 4, op, "input must be 4-D [N, C, H, W], got ", shape_str(x.shape()));
  ANIMA_CHECK(w.dim() == 4, op, "weight must be 4-D, got ", shape_str(w.shape()));
  ANIMA_CHECK(x.device() == w.device(), op, "input is on ", x.device().str(), " but weight is on ", w.device().str());
  ANIMA_CHECK(x.dtype() == w.dtype(), op, "input is ", dtype_name(x.dtype()), " but weight is ", dtype_name(w.dtype()));
  ANIMA_CHECK(is_floating(x.dtype()), op, "expected float32 or float64 tensors, got ", dtype_name(x.dtype()));
  if (b.defined()) {
    ANIMA_CHECK(b.device() == x.device(), op, "input is on ", x.device().str(), " but bias is on ", b.device().str());
    ANIMA_CHECK(b.dtype() == x.dtype(), op, "input is ", dtype_name(x.dtype()), " but bias is ", dtype_name(b.dtype()));
  }
  conv_check_options(op, stride, padding, dilation, groups);
  for (auto s : w.shape()) ANIMA_CHECK(s > 0, op, "weight ", shape_str(w.shape()), " has a zero-sized dimension");
  ANIMA_CHECK(x.shape()[1] > 0 && x.shape()[2] > 0 && x.shape()[3] > 0, op, "input ", shape_str(x.shape()),
              " has a zero-sized channel or spatial dimension");
}

inline Tensor conv_empty(const Shape& shape, const Tensor& like) {
  return Tensor::empty(shape, TensorOptions(like.dtype()).with_device(like.device()));
}

// y = forward(x, w) + b through the tag (no autograd). x, w contiguous.
inline Tensor conv2d_forward_untracked(const kernels::Conv2dGeometry& p, const ConvAlgorithms& alg, const Tensor& x,
                                       const Tensor& w, const Tensor& b) {
  Tensor y = conv_empty({p.N, p.O, p.Ho, p.Wo}, x);
  if (y.numel() == 0) return y;
  kernel_for<Conv2dForwardKernel>(x.device())(x.dtype(), alg, p, x.raw_data(), w.raw_data(),
                                              b.defined() ? b.raw_data() : nullptr, y.raw_data());
  return y;
}

// dx [N, C, H, W] = conv's adjoint in x applied to dy [N, O, Ho, Wo].
inline Tensor conv2d_backward_data_untracked(const kernels::Conv2dGeometry& p, const ConvAlgorithms& alg,
                                             const Tensor& dy, const Tensor& w) {
  if (p.N == 0) return zeros({p.N, p.C, p.H, p.W}, TensorOptions(dy.dtype()).with_device(dy.device()));
  Tensor dx = conv_empty({p.N, p.C, p.H, p.W}, dy);
  kernel_for<Conv2dBackwardDataKernel>(dy.device())(dy.dtype(), alg, p, dy.raw_data(), w.raw_data(), dx.raw_data());
  return dx;
}

// dw [O, C/groups, kh, kw] (and db [O] when want_bias) from x [N, C, H, W] and dy [N, O, Ho, Wo].
inline void conv2d_backward_filter_untracked(const kernels::Conv2dGeometry& p, const ConvAlgorithms& alg,
                                             const Tensor& x, const Tensor& dy, bool want_bias, Tensor& dw,
                                             Tensor& db) {
  const TensorOptions o = TensorOptions(x.dtype()).with_device(x.device());
  if (p.N == 0) {
    dw = zeros({p.O, p.c_per_group(), p.kh, p.kw}, o);
    if (want_bias) db = zeros({p.O}, o);
    return;
  }
  dw = conv_empty({p.O, p.c_per_group(), p.kh, p.kw}, x);
  if (want_bias) db = conv_empty({p.O}, x);
  kernel_for<Conv2dBackwardFilterKernel>(x.device())(x.dtype(), alg, p, x.raw_data(), dy.raw_data(), dw.raw_data(),
                                                     want_bias ? db.raw_data() : nullptr);
}

}  // namespace detail

namespace detail {

// The shape checks of conv2d (input [N, C, H, W] against a weight of shape ws [O, C/groups, kh, kw] and
// the bias) and the geometry they describe; tensors, dtypes, devices and options were checked before.
inline kernels::Conv2dGeometry conv2d_geometry_of(const char* op, const Tensor& input, const Shape& ws,
                                                  const Tensor& bias, const Conv2dOptions& opts) {
  const Shape& xs = input.shape();
  kernels::Conv2dGeometry p;
  p.N = xs[0], p.C = xs[1], p.H = xs[2], p.W = xs[3];
  p.O = ws[0], p.kh = ws[2], p.kw = ws[3];
  p.sh = opts.stride[0], p.sw = opts.stride[1];
  p.ph = opts.padding[0], p.pw = opts.padding[1];
  p.dh = opts.dilation[0], p.dw = opts.dilation[1];
  p.groups = opts.groups;
  ANIMA_CHECK(p.C % p.groups == 0, op, "groups = ", p.groups, " does not divide the ", p.C, " channels of input ",
              shape_str(xs));
  ANIMA_CHECK(p.O % p.groups == 0, op, "groups = ", p.groups, " does not divide the ", p.O,
              " output channels of weight ", shape_str(ws));
  ANIMA_CHECK(ws[1] * p.groups == p.C, op, "input ", shape_str(xs), " has ", p.C, " channels but weight ",
              shape_str(ws), " expects ", ws[1] * p.groups, " (= weight.shape[1] * groups)");
  if (bias.defined())
    ANIMA_CHECK(bias.dim() == 1 && bias.shape()[0] == p.O, op, "bias must be [", p.O, "] for weight ", shape_str(ws),
                ", got ", shape_str(bias.shape()));
  const std::int64_t ekh = p.dh * (p.kh - 1) + 1, ekw = p.dw * (p.kw - 1) + 1;
  ANIMA_CHECK(ekh <= p.H + 2 * p.ph && ekw <= p.W + 2 * p.pw, op, "kernel ", p.kh, "x", p.kw, " (dilated ", ekh, "x",
              ekw, ") is larger than the padded input ", p.H + 2 * p.ph, "x", p.W + 2 * p.pw, " (input ", shape_str(xs),
              ", padding [", p.ph, ", ", p.pw, "])");
  p.Ho = kernels::conv_output_size(p.H, p.kh, p.sh, p.ph, p.dh);
  p.Wo = kernels::conv_output_size(p.W, p.kw, p.sw, p.pw, p.dw);
  if (input.device().is_cpu())
    ANIMA_CHECK(conv_supports(opts.algorithms.cpu, p), op,
                "CpuConvAlgorithm::", conv_algorithm_name(opts.algorithms.cpu),
                " needs groups == C > 1 and O a multiple of C; input ", shape_str(xs), ", weight ", shape_str(ws),
                ", groups ", p.groups);
  return p;
}

// Checks conv2d's arguments (op names the caller in messages) and returns the geometry they describe.
inline kernels::Conv2dGeometry conv2d_geometry(const char* op, const Tensor& input, const Tensor& weight,
                                               const Tensor& bias, const Conv2dOptions& opts) {
  detail::conv_check_common(op, input, weight, bias, opts.stride, opts.padding, opts.dilation, opts.groups);
  return conv2d_geometry_of(op, input, weight.shape(), bias, opts);
}

}  // namespace detail

// input [N, C, H, W], weight [O, C/groups, kh, kw], bias [O] or undefined -> [N, O, Ho, Wo]
inline Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                     const Conv2dOptions& opts = {}) {
  const kernels::Conv2dGeometry p = detail::conv2d_geometry("conv2d", input, weight, bias, opts);
  Tensor x = detail::conv_contiguous(input), w = detail::conv_contiguous(weight);
  Tensor b = bias.defined() ? detail::conv_contiguous(bias) : Tensor();
  Tensor y = detail::conv2d_forward_untracked(p, opts.algorithms, x, w, b);
  const ConvAlgorithms alg = opts.algorithms;
  const bool want_x = input.requires_grad(), want_w = weight.requires_grad(),
             want_b = bias.defined() && bias.requires_grad();
  Tensor sx = detach(x), sw = detach(w);
  record("conv2d", y, {input, weight, bias}, [=](const Tensor& grad) -> std::vector<Tensor> {
    Tensor g = detail::conv_contiguous(grad);
    Tensor dx, dw, db;
    if (want_x) dx = detail::conv2d_backward_data_untracked(p, alg, g, sw);
    if (want_w || want_b) detail::conv2d_backward_filter_untracked(p, alg, sx, g, want_b, dw, db);
    return {dx, want_w ? dw : Tensor(), db};
  });
  return y;
}

// input [N, Cin, H, W], weight [Cin, Cout/groups, kh, kw] (PyTorch layout), bias [Cout] or undefined
// -> [N, Cout, Hout, Wout]
inline Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                               const ConvTranspose2dOptions& opts = {}) {
  constexpr const char* op = "conv_transpose2d";
  detail::conv_check_common(op, input, weight, bias, opts.stride, opts.padding, opts.dilation, opts.groups);
  const Shape& xs = input.shape();
  const Shape& ws = weight.shape();
  const std::int64_t cin = xs[1], groups = opts.groups;
  ANIMA_CHECK(ws[0] == cin, op, "input ", shape_str(xs), " has ", cin, " channels but weight ", shape_str(ws),
              " expects ", ws[0], " (= weight.shape[0])");
  ANIMA_CHECK(cin % groups == 0, op, "groups = ", groups, " does not divide the ", cin, " channels of input ",
              shape_str(xs));
  const std::int64_t cout = ws[1] * groups;
  for (int a = 0; a < 2; ++a) {
    const std::int64_t op_a = opts.output_padding[a];
    ANIMA_CHECK(op_a >= 0 && (op_a < opts.stride[a] || op_a < opts.dilation[a]), op, "output_padding [",
                opts.output_padding[0], ", ", opts.output_padding[1],
                "] must be >= 0 and smaller than stride or dilation (stride [", opts.stride[0], ", ", opts.stride[1],
                "], dilation [", opts.dilation[0], ", ", opts.dilation[1], "])");
  }
  if (bias.defined())
    ANIMA_CHECK(bias.dim() == 1 && bias.shape()[0] == cout, op, "bias must be [", cout, "] for weight ", shape_str(ws),
                " and groups ", groups, ", got ", shape_str(bias.shape()));
  kernels::Conv2dGeometry p;  // the conv2d whose adjoint this is: [N, Cout, Hout, Wout] -> [N, Cin, H, W]
  p.N = xs[0], p.C = cout, p.O = cin, p.kh = ws[2], p.kw = ws[3];
  p.sh = opts.stride[0], p.sw = opts.stride[1];
  p.ph = opts.padding[0], p.pw = opts.padding[1];
  p.dh = opts.dilation[0], p.dw = opts.dilation[1];
  p.groups = groups;
  p.Ho = xs[2], p.Wo = xs[3];
  p.H = kernels::conv_transpose_output_size(p.Ho, p.kh, p.sh, p.ph, p.dh, opts.output_padding[0]);
  p.W = kernels::conv_transpose_output_size(p.Wo, p.kw, p.sw, p.pw, p.dw, opts.output_padding[1]);
  ANIMA_CHECK(p.H >= 1 && p.W >= 1, op, "output size ", p.H, "x", p.W, " is not positive (input ", shape_str(xs),
              ", weight ", shape_str(ws), ", stride [", p.sh, ", ", p.sw, "], padding [", p.ph, ", ", p.pw, "])");

  Tensor x = detail::conv_contiguous(input), w = detail::conv_contiguous(weight);
  Tensor y = detail::conv2d_backward_data_untracked(p, ConvAlgorithms{}, x, w);
  if (bias.defined())
    y = untracked::binary(op, kernels::BinaryOp::Add, y, detail::reshape_untracked(bias, {1, cout, 1, 1}));
  const bool want_x = input.requires_grad(), want_w = weight.requires_grad(),
             want_b = bias.defined() && bias.requires_grad();
  Tensor sx = detach(x), sw = detach(w);
  record("conv_transpose2d", y, {input, weight, bias}, [=](const Tensor& grad) -> std::vector<Tensor> {
    Tensor g = detail::conv_contiguous(grad);
    Tensor dx, dw, db, unused;
    if (want_x) dx = detail::conv2d_forward_untracked(p, ConvAlgorithms{}, g, sw, Tensor());
    if (want_w) detail::conv2d_backward_filter_untracked(p, ConvAlgorithms{}, g, sx, false, dw, unused);
    if (want_b) db = sum(g, {0, 2, 3});
    return {dx, dw, db};
  });
  return y;
}

}  // namespace anima
