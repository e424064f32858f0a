// anima/kernels/cpu/softmax.hpp — softmax and log_softmax along one dim (CPU).
//
// x, y, dy, dx are contiguous and viewed as [outer, dim, inner]: the softmax runs over the middle
// index k for every (o, j). With m = max_k x, s = Σ_k e^(x_k − m) (subtracting the max keeps every
// exponent <= 0, so nothing overflows):
//   softmax:      y_k = e^(x_k − m) / s              dx_k = y_k · (dy_k − Σ_i dy_i · y_i)
//   log_softmax:  y_k = x_k − m − log s              dx_k = dy_k − e^(y_k) · Σ_i dy_i
// (the backward reads the forward's output y). Sums are accumulated in double for float inputs.
// NaN anywhere in a slice makes that slice NaN (the max propagates it), as PyTorch.
//
// Two versions:
//   softmax_*_reference  one (o, j) slice at a time, loops that read like the math
//   softmax_*_columns    up to kSoftmaxColumns neighbouring j at a time, so for inner > 1 each pass
//                        reads whole runs of contiguous memory (for inner == 1 it is the row loop);
//                        (o, column block) tasks are spread over the caller's ParallelFor.
// Both compute every element with the same operations in the same order: results are identical.
// Determinism: each slice is reduced sequentially by one thread: bitwise reproducible.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include <anima/kernels/parallel.hpp>

namespace anima::kernels::cpu {

constexpr std::int64_t kSoftmaxColumns = 16;

// max that propagates NaN: once m is NaN it stays NaN.
template <class T>
inline T softmax_max(T m, T v) {
  return (v > m || v != v) ? v : m;
}

template <class T>
void softmax_forward_reference(bool log, const T* x, T* y, std::int64_t outer, std::int64_t dim, std::int64_t inner) {
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t j = 0; j < inner; ++j) {
      const T* xs = x + o * dim * inner + j;
      T* ys = y + o * dim * inner + j;
      T m = -std::numeric_limits<T>::infinity();
      for (std::int64_t k = 0; k < dim; ++k) m = softmax_max(m, xs[k * inner]);
      double s = 0.0;
      for (std::int64_t k = 0; k < dim; ++k) s += static_cast<double>(std::exp(xs[k * inner] - m));
      for (std::int64_t k = 0; k < dim; ++k) {
        const T e = std::exp(xs[k * inner] - m);
        ys[k * inner] = log ? static_cast<T>(xs[k * inner] - m - static_cast<T>(std::log(s)))
                            : static_cast<T>(static_cast<double>(e) / s);
      }
    }
  }
}

template <class T>
void softmax_backward_reference(bool log, const T* y, const T* dy, T* dx, std::int64_t outer, std::int64_t dim,
                                std::int64_t inner) {
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t j = 0; j < inner; ++j) {
      const std::int64_t base = o * dim * inner + j;
      double s = 0.0;
      for (std::int64_t k = 0; k < dim; ++k) {
        const std::int64_t i = base + k * inner;
        s += log ? static_cast<double>(dy[i]) : static_cast<double>(dy[i]) * static_cast<double>(y[i]);
      }
      const T st = static_cast<T>(s);
      for (std::int64_t k = 0; k < dim; ++k) {
        const std::int64_t i = base + k * inner;
        dx[i] = log ? dy[i] - std::exp(y[i]) * st : y[i] * (dy[i] - st);
      }
    }
  }
}

// One block: the slices j0 .. j0 + width - 1 of one outer index; x, y point at [o, 0, 0].
template <class T>
void softmax_forward_block(bool log, const T* x, T* y, std::int64_t dim, std::int64_t inner, std::int64_t j0,
                           std::int64_t width) {
  T m[kSoftmaxColumns];
  double s[kSoftmaxColumns];
  for (std::int64_t c = 0; c < width; ++c) {
    m[c] = -std::numeric_limits<T>::infinity();
    s[c] = 0.0;
  }
  for (std::int64_t k = 0; k < dim; ++k) {
    const T* row = x + k * inner + j0;
    for (std::int64_t c = 0; c < width; ++c) m[c] = softmax_max(m[c], row[c]);
  }
  for (std::int64_t k = 0; k < dim; ++k) {
    const T* row = x + k * inner + j0;
    T* out = y + k * inner + j0;
    for (std::int64_t c = 0; c < width; ++c) {
      const T e = std::exp(row[c] - m[c]);
      if (!log) out[c] = e;  // normalised below
      s[c] += static_cast<double>(e);
    }
  }
  if (log) {
    T lse[kSoftmaxColumns];
    for (std::int64_t c = 0; c < width; ++c) lse[c] = static_cast<T>(std::log(s[c]));
    for (std::int64_t k = 0; k < dim; ++k) {
      const T* row = x + k * inner + j0;
      T* out = y + k * inner + j0;
      for (std::int64_t c = 0; c < width; ++c) out[c] = row[c] - m[c] - lse[c];
    }
  } else {
    for (std::int64_t k = 0; k < dim; ++k) {
      T* out = y + k * inner + j0;
      for (std::int64_t c = 0; c < width; ++c) out[c] = static_cast<T>(static_cast<double>(out[c]) / s[c]);
    }
  }
}

template <class T>
void softmax_backward_block(bool log, const T* y, const T* dy, T* dx, std::int64_t dim, std::int64_t inner,
                            std::int64_t j0, std::int64_t width) {
  double s[kSoftmaxColumns];
  for (std::int64_t c = 0; c < width; ++c) s[c] = 0.0;
  for (std::int64_t k = 0; k < dim; ++k) {
    const std::int64_t i = k * inner + j0;
    for (std::int64_t c = 0; c < width; ++c)
      s[c] += log ? static_cast<double>(dy[i + c]) : static_cast<double>(dy[i + c]) * static_cast<double>(y[i + c]);
  }
  T st[kSoftmaxColumns];
  for (std::int64_t c = 0; c < width; ++c) st[c] = static_cast<T>(s[c]);
  for (std::int64_t k = 0; k < dim; ++k) {
    const std::int64_t i = k * inner + j0;
    for (std::int64_t c = 0; c < width; ++c)
      dx[i + c] = log ? dy[i + c] - std::exp(y[i + c]) * st[c] : y[i + c] * (dy[i + c] - st[c]);
  }
}

// Runs block(o, j0, width) over every (outer index, column block), spread over the caller's ParallelFor.
template <class Block>
void softmax_for_each_block(std::int64_t outer, std::int64_t dim, std::int64_t inner, const ParallelFor& parallel,
                            const Block& block) {
  const std::int64_t width = inner < kSoftmaxColumns ? inner : kSoftmaxColumns;
  if (outer <= 0 || inner <= 0 || width <= 0) return;
  const std::int64_t blocks_per_outer = (inner + width - 1) / width;
  const std::int64_t tasks = outer * blocks_per_outer;
  const std::int64_t work = dim * width > 0 ? dim * width : 1;
  const std::int64_t grain = (16384 + work - 1) / work;
  parallel(0, tasks, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t t = begin; t < end; ++t) {
      const std::int64_t o = t / blocks_per_outer;
      const std::int64_t j0 = (t % blocks_per_outer) * width;
      block(o, j0, inner - j0 < width ? inner - j0 : width);
    }
  });
}

template <class T>
void softmax_forward_columns(bool log, const T* x, T* y, std::int64_t outer, std::int64_t dim, std::int64_t inner,
                             const ParallelFor& parallel) {
  softmax_for_each_block(outer, dim, inner, parallel, [&](std::int64_t o, std::int64_t j0, std::int64_t w) {
    softmax_forward_block(log, x + o * dim * inner, y + o * dim * inner, dim, inner, j0, w);
  });
}

template <class T>
void softmax_backward_columns(bool log, const T* y, const T* dy, T* dx, std::int64_t outer, std::int64_t dim,
                              std::int64_t inner, const ParallelFor& parallel) {
  softmax_for_each_block(outer, dim, inner, parallel, [&](std::int64_t o, std::int64_t j0, std::int64_t w) {
    const std::int64_t off = o * dim * inner;
    softmax_backward_block(log, y + off, dy + off, dx + off, dim, inner, j0, w);
  });
}

}  // namespace anima::kernels::cpu
