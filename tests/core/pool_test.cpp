// Pooling (anima/ops/pool.hpp): the parallel CPU kernels against the reference loops, output sizes and
// values worked out by hand from PyTorch's rules, gradients by gradcheck (float64 central differences,
// tolerances in anima/autograd/gradcheck.hpp) for every option, and argument errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/kernels/cpu/pool.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/pool.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

#include "expect_error.hpp"

namespace anima {
namespace {

Tensor f64(const Shape& s, std::uint64_t seed, double lo = -1.0, double hi = 1.0, bool grad = true) {
  Generator g(seed);
  return rand(s, TensorOptions(DType::Float64).with_requires_grad(grad), g, lo, hi);
}

using anima::testing::expect_error;

Pool2dOptions opts(std::array<std::int64_t, 2> k, std::array<std::int64_t, 2> s, std::array<std::int64_t, 2> p,
                   bool ceil_mode = false, bool include_pad = true) {
  Pool2dOptions o;
  o.kernel_size = k;
  o.stride = s;
  o.padding = p;
  o.ceil_mode = ceil_mode;
  o.count_include_pad = include_pad;
  return o;
}

struct PoolCase {
  Shape shape;
  Pool2dOptions o;
};

// Odd sizes, batch 1 and > 1, channels not a multiple of 8, padding, ceil_mode, stride > kernel,
// rectangular kernels.
std::vector<PoolCase> pool_cases() {
  return {
      {{1, 3, 7, 9}, opts({2, 2}, {0, 0}, {0, 0})},
      {{2, 5, 9, 7}, opts({3, 3}, {2, 2}, {1, 1})},
      {{2, 3, 8, 11}, opts({3, 2}, {2, 3}, {1, 1}, true)},
      {{1, 7, 10, 10}, opts({2, 2}, {3, 3}, {0, 0})},       // stride > kernel
      {{3, 2, 11, 6}, opts({3, 3}, {2, 2}, {0, 1}, true)},  // ceil_mode, window past the input
      {{2, 3, 5, 5}, opts({2, 2}, {2, 2}, {1, 1}, true)},   // ceil_mode drops a right-padding window
      {{1, 9, 6, 13}, opts({4, 3}, {1, 2}, {2, 1})},
  };
}

TEST(Pool, OutputSizeRule) {
  using kernels::pool_output_size;
  EXPECT_EQ(pool_output_size(112, 3, 2, 1, false), 56);  // ResNet stem
  EXPECT_EQ(pool_output_size(147, 3, 2, 0, false), 73);  // Inception
  EXPECT_EQ(pool_output_size(4, 3, 2, 0, false), 1);
  EXPECT_EQ(pool_output_size(4, 3, 2, 0, true), 2);
  // 5 + 2·1, k 2, s 2, ceil: floor((5 + 2 - 2 + 1)/2) + 1 = 4, but the 4th window would start at
  // 3·2 - 1 = 5 = H (right padding only), so it is dropped: 3.
  EXPECT_EQ(pool_output_size(5, 2, 2, 1, true), 3);
  EXPECT_EQ(pool_output_size(5, 2, 2, 1, false), 3);
  EXPECT_EQ(pool_output_size(6, 3, 3, 0, true), 2);
  EXPECT_EQ(pool_output_size(7, 3, 3, 0, true), 3);
  EXPECT_EQ(pool_output_size(7, 3, 3, 0, false), 2);
}

TEST(Pool, PlanesKernelsMatchReference) {
  namespace kc = kernels::cpu;
  for (const auto& c : pool_cases()) {
    for (bool include_pad : {true, false}) {
      const Tensor x = f64(c.shape, 11, -1, 1, false);
      const Tensor y = max_pool2d(x, c.o);
      const auto g = detail::pool2d_geometry(x, c.o, "test");
      const std::int64_t nin = x.numel(), nout = y.numel();
      std::vector<double> y_ref(nout), y_fast(nout), gx_ref(nin), gx_fast(nin);
      std::vector<std::int64_t> i_ref(nout), i_fast(nout);
      const double* xp = x.data<double>();
      kc::max_pool2d_forward_reference(xp, g, y_ref.data(), i_ref.data());
      kc::max_pool2d_forward_planes(xp, g, y_fast.data(), i_fast.data());
      EXPECT_EQ(y_ref, y_fast);
      EXPECT_EQ(i_ref, i_fast);
      const Tensor gy = f64(y.shape(), 12, -1, 1, false);
      const double* gyp = gy.data<double>();
      kc::max_pool2d_backward_reference(gyp, i_ref.data(), g, gx_ref.data());
      kc::max_pool2d_backward_planes(gyp, i_ref.data(), g, gx_fast.data());
      EXPECT_EQ(gx_ref, gx_fast);

      kc::avg_pool2d_forward_reference(xp, g, include_pad, y_ref.data());
      kc::avg_pool2d_forward_planes(xp, g, include_pad, y_fast.data());
      EXPECT_EQ(y_ref, y_fast);
      kc::avg_pool2d_backward_reference(gyp, g, include_pad, gx_ref.data());
      kc::avg_pool2d_backward_planes(gyp, g, include_pad, gx_fast.data());
      EXPECT_EQ(gx_ref, gx_fast);
    }
  }
  // Adaptive: shrinking, growing and non-dividing sizes.
  for (std::array<std::int64_t, 2> out : {std::array<std::int64_t, 2>{7, 7}, {3, 5}, {13, 4}, {1, 1}}) {
    const Tensor x = f64({2, 5, 11, 9}, 13, -1, 1, false);
    kernels::Pool2dGeometry g;
    g.planes = 10;
    g.in_h = 11;
    g.in_w = 9;
    g.out_h = out[0];
    g.out_w = out[1];
    const std::int64_t nout = g.planes * out[0] * out[1];
    std::vector<double> y_ref(nout), y_fast(nout), gx_ref(x.numel()), gx_fast(x.numel());
    kc::adaptive_avg_pool2d_forward_reference(x.data<double>(), g, y_ref.data());
    kc::adaptive_avg_pool2d_forward_planes(x.data<double>(), g, y_fast.data());
    EXPECT_EQ(y_ref, y_fast);
    kc::adaptive_avg_pool2d_backward_reference(y_ref.data(), g, gx_ref.data());
    kc::adaptive_avg_pool2d_backward_planes(y_ref.data(), g, gx_fast.data());
    EXPECT_EQ(gx_ref, gx_fast);
  }
}

// The inverse ranges the CUDA gather-style backward kernels use (which outputs read input i) against a
// brute-force search over every output window, for many 1-D geometries.
TEST(Pool, GatherRangesMatchWindows) {
  using namespace kernels;
  for (std::int64_t in = 1; in <= 13; ++in)
    for (std::int64_t k = 1; k <= 5; ++k)
      for (std::int64_t s = 1; s <= 4; ++s)
        for (std::int64_t p = 0; p <= k / 2; ++p)
          for (bool ceil_mode : {false, true}) {
            const std::int64_t out = pool_output_size(in, k, s, p, ceil_mode);
            if (out < 1) continue;
            for (std::int64_t i = 0; i < in; ++i) {
              std::int64_t first = -1, last = -1;
              for (std::int64_t o = 0; o < out; ++o) {
                const IndexRange w = max_pool_window(o, in, k, s, p);
                const AvgWindow a = avg_pool_window(o, in, k, s, p);
                EXPECT_EQ(w.begin, a.window.begin);
                EXPECT_EQ(w.end, a.window.end);
                EXPECT_LT(w.begin, w.end) << "empty window";
                if (i >= w.begin && i < w.end) {
                  if (first < 0) first = o;
                  EXPECT_TRUE(last < 0 || last == o - 1) << "outputs reading i are not contiguous";
                  last = o;
                }
              }
              const IndexRange r = pool_outputs_reading(i, out, k, s, p);
              const std::int64_t n = first < 0 ? 0 : last - first + 1;
              EXPECT_EQ(std::max<std::int64_t>(r.end - r.begin, 0), n) << in << " " << k << " " << s << " " << p;
              if (n > 0) {
                EXPECT_EQ(r.begin, first) << in << " " << k << " " << s << " " << p << " i " << i;
                EXPECT_EQ(r.end, last + 1) << in << " " << k << " " << s << " " << p << " i " << i;
              }
            }
          }
  for (std::int64_t in = 1; in <= 17; ++in)
    for (std::int64_t out = 1; out <= 17; ++out)
      for (std::int64_t i = 0; i < in; ++i) {
        std::int64_t first = -1, last = -1;
        for (std::int64_t o = 0; o < out; ++o) {
          const IndexRange w = adaptive_window(o, in, out);
          if (i >= w.begin && i < w.end) {
            if (first < 0) first = o;
            last = o;
          }
        }
        const IndexRange r = adaptive_outputs_reading(i, in, out);
        ASSERT_GE(first, 0);
        EXPECT_EQ(r.begin, first) << in << " -> " << out << " i " << i;
        EXPECT_EQ(r.end, last + 1) << in << " -> " << out << " i " << i;
      }
}

TEST(Pool, MaxValuesAndIndicesByHand) {
  // 1x1x4x4 = 0..15 row-major, k 2: the bottom-right of each window wins.
  std::vector<double> v(16);
  for (int i = 0; i < 16; ++i) v[i] = i;
  const Tensor x = from_vector<double>(v, {1, 1, 4, 4});
  EXPECT_EQ(to_vector<double>(max_pool2d(x, opts({2, 2}, {0, 0}, {0, 0}))), (std::vector<double>{5, 7, 13, 15}));
  // k 3, s 2, p 1, ceil: 3x3 (the 3rd window starts at 2·2 - 1 = 3 < H: kept); windows clip to rows
  // [0, 2), [1, 4), [3, 4).
  const Tensor y = max_pool2d(x, opts({3, 3}, {2, 2}, {1, 1}, true));
  EXPECT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(to_vector<double>(y), (std::vector<double>{5, 7, 7, 13, 15, 15, 13, 15, 15}));
  // Ties: the first maximum in window order gets the gradient; a NaN wins over numbers.
  const Tensor t = from_vector<double>({1, 1, 1, 1}, {1, 1, 2, 2}, TensorOptions().with_requires_grad());
  backward(sum(max_pool2d(t, opts({2, 2}, {0, 0}, {0, 0}))));
  EXPECT_EQ(to_vector<double>(t.grad()), (std::vector<double>{1, 0, 0, 0}));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor n = from_vector<double>({1, nan, 3, 2}, {1, 1, 2, 2});
  EXPECT_TRUE(std::isnan(to_vector<double>(max_pool2d(n, opts({2, 2}, {0, 0}, {0, 0})))[0]));
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor ninf = from_vector<double>({-inf, -inf, -inf, -inf}, {1, 1, 2, 2});
  EXPECT_EQ(to_vector<double>(max_pool2d(ninf, opts({2, 2}, {0, 0}, {0, 0})))[0], -inf);
}

TEST(Pool, AvgCountIncludePadByHand) {
  const Tensor ones = full({1, 1, 3, 3}, 1.0, TensorOptions(DType::Float64));
  // k 3, s 1, p 1: with the padding counted a corner sees 4 of 9, an edge 6 of 9.
  EXPECT_EQ(to_vector<double>(avg_pool2d(ones, opts({3, 3}, {1, 1}, {1, 1}, false, true))),
            (std::vector<double>{4. / 9, 6. / 9, 4. / 9, 6. / 9, 1, 6. / 9, 4. / 9, 6. / 9, 4. / 9}));
  EXPECT_EQ(to_vector<double>(avg_pool2d(ones, opts({3, 3}, {1, 1}, {1, 1}, false, false))), std::vector<double>(9, 1.0));
  // ceil_mode: 4x4, k 3, s 2, p 1 -> 3x3; the last window [3, 6) is cut at H + p = 5, so its divisor
  // is 2 per dim (with the padding) and 1 per dim without.
  const Tensor ones4 = full({1, 1, 4, 4}, 1.0, TensorOptions(DType::Float64));
  const auto y = to_vector<double>(avg_pool2d(ones4, opts({3, 3}, {2, 2}, {1, 1}, true, true)));
  ASSERT_EQ(y.size(), 9u);
  EXPECT_DOUBLE_EQ(y[0], 4. / 9);   // rows/cols [-1, 2): 2 of 3 inside per dim
  EXPECT_DOUBLE_EQ(y[1], 6. / 9);
  EXPECT_DOUBLE_EQ(y[2], 2. / 6);   // cols [3, 5): 1 inside of 2; rows [-1, 2): 2 of 3
  EXPECT_DOUBLE_EQ(y[8], 1. / 4);
  const auto z = to_vector<double>(avg_pool2d(ones4, opts({3, 3}, {2, 2}, {1, 1}, true, false)));
  EXPECT_EQ(z, std::vector<double>(9, 1.0));
}

TEST(Pool, AdaptiveByHand) {
  // 1x1x1x5 -> width 3: windows [0,2), [1,4), [3,5).
  const Tensor x = from_vector<double>({1, 2, 3, 4, 5}, {1, 1, 1, 5});
  EXPECT_EQ(to_vector<double>(adaptive_avg_pool2d(x, {1, 3})), (std::vector<double>{1.5, 3.0, 4.5}));
  const Tensor g = global_avg_pool2d(f64({2, 3, 4, 5}, 5, -1, 1, false));
  EXPECT_EQ(g.shape(), (Shape{2, 3, 1, 1}));
  const Tensor v = from_vector<double>({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3});
  EXPECT_DOUBLE_EQ(to_vector<double>(global_avg_pool2d(v))[0], 3.5);
}

TEST(Pool, Float32MatchesFloat64) {
  // Sums of <= 16 values in float: within a few ulps of 2^-24 of the float64 result.
  const Tensor x = f64({2, 3, 9, 8}, 21, -1, 1, false);
  const Tensor x32 = cast_copy(x, DType::Float32);
  const auto o = opts({3, 3}, {2, 2}, {1, 1}, true, false);
  const auto a = to_vector<double>(avg_pool2d(x, o)), b = to_vector<double>(avg_pool2d(x32, o));
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6);
  const auto m = to_vector<double>(max_pool2d(x, o)), n = to_vector<double>(max_pool2d(x32, o));
  for (std::size_t i = 0; i < m.size(); ++i) EXPECT_NEAR(m[i], n[i], 1e-7);
}

TEST(Pool, MaxGradcheck) {
  for (const auto& c : pool_cases()) {
    const Tensor x = f64(c.shape, 31);  // continuous random values: no ties
    auto r = gradcheck([&](const std::vector<Tensor>& in) { return max_pool2d(in[0], c.o); }, {x});
    EXPECT_TRUE(r.ok) << shape_str(c.shape) << "\n" << r.report;
  }
}

TEST(Pool, AvgGradcheck) {
  for (const auto& c : pool_cases())
    for (bool include_pad : {true, false}) {
      Pool2dOptions o = c.o;
      o.count_include_pad = include_pad;
      const Tensor x = f64(c.shape, 32);
      auto r = gradcheck([&](const std::vector<Tensor>& in) { return avg_pool2d(in[0], o); }, {x});
      EXPECT_TRUE(r.ok) << shape_str(c.shape) << " include_pad " << include_pad << "\n" << r.report;
    }
}

TEST(Pool, AdaptiveGradcheck) {
  for (std::array<std::int64_t, 2> out : {std::array<std::int64_t, 2>{7, 7}, {3, 2}, {5, 4}, {1, 1}}) {
    const Tensor x = f64({2, 3, 5, 6}, 33);
    auto r = gradcheck([&](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], out); }, {x});
    EXPECT_TRUE(r.ok) << out[0] << "x" << out[1] << "\n" << r.report;
  }
  const Tensor x = f64({1, 5, 4, 3}, 34);
  auto r = gradcheck([](const std::vector<Tensor>& in) { return global_avg_pool2d(in[0]); }, {x});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(Pool, EmptyBatch) {
  // An empty batch is allowed (as in PyTorch) and gives an empty output of the right shape.
  EXPECT_EQ(max_pool2d(zeros({0, 3, 4, 4}), Pool2dOptions{}).shape(), (Shape{0, 3, 2, 2}));
  EXPECT_EQ(avg_pool2d(zeros({0, 3, 4, 4}), Pool2dOptions{}).shape(), (Shape{0, 3, 2, 2}));
  EXPECT_EQ(adaptive_avg_pool2d(zeros({0, 3, 4, 4}), {3, 3}).shape(), (Shape{0, 3, 3, 3}));
}

TEST(Pool, NonContiguousInput) {
  const Tensor x = f64({2, 6, 5, 3}, 41, -1, 1, false);
  const Tensor xt = permute(x, {0, 1, 3, 2});  // [2, 6, 3, 5], strided
  const auto o = opts({2, 2}, {1, 1}, {1, 1});
  EXPECT_EQ(to_vector<double>(max_pool2d(xt, o)), to_vector<double>(max_pool2d(contiguous_copy(xt), o)));
  EXPECT_EQ(to_vector<double>(avg_pool2d(xt, o)), to_vector<double>(avg_pool2d(contiguous_copy(xt), o)));
}

TEST(Pool, Errors) {
  const Tensor x = zeros({2, 3, 4, 4});
  expect_error([&] { max_pool2d(x, opts({5, 5}, {0, 0}, {0, 0})); },
               {"anima::max_pool2d", "larger than the padded input", "[2, 3, 4, 4]"});
  expect_error([&] { avg_pool2d(x, opts({0, 2}, {0, 0}, {0, 0})); }, {"anima::avg_pool2d", "kernel_size", "(0, 2)"});
  expect_error([&] { max_pool2d(x, opts({2, -1}, {0, 0}, {0, 0})); }, {"anima::max_pool2d", "kernel_size"});
  expect_error([&] { max_pool2d(x, opts({2, 2}, {-1, 1}, {0, 0})); }, {"anima::max_pool2d", "stride", "(-1, 1)"});
  expect_error([&] { max_pool2d(x, opts({3, 3}, {1, 1}, {2, 0})); },
               {"anima::max_pool2d", "padding (2, 0)", "half of kernel_size (3, 3)"});
  expect_error([&] { avg_pool2d(x, opts({2, 2}, {1, 1}, {-1, 0})); }, {"anima::avg_pool2d", "padding"});
  expect_error([&] { max_pool2d(zeros({3, 4, 4}), opts({2, 2}, {0, 0}, {0, 0})); },
               {"anima::max_pool2d", "4-D", "[3, 4, 4]"});
  expect_error([&] { avg_pool2d(zeros({2, 3, 4, 4}, TensorOptions(DType::Int64)), Pool2dOptions{}); },
               {"anima::avg_pool2d", "int64"});
  expect_error([&] { adaptive_avg_pool2d(x, {0, 3}); }, {"anima::adaptive_avg_pool2d", "output_size", "(0, 3)"});
  expect_error([&] { adaptive_avg_pool2d(zeros({2, 3}), {1, 1}); }, {"anima::adaptive_avg_pool2d", "4-D", "[2, 3]"});
  expect_error([&] { global_avg_pool2d(zeros({2, 3, 4})); }, {"anima::global_avg_pool2d", "[2, 3, 4]"});
  expect_error([&] { max_pool2d(zeros({2, 0, 4, 4}), Pool2dOptions{}); }, {"anima::max_pool2d", "non-zero", "[2, 0, 4, 4]"});
  expect_error([&] { adaptive_avg_pool2d(zeros({2, 3, 0, 4}), {1, 1}); }, {"anima::adaptive_avg_pool2d", "[2, 3, 0, 4]"});
  if (!cuda_is_available()) {
    float fake[96];
    const Tensor on_gpu = view_of_buffer(fake, {2, 3, 4, 4}, Device::cuda(0));
    expect_error([&] { max_pool2d(on_gpu, Pool2dOptions{}); }, {"anima::max_pool2d", "cuda:0", "[2, 3, 4, 4]"});
    expect_error([&] { adaptive_avg_pool2d(on_gpu, {1, 1}); }, {"anima::adaptive_avg_pool2d", "cuda:0"});
  }
}

}  // namespace
}  // namespace anima
