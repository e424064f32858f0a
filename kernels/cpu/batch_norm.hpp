// anima/kernels/cpu/batch_norm.hpp — 2-D batch normalisation over a contiguous x [N, C, HW] (CPU).
//
// Per channel c, over its m = N·HW values (x̂ = (x - mean)·invstd, invstd = 1/sqrt(var + eps)):
//   stats:      mean = Σx/m, var = Σ(x - mean)²/m (biased; two passes, accumulated in double)
//   transform:  y = x·α + β with α = w·invstd, β = b - mean·α (PyTorch's CPU form; w = 1, b = 0 when null)
//   backward:   sum_dy = Σdy, sum_dy_xhat = Σdy·x̂, then
//                 training: gx = w·invstd·(dy - sum_dy/m - x̂·sum_dy_xhat/m)
//                 eval:     gx = dy·w·invstd          (mean/var are constants)
//               gw = sum_dy_xhat, gb = sum_dy (each written only when its pointer is non-null)
// mean/var/w/b/gw/gb are [C]. Two versions: *_reference (plain loops, one accumulator per sum) and
// *_channels (channels in parallel on the caller's ParallelFor, each sum over a plane split into interleaved
// accumulators, see plane_sum). Both sum in a fixed order: deterministic for any thread count; they
// differ from each other by double rounding only.
#pragma once

#include <cmath>
#include <cstdint>

#include <anima/kernels/parallel.hpp>

namespace anima::kernels::cpu {

namespace bn_detail {

// Sums over one [HW] plane of a channel. Blocked = false: one accumulator, the order of the math
// (the reference). Blocked = true: four interleaved accumulators, combined as (s0 + s1) + (s2 + s3):
// four independent add chains instead of one (the double add latency bounds the single chain), still a
// fixed order, so deterministic; it differs from the reference only by double rounding (~HW·2^-53).
template <bool Blocked, class T>
double plane_sum(const T* p, std::int64_t n) {
  if (!Blocked) {
    double s = 0.0;
    for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(p[i]);
    return s;
  }
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += static_cast<double>(p[i]);
    s1 += static_cast<double>(p[i + 1]);
    s2 += static_cast<double>(p[i + 2]);
    s3 += static_cast<double>(p[i + 3]);
  }
  for (; i < n; ++i) s0 += static_cast<double>(p[i]);
  return (s0 + s1) + (s2 + s3);
}

template <bool Blocked, class T>
double plane_sum_sq_dev(const T* p, std::int64_t n, double mu) {
  auto sq = [mu](T v) {
    const double d = static_cast<double>(v) - mu;
    return d * d;
  };
  if (!Blocked) {
    double s = 0.0;
    for (std::int64_t i = 0; i < n; ++i) s += sq(p[i]);
    return s;
  }
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += sq(p[i]);
    s1 += sq(p[i + 1]);
    s2 += sq(p[i + 2]);
    s3 += sq(p[i + 3]);
  }
  for (; i < n; ++i) s0 += sq(p[i]);
  return (s0 + s1) + (s2 + s3);
}

// Σ dy and Σ dy·x̂ over one plane (x̂ = (x - mu)·invstd in T, as the transform computes it).
template <bool Blocked, class T>
void plane_backward_sums(const T* x, const T* gy, std::int64_t n, T mu, T invstd, double& sum_dy, double& sum_dy_xhat) {
  auto dx = [&](std::int64_t i) { return static_cast<double>(gy[i]) * static_cast<double>((x[i] - mu) * invstd); };
  if (!Blocked) {
    for (std::int64_t i = 0; i < n; ++i) {
      sum_dy += static_cast<double>(gy[i]);
      sum_dy_xhat += dx(i);
    }
    return;
  }
  double a0 = 0.0, a1 = 0.0, b0 = 0.0, b1 = 0.0;
  std::int64_t i = 0;
  for (; i + 2 <= n; i += 2) {
    a0 += static_cast<double>(gy[i]);
    a1 += static_cast<double>(gy[i + 1]);
    b0 += dx(i);
    b1 += dx(i + 1);
  }
  for (; i < n; ++i) {
    a0 += static_cast<double>(gy[i]);
    b0 += dx(i);
  }
  sum_dy += a0 + a1;
  sum_dy_xhat += b0 + b1;
}

template <bool Blocked, class T>
void stats_channel(const T* x, std::int64_t N, std::int64_t C, std::int64_t HW, std::int64_t c, T* mean, T* var) {
  const double m = static_cast<double>(N * HW);
  double s = 0.0;
  for (std::int64_t n = 0; n < N; ++n) s += plane_sum<Blocked>(x + (n * C + c) * HW, HW);
  const double mu = s / m;
  double ss = 0.0;
  for (std::int64_t n = 0; n < N; ++n) ss += plane_sum_sq_dev<Blocked>(x + (n * C + c) * HW, HW, mu);
  mean[c] = static_cast<T>(mu);
  var[c] = static_cast<T>(ss / m);
}

template <class T>
T invstd_of(T var, double eps) {
  return static_cast<T>(1.0 / std::sqrt(static_cast<double>(var) + eps));
}

template <class T>
void transform_channel(const T* x, std::int64_t N, std::int64_t C, std::int64_t HW, std::int64_t c, const T* mean,
                       const T* var, const T* w, const T* b, double eps, T* y) {
  const T alpha = (w ? w[c] : T(1)) * invstd_of(var[c], eps);
  const T beta = (b ? b[c] : T(0)) - mean[c] * alpha;
  for (std::int64_t n = 0; n < N; ++n) {
    const std::int64_t off = (n * C + c) * HW;
    for (std::int64_t i = 0; i < HW; ++i) y[off + i] = x[off + i] * alpha + beta;
  }
}

template <bool Blocked, class T>
void backward_channel(const T* x, const T* gy, std::int64_t N, std::int64_t C, std::int64_t HW, std::int64_t c,
                      const T* mean, const T* var, const T* w, double eps, bool training, T* gx, T* gw, T* gb) {
  const T mu = mean[c];
  const T invstd = invstd_of(var[c], eps);
  double sum_dy = 0.0, sum_dy_xhat = 0.0;
  for (std::int64_t n = 0; n < N; ++n) {
    const std::int64_t off = (n * C + c) * HW;
    plane_backward_sums<Blocked>(x + off, gy + off, HW, mu, invstd, sum_dy, sum_dy_xhat);
  }
  if (gw) gw[c] = static_cast<T>(sum_dy_xhat);
  if (gb) gb[c] = static_cast<T>(sum_dy);
  if (!gx) return;
  const T scale = (w ? w[c] : T(1)) * invstd;
  const double m = static_cast<double>(N * HW);
  const T mean_dy = training ? static_cast<T>(sum_dy / m) : T(0);
  const T mean_dy_xhat = training ? static_cast<T>(sum_dy_xhat / m) : T(0);
  for (std::int64_t n = 0; n < N; ++n) {
    const std::int64_t off = (n * C + c) * HW;
    for (std::int64_t i = 0; i < HW; ++i) {
      const T xhat = (x[off + i] - mu) * invstd;
      gx[off + i] = scale * (gy[off + i] - mean_dy - xhat * mean_dy_xhat);
    }
  }
}

}  // namespace bn_detail

template <class T>
void batch_norm_stats_reference(const T* x, std::int64_t N, std::int64_t C, std::int64_t HW, T* mean, T* var) {
  for (std::int64_t c = 0; c < C; ++c) bn_detail::stats_channel<false>(x, N, C, HW, c, mean, var);
}
template <class T>
void batch_norm_stats_channels(const T* x, std::int64_t N, std::int64_t C, std::int64_t HW, T* mean, T* var,
                               const ParallelFor& parallel) {
  for_each_item(parallel, C, N * HW,
                [&](std::int64_t c) { bn_detail::stats_channel<true>(x, N, C, HW, c, mean, var); });
}

template <class T>
void batch_norm_transform_reference(const T* x, std::int64_t N, std::int64_t C, std::int64_t HW, const T* mean,
                                    const T* var, const T* w, const T* b, double eps, T* y) {
  for (std::int64_t c = 0; c < C; ++c) bn_detail::transform_channel(x, N, C, HW, c, mean, var, w, b, eps, y);
}
template <class T>
void batch_norm_transform_channels(const T* x, std::int64_t N, std::int64_t C, std::int64_t HW, const T* mean,
                                   const T* var, const T* w, const T* b, double eps, T* y,
                                   const ParallelFor& parallel) {
  for_each_item(parallel, C, N * HW,
                [&](std::int64_t c) { bn_detail::transform_channel(x, N, C, HW, c, mean, var, w, b, eps, y); });
}

template <class T>
void batch_norm_backward_reference(const T* x, const T* gy, std::int64_t N, std::int64_t C, std::int64_t HW,
                                   const T* mean, const T* var, const T* w, double eps, bool training, T* gx, T* gw,
                                   T* gb) {
  for (std::int64_t c = 0; c < C; ++c)
    bn_detail::backward_channel<false>(x, gy, N, C, HW, c, mean, var, w, eps, training, gx, gw, gb);
}
template <class T>
void batch_norm_backward_channels(const T* x, const T* gy, std::int64_t N, std::int64_t C, std::int64_t HW,
                                  const T* mean, const T* var, const T* w, double eps, bool training, T* gx, T* gw,
                                  T* gb, const ParallelFor& parallel) {
  for_each_item(parallel, C, 2 * N * HW, [&](std::int64_t c) {
    bn_detail::backward_channel<true>(x, gy, N, C, HW, c, mean, var, w, eps, training, gx, gw, gb);
  });
}

}  // namespace anima::kernels::cpu
