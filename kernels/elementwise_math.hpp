// anima/kernels/elementwise_math.hpp — the per-element formulas, written once for both backends.
//
// Forward formulas (backward ones live with the ops, in anima/ops/elementwise.hpp):
//   unary:    neg -x | exp e^x | log ln x | sqrt √x | abs |x| | sign sgn x | pow_scalar x^p
//             clamp min(max(x, lo), hi) | relu max(x, 0)
//   binary:   add a+b | sub a-b | mul a*b | div a/b | pow a^b | maximum | minimum
//   compare:  eq ne lt le gt ge  -> bool
// NaN handling follows IEEE and PyTorch: clamp, maximum and minimum propagate NaN.
#pragma once

#include <cmath>

#include <anima/kernels/host_device.hpp>

namespace anima::kernels {

enum class UnaryOp : int { Neg, Exp, Log, Sqrt, Abs, Sign, PowScalar, Clamp, Relu };
enum class BinaryOp : int { Add, Sub, Mul, Div, Pow, Maximum, Minimum };
enum class CompareOp : int { Eq, Ne, Lt, Le, Gt, Ge };

template <class T>
ANIMA_HD T apply_unary(UnaryOp op, T x, T p0, T p1) {
  using std::exp;  // float overloads on the host; CUDA's device overloads under nvcc
  using std::log;
  using std::pow;
  using std::sqrt;
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Exp: return exp(x);
    case UnaryOp::Log: return log(x);
    case UnaryOp::Sqrt: return sqrt(x);
    case UnaryOp::Abs: return x < T(0) ? -x : x;
    case UnaryOp::Sign: return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
    case UnaryOp::PowScalar: return pow(x, p0);
    case UnaryOp::Clamp:
      if (x != x) return x;  // NaN stays NaN
      return x < p0 ? p0 : (x > p1 ? p1 : x);
    case UnaryOp::Relu: return x > T(0) ? x : (x != x ? x : T(0));
  }
  return x;
}

template <class T>
ANIMA_HD T apply_binary(BinaryOp op, T a, T b) {
  using std::pow;
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
    case BinaryOp::Pow: return pow(a, b);
    case BinaryOp::Maximum: return (a != a || b != b) ? a + b : (a > b ? a : b);
    case BinaryOp::Minimum: return (a != a || b != b) ? a + b : (a < b ? a : b);
  }
  return a;
}

template <class T>
ANIMA_HD bool apply_compare(CompareOp op, T a, T b) {
  switch (op) {
    case CompareOp::Eq: return a == b;
    case CompareOp::Ne: return a != b;
    case CompareOp::Lt: return a < b;
    case CompareOp::Le: return a <= b;
    case CompareOp::Gt: return a > b;
    case CompareOp::Ge: return a >= b;
  }
  return false;
}

}  // namespace anima::kernels
