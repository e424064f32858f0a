// bench/nms_boxes.hpp — the boxes the NMS benchmarks run on, specified so that bench/compare_nms.py
// can build the very same boxes in Python (it implements the same formulas; keep them in step).
//
//   u(i) = (splitmix64(i) >> 11) · 2^-53   in [0, 1)
//   n boxes around m = max(1, n / 20) objects (about 20 proposals per object, like an RPN's output
//   before NMS) in a 1000 x 1000 image. Box k belongs to object o = k mod m:
//     object o: centre (1000·u(4o), 1000·u(4o + 1)), size s = 16 + 240·u(4o + 2)
//     box k:    centre = object centre + 0.25·s·(u(q) - 0.5, u(q + 1) - 0.5), q = 4·(n + k)
//               width = s·(0.7 + 0.6·u(q + 2)), height = s·(0.7 + 0.6·u(q + 3))
//     score k:  u(8n + k)
// At IoU threshold 0.7 (the RPN's) roughly a third of the boxes survive.
#pragma once

#include <cstdint>
#include <vector>

namespace anima::bench {

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline double unit(std::uint64_t i) { return static_cast<double>(splitmix64(i) >> 11) * 0x1p-53; }

// boxes: [n, 4] float32 (x1, y1, x2, y2), scores: [n] float32
inline void nms_bench_boxes(std::int64_t n, std::vector<float>& boxes, std::vector<float>& scores) {
  const std::int64_t m = n / 20 > 0 ? n / 20 : 1;
  boxes.resize(static_cast<std::size_t>(4 * n));
  scores.resize(static_cast<std::size_t>(n));
  for (std::int64_t k = 0; k < n; ++k) {
    const std::uint64_t o = static_cast<std::uint64_t>(k % m), q = static_cast<std::uint64_t>(4 * (n + k));
    const double s = 16 + 240 * unit(4 * o + 2);
    const double cx = 1000 * unit(4 * o) + 0.25 * s * (unit(q) - 0.5);
    const double cy = 1000 * unit(4 * o + 1) + 0.25 * s * (unit(q + 1) - 0.5);
    const double w = s * (0.7 + 0.6 * unit(q + 2)), h = s * (0.7 + 0.6 * unit(q + 3));
    boxes[4 * k + 0] = static_cast<float>(cx - w / 2);
    boxes[4 * k + 1] = static_cast<float>(cy - h / 2);
    boxes[4 * k + 2] = static_cast<float>(cx + w / 2);
    boxes[4 * k + 3] = static_cast<float>(cy + h / 2);
    scores[k] = static_cast<float>(unit(static_cast<std::uint64_t>(8 * n + k)));
  }
}

}  // namespace anima::bench
