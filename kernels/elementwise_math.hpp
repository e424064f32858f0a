// anima/kernels/elementwise_math.hpp — the per-element formulas, written once for both backends.
//
// Forward formulas (backward ones live with the ops, in anima/ops/elementwise.hpp):
//   unary:    neg -x | exp e^x | log ln x | sqrt √x | abs |x| | sign sgn x | pow_scalar x^p
//             clamp min(max(x, lo), hi) | relu max(x, 0)
//   activations (anima/ops/activation.hpp; p0 = the op's parameter):
//             relu6 min(max(x, 0), 6) | leaky_relu x > 0 ? x : p0·x | elu x > 0 ? x : p0·(e^x - 1)
//             sigmoid 1/(1 + e^-x) | tanh | hardswish x·min(max(x + 3, 0), 6)/6
//             softplus max(x, 0) + log1p(e^-|x|)   (stable; never overflows)
//   activation derivatives (the factor dy/dx that the backward multiplies g by; PyTorch 1.13's
//   choices at the kinks, see anima/ops/activation.hpp):
//             relu6_grad [0 < x < 6] | leaky_relu_grad x > 0 ? 1 : p0 | elu_grad x > 0 ? 1 : p0·e^x
//             hardswish_grad x < -3 ? 0 : (x <= 3 ? x/3 + 1/2 : 1)
//             sigmoid_grad_y y·(1 - y) and tanh_grad_y 1 - y², both of the OUTPUT y
//   binary:   add a+b | sub a-b | mul a*b | div a/b | pow a^b | maximum | minimum
//   compare:  eq ne lt le gt ge  -> bool
// NaN handling follows IEEE and PyTorch: clamp, maximum and minimum propagate NaN.
#pragma once

#include <cmath>

#include <anima/kernels/host_device.hpp>

namespace anima::kernels {

enum class UnaryOp : int {
  Neg,
  Exp,
  Log,
  Sqrt,
  Abs,
  Sign,
  PowScalar,
  Clamp,
  Relu,
  // activations and their derivative factors
  Relu6,
  LeakyRelu,
  Elu,
  Sigmoid,
  Tanh,
  Hardswish,
  Softplus,
  Relu6Grad,
  LeakyReluGrad,
  EluGrad,
  HardswishGrad,
  SigmoidGradOfOutput,
  TanhGradOfOutput
};
enum class BinaryOp : int { Add, Sub, Mul, Div, Pow, Maximum, Minimum };
enum class CompareOp : int { Eq, Ne, Lt, Le, Gt, Ge };

template <class T>
ANIMA_HD T apply_unary(UnaryOp op, T x, T p0, T p1) {
  using std::exp;  // float overloads on the host; CUDA's device overloads under nvcc
  using std::expm1;
  using std::log;
  using std::log1p;
  using std::pow;
  using std::sqrt;
  using std::tanh;
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
    case UnaryOp::Relu6:
      if (x != x) return x;
      return x < T(0) ? T(0) : (x > T(6) ? T(6) : x);
    case UnaryOp::LeakyRelu: return x > T(0) ? x : x * p0;
    case UnaryOp::Elu: return x > T(0) ? x : p0 * expm1(x);
    case UnaryOp::Sigmoid: return T(1) / (T(1) + exp(-x));
    case UnaryOp::Tanh: return tanh(x);
    case UnaryOp::Hardswish: {
      const T r = x + T(3);
      const T r6 = r < T(0) ? T(0) : (r > T(6) ? T(6) : r);
      return x * r6 / T(6);
    }
    case UnaryOp::Softplus: {
      const T ax = x < T(0) ? -x : x;
      return (x > T(0) ? x : T(0)) + log1p(exp(-ax));
    }
    case UnaryOp::Relu6Grad: return (x > T(0) && x < T(6)) ? T(1) : T(0);
    case UnaryOp::LeakyReluGrad: return x > T(0) ? T(1) : p0;
    case UnaryOp::EluGrad: return x > T(0) ? T(1) : p0 * exp(x);
    case UnaryOp::HardswishGrad: return x < T(-3) ? T(0) : (x <= T(3) ? x / T(3) + T(0.5) : T(1));
    case UnaryOp::SigmoidGradOfOutput: return x * (T(1) - x);
    case UnaryOp::TanhGradOfOutput: return T(1) - x * x;
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
