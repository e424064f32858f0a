// CPU-vs-CUDA parity of pooling (anima/ops/pool.hpp), forward and input gradient, every option
// (skipped without a CUDA device). Inputs float32 (one float64 case), Philox uniforms in [-1, 1).
#include <gtest/gtest.h>

#include <vector>

#include <anima/core/copy.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/pool.hpp>

#include "parity.hpp"

namespace anima {
namespace {

using testing::expect_parity;
using testing::Tolerance;

Tensor input(const Shape& s, std::uint64_t seed, DType dtype = DType::Float32) {
  Generator g(seed);
  return rand(s, TensorOptions(dtype).with_requires_grad(true), g, -1.0, 1.0);
}

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

struct Case {
  Shape shape;
  Pool2dOptions o;
};
std::vector<Case> cases() {
  return {{{1, 3, 7, 9}, opts({2, 2}, {0, 0}, {0, 0})},     {{2, 5, 9, 7}, opts({3, 3}, {2, 2}, {1, 1})},
          {{2, 3, 8, 11}, opts({3, 2}, {2, 3}, {1, 1}, true)}, {{1, 7, 10, 10}, opts({2, 2}, {3, 3}, {0, 0})},
          {{3, 2, 11, 6}, opts({3, 3}, {2, 2}, {0, 1}, true)}, {{2, 3, 5, 5}, opts({2, 2}, {2, 2}, {1, 1}, true)},
          {{8, 64, 56, 56}, opts({3, 3}, {2, 2}, {1, 1})}};
}

// Max pooling picks the same element on both backends (same comparisons), and the gather backward adds
// in the CPU scatter's order: exact. Avg / adaptive: the same sums in the same order and one division:
// exact as well (no contraction into FMA is possible in a plain sum); a 1-ulp allowance guards against
// compiler reassociation.
constexpr Tolerance kExact{0, 0};
constexpr Tolerance kSum{2e-7, 1e-7};

TEST(CudaParity, MaxPool2d) {
  ANIMA_REQUIRE_CUDA();
  for (const auto& c : cases())
    expect_parity("max_pool2d " + shape_str(c.shape), [&](auto& in) { return max_pool2d(in[0], c.o); },
                  {input(c.shape, 1)}, kExact);
  const Case c = cases()[2];
  expect_parity("max_pool2d float64", [&](auto& in) { return max_pool2d(in[0], c.o); },
                {input(c.shape, 2, DType::Float64)}, kExact);
}

TEST(CudaParity, AvgPool2d) {
  ANIMA_REQUIRE_CUDA();
  for (const auto& c : cases())
    for (bool include_pad : {true, false}) {
      Pool2dOptions o = c.o;
      o.count_include_pad = include_pad;
      expect_parity("avg_pool2d " + shape_str(c.shape), [&](auto& in) { return avg_pool2d(in[0], o); },
                    {input(c.shape, 3)}, kSum);
    }
}

TEST(CudaParity, AdaptiveAvgPool2d) {
  ANIMA_REQUIRE_CUDA();
  for (std::array<std::int64_t, 2> out : {std::array<std::int64_t, 2>{7, 7}, {3, 5}, {13, 4}, {1, 1}})
    expect_parity("adaptive_avg_pool2d", [&](auto& in) { return adaptive_avg_pool2d(in[0], out); },
                  {input({2, 5, 11, 9}, 4)}, kSum);
  expect_parity("global_avg_pool2d", [](auto& in) { return global_avg_pool2d(in[0]); }, {input({8, 2048, 7, 7}, 5)},
                kSum);
}

}  // namespace
}  // namespace anima
