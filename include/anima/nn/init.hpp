// anima/nn/init.hpp — in-place parameter initialisers (torch.nn.init), drawing from anima's Philox
// Generator, so a seed gives the same weights on any backend and thread count.
//
//   fans of a weight [out, in, *k]: fan_in = in·Πk, fan_out = out·Πk (1-D: fan_in = fan_out = size)
//   kaiming_normal_(w, mode, a):  N(0, std²),  std = gain / sqrt(fan_mode), gain = sqrt(2 / (1 + a²))
//   kaiming_uniform_(w, mode, a): U(-bound, bound), bound = gain · sqrt(3 / fan_mode)
//   normal_, uniform_, constant_/zeros_/ones_ as named;
//   trunc_normal_(t, mean, std, a, b): N(mean, std²) conditioned on [a, b]: out-of-range draws are
//     redrawn (rejection, in rounds from the same generator) — the same distribution as PyTorch's
//     inverse-CDF method, not the same numbers.
// PyTorch's default for Conv2d and Linear (reset_parameters) is kaiming_uniform_(w, fan_in, a = √5),
// i.e. U(±1/sqrt(fan_in)), and U(±1/sqrt(fan_in)) for the bias: default_conv_linear_init_.
// The numbers differ from PyTorch's (another generator); the distributions are the same.
//
// SkipInitGuard: while one lives on this thread, initialisers leave tensors as they are (zeros from
// the layer constructors), for building a net whose weights are loaded next (saves the draws).
// Determinism: values depend only on the generator's seed and offset (anima/core/generator.hpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/generator.hpp>
#include <anima/core/tensor.hpp>
#include <anima/ops/factory.hpp>

namespace anima::nn {

class SkipInitGuard {
 public:
  SkipInitGuard() : previous_(active()) { active() = true; }
  ~SkipInitGuard() { active() = previous_; }
  SkipInitGuard(const SkipInitGuard&) = delete;
  SkipInitGuard& operator=(const SkipInitGuard&) = delete;
  static bool& active() {
    thread_local bool skip = false;
    return skip;
  }

 private:
  bool previous_;
};

namespace init {

enum class FanMode { FanIn, FanOut };

struct Fans {
  std::int64_t in = 0, out = 0;
};

inline Fans fans(const Tensor& w) {
  ANIMA_CHECK(w.dim() >= 1, "init", "cannot compute fans of a tensor with no dimensions");
  if (w.dim() == 1) return {w.size(0), w.size(0)};
  std::int64_t receptive = 1;
  for (std::int64_t d = 2; d < w.dim(); ++d) receptive *= w.size(d);
  return {w.size(1) * receptive, w.size(0) * receptive};
}

namespace detail {
// Writes `values` (a float32/float64 CPU tensor of t's shape) into t, whatever t's dtype and device.
inline void assign(const Tensor& t, Tensor values) {
  NoGradGuard no_grad;
  if (values.dtype() != t.dtype()) values = cast_copy(values, t.dtype());
  if (values.device() != t.device()) values = device_copy(values, t.device());
  copy_into(t, values);
}
inline TensorOptions host_opts(const Tensor& t) {
  return TensorOptions(t.dtype() == DType::Float64 ? DType::Float64 : DType::Float32);
}
}  // namespace detail

inline void constant_(const Tensor& t, double value) {
  if (SkipInitGuard::active() || t.numel() == 0) return;
  detail::assign(t, full(t.shape(), value, detail::host_opts(t)));
}
inline void zeros_(const Tensor& t) { constant_(t, 0.0); }
inline void ones_(const Tensor& t) { constant_(t, 1.0); }

inline void normal_(const Tensor& t, double mean, double stddev, Generator& gen = default_generator()) {
  if (SkipInitGuard::active() || t.numel() == 0) return;
  detail::assign(t, randn(t.shape(), detail::host_opts(t), gen, mean, stddev));
}

inline void uniform_(const Tensor& t, double lo, double hi, Generator& gen = default_generator()) {
  if (SkipInitGuard::active() || t.numel() == 0) return;
  detail::assign(t, rand(t.shape(), detail::host_opts(t), gen, lo, hi));
}

inline double kaiming_std(const Tensor& w, FanMode mode, double a) {
  const Fans f = fans(w);
  const double fan = static_cast<double>(mode == FanMode::FanIn ? f.in : f.out);
  ANIMA_CHECK(fan > 0, "init", "fan of ", shape_str(w.shape()), " is zero");
  return std::sqrt(2.0 / (1.0 + a * a)) / std::sqrt(fan);
}

// torch.nn.init.kaiming_normal_(w, a, mode, nonlinearity='relu' or 'leaky_relu' with slope a).
inline void kaiming_normal_(const Tensor& w, FanMode mode = FanMode::FanIn, double a = 0.0,
                            Generator& gen = default_generator()) {
  normal_(w, 0.0, kaiming_std(w, mode, a), gen);
}

inline void kaiming_uniform_(const Tensor& w, FanMode mode = FanMode::FanIn, double a = 0.0,
                             Generator& gen = default_generator()) {
  const double bound = std::sqrt(3.0) * kaiming_std(w, mode, a);
  uniform_(w, -bound, bound, gen);
}

inline void trunc_normal_(const Tensor& t, double mean, double stddev, double a, double b,
                          Generator& gen = default_generator()) {
  ANIMA_CHECK(a < b && stddev > 0.0, "trunc_normal_", "need a < b and stddev > 0, got [", a, ", ", b, "], ", stddev);
  ANIMA_CHECK(a <= mean + 5 * stddev && b >= mean - 5 * stddev, "trunc_normal_", "[", a, ", ", b,
              "] is too far from the mean ", mean, " (std ", stddev, ") to sample by rejection");
  if (SkipInitGuard::active() || t.numel() == 0) return;
  const std::int64_t n = t.numel();
  std::vector<double> out(static_cast<std::size_t>(n));
  std::vector<std::int64_t> pending(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) pending[static_cast<std::size_t>(i)] = i;
  while (!pending.empty()) {
    const Tensor draws =
        randn({static_cast<std::int64_t>(pending.size())}, TensorOptions(DType::Float64), gen, mean, stddev);
    const double* d = draws.data<double>();
    std::vector<std::int64_t> again;
    for (std::size_t k = 0; k < pending.size(); ++k) {
      if (d[k] >= a && d[k] <= b)
        out[static_cast<std::size_t>(pending[k])] = d[k];
      else
        again.push_back(pending[k]);
    }
    pending.swap(again);
  }
  detail::assign(t, from_vector(out, t.shape(), TensorOptions(DType::Float64)));
}

// PyTorch's default initialisation of Conv2d / Linear: weight U(±1/sqrt(fan_in)) (kaiming_uniform_
// with a = √5), bias U(±1/sqrt(fan_in)).
inline void default_conv_linear_init_(const Tensor& weight, const Tensor& bias, Generator& gen = default_generator()) {
  kaiming_uniform_(weight, FanMode::FanIn, std::sqrt(5.0), gen);
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fans(weight).in));
    uniform_(bias, -bound, bound, gen);
  }
}

}  // namespace init
}  // namespace anima::nn
