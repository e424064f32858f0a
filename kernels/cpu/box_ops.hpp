// anima/kernels/cpu/box_ops.hpp — box IoU matrix, box coder decode / encode and clipping on the CPU.
// Per-box math: anima/kernels/box_math.hpp (shared with anima/kernels/cuda/box_ops.cuh).
// All arrays are contiguous; boxes are rows of 4 (x1, y1, x2, y2).
// Determinism: each output is computed from its own inputs, in a fixed order: bitwise reproducible.
#pragma once

#include <cstdint>

#include <anima/kernels/box_math.hpp>

namespace anima::kernels::cpu {

// a: [n, 4], b: [m, 4] -> iou: [n, m] (torchvision box_iou: inter / (area_a + area_b - inter)).
template <class T>
void box_iou_matrix(const T* a, std::int64_t n, const T* b, std::int64_t m, T* iou) {
  for (std::int64_t i = 0; i < n; ++i) {
    const T* ai = a + 4 * i;
    const T area_i = box_area(ai);
    for (std::int64_t j = 0; j < m; ++j)
      iou[i * m + j] = box_iou_with_areas(ai, area_i, b + 4 * j, box_area(b + 4 * j));
  }
}

// anchors: [n, 4], deltas: [n, k, 4] -> out: [n, k, 4] (k boxes decoded against each anchor).
template <class T>
void box_decode_rows(const T* anchors, const T* deltas, std::int64_t n, std::int64_t k, const BoxCoderWeights& w,
                     T clip, T* out) {
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t c = 0; c < k; ++c)
      box_decode(anchors + 4 * i, deltas + 4 * (i * k + c), w, clip, out + 4 * (i * k + c));
}

// reference: [n, 4], proposals: [n, 4] -> out: [n, 4] (dx, dy, dw, dh).
template <class T>
void box_encode_rows(const T* reference, const T* proposals, std::int64_t n, const BoxCoderWeights& w, T* out) {
  for (std::int64_t i = 0; i < n; ++i) box_encode(reference + 4 * i, proposals + 4 * i, w, out + 4 * i);
}

// boxes: [n, 4] -> out: [n, 4] clamped to [0, width] x [0, height] (out may be boxes).
template <class T>
void box_clip_rows(const T* boxes, std::int64_t n, T width, T height, T* out) {
  for (std::int64_t i = 0; i < n; ++i) {
    for (int c = 0; c < 4; ++c) out[4 * i + c] = boxes[4 * i + c];
    box_clip(out + 4 * i, width, height);
  }
}

}  // namespace anima::kernels::cpu
