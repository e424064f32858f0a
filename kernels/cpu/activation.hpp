// anima/kernels/cpu/activation.hpp — the fused backward of the pointwise activations (CPU).
//
//   dx[i] = g[lg(i)] · d(s[ls(i)])
// where d is a derivative UnaryOp of anima/kernels/elementwise_math.hpp (relu6_grad, hardswish_grad,
// sigmoid_grad_of_output, ...; p0 its parameter) and s the saved input or output. One pass instead of
// the two of the composite form mul(g, unary(d, s)) (the reference: the same operations per element,
// so the results are bitwise equal). dx is contiguous with n elements; g and s are read through their
// Layouts (anima/kernels/layout.hpp), as the elementwise kernels do.
// Determinism: elementwise: bitwise reproducible.
#pragma once

#include <cstdint>

#include <anima/kernels/cpu/elementwise.hpp>
#include <anima/kernels/elementwise_math.hpp>
#include <anima/kernels/layout.hpp>
#include <anima/kernels/parallel.hpp>

namespace anima::kernels::cpu {

template <class T>
void activation_backward(UnaryOp grad_op, T p0, const T* s, const Layout& ls, const T* g, const Layout& lg, T* dx,
                         std::int64_t n, const ParallelFor& parallel) {
  parallel(0, n, kElementwiseGrain, [&](std::int64_t begin, std::int64_t end) {
    if (ls.contiguous && lg.contiguous) {
      for (std::int64_t i = begin; i < end; ++i) dx[i] = g[i] * apply_unary(grad_op, s[i], p0, T(0));
    } else {
      for (std::int64_t i = begin; i < end; ++i)
        dx[i] = g[lg.offset(i)] * apply_unary(grad_op, s[ls.offset(i)], p0, T(0));
    }
  });
}

}  // namespace anima::kernels::cpu
