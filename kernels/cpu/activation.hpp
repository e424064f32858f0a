// anima/kernels/cpu/activation.hpp — the fused backward of the pointwise activations (CPU).
//
//   dx[i] = g[lg(i)] · d(s[ls(i)])
// where d is a derivative UnaryOp of anima/kernels/elementwise_math.hpp (relu6_grad, hardswish_grad,
// sigmoid_grad_of_output, ...; p0 its parameter) and s the saved input or output. One pass instead of
// the two of the composite form mul(g, unary(d, s)); activation_backward_reference is the plain loop,
// the fast version walks rows (the same operations per element, so the results are bitwise equal).
// dx is contiguous with n elements; g and s are read through their Layouts
// (anima/kernels/layout.hpp), as the elementwise kernels do.
// Determinism: elementwise: bitwise reproducible.
#pragma once

#include <cstdint>

#include <anima/kernels/cpu/elementwise.hpp>
#include <anima/kernels/cpu/strided_rows.hpp>
#include <anima/kernels/elementwise_math.hpp>
#include <anima/kernels/layout.hpp>
#include <anima/kernels/parallel.hpp>

namespace anima::kernels::cpu {

template <class T>
void activation_backward_reference(UnaryOp grad_op, T p0, const T* s, const Layout& ls, const T* g, const Layout& lg,
                                   T* dx, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dx[i] = g[lg.offset(i)] * apply_unary(grad_op, s[ls.offset(i)], p0, T(0));
}

// The same, walking the merged dimensions in rows with the derivative picked once per call
// (strided_rows.hpp, as the fast elementwise kernels do).
template <class T>
void activation_backward(UnaryOp grad_op, T p0, const T* s, const Layout& ls, const T* g, const Layout& lg, T* dx,
                         std::int64_t n, const ParallelFor& parallel) {
  with_unary_op(grad_op, [&](auto op_constant) {
    constexpr UnaryOp kOp = decltype(op_constant)::value;
    two_input_rows(s, ls, g, lg, dx, n, parallel,
                   [p0](T saved, T grad) { return grad * apply_unary(kOp, saved, p0, T(0)); });
  });
}

}  // namespace anima::kernels::cpu
