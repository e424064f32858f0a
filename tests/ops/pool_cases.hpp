// tests/ops/pool_cases.hpp — the pooling geometries the pool tests share (tests/ops/pool_test.cpp on
// every backend, tests/core/pool_kernels_test.cpp for the CPU kernels).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <anima/ops/pool.hpp>

namespace anima::testing {

inline Pool2dOptions opts(std::array<std::int64_t, 2> k, std::array<std::int64_t, 2> s, std::array<std::int64_t, 2> p,
                          bool ceil_mode = false, bool include_pad = true) {
  return Pool2dOptions{k, s, p, ceil_mode, include_pad};
}

struct PoolCase {
  Shape shape;
  Pool2dOptions o;
};

// Odd sizes, batch 1 and > 1, channels not a multiple of 8, padding, ceil_mode, stride > kernel,
// rectangular kernels.
inline std::vector<PoolCase> pool_cases() {
  return {
      {{1, 3, 7, 9}, opts({2, 2}, {0, 0}, {0, 0})},
      {{2, 5, 9, 7}, opts({3, 3}, {2, 2}, {1, 1})},
      {{2, 3, 8, 11}, opts({3, 2}, {2, 3}, {1, 1}, true)},
      {{1, 7, 10, 10}, opts({2, 2}, {3, 3}, {0, 0})},       // stride > kernel
      {{3, 2, 11, 6}, opts({3, 3}, {2, 2}, {0, 1}, true)},  // ceil_mode, window past the input
      {{2, 3, 5, 5}, opts({2, 2}, {2, 2}, {1, 1}, true)},   // ceil_mode drops a right-padding window
      {{1, 9, 6, 13}, opts({4, 3}, {1, 2}, {2, 1})},
      {{2, 4, 17, 19}, opts({3, 3}, {1, 1}, {1, 1})},  // Inception's branch pool: a wide interior, four borders
  };
}

}  // namespace anima::testing
