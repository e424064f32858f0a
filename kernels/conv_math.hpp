// anima/kernels/conv_math.hpp — the geometry of a 2-D convolution, shared by the CPU and CUDA kernels.
//
// A convolution maps x [N, C, H, W] and w [O, C/groups, kh, kw] to y [N, O, Ho, Wo]:
//   y[n, o, oh, ow] = Σ_{c < C/g, i < kh, j < kw} x[n, g·C/g + c, oh·sh − ph + i·dh, ow·sw − pw + j·dw] · w[o, c, i, j]
// with g = o / (O/groups) and x read as 0 outside [0, H) x [0, W) (zero padding).
// Ho and Wo are stored, not recomputed: conv_transpose2d runs these kernels as the adjoint with the
// output size it was asked for (output_padding), which the floor formula need not reproduce.
#pragma once

#include <cstdint>

#include <anima/kernels/host_device.hpp>

namespace anima::kernels {

struct Conv2dGeometry {
  std::int64_t N = 0, C = 0, H = 0, W = 0;  // input  [N, C, H, W]
  std::int64_t O = 0, kh = 1, kw = 1;       // weight [O, C/groups, kh, kw]
  std::int64_t sh = 1, sw = 1;              // stride
  std::int64_t ph = 0, pw = 0;              // zero padding on each side
  std::int64_t dh = 1, dw = 1;              // dilation
  std::int64_t groups = 1;
  std::int64_t Ho = 0, Wo = 0;  // output [N, O, Ho, Wo]

  ANIMA_HD std::int64_t c_per_group() const { return C / groups; }
  ANIMA_HD std::int64_t o_per_group() const { return O / groups; }
  // Reduction length of one output element: C/groups · kh · kw.
  ANIMA_HD std::int64_t k_size() const { return C / groups * kh * kw; }
  // True when the convolution is a plain matrix product over the pixels (im2col is the identity).
  ANIMA_HD bool is_pointwise() const {
    return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && Ho == H && Wo == W;
  }
  // Depthwise: one group per input channel, each producing O/C outputs (the channel multiplier).
  ANIMA_HD bool is_depthwise() const { return groups == C && groups > 1 && O % C == 0; }
  // Multiply-adds of the forward pass (FLOPs = 2 x this).
  ANIMA_HD std::int64_t macs() const { return N * O * Ho * Wo * k_size(); }
};

// Output size of a convolution along one axis: floor((in + 2·pad − dil·(k − 1) − 1) / stride) + 1.
// Callers check in + 2·pad >= dil·(k − 1) + 1 first (the numerator is then >= 0, so / is floor).
ANIMA_HD std::int64_t conv_output_size(std::int64_t in, std::int64_t k, std::int64_t stride, std::int64_t pad,
                                       std::int64_t dil) {
  return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

// An activation a convolution's forward may apply to its output as it stores it (eval-time fusion of
// conv -> [batch norm] -> activation): y = act(conv(x, w) + b). A NaN stays NaN, as in relu / relu6.
enum class ConvActivation : int {
  None = 0,
  Relu = 1,   // max(v, 0)
  Relu6 = 2,  // min(max(v, 0), 6)
};

template <class T>
ANIMA_HD T conv_activate(ConvActivation act, T v) {
  if (act == ConvActivation::None) return v;
  const T hi = act == ConvActivation::Relu6 ? T(6) : v;
  return v < T(0) ? T(0) : (v > hi ? hi : v);
}

inline const char* conv_activation_name(ConvActivation act) {
  switch (act) {
    case ConvActivation::None: return "none";
    case ConvActivation::Relu: return "relu";
    case ConvActivation::Relu6: return "relu6";
  }
  return "?";
}

// Output size of a transposed convolution: (in − 1)·stride − 2·pad + dil·(k − 1) + output_padding + 1.
ANIMA_HD std::int64_t conv_transpose_output_size(std::int64_t in, std::int64_t k, std::int64_t stride, std::int64_t pad,
                                                 std::int64_t dil, std::int64_t out_pad) {
  return (in - 1) * stride - 2 * pad + dil * (k - 1) + out_pad + 1;
}

// The output positions o in [lo, hi) whose tap at offset `tap` (= i·dil − pad) lands inside [0, in):
// 0 <= o·stride + tap < in. Used by im2col/col2im and the depthwise kernel to split rows into the
// zero-padded edges and the interior, so the inner loop has no bounds test.
ANIMA_HD void conv_valid_range(std::int64_t out, std::int64_t in, std::int64_t stride, std::int64_t tap,
                               std::int64_t& lo, std::int64_t& hi) {
  // o >= ceil(-tap / stride), o <= floor((in - 1 - tap) / stride)
  lo = tap >= 0 ? 0 : (-tap + stride - 1) / stride;
  const std::int64_t last = in - 1 - tap;
  hi = last < 0 ? 0 : last / stride + 1;
  if (hi > out) hi = out;
  if (lo > hi) lo = hi;
}

}  // namespace anima::kernels
