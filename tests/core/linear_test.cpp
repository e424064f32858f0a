// linear (anima/ops/linear.hpp): values against a double loop, gradcheck (float64) of x, W, b for
// 1-D, 2-D and 3-D inputs with and without bias, and argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/linear.hpp>

#include "expect_error.hpp"

namespace anima {
namespace {

using anima::testing::expect_error;

Tensor f64(const Shape& s, std::uint64_t seed, bool grad = true) {
  Generator g(seed);
  return rand(s, TensorOptions(DType::Float64).with_requires_grad(grad), g, -1, 1);
}

TEST(Linear, ValuesMatchLoop) {
  Tensor x = f64({2, 3, 7}, 1, false), w = f64({5, 7}, 2, false), b = f64({5}, 3, false);
  const auto xv = to_vector<double>(x), wv = to_vector<double>(w), bv = to_vector<double>(b);
  Tensor y = linear(x, w, b);
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
  Tensor v = f64({7}, 4, false);
  EXPECT_EQ(linear(v, w, b).shape(), (Shape{5}));
}

TEST(Linear, Gradcheck) {
  Tensor w = f64({4, 6}, 5), b = f64({4}, 6);
  for (const Shape& s : {Shape{6}, Shape{3, 6}, Shape{2, 3, 6}}) {
    Tensor x = f64(s, 7);
    auto r = gradcheck([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, {x, w, b});
    EXPECT_TRUE(r.ok) << shape_str(s) << "\n" << r.report;
    r = gradcheck([](const std::vector<Tensor>& in) { return linear(in[0], in[1]); }, {x, w});
    EXPECT_TRUE(r.ok) << shape_str(s) << " no bias\n" << r.report;
  }
}

TEST(Linear, Errors) {
  expect_error([] { linear(zeros({2, 3}), zeros({4, 5})); }, {"anima::linear", "[2, 3]", "[4, 5]", "3 features", "5"});
  expect_error([] { linear(zeros({2, 5}), zeros({4, 5}), zeros({3})); }, {"anima::linear", "bias", "[3]", "[4]"});
  expect_error([] { linear(zeros({2, 5}), zeros({20})); }, {"anima::linear", "weight", "[20]"});
  expect_error([] { linear(zeros({2, 5}), zeros({4, 5}, DType::Float64)); }, {"anima::linear", "float64"});
  float buf[20] = {};
  Tensor fake = view_of_buffer(buf, {4, 5}, Device::cuda(0));
  expect_error([&] { linear(zeros({2, 5}), fake); }, {"anima::linear", "cuda", "[4, 5]"});
}

}  // namespace
}  // namespace anima
