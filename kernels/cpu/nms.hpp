// anima/kernels/cpu/nms.hpp — non-maximum suppression on the CPU (torchvision 0.14's
// csrc/ops/cpu/nms_kernel.cpp semantics), and the bitmask algorithm of the CUDA path on the host (the
// CUDA default reduces the mask on the device, anima/kernels/nms_math.hpp; nms_reduce_mask is the
// host reduction of anima/backends/cuda/nms.cuh nms_host_reduce and the tests' reference).
//
//   nms_score_order      the visiting order: indices sorted by score, descending, NaN first, ties
//                        by index (stable).
//   nms_greedy           reference: walk boxes in that order; keep a box unless an earlier kept box
//                        overlaps it with IoU > threshold (strict), then suppress what it overlaps.
//   nms_greedy_sorted    the same decisions, faster: boxes gathered into score order as separate
//                        x1/y1/x2/y2/area arrays, and each kept box tests every later box without
//                        a branch (suppressing an already suppressed box changes nothing), so the
//                        inner loop reads memory in order and vectorises. What the CPU op runs.
//   nms_mask_blocks      bitmask version (the CUDA algorithm, on the CPU for tests): for each box i
//                        (in score order) and block c of 64 later boxes, a 64-bit word whose bit j
//                        says IoU(i, 64·c + j) > threshold.
//   nms_reduce_mask      greedy pass over the mask words: the same keep list as nms_greedy.
//
// Ties. torchvision 0.14's CPU NMS orders boxes with a stable descending sort of the scores (checked:
// its kept lists equal a greedy pass in torch.sort(stable=True, descending=True) order, and not the
// unstable torch.sort order, on scores with many ties; fixtures in
// tests/golden/data/detection_boxes.safetensors): equal scores are visited lowest index first. NaN
// scores sort first (torch.sort's rule), lowest index first among them. nms_score_order is
// std::stable_sort with that comparison: a pure function of the scores, on every platform.
// Determinism: fully deterministic (sequential).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include <anima/kernels/box_math.hpp>

namespace anima::kernels::cpu {

// scores: [n] -> order: [n] (indices into scores). `pairs` is workspace of n entries (std::stable_sort
// may also take a temporary buffer from the standard library).
template <class T>
void nms_score_order(const T* scores, std::int64_t n, std::pair<T, std::int64_t>* pairs, std::int64_t* order) {
  for (std::int64_t i = 0; i < n; ++i) pairs[i] = {scores[i], i};
  std::stable_sort(pairs, pairs + n, [](const std::pair<T, std::int64_t>& a, const std::pair<T, std::int64_t>& b) {
    return (std::isnan(a.first) && !std::isnan(b.first)) || a.first > b.first;
  });
  for (std::int64_t i = 0; i < n; ++i) order[i] = pairs[i].second;
}

// boxes: [n, 4]; order: [n]; areas: [n] and suppressed: [n] workspace; keep: [n] out.
// Returns the number of kept boxes (keep[0 .. count) are box indices in score order).
template <class T>
std::int64_t nms_greedy(const T* boxes, const std::int64_t* order, std::int64_t n, double iou_threshold, T* areas,
                        std::uint8_t* suppressed, std::int64_t* keep) {
  for (std::int64_t i = 0; i < n; ++i) {
    areas[i] = box_area(boxes + 4 * i);
    suppressed[i] = 0;
  }
  std::int64_t count = 0;
  for (std::int64_t a = 0; a < n; ++a) {
    const std::int64_t i = order[a];
    if (suppressed[i]) continue;
    keep[count++] = i;
    const T* bi = boxes + 4 * i;
    for (std::int64_t b = a + 1; b < n; ++b) {
      const std::int64_t j = order[b];
      if (suppressed[j]) continue;
      if (nms_overlaps(box_iou_with_areas(bi, areas[i], boxes + 4 * j, areas[j]), iou_threshold)) suppressed[j] = 1;
    }
  }
  return count;
}

// The float threshold that decides as `double(iou) > iou_threshold` does: the largest T <= threshold
// (for a T value x, x > threshold  <=>  x > that value). NaN thresholds are rejected by the op.
template <class T>
T nms_threshold_as(double iou_threshold) {
  T t = static_cast<T>(iou_threshold);
  if (static_cast<double>(t) > iou_threshold) t = std::nextafter(t, -std::numeric_limits<T>::infinity());
  return t;
}

// boxes: [n, 4]; order: [n]; work: [5n] and suppressed: [n] workspace; keep: [n] out. Returns the
// count kept; keep[] equals nms_greedy's.
template <class T>
std::int64_t nms_greedy_sorted(const T* boxes, const std::int64_t* order, std::int64_t n, double iou_threshold, T* work,
                               std::uint8_t* suppressed, std::int64_t* keep) {
  T* x1 = work;
  T* y1 = work + n;
  T* x2 = work + 2 * n;
  T* y2 = work + 3 * n;
  T* area = work + 4 * n;
  for (std::int64_t p = 0; p < n; ++p) {
    const T* b = boxes + 4 * order[p];
    x1[p] = b[0];
    y1[p] = b[1];
    x2[p] = b[2];
    y2[p] = b[3];
    area[p] = box_area(b);
    suppressed[p] = 0;
  }
  const T thr = nms_threshold_as<T>(iou_threshold);
  std::int64_t count = 0;
  for (std::int64_t a = 0; a < n; ++a) {
    if (suppressed[a]) continue;
    keep[count++] = order[a];
    const T ix1 = x1[a], iy1 = y1[a], ix2 = x2[a], iy2 = y2[a], iarea = area[a];
    for (std::int64_t b = a + 1; b < n; ++b) {
      // box_iou_with_areas, unrolled over the arrays (same operations, same order)
      const T w = box_max(T(0), box_min(ix2, x2[b]) - box_max(ix1, x1[b]));
      const T h = box_max(T(0), box_min(iy2, y2[b]) - box_max(iy1, y1[b]));
      const T inter = w * h;
      const T iou = inter / (iarea + area[b] - inter);
      suppressed[b] |= static_cast<std::uint8_t>(iou > thr);
    }
  }
  return count;
}

// sorted: [n, 4] boxes already in score order; mask: [n, nms_blocks(n)] words (out). Only the words
// of blocks c >= i / 64 are written and read (bits of boxes at or before i are 0).
template <class T>
void nms_mask_blocks(const T* sorted, std::int64_t n, double iou_threshold, std::uint64_t* mask) {
  const std::int64_t blocks = nms_blocks(n);
  for (std::int64_t i = 0; i < n; ++i) {
    const T* bi = sorted + 4 * i;
    const T ai = box_area(bi);
    for (std::int64_t c = i / kNmsBlock; c < blocks; ++c) {
      std::uint64_t word = 0;
      const std::int64_t end = std::min<std::int64_t>(n, (c + 1) * kNmsBlock);
      for (std::int64_t j = std::max(i + 1, c * kNmsBlock); j < end; ++j) {
        const T* bj = sorted + 4 * j;
        if (nms_overlaps(box_iou_with_areas(bi, ai, bj, box_area(bj)), iou_threshold))
          word |= std::uint64_t(1) << (j % kNmsBlock);
      }
      mask[i * blocks + c] = word;
    }
  }
}

// mask: [n, nms_blocks(n)] from nms_mask_blocks (or its CUDA twin); order: [n] maps position in score
// order -> box index; removed: [nms_blocks(n)] workspace; keep: [n] out. Returns the count kept.
inline std::int64_t nms_reduce_mask(const std::uint64_t* mask, const std::int64_t* order, std::int64_t n,
                                    std::uint64_t* removed, std::int64_t* keep) {
  const std::int64_t blocks = nms_blocks(n);
  for (std::int64_t c = 0; c < blocks; ++c) removed[c] = 0;
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t c = i / kNmsBlock;
    if (removed[c] & (std::uint64_t(1) << (i % kNmsBlock))) continue;
    keep[count++] = order[i];
    const std::uint64_t* row = mask + i * blocks;
    for (std::int64_t k = c; k < blocks; ++k) removed[k] |= row[k];
  }
  return count;
}

}  // namespace anima::kernels::cpu
