// linear (anima/ops/linear.hpp) on every backend: values against a double loop, float32 against the
// float64 reference (forward and the gradients of x, W, b), gradcheck of x, W, b for 1-D, 2-D and 3-D
// inputs with and without bias, and argument errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <anima/ops/linear.hpp>

#include "ops/backend_harness.hpp"

namespace anima {
namespace {

using namespace testing;  // tests/ops/backend_harness.hpp and the helpers it includes

ANIMA_BACKEND_SUITE(Linear);

TEST_P(Linear, ValuesMatchLoop) {
  const Tensor x = to_backend(uniform64({2, 3, 7}, 1, -1, 1, false));
  const Tensor w = to_backend(uniform64({5, 7}, 2, -1, 1, false));
  const Tensor b = to_backend(uniform64({5}, 3, -1, 1, false));
  const auto xv = to_vector<double>(x), wv = to_vector<double>(w), bv = to_vector<double>(b);
  const Tensor y = linear(x, w, b);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 5}));
  const auto yv = to_vector<double>(y);
  const auto y0 = to_vector<double>(linear(x, w));
  for (int r = 0; r < 6; ++r)
    for (int o = 0; o < 5; ++o) {
      double acc = 0;
      for (int i = 0; i < 7; ++i) acc += xv[r * 7 + i] * wv[o * 7 + i];
      EXPECT_NEAR(yv[r * 5 + o], acc + bv[o], 1e-14);
      EXPECT_NEAR(y0[r * 5 + o], acc, 1e-14);
    }
  const Tensor v = to_backend(uniform64({7}, 4, -1, 1, false));
  EXPECT_EQ(linear(v, w, b).shape(), (Shape{5}));
}

TEST_P(Linear, Float32MatchesFloat64Reference) {
  // float32 sums over K = 37 (and the weight gradient over 15 rows): each element within
  // K·2^-24·Σ|terms| of the float64 value, well under 1e-5 of the scale for these uniform inputs.
  constexpr Tolerance kGemm{1e-5};
  const Tensor x = uniform({3, 5, 37}, 1), w = uniform({19, 37}, 2), b = uniform({19}, 3);
  expect_matches_reference(
      "linear", [](auto& in) { return linear(in[0], in[1], in[2]); }, {x, w, b}, kGemm);
  expect_matches_reference(
      "linear no bias", [](auto& in) { return linear(in[0], in[1]); }, {x, w}, kGemm);
}

TEST_P(Linear, Gradcheck) {
  const Tensor w = uniform64({4, 6}, 5), b = uniform64({4}, 6);
  for (const Shape& s : {Shape{6}, Shape{3, 6}, Shape{2, 3, 6}}) {
    const Tensor x = uniform64(s, 7);
    expect_gradcheck(shape_str(s), [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); },
                     {x, w, b});
    expect_gradcheck(shape_str(s) + " no bias", [](const std::vector<Tensor>& in) { return linear(in[0], in[1]); },
                     {x, w});
  }
}

TEST_P(Linear, Errors) {
  const TensorOptions o = options();
  expect_error(
      [&] {
        linear(zeros({2, 3}, o), zeros({4, 5}, o));
      },
      {"anima::linear", "[2, 3]", "[4, 5]", "3 features", "5"});
  expect_error(
      [&] {
        linear(zeros({2, 5}, o), zeros({4, 5}, o), zeros({3}, o));
      },
      {"anima::linear", "bias", "[3]", "[4]"});
  expect_error([&] { linear(zeros({2, 5}, o), zeros({20}, o)); }, {"anima::linear", "weight", "[20]"});
  expect_error([&] { linear(zeros({2, 5}, o), zeros({4, 5}, options(DType::Float64))); }, {"anima::linear", "float64"});
  const Tensor elsewhere = foreign({4, 5});
  expect_error([&] { linear(zeros({2, 5}, o), elsewhere); }, {"anima::linear", "cuda", "[4, 5]"});
}

}  // namespace
}  // namespace anima
