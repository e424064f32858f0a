// anima/ops/elementwise.hpp — differentiable elementwise ops with NumPy broadcasting, and operators.
//
// Forward (per element; shapes broadcast, the output has the broadcast shape):
//   add a+b, sub a-b, mul a*b, div a/b, pow a^b, maximum, minimum, where(c, a, b)
//   neg -x, exp e^x, log ln x, sqrt √x, abs |x|, pow(x, p), clamp(x, lo, hi), relu max(x, 0)
//   eq ne lt le gt ge -> bool (not differentiable)
// Backward (g = dL/dy; every input gradient then goes through sum_to(·, input.shape), the adjoint of
// broadcasting):
//   add: g, g            sub: g, -g           mul: g·b, g·a         div: g/b, -g·a/b²
//   pow: g·b·a^(b-1), g·a^b·ln a (0 where a == 0, as PyTorch)      pow(x, p): g·p·x^(p-1)
//   neg: -g   exp: g·y   log: g/x   sqrt: g/(2y)   abs: g·sgn x
//   clamp: g where lo <= x <= hi, else 0          relu: g where x > 0, else 0
//   maximum: g to the larger input; ties give g/2 to each (PyTorch's rule); minimum likewise
//   where: g where c to a, g where !c to b
// The kernels are in anima/backends/cpu/elementwise.hpp; per-element math in anima/kernels/elementwise_math.hpp.
// Determinism: every output element depends on its own inputs only: bitwise reproducible.
#pragma once

#include <limits>
#include <vector>

#include <anima/autograd/node.hpp>
#include <anima/ops/elementwise_untracked.hpp>
#include <anima/ops/reduce.hpp>

namespace anima {

namespace detail {
using kernels::BinaryOp;
using kernels::CompareOp;
using kernels::UnaryOp;

inline Tensor mul_u(const Tensor& a, const Tensor& b) { return untracked::binary("mul", BinaryOp::Mul, a, b); }
inline Tensor div_u(const Tensor& a, const Tensor& b) { return untracked::binary("div", BinaryOp::Div, a, b); }
inline Tensor neg_u(const Tensor& a) { return untracked::unary("neg", UnaryOp::Neg, a); }
inline Tensor zero_like_scalar(const Tensor& t) { return untracked::scalar_like(t, 0.0); }
}  // namespace detail

// ---- binary ----------------------------------------------------------------------------------

inline Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = untracked::binary("add", kernels::BinaryOp::Add, a, b);
  const Shape sa = a.shape(), sb = b.shape();
  record("add", y, {a, b}, [sa, sb](const Tensor& g) -> std::vector<Tensor> {
    return {untracked::sum_to(g, sa), untracked::sum_to(g, sb)};
  });
  return y;
}

inline Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor y = untracked::binary("sub", kernels::BinaryOp::Sub, a, b);
  const Shape sa = a.shape(), sb = b.shape();
  record("sub", y, {a, b}, [sa, sb](const Tensor& g) -> std::vector<Tensor> {
    return {untracked::sum_to(g, sa), untracked::sum_to(detail::neg_u(g), sb)};
  });
  return y;
}

inline Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = untracked::binary("mul", kernels::BinaryOp::Mul, a, b);
  Tensor sa = detach(a), sb = detach(b);
  record("mul", y, {a, b}, [sa, sb](const Tensor& g) -> std::vector<Tensor> {
    return {untracked::sum_to(detail::mul_u(g, sb), sa.shape()), untracked::sum_to(detail::mul_u(g, sa), sb.shape())};
  });
  return y;
}

inline Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = untracked::binary("div", kernels::BinaryOp::Div, a, b);
  Tensor sa = detach(a), sb = detach(b);
  record("div", y, {a, b}, [sa, sb](const Tensor& g) -> std::vector<Tensor> {
    Tensor ga = detail::div_u(g, sb);
    // -g·a/b² = -(g/b)·(a/b)
    Tensor gb = detail::neg_u(detail::mul_u(ga, detail::div_u(sa, sb)));
    return {untracked::sum_to(ga, sa.shape()), untracked::sum_to(gb, sb.shape())};
  });
  return y;
}

inline Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor y = untracked::binary("pow", kernels::BinaryOp::Pow, a, b);
  Tensor sa = detach(a), sb = detach(b), sy = detach(y);
  record("pow", y, {a, b}, [sa, sb, sy](const Tensor& g) -> std::vector<Tensor> {
    using namespace detail;
    Tensor one = untracked::scalar_like(sb, 1.0);
    Tensor ga = mul_u(
        g, mul_u(sb, untracked::binary("pow", BinaryOp::Pow, sa, untracked::binary("sub", BinaryOp::Sub, sb, one))));
    Tensor log_a = untracked::unary("log", UnaryOp::Log, sa);
    Tensor at_zero = untracked::compare("pow_backward", CompareOp::Eq, sa, zero_like_scalar(sa));
    Tensor gb = untracked::where(at_zero, zero_like_scalar(g), mul_u(g, mul_u(sy, log_a)));
    return {untracked::sum_to(ga, sa.shape()), untracked::sum_to(gb, sb.shape())};
  });
  return y;
}

namespace detail {
inline Tensor extreme_binary(const Tensor& a, const Tensor& b, BinaryOp op, CompareOp wins, const char* name) {
  Tensor y = untracked::binary(name, op, a, b);
  Tensor sa = detach(a), sb = detach(b);
  record(name, y, {a, b}, [sa, sb, wins, name](const Tensor& g) -> std::vector<Tensor> {
    // share_a = 1 where a wins, 1/2 where tied, 0 where b wins.
    Tensor a_wins = untracked::compare(name, wins, sa, sb);
    Tensor tie = untracked::compare(name, CompareOp::Eq, sa, sb);
    Tensor half = untracked::scalar_like(g, 0.5);
    Tensor share_a =
        untracked::where(a_wins, untracked::scalar_like(g, 1.0), untracked::where(tie, half, zero_like_scalar(g)));
    Tensor ga = mul_u(g, share_a);
    Tensor gb = untracked::binary(name, BinaryOp::Sub, g, ga);
    return {untracked::sum_to(ga, sa.shape()), untracked::sum_to(gb, sb.shape())};
  });
  return y;
}
}  // namespace detail

inline Tensor maximum(const Tensor& a, const Tensor& b) {
  return detail::extreme_binary(a, b, kernels::BinaryOp::Maximum, kernels::CompareOp::Gt, "maximum");
}
inline Tensor minimum(const Tensor& a, const Tensor& b) {
  return detail::extreme_binary(a, b, kernels::BinaryOp::Minimum, kernels::CompareOp::Lt, "minimum");
}

// c ? a : b elementwise (c bool; all three broadcast together).
inline Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor y = untracked::where(cond, a, b);
  const Shape sa = a.shape(), sb = b.shape();
  Tensor c = detach(cond);
  record("where", y, {a, b}, [c, sa, sb](const Tensor& g) -> std::vector<Tensor> {
    Tensor zero = detail::zero_like_scalar(g);
    return {untracked::sum_to(untracked::where(c, g, zero), sa), untracked::sum_to(untracked::where(c, zero, g), sb)};
  });
  return y;
}

// ---- comparisons (bool results, no gradient) -------------------------------------------------

inline Tensor eq(const Tensor& a, const Tensor& b) { return untracked::compare("eq", kernels::CompareOp::Eq, a, b); }
inline Tensor ne(const Tensor& a, const Tensor& b) { return untracked::compare("ne", kernels::CompareOp::Ne, a, b); }
inline Tensor lt(const Tensor& a, const Tensor& b) { return untracked::compare("lt", kernels::CompareOp::Lt, a, b); }
inline Tensor le(const Tensor& a, const Tensor& b) { return untracked::compare("le", kernels::CompareOp::Le, a, b); }
inline Tensor gt(const Tensor& a, const Tensor& b) { return untracked::compare("gt", kernels::CompareOp::Gt, a, b); }
inline Tensor ge(const Tensor& a, const Tensor& b) { return untracked::compare("ge", kernels::CompareOp::Ge, a, b); }

// ---- unary -----------------------------------------------------------------------------------

inline Tensor neg(const Tensor& x) {
  Tensor y = untracked::unary("neg", kernels::UnaryOp::Neg, x);
  record("neg", y, {x}, [](const Tensor& g) -> std::vector<Tensor> { return {detail::neg_u(g)}; });
  return y;
}

inline Tensor exp(const Tensor& x) {
  Tensor y = untracked::unary("exp", kernels::UnaryOp::Exp, x);
  Tensor sy = detach(y);
  record("exp", y, {x}, [sy](const Tensor& g) -> std::vector<Tensor> { return {detail::mul_u(g, sy)}; });
  return y;
}

inline Tensor log(const Tensor& x) {
  Tensor y = untracked::unary("log", kernels::UnaryOp::Log, x);
  Tensor sx = detach(x);
  record("log", y, {x}, [sx](const Tensor& g) -> std::vector<Tensor> { return {detail::div_u(g, sx)}; });
  return y;
}

inline Tensor sqrt(const Tensor& x) {
  Tensor y = untracked::unary("sqrt", kernels::UnaryOp::Sqrt, x);
  Tensor sy = detach(y);
  record("sqrt", y, {x}, [sy](const Tensor& g) -> std::vector<Tensor> {
    return {detail::div_u(g, detail::mul_u(sy, untracked::scalar_like(sy, 2.0)))};
  });
  return y;
}

inline Tensor abs(const Tensor& x) {
  Tensor y = untracked::unary("abs", kernels::UnaryOp::Abs, x);
  Tensor sx = detach(x);
  record("abs", y, {x}, [sx](const Tensor& g) -> std::vector<Tensor> {
    return {detail::mul_u(g, untracked::unary("sign", kernels::UnaryOp::Sign, sx))};
  });
  return y;
}

inline Tensor pow(const Tensor& x, double p) {
  Tensor y = untracked::unary("pow", kernels::UnaryOp::PowScalar, x, p);
  Tensor sx = detach(x);
  record("pow", y, {x}, [sx, p](const Tensor& g) -> std::vector<Tensor> {
    Tensor d = untracked::unary("pow", kernels::UnaryOp::PowScalar, sx, p - 1.0);
    return {detail::mul_u(g, detail::mul_u(d, untracked::scalar_like(d, p)))};
  });
  return y;
}

// min(max(x, lo), hi); pass ±infinity for a one-sided clamp.
inline Tensor clamp(const Tensor& x, double lo, double hi) {
  ANIMA_CHECK(!(lo > hi), "clamp", "lo ", lo, " is greater than hi ", hi);
  Tensor y = untracked::unary("clamp", kernels::UnaryOp::Clamp, x, lo, hi);
  Tensor sx = detach(x);
  record("clamp", y, {x}, [sx, lo, hi](const Tensor& g) -> std::vector<Tensor> {
    Tensor zero = detail::zero_like_scalar(g);
    Tensor below = untracked::compare("clamp", kernels::CompareOp::Lt, sx, untracked::scalar_like(sx, lo));
    Tensor above = untracked::compare("clamp", kernels::CompareOp::Gt, sx, untracked::scalar_like(sx, hi));
    return {untracked::where(above, zero, untracked::where(below, zero, g))};
  });
  return y;
}
inline Tensor clamp_min(const Tensor& x, double lo) { return clamp(x, lo, std::numeric_limits<double>::infinity()); }
inline Tensor clamp_max(const Tensor& x, double hi) { return clamp(x, -std::numeric_limits<double>::infinity(), hi); }

inline Tensor relu(const Tensor& x) {
  Tensor y = untracked::unary("relu", kernels::UnaryOp::Relu, x);
  Tensor sx = detach(x);
  record("relu", y, {x}, [sx](const Tensor& g) -> std::vector<Tensor> {
    Tensor positive = untracked::compare("relu", kernels::CompareOp::Gt, sx, detail::zero_like_scalar(sx));
    return {untracked::where(positive, g, detail::zero_like_scalar(g))};
  });
  return y;
}

// ---- scalar forms and operators --------------------------------------------------------------

inline Tensor add(const Tensor& a, double b) { return add(a, untracked::scalar_like(a, b)); }
inline Tensor sub(const Tensor& a, double b) { return sub(a, untracked::scalar_like(a, b)); }
inline Tensor mul(const Tensor& a, double b) { return mul(a, untracked::scalar_like(a, b)); }
inline Tensor div(const Tensor& a, double b) { return div(a, untracked::scalar_like(a, b)); }

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, double b) { return div(a, b); }
inline Tensor operator+(double a, const Tensor& b) { return add(untracked::scalar_like(b, a), b); }
inline Tensor operator-(double a, const Tensor& b) { return sub(untracked::scalar_like(b, a), b); }
inline Tensor operator*(double a, const Tensor& b) { return mul(untracked::scalar_like(b, a), b); }
inline Tensor operator/(double a, const Tensor& b) { return div(untracked::scalar_like(b, a), b); }

}  // namespace anima
