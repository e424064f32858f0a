// Pooling (anima/ops/pool.hpp) on every backend: values worked out by hand from PyTorch's rules,
// float32 against the float64 reference for every option (forward and input gradient), gradients by
// gradcheck for every option, an empty batch, a non-contiguous input and argument errors. The CPU
// kernels and the window math: tests/core/pool_kernels_test.cpp.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include <anima/ops/pool.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

#include "ops/backend_harness.hpp"
#include "ops/pool_cases.hpp"

namespace anima {
namespace {

using namespace testing;  // tests/ops/backend_harness.hpp and the helpers it includes

ANIMA_BACKEND_SUITE(Pool);

// float32 against float64 of the same values. Max pooling picks the same element (the same
// comparisons), so its output is exact; its backward adds the gradients of overlapping windows (<= 4
// terms) in float: a few ulps of the scale. Avg / adaptive: sums of <= 16 values (of <= 2048·... for
// the global pool, summed in double and rounded once) and one division: a few ulps of 2^-24 of the
// scale. 1e-6 covers both.
constexpr Tolerance kMax{0.0, 1e-6};
constexpr Tolerance kAvg{1e-6};

// The pool cases plus a ResNet-sized one (batch 8, 64 channels, 56x56).
std::vector<PoolCase> reference_cases() {
  std::vector<PoolCase> v = pool_cases();
  v.push_back({{8, 64, 56, 56}, opts({3, 3}, {2, 2}, {1, 1})});
  return v;
}

TEST_P(Pool, MaxValuesAndIndicesByHand) {
  // 1x1x4x4 = 0..15 row-major, k 2: the bottom-right of each window wins.
  const TensorOptions f64 = options(DType::Float64);
  std::vector<double> v(16);
  for (int i = 0; i < 16; ++i) v[i] = i;
  const Tensor x = from_vector<double>(v, {1, 1, 4, 4}, f64);
  EXPECT_EQ(to_vector<double>(max_pool2d(x, opts({2, 2}, {0, 0}, {0, 0}))), (std::vector<double>{5, 7, 13, 15}));
  // k 3, s 2, p 1, ceil: 3x3 (the 3rd window starts at 2·2 - 1 = 3 < H: kept); windows clip to rows
  // [0, 2), [1, 4), [3, 4).
  const Tensor y = max_pool2d(x, opts({3, 3}, {2, 2}, {1, 1}, true));
  EXPECT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(to_vector<double>(y), (std::vector<double>{5, 7, 7, 13, 15, 15, 13, 15, 15}));
  // Ties: the first maximum in window order gets the gradient; a NaN wins over numbers.
  const Tensor t = from_vector<double>({1, 1, 1, 1}, {1, 1, 2, 2}, f64.with_requires_grad());
  backward(sum(max_pool2d(t, opts({2, 2}, {0, 0}, {0, 0}))));
  EXPECT_EQ(to_vector<double>(t.grad()), (std::vector<double>{1, 0, 0, 0}));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor n = from_vector<double>({1, nan, 3, 2}, {1, 1, 2, 2}, f64);
  EXPECT_TRUE(std::isnan(to_vector<double>(max_pool2d(n, opts({2, 2}, {0, 0}, {0, 0})))[0]));
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor ninf = from_vector<double>({-inf, -inf, -inf, -inf}, {1, 1, 2, 2}, f64);
  EXPECT_EQ(to_vector<double>(max_pool2d(ninf, opts({2, 2}, {0, 0}, {0, 0})))[0], -inf);
}

TEST_P(Pool, AvgCountIncludePadByHand) {
  const Tensor ones = full({1, 1, 3, 3}, 1.0, options(DType::Float64));
  // k 3, s 1, p 1: with the padding counted a corner sees 4 of 9, an edge 6 of 9.
  EXPECT_EQ(to_vector<double>(avg_pool2d(ones, opts({3, 3}, {1, 1}, {1, 1}, false, true))),
            (std::vector<double>{4. / 9, 6. / 9, 4. / 9, 6. / 9, 1, 6. / 9, 4. / 9, 6. / 9, 4. / 9}));
  EXPECT_EQ(to_vector<double>(avg_pool2d(ones, opts({3, 3}, {1, 1}, {1, 1}, false, false))),
            std::vector<double>(9, 1.0));
  // ceil_mode: 4x4, k 3, s 2, p 1 -> 3x3; the last window [3, 6) is cut at H + p = 5, so its divisor
  // is 2 per dim (with the padding) and 1 per dim without.
  const Tensor ones4 = full({1, 1, 4, 4}, 1.0, options(DType::Float64));
  const auto y = to_vector<double>(avg_pool2d(ones4, opts({3, 3}, {2, 2}, {1, 1}, true, true)));
  ASSERT_EQ(y.size(), 9u);
  EXPECT_DOUBLE_EQ(y[0], 4. / 9);  // rows/cols [-1, 2): 2 of 3 inside per dim
  EXPECT_DOUBLE_EQ(y[1], 6. / 9);
  EXPECT_DOUBLE_EQ(y[2], 2. / 6);  // cols [3, 5): 1 inside of 2; rows [-1, 2): 2 of 3
  EXPECT_DOUBLE_EQ(y[8], 1. / 4);
  const auto z = to_vector<double>(avg_pool2d(ones4, opts({3, 3}, {2, 2}, {1, 1}, true, false)));
  EXPECT_EQ(z, std::vector<double>(9, 1.0));
}

TEST_P(Pool, AdaptiveByHand) {
  // 1x1x1x5 -> width 3: windows [0,2), [1,4), [3,5).
  const Tensor x = from_vector<double>({1, 2, 3, 4, 5}, {1, 1, 1, 5}, options(DType::Float64));
  EXPECT_EQ(to_vector<double>(adaptive_avg_pool2d(x, {1, 3})), (std::vector<double>{1.5, 3.0, 4.5}));
  const Tensor g = global_avg_pool2d(to_backend(uniform64({2, 3, 4, 5}, 5, -1, 1, false)));
  EXPECT_EQ(g.shape(), (Shape{2, 3, 1, 1}));
  const Tensor v = from_vector<double>({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3}, options(DType::Float64));
  EXPECT_DOUBLE_EQ(to_vector<double>(global_avg_pool2d(v))[0], 3.5);
}

TEST_P(Pool, MaxFloat32MatchesFloat64Reference) {
  for (const auto& c : reference_cases())
    expect_matches_reference(
        "max_pool2d " + shape_str(c.shape), [&](auto& in) { return max_pool2d(in[0], c.o); }, {uniform(c.shape, 1)},
        kMax);
  const PoolCase c = pool_cases()[2];
  expect_matches_reference(
      "max_pool2d float64", [&](auto& in) { return max_pool2d(in[0], c.o); },
      {uniform(c.shape, 2, -1, 1, DType::Float64)}, testing::kExact);
}

TEST_P(Pool, AvgFloat32MatchesFloat64Reference) {
  for (const auto& c : reference_cases())
    for (bool include_pad : {true, false}) {
      Pool2dOptions o = c.o;
      o.count_include_pad = include_pad;
      expect_matches_reference(
          "avg_pool2d " + shape_str(c.shape) + (include_pad ? " include_pad" : ""),
          [&](auto& in) { return avg_pool2d(in[0], o); }, {uniform(c.shape, 3)}, kAvg);
    }
}

TEST_P(Pool, AdaptiveFloat32MatchesFloat64Reference) {
  for (std::array<std::int64_t, 2> out : {std::array<std::int64_t, 2>{7, 7}, {3, 5}, {13, 4}, {1, 1}})
    expect_matches_reference(
        "adaptive_avg_pool2d " + std::to_string(out[0]) + "x" + std::to_string(out[1]),
        [&](auto& in) { return adaptive_avg_pool2d(in[0], out); }, {uniform({2, 5, 11, 9}, 4)}, kAvg);
  expect_matches_reference(
      "global_avg_pool2d", [](auto& in) { return global_avg_pool2d(in[0]); }, {uniform({8, 2048, 7, 7}, 5)}, kAvg);
}

TEST_P(Pool, MaxGradcheck) {
  for (const auto& c : pool_cases()) {
    const Tensor x = uniform64(c.shape, 31);  // continuous random values: no ties
    expect_gradcheck(shape_str(c.shape), [&](const std::vector<Tensor>& in) { return max_pool2d(in[0], c.o); }, {x});
  }
}

TEST_P(Pool, AvgGradcheck) {
  for (const auto& c : pool_cases())
    for (bool include_pad : {true, false}) {
      Pool2dOptions o = c.o;
      o.count_include_pad = include_pad;
      const Tensor x = uniform64(c.shape, 32);
      expect_gradcheck(shape_str(c.shape) + " include_pad " + std::to_string(include_pad),
                       [&](const std::vector<Tensor>& in) { return avg_pool2d(in[0], o); }, {x});
    }
}

TEST_P(Pool, AdaptiveGradcheck) {
  for (std::array<std::int64_t, 2> out : {std::array<std::int64_t, 2>{7, 7}, {3, 2}, {5, 4}, {1, 1}}) {
    const Tensor x = uniform64({2, 3, 5, 6}, 33);
    expect_gradcheck(std::to_string(out[0]) + "x" + std::to_string(out[1]),
                     [&](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], out); }, {x});
  }
  const Tensor x = uniform64({1, 5, 4, 3}, 34);
  expect_gradcheck("global", [](const std::vector<Tensor>& in) { return global_avg_pool2d(in[0]); }, {x});
}

TEST_P(Pool, EmptyBatch) {
  // An empty batch is allowed (as in PyTorch) and gives an empty output of the right shape.
  EXPECT_EQ(max_pool2d(zeros({0, 3, 4, 4}, options()), Pool2dOptions{}).shape(), (Shape{0, 3, 2, 2}));
  EXPECT_EQ(avg_pool2d(zeros({0, 3, 4, 4}, options()), Pool2dOptions{}).shape(), (Shape{0, 3, 2, 2}));
  EXPECT_EQ(adaptive_avg_pool2d(zeros({0, 3, 4, 4}, options()), {3, 3}).shape(), (Shape{0, 3, 3, 3}));
}

TEST_P(Pool, NonContiguousInput) {
  const Tensor x = to_backend(uniform64({2, 6, 5, 3}, 41, -1, 1, false));
  const Tensor xt = permute(x, {0, 1, 3, 2});  // [2, 6, 3, 5], strided
  const auto o = opts({2, 2}, {1, 1}, {1, 1});
  EXPECT_EQ(to_vector<double>(max_pool2d(xt, o)), to_vector<double>(max_pool2d(contiguous_copy(xt), o)));
  EXPECT_EQ(to_vector<double>(avg_pool2d(xt, o)), to_vector<double>(avg_pool2d(contiguous_copy(xt), o)));
}

TEST_P(Pool, Errors) {
  const TensorOptions f32 = options();
  const Tensor x = zeros({2, 3, 4, 4}, f32);
  expect_error(
      [&] {
        max_pool2d(x, opts({5, 5}, {0, 0}, {0, 0}));
      },
      {"anima::max_pool2d", "larger than the padded input", "[2, 3, 4, 4]"});
  expect_error([&] { avg_pool2d(x, opts({0, 2}, {0, 0}, {0, 0})); }, {"anima::avg_pool2d", "kernel_size", "(0, 2)"});
  expect_error([&] { max_pool2d(x, opts({2, -1}, {0, 0}, {0, 0})); }, {"anima::max_pool2d", "kernel_size"});
  expect_error([&] { max_pool2d(x, opts({2, 2}, {-1, 1}, {0, 0})); }, {"anima::max_pool2d", "stride", "(-1, 1)"});
  expect_error(
      [&] {
        max_pool2d(x, opts({3, 3}, {1, 1}, {2, 0}));
      },
      {"anima::max_pool2d", "padding (2, 0)", "half of kernel_size (3, 3)"});
  expect_error([&] { avg_pool2d(x, opts({2, 2}, {1, 1}, {-1, 0})); }, {"anima::avg_pool2d", "padding"});
  expect_error(
      [&] {
        max_pool2d(zeros({3, 4, 4}, f32), opts({2, 2}, {0, 0}, {0, 0}));
      },
      {"anima::max_pool2d", "4-D", "[3, 4, 4]"});
  expect_error(
      [&] {
        avg_pool2d(zeros({2, 3, 4, 4}, options(DType::Int64)), Pool2dOptions{});
      },
      {"anima::avg_pool2d", "int64"});
  expect_error([&] { adaptive_avg_pool2d(x, {0, 3}); }, {"anima::adaptive_avg_pool2d", "output_size", "(0, 3)"});
  expect_error(
      [&] {
        adaptive_avg_pool2d(zeros({2, 3}, f32), {1, 1});
      },
      {"anima::adaptive_avg_pool2d", "4-D", "[2, 3]"});
  expect_error([&] { global_avg_pool2d(zeros({2, 3, 4}, f32)); }, {"anima::global_avg_pool2d", "[2, 3, 4]"});
  expect_error(
      [&] {
        max_pool2d(zeros({2, 0, 4, 4}, f32), Pool2dOptions{});
      },
      {"anima::max_pool2d", "non-zero", "[2, 0, 4, 4]"});
  expect_error(
      [&] {
        adaptive_avg_pool2d(zeros({2, 3, 0, 4}, f32), {1, 1});
      },
      {"anima::adaptive_avg_pool2d", "[2, 3, 0, 4]"});
  // Without a CUDA device a CUDA tensor is refused by name before any kernel runs.
  if (!cuda_is_available()) {
    const Tensor on_gpu = foreign({2, 3, 4, 4});
    expect_error([&] { max_pool2d(on_gpu, Pool2dOptions{}); }, {"anima::max_pool2d", "cuda:0", "[2, 3, 4, 4]"});
    expect_error([&] { adaptive_avg_pool2d(on_gpu, {1, 1}); }, {"anima::adaptive_avg_pool2d", "cuda:0"});
  }
}

}  // namespace
}  // namespace anima
