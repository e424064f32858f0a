// anima/kernels/cpu/elementwise.hpp — elementwise kernels over strided, broadcast inputs (CPU).
//
//   unary:   y[i] = f(x[lx(i)])                 binary:  y[i] = a[la(i)] (op) b[lb(i)]
//   compare: y[i] = a[la(i)] (cmp) b[lb(i)]      where:   y[i] = c[lc(i)] ? a[la(i)] : b[lb(i)]
// where l*(i) is Layout::offset. y is contiguous with n elements. The per-element formulas are the
// ones in anima/kernels/elementwise_math.hpp that the CUDA kernels use too.
//
// Two versions of each:
//   *_reference  the definition above, one Layout::offset per input per element, serial;
//   the fast one walks the operands' merged dimensions row by row (strided_rows.hpp), picks the
//                operation once per call instead of once per element, and gives the compiler plain
//                loops to vectorise for the common row shapes (every input contiguous, or one of them
//                a repeated scalar as in a per-channel scale); work is split over the caller's
//                ParallelFor in chunks of kElementwiseGrain elements (enough work per task to hide
//                the hand-off). Both evaluate the same formula on the same elements: equal bit for
//                bit (a NaN result is a NaN in both, its payload may differ: IEEE 754 leaves open
//                which operand's NaN a product of two NaNs carries).
#pragma once

#include <cstdint>
#include <type_traits>

#include <anima/kernels/cpu/strided_rows.hpp>
#include <anima/kernels/elementwise_math.hpp>
#include <anima/kernels/layout.hpp>
#include <anima/kernels/parallel.hpp>

namespace anima::kernels::cpu {

constexpr std::int64_t kElementwiseGrain = 32768;

// --- reference loops -------------------------------------------------------------------------------

template <class T>
void unary_reference(UnaryOp op, T p0, T p1, const T* x, const Layout& lx, T* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = apply_unary(op, x[lx.offset(i)], p0, p1);
}

template <class T>
void binary_reference(BinaryOp op, const T* a, const Layout& la, const T* b, const Layout& lb, T* y,
                      std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = apply_binary(op, a[la.offset(i)], b[lb.offset(i)]);
}

template <class T>
void compare_reference(CompareOp op, const T* a, const Layout& la, const T* b, const Layout& lb, bool* y,
                       std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = apply_compare(op, a[la.offset(i)], b[lb.offset(i)]);
}

template <class T>
void where_reference(const bool* c, const Layout& lc, const T* a, const Layout& la, const T* b, const Layout& lb,
                     T* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = c[lc.offset(i)] ? a[la.offset(i)] : b[lb.offset(i)];
}

// --- the operation as a compile-time constant ------------------------------------------------------

// Calls f(std::integral_constant<Enum, op>{}) for the runtime `op`, so that the loop f runs is
// compiled once per operation with the switch of apply_* folded away.
template <class F>
void with_unary_op(UnaryOp op, F&& f) {
  using O = UnaryOp;
  switch (op) {
    case O::Neg: f(std::integral_constant<O, O::Neg>{}); return;
    case O::Exp: f(std::integral_constant<O, O::Exp>{}); return;
    case O::Log: f(std::integral_constant<O, O::Log>{}); return;
    case O::Sqrt: f(std::integral_constant<O, O::Sqrt>{}); return;
    case O::Abs: f(std::integral_constant<O, O::Abs>{}); return;
    case O::Sign: f(std::integral_constant<O, O::Sign>{}); return;
    case O::PowScalar: f(std::integral_constant<O, O::PowScalar>{}); return;
    case O::Clamp: f(std::integral_constant<O, O::Clamp>{}); return;
    case O::Relu: f(std::integral_constant<O, O::Relu>{}); return;
    case O::Relu6: f(std::integral_constant<O, O::Relu6>{}); return;
    case O::LeakyRelu: f(std::integral_constant<O, O::LeakyRelu>{}); return;
    case O::Elu: f(std::integral_constant<O, O::Elu>{}); return;
    case O::Sigmoid: f(std::integral_constant<O, O::Sigmoid>{}); return;
    case O::Tanh: f(std::integral_constant<O, O::Tanh>{}); return;
    case O::Hardswish: f(std::integral_constant<O, O::Hardswish>{}); return;
    case O::Softplus: f(std::integral_constant<O, O::Softplus>{}); return;
    case O::Relu6Grad: f(std::integral_constant<O, O::Relu6Grad>{}); return;
    case O::LeakyReluGrad: f(std::integral_constant<O, O::LeakyReluGrad>{}); return;
    case O::EluGrad: f(std::integral_constant<O, O::EluGrad>{}); return;
    case O::HardswishGrad: f(std::integral_constant<O, O::HardswishGrad>{}); return;
    case O::SigmoidGradOfOutput: f(std::integral_constant<O, O::SigmoidGradOfOutput>{}); return;
    case O::TanhGradOfOutput: f(std::integral_constant<O, O::TanhGradOfOutput>{}); return;
  }
}

template <class F>
void with_binary_op(BinaryOp op, F&& f) {
  using O = BinaryOp;
  switch (op) {
    case O::Add: f(std::integral_constant<O, O::Add>{}); return;
    case O::Sub: f(std::integral_constant<O, O::Sub>{}); return;
    case O::Mul: f(std::integral_constant<O, O::Mul>{}); return;
    case O::Div: f(std::integral_constant<O, O::Div>{}); return;
    case O::Pow: f(std::integral_constant<O, O::Pow>{}); return;
    case O::Maximum: f(std::integral_constant<O, O::Maximum>{}); return;
    case O::Minimum: f(std::integral_constant<O, O::Minimum>{}); return;
  }
}

template <class F>
void with_compare_op(CompareOp op, F&& f) {
  using O = CompareOp;
  switch (op) {
    case O::Eq: f(std::integral_constant<O, O::Eq>{}); return;
    case O::Ne: f(std::integral_constant<O, O::Ne>{}); return;
    case O::Lt: f(std::integral_constant<O, O::Lt>{}); return;
    case O::Le: f(std::integral_constant<O, O::Le>{}); return;
    case O::Gt: f(std::integral_constant<O, O::Gt>{}); return;
    case O::Ge: f(std::integral_constant<O, O::Ge>{}); return;
  }
}

// y[j] = f(a[j * sa], b[j * sb]) for j < n, with the strides the compiler can vectorise spelled out.
template <class A, class B, class Y, class F>
void two_input_row(const A* a, std::int64_t sa, const B* b, std::int64_t sb, Y* y, std::int64_t n, F f) {
  if (sa == 1 && sb == 1) {
    for (std::int64_t j = 0; j < n; ++j) y[j] = f(a[j], b[j]);
  } else if (sa == 1 && sb == 0) {
    const B vb = *b;
    for (std::int64_t j = 0; j < n; ++j) y[j] = f(a[j], vb);
  } else if (sa == 0 && sb == 1) {
    const A va = *a;
    for (std::int64_t j = 0; j < n; ++j) y[j] = f(va, b[j]);
  } else {
    for (std::int64_t j = 0; j < n; ++j) y[j] = f(a[j * sa], b[j * sb]);
  }
}

// --- fast versions ---------------------------------------------------------------------------------

template <class T>
void unary(UnaryOp op, T p0, T p1, const T* x, const Layout& lx, T* y, std::int64_t n, const ParallelFor& parallel) {
  const Layout* layouts[1] = {&lx};
  const StridedRows<1> rows(layouts);
  const std::int64_t sx = rows.inner_stride(0);
  with_unary_op(op, [&](auto op_constant) {
    constexpr UnaryOp kOp = decltype(op_constant)::value;
    parallel(0, n, kElementwiseGrain, [&](std::int64_t begin, std::int64_t end) {
      rows.for_each_row(begin, end, [&](std::int64_t i, const std::int64_t* offsets, std::int64_t length) {
        const T* xr = x + offsets[0];
        T* yr = y + i;
        if (sx == 1) {
          for (std::int64_t j = 0; j < length; ++j) yr[j] = apply_unary(kOp, xr[j], p0, p1);
        } else {
          for (std::int64_t j = 0; j < length; ++j) yr[j] = apply_unary(kOp, xr[j * sx], p0, p1);
        }
      });
    });
  });
}

// y = f(a, b) over the n output elements, the operands' layouts walked in merged rows; f is the
// operation already made a compile-time constant by the caller, so each row's loop vectorises.
template <class A, class B, class Y, class F>
void two_input_rows(const A* a, const Layout& la, const B* b, const Layout& lb, Y* y, std::int64_t n,
                    const ParallelFor& parallel, F f) {
  const Layout* layouts[2] = {&la, &lb};
  const StridedRows<2> rows(layouts);
  const std::int64_t sa = rows.inner_stride(0), sb = rows.inner_stride(1);
  parallel(0, n, kElementwiseGrain, [&](std::int64_t begin, std::int64_t end) {
    rows.for_each_row(begin, end, [&](std::int64_t i, const std::int64_t* offsets, std::int64_t length) {
      two_input_row(a + offsets[0], sa, b + offsets[1], sb, y + i, length, f);
    });
  });
}

template <class T>
void binary(BinaryOp op, const T* a, const Layout& la, const T* b, const Layout& lb, T* y, std::int64_t n,
            const ParallelFor& parallel) {
  with_binary_op(op, [&](auto op_constant) {
    constexpr BinaryOp kOp = decltype(op_constant)::value;
    two_input_rows(a, la, b, lb, y, n, parallel, [](T u, T v) { return apply_binary(kOp, u, v); });
  });
}

template <class T>
void compare(CompareOp op, const T* a, const Layout& la, const T* b, const Layout& lb, bool* y, std::int64_t n,
             const ParallelFor& parallel) {
  with_compare_op(op, [&](auto op_constant) {
    constexpr CompareOp kOp = decltype(op_constant)::value;
    two_input_rows(a, la, b, lb, y, n, parallel, [](T u, T v) { return apply_compare(kOp, u, v); });
  });
}

template <class T>
void where(const bool* c, const Layout& lc, const T* a, const Layout& la, const T* b, const Layout& lb, T* y,
           std::int64_t n, const ParallelFor& parallel) {
  const Layout* layouts[3] = {&lc, &la, &lb};
  const StridedRows<3> rows(layouts);
  const std::int64_t sc = rows.inner_stride(0), sa = rows.inner_stride(1), sb = rows.inner_stride(2);
  parallel(0, n, kElementwiseGrain, [&](std::int64_t begin, std::int64_t end) {
    rows.for_each_row(begin, end, [&](std::int64_t i, const std::int64_t* offsets, std::int64_t length) {
      const bool* cr = c + offsets[0];
      const T* ar = a + offsets[1];
      const T* br = b + offsets[2];
      T* yr = y + i;
      if (sc == 1 && sa == 1 && sb == 1) {
        for (std::int64_t j = 0; j < length; ++j) yr[j] = cr[j] ? ar[j] : br[j];
      } else {
        for (std::int64_t j = 0; j < length; ++j) yr[j] = cr[j * sc] ? ar[j * sa] : br[j * sb];
      }
    });
  });
}

template <class T>
void fill(T* y, std::int64_t n, T value) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = value;
}

}  // namespace anima::kernels::cpu
