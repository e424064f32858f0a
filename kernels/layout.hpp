// anima/kernels/layout.hpp — how kernels see a (possibly strided, possibly broadcast) input.
//
// Elementwise kernels write a contiguous output of `numel` elements with shape `sizes`, and read each
// input through its own element strides over that same shape. A stride of 0 repeats an element
// (broadcasting); negative strides are not produced by anima's views. Passed by value, so it travels
// to CUDA kernels as a kernel argument.
#pragma once

#include <cstdint>

#include <anima/kernels/host_device.hpp>

namespace anima::kernels {

constexpr int kMaxDims = 8;

struct Layout {
  int ndim = 0;
  std::int64_t sizes[kMaxDims] = {};
  std::int64_t strides[kMaxDims] = {};
  bool contiguous = true;  // strides are the row-major strides of sizes: offset(i) == i

  // Element offset of the input element that feeds output element `linear`.
  ANIMA_HD std::int64_t offset(std::int64_t linear) const {
    if (contiguous) return linear;
    std::int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const std::int64_t size = sizes[d];
      const std::int64_t i = linear % size;
      linear /= size;
      off += i * strides[d];
    }
    return off;
  }
};

}  // namespace anima::kernels
