// anima/backends/cpu/nms.hpp — dispatch tag of non-maximum suppression, with its CPU implementation
// (anima/kernels/cpu/nms.hpp nms_score_order, then nms_greedy_sorted: the decisions of the nms_greedy
// reference). CUDA: anima/backends/cuda/nms.cuh (radix sort of the scores, bitmask kernel and the greedy pass
// over the mask, all on the device).
//
// Contract shared by every backend: boxes [n, 4] and scores [n], contiguous, float32/float64 (one
// dtype) on `device`; keep [n] int64 on the HOST receives the kept box indices in score order (the
// order of nms_score_order: descending, NaN first, ties lowest index first); the return value is how
// many. A box is dropped when a kept box earlier in the order has IoU > iou_threshold with it (strict).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <anima/core/device.hpp>
#include <anima/core/dtype.hpp>
#include <anima/kernels/cpu/nms.hpp>

namespace anima {

struct NmsKernel {
  using Fn = std::int64_t(Device device, DType dtype, const void* boxes, const void* scores, std::int64_t n,
                          double iou_threshold, std::int64_t* keep);
  static constexpr const char* name = "nms";
  static std::int64_t cpu(Device, DType dtype, const void* boxes, const void* scores, std::int64_t n,
                          double iou_threshold, std::int64_t* keep) {
    return ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      std::vector<std::pair<scalar_t, std::int64_t>> pairs(static_cast<std::size_t>(n));
      std::vector<std::int64_t> order(static_cast<std::size_t>(n));
      kernels::cpu::nms_score_order<scalar_t>(static_cast<const scalar_t*>(scores), n, pairs.data(), order.data());
      std::vector<scalar_t> work(static_cast<std::size_t>(5 * n));
      std::vector<std::uint8_t> suppressed(static_cast<std::size_t>(n));
      return kernels::cpu::nms_greedy_sorted<scalar_t>(static_cast<const scalar_t*>(boxes), order.data(), n,
                                                       iou_threshold, work.data(), suppressed.data(), keep);
    });
  }
};

}  // namespace anima
