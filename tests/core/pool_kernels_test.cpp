// The pooling kernels themselves (anima/kernels/cpu/pool.hpp and the window math both backends share):
// PyTorch's output-size rule, the parallel CPU kernels against the reference loops (bitwise: the same
// operations in the same order), and the inverse ranges the CUDA gather-style backward kernels use
// against a brute-force search. The op on every backend: tests/ops/pool_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <vector>

#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/pool.hpp>
#include <anima/ops/pool.hpp>

#include "core/random_inputs.hpp"
#include "ops/pool_cases.hpp"

namespace anima {
namespace {

using testing::opts;
using testing::pool_cases;
using testing::uniform64;

TEST(PoolKernels, OutputSizeRule) {
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

TEST(PoolKernels, PlanesKernelsMatchReference) {
  namespace kc = kernels::cpu;
  for (const auto& c : pool_cases()) {
    for (bool include_pad : {true, false}) {
      const Tensor x = uniform64(c.shape, 11, -1, 1, false);
      const Tensor y = max_pool2d(x, c.o);
      const auto g = detail::pool2d_geometry(x, c.o, "test");
      const std::int64_t nin = x.numel(), nout = y.numel();
      std::vector<double> y_ref(nout), y_fast(nout), gx_ref(nin), gx_fast(nin);
      std::vector<std::int64_t> i_ref(nout), i_fast(nout);
      const double* xp = x.data<double>();
      kc::max_pool2d_forward_reference(xp, g, y_ref.data(), i_ref.data());
      kc::max_pool2d_forward_planes(xp, g, y_fast.data(), i_fast.data(), default_parallel());
      EXPECT_EQ(y_ref, y_fast);
      EXPECT_EQ(i_ref, i_fast);
      const Tensor gy = uniform64(y.shape(), 12, -1, 1, false);
      const double* gyp = gy.data<double>();
      kc::max_pool2d_backward_reference(gyp, i_ref.data(), g, gx_ref.data());
      kc::max_pool2d_backward_planes(gyp, i_ref.data(), g, gx_fast.data(), default_parallel());
      EXPECT_EQ(gx_ref, gx_fast);

      kc::avg_pool2d_forward_reference(xp, g, include_pad, y_ref.data());
      kc::avg_pool2d_forward_planes(xp, g, include_pad, y_fast.data(), default_parallel());
      EXPECT_EQ(y_ref, y_fast);
      kc::avg_pool2d_backward_reference(gyp, g, include_pad, gx_ref.data());
      kc::avg_pool2d_backward_planes(gyp, g, include_pad, gx_fast.data(), default_parallel());
      EXPECT_EQ(gx_ref, gx_fast);
    }
  }
  // Adaptive: shrinking, growing and non-dividing sizes.
  for (std::array<std::int64_t, 2> out : {std::array<std::int64_t, 2>{7, 7}, {3, 5}, {13, 4}, {1, 1}}) {
    const Tensor x = uniform64({2, 5, 11, 9}, 13, -1, 1, false);
    kernels::Pool2dGeometry g;
    g.planes = 10;
    g.in_h = 11;
    g.in_w = 9;
    g.out_h = out[0];
    g.out_w = out[1];
    const std::int64_t nout = g.planes * out[0] * out[1];
    std::vector<double> y_ref(nout), y_fast(nout), gx_ref(x.numel()), gx_fast(x.numel());
    kc::adaptive_avg_pool2d_forward_reference(x.data<double>(), g, y_ref.data());
    kc::adaptive_avg_pool2d_forward_planes(x.data<double>(), g, y_fast.data(), default_parallel());
    EXPECT_EQ(y_ref, y_fast);
    kc::adaptive_avg_pool2d_backward_reference(y_ref.data(), g, gx_ref.data());
    kc::adaptive_avg_pool2d_backward_planes(y_ref.data(), g, gx_fast.data(), default_parallel());
    EXPECT_EQ(gx_ref, gx_fast);
  }
}

// The inverse ranges the CUDA gather-style backward kernels use (which outputs read input i) against a
// brute-force search over every output window, for many 1-D geometries.
TEST(PoolKernels, GatherRangesMatchWindows) {
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

}  // namespace
}  // namespace anima
