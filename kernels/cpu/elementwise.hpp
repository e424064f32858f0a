// anima/kernels/cpu/elementwise.hpp — elementwise kernels over strided, broadcast inputs (CPU).
//
//   unary:   y[i] = f(x[lx(i)])                 binary:  y[i] = a[la(i)] (op) b[lb(i)]
//   compare: y[i] = a[la(i)] (cmp) b[lb(i)]      where:   y[i] = c[lc(i)] ? a[la(i)] : b[lb(i)]
// where l*(i) is Layout::offset. y is contiguous with n elements. The per-element formulas are the
// ones in anima/kernels/elementwise_math.hpp that the CUDA kernels use too. Work is split over the
// caller's ParallelFor in chunks of kElementwiseGrain elements (enough work per task to hide the
// hand-off).
#pragma once

#include <cstdint>

#include <anima/kernels/elementwise_math.hpp>
#include <anima/kernels/layout.hpp>
#include <anima/kernels/parallel.hpp>

namespace anima::kernels::cpu {

constexpr std::int64_t kElementwiseGrain = 32768;

template <class T>
void unary(UnaryOp op, T p0, T p1, const T* x, const Layout& lx, T* y, std::int64_t n, const ParallelFor& parallel) {
  parallel(0, n, kElementwiseGrain, [&](std::int64_t begin, std::int64_t end) {
    if (lx.contiguous) {
      for (std::int64_t i = begin; i < end; ++i) y[i] = apply_unary(op, x[i], p0, p1);
    } else {
      for (std::int64_t i = begin; i < end; ++i) y[i] = apply_unary(op, x[lx.offset(i)], p0, p1);
    }
  });
}

template <class T>
void binary(BinaryOp op, const T* a, const Layout& la, const T* b, const Layout& lb, T* y, std::int64_t n,
            const ParallelFor& parallel) {
  parallel(0, n, kElementwiseGrain, [&](std::int64_t begin, std::int64_t end) {
    if (la.contiguous && lb.contiguous) {
      for (std::int64_t i = begin; i < end; ++i) y[i] = apply_binary(op, a[i], b[i]);
    } else {
      for (std::int64_t i = begin; i < end; ++i) y[i] = apply_binary(op, a[la.offset(i)], b[lb.offset(i)]);
    }
  });
}

template <class T>
void compare(CompareOp op, const T* a, const Layout& la, const T* b, const Layout& lb, bool* y, std::int64_t n,
             const ParallelFor& parallel) {
  parallel(0, n, kElementwiseGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) y[i] = apply_compare(op, a[la.offset(i)], b[lb.offset(i)]);
  });
}

template <class T>
void where(const bool* c, const Layout& lc, const T* a, const Layout& la, const T* b, const Layout& lb, T* y,
           std::int64_t n, const ParallelFor& parallel) {
  parallel(0, n, kElementwiseGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) y[i] = c[lc.offset(i)] ? a[la.offset(i)] : b[lb.offset(i)];
  });
}

template <class T>
void fill(T* y, std::int64_t n, T value) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = value;
}

}  // namespace anima::kernels::cpu
