// CPU-vs-CUDA parity of the activations (anima/ops/activation.hpp), forward and input (and prelu
// slope) gradients, float32 (skipped without a CUDA device).
#include <gtest/gtest.h>

#include <vector>

#include <anima/ops/activation.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/reduce.hpp>

#include "parity.hpp"

namespace anima {
namespace {

using testing::expect_parity;
using testing::Tolerance;

Tensor input(const Shape& s, std::uint64_t seed, double lo, double hi, bool grad = true) {
  Generator g(seed);
  return rand(s, TensorOptions().with_requires_grad(grad), g, lo, hi);
}

// The formulas are the shared UnaryOp entries; the backends differ only in libm: CUDA's expf/expm1f/
// tanhf are within 2 ulps, the host's within 1, and the backward adds one multiply: 1e-6 relative
// (~8 ulps at 2^-23) covers both. The piecewise-linear ones (relu6, leaky, hardswish) are exact.
constexpr Tolerance kActivation{1e-6, 1e-7};

TEST(CudaParity, Activations) {
  ANIMA_REQUIRE_CUDA();
  // [-8, 8] covers every piece (the kinks 0, ±3, 6 are hit with probability 0).
  Tensor x = input({7, 5, 33}, 1, -8, 8);
  expect_parity("relu6", [](auto& in) { return relu6(in[0]); }, {x}, kActivation);
  expect_parity("leaky_relu", [](auto& in) { return leaky_relu(in[0], 0.2); }, {x}, kActivation);
  expect_parity("elu", [](auto& in) { return elu(in[0], 0.7); }, {x}, kActivation);
  expect_parity("sigmoid", [](auto& in) { return sigmoid(in[0]); }, {x}, kActivation);
  expect_parity("tanh", [](auto& in) { return tanh(in[0]); }, {x}, kActivation);
  expect_parity("hardswish", [](auto& in) { return hardswish(in[0]); }, {x}, kActivation);
  // The backward reads a broadcast (stride-0) gradient here: sum's backward expands g over dim 1.
  // The sum itself (5 terms, ordered differently) adds ~1 ulp: 2e-6 relative.
  expect_parity("sigmoid then sum", [](auto& in) { return sum(sigmoid(in[0]), {1}); }, {x}, Tolerance{2e-6, 1e-6});
  expect_parity("relu6 then sum", [](auto& in) { return sum(relu6(in[0]), {1}); }, {x}, Tolerance{2e-6, 1e-6});
}

TEST(CudaParity, ActivationsAtKinks) {
  ANIMA_REQUIRE_CUDA();
  // The kink points themselves: both backends take the same branch (same shared formula).
  Tensor x = from_vector(std::vector<float>{-3, 0, 3, 6, -1, 7}, {6}, TensorOptions().with_requires_grad());
  expect_parity("relu6 kinks", [](auto& in) { return relu6(in[0]); }, {x}, kActivation);
  expect_parity("hardswish kinks", [](auto& in) { return hardswish(in[0]); }, {x}, kActivation);
  expect_parity("leaky kinks", [](auto& in) { return leaky_relu(in[0], 0.1); }, {x}, kActivation);
  expect_parity("elu kinks", [](auto& in) { return elu(in[0], 0.5); }, {x}, kActivation);
}

TEST(CudaParity, Prelu) {
  ANIMA_REQUIRE_CUDA();
  Tensor x = input({4, 3, 9, 7}, 2, -1, 1);
  Tensor w = input({3}, 3, 0, 0.5), w1 = input({1}, 4, 0, 0.5);
  // dw sums 4·9·7 = 252 products per channel: the sum orders differ (CPU sequential in double,
  // CUDA tree in double), both rounded to float once: 1e-6 relative.
  expect_parity("prelu [C]", [](auto& in) { return prelu(in[0], in[1]); }, {x, w}, Tolerance{1e-6, 1e-6});
  expect_parity("prelu [1]", [](auto& in) { return prelu(in[0], in[1]); }, {x, w1}, Tolerance{1e-6, 1e-6});
}

}  // namespace
}  // namespace anima
