// anima/nn/size2.hpp — Size2: a (height, width) pair written as one number or two, as torch.nn layers
// take kernel_size / stride / padding: Conv2d(64, 64, 3) and Conv2d(768, 128, {1, 7}, 1, {0, 3}).
#pragma once

#include <array>
#include <cstdint>

namespace anima::nn {

struct Size2 {
  std::int64_t h = 0, w = 0;
  Size2(std::int64_t both) : h(both), w(both) {}  // NOLINT: implicit, as PyTorch's int-or-tuple
  Size2(std::int64_t height, std::int64_t width) : h(height), w(width) {}
  std::array<std::int64_t, 2> arr() const { return {h, w}; }
  bool operator==(const Size2& o) const { return h == o.h && w == o.w; }
};

}  // namespace anima::nn
