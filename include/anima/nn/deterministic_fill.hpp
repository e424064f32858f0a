// anima/nn/deterministic_fill.hpp — fills every parameter and buffer of a net with one deterministic
// function of (tensor name, flat index), so whole networks can be compared with torchvision without
// committing their weights. tools/golden/nets.py implements the same function in numpy; the two agree
// bit for bit (tests/nets/deterministic_fill_test.cpp against tests/golden/data/nets_fill.safetensors).
//
// Specification (the one place it is written in C++; nets.py's docstring repeats it word for word):
//
//   name     the tensor's state_dict key, e.g. "layer1.0.bn3.weight" (its UTF-8 bytes)
//   i        the flat row-major index of the element, 0 <= i < numel
//   h        = FNV-1a-64(name):  h = 0xcbf29ce484222325; for each byte b: h = (h ^ b) * 0x100000001b3
//   x_i      = the (i+1)-th output of SplitMix64 seeded with h, all arithmetic modulo 2^64:
//                z = h + (i + 1) * 0x9e3779b97f4a7c15
//                z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
//                z = (z ^ (z >> 27)) * 0x94d049bb133111eb
//                x_i = z ^ (z >> 31)
//   u_i      = (x_i >> 40) * 2^-24      in [0, 1): 24 random bits, exact in float32 and float64
//   t_i      = 2 u_i - 1                in [-1, 1), exact
//   value_i  computed in float64, then rounded once (to nearest even) to the tensor's dtype:
//     integer tensors (num_batches_tracked)                   0
//     name ends in "running_mean"                             t / 8
//     name ends in "running_var"                              1/2 + u
//     name ends in "weight", dim >= 2 (conv, linear)          t * b,  b = sqrt(6 / fan_in),
//                                                             fan_in = numel / shape[0]
//     name ends in "bn3.weight", dim 1 (last BN of a ResNet   (1 + t / 8) / 4
//       bottleneck's residual branch)
//     name ends in "weight", dim <= 1 (other norm scales)     1 + t / 8
//     name ends in "bias"                                     t / 16
//     anything else                                           t
//
// Why these values: uniform(-b, b) with b = sqrt(6 / fan_in) has variance 2 / fan_in (He), which keeps
// activations at a constant scale through conv-ReLU chains (VGG16: every stage and the logits stay
// O(1)); BN in eval mode with running_var ~ 1, running_mean ~ 0 and scale ~ 1 is near the identity,
// so it does not renormalise. A ResNet's residual sum would then double the variance every block
// (logits ~ 10^3 after 16 bottlenecks); scaling the last BN of each branch by 1/4 keeps layer4 and
// the logits O(1)-O(10) while still testing every branch (torchvision's zero_init_residual sets it to
// 0, which would test nothing). Measured on the golden inputs (tools/golden/nets.py prints them):
// max |logit| 5.3 (vgg16), 8.9 (vgg16_bn), 10.1 (resnet50), 9.2 (mobilenet_v2), 4.9 (inception_v3),
// logits' standard deviation 1.3-3.3, and no stage's per-channel mean above 11.
//
// Why bit-exact: every operation above is exactly rounded IEEE arithmetic on both sides: integer
// ops modulo 2^64; t, t / 8, 1 + t / 8, (1 + t / 8) / 4, 1/2 + u and t / 16 are exact in float64
// (at most 28 significant bits); 6 / fan_in and sqrt are correctly rounded; t * b is one rounded
// float64 product (exact multiplications before any addition, so FMA contraction cannot change a
// result); the final conversion rounds once to nearest even. numpy and C++ therefore produce the same
// bits, and the comparison of whole networks isolates our math from the fill.
//
// Use:  anima::nn::deterministic_fill(net->state_dict());   // a module's state_dict shares storage
// The tensors are written in place (CPU or CUDA; any strides). It does not go through
// load_state_dict, so modules that mirror a buffer on the host (BatchNorm2d's batch counter) are not
// told; the fill writes 0 there, which is what a freshly built module already holds.
// Determinism: values depend only on (name, index, shape, dtype): any thread count, any device.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/io/state_dict.hpp>

namespace anima::nn {

namespace fill_detail {

inline bool ends_with(const std::string& s, const char* suffix) {
  const std::string t(suffix);
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

}  // namespace fill_detail

// FNV-1a, 64 bit, over the bytes of `name`.
inline std::uint64_t fnv1a64(const std::string& name) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char b : name) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// The (i+1)-th output of SplitMix64 seeded with h.
inline std::uint64_t splitmix64_at(std::uint64_t h, std::uint64_t i) {
  std::uint64_t z = h + (i + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// u_i = (x_i >> 40) * 2^-24 in [0, 1).
inline double fill_uniform(std::uint64_t h, std::uint64_t i) {
  return static_cast<double>(splitmix64_at(h, i) >> 40) * (1.0 / 16777216.0);
}

// Which formula of the specification a tensor gets.
enum class FillKind { Zero, RunningMean, RunningVar, FanInUniform, ResidualScale, Scale, Bias, Plain };

inline FillKind fill_kind(const std::string& name, const Tensor& t) {
  using fill_detail::ends_with;
  if (!is_floating(t.dtype())) return FillKind::Zero;
  if (ends_with(name, "running_mean")) return FillKind::RunningMean;
  if (ends_with(name, "running_var")) return FillKind::RunningVar;
  if (ends_with(name, "weight")) {
    if (t.dim() >= 2) return FillKind::FanInUniform;
    return ends_with(name, "bn3.weight") ? FillKind::ResidualScale : FillKind::Scale;
  }
  if (ends_with(name, "bias")) return FillKind::Bias;
  return FillKind::Plain;
}

// value_i of the specification, in float64 (before the final rounding to the tensor's dtype).
// `b` is sqrt(6 / fan_in), used by FanInUniform only.
inline double fill_value(FillKind kind, std::uint64_t h, std::uint64_t i, double b) {
  const double u = fill_uniform(h, i);
  const double t = 2.0 * u - 1.0;  // exact
  switch (kind) {
    case FillKind::Zero: return 0.0;
    case FillKind::RunningMean: return t / 8.0;
    case FillKind::RunningVar: return 0.5 + u;
    case FillKind::FanInUniform: return t * b;
    case FillKind::ResidualScale: return (1.0 + t / 8.0) / 4.0;
    case FillKind::Scale: return 1.0 + t / 8.0;
    case FillKind::Bias: return t / 16.0;
    case FillKind::Plain: return t;
  }
  return 0.0;
}

// Fills one tensor named `name` (its state_dict key) in place.
inline void deterministic_fill(const std::string& name, const Tensor& tensor) {
  ANIMA_CHECK(tensor.defined(), "deterministic_fill", "tensor '", name, "' is undefined");
  const DType dtype = tensor.dtype();
  ANIMA_CHECK(dtype == DType::Float32 || dtype == DType::Float64 || dtype == DType::Int64, "deterministic_fill",
              "tensor '", name, "' has dtype ", dtype_name(dtype), "; expected float32, float64 or int64");
  const std::int64_t n = tensor.numel();
  if (n == 0) return;
  const FillKind kind = fill_kind(name, tensor);
  double b = 0.0;
  if (kind == FillKind::FanInUniform) {
    const std::int64_t fan_in = n / tensor.size(0);
    b = std::sqrt(6.0 / static_cast<double>(fan_in));
  }
  const std::uint64_t h = fnv1a64(name);
  // Written into a contiguous host tensor, then copied into the destination (any strides, any device).
  const bool direct = tensor.device().is_cpu() && tensor.is_contiguous();
  const Tensor host = direct ? tensor : Tensor::empty(tensor.shape(), TensorOptions(dtype));
  switch (dtype) {
    case DType::Float32: {
      float* p = host.data<float>();
      for (std::int64_t i = 0; i < n; ++i)
        p[i] = static_cast<float>(fill_value(kind, h, static_cast<std::uint64_t>(i), b));
      break;
    }
    case DType::Float64: {
      double* p = host.data<double>();
      for (std::int64_t i = 0; i < n; ++i) p[i] = fill_value(kind, h, static_cast<std::uint64_t>(i), b);
      break;
    }
    default: {
      std::int64_t* p = host.data<std::int64_t>();
      for (std::int64_t i = 0; i < n; ++i) p[i] = 0;
      break;
    }
  }
  if (direct) return;
  copy_into(tensor, tensor.device().is_cpu() ? host : device_copy(host, tensor.device()));
}

// Fills every tensor of `sd` in place (a module's state_dict() shares its parameters' storage).
inline void deterministic_fill(const io::StateDict& sd) {
  for (const auto& item : sd.items()) deterministic_fill(item.first, item.second);
}

}  // namespace anima::nn
