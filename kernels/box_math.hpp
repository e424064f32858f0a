// anima/kernels/box_math.hpp — per-box math of the detection box ops, written once for CPU and CUDA
// (torchvision 0.14: ops/boxes.py, ops/_box_convert.py, models/detection/_utils.py BoxCoder,
// csrc/ops/{cpu,cuda}/nms_kernel.*). Boxes are (x1, y1, x2, y2) corners, x2 >= x1 and y2 >= y1 for
// a valid box; nothing here checks that (torchvision does not either).
//
//   area(b)          = (x2 - x1)·(y2 - y1)
//   iou(a, b)        = inter / (area(a) + area(b) - inter),
//                      inter = max(0, min(ax2, bx2) - max(ax1, bx1))·max(0, min(ay2, by2) - max(ay1, by1))
//   decode(anchor a, deltas (dx, dy, dw, dh), weights (wx, wy, ww, wh)):
//       w = ax2 - ax1, h = ay2 - ay1, cx = ax1 + 0.5·w, cy = ay1 + 0.5·h
//       dw' = min(dw / ww, clip), dh' = min(dh / wh, clip)       clip = log(1000/16) (bbox_xform_clip)
//       pcx = (dx / wx)·w + cx, pcy = (dy / wy)·h + cy, pw = exp(dw')·w, ph = exp(dh')·h
//       box = (pcx - 0.5·pw, pcy - 0.5·ph, pcx + 0.5·pw, pcy + 0.5·ph)
//   encode(reference (ground truth) g, proposal p, weights): the inverse of decode (no clip):
//       dx = wx·(gcx - pcx) / pw, dy = wy·(gcy - pcy) / ph, dw = ww·log(gw / pw), dh = wh·log(gh / ph)
//
// Numerics: the operations are done in torchvision's order and in the tensor's dtype, so results equal
// torchvision's up to the last bit or two of exp/log. Host code is assumed not to fuse multiply-adds
// (x86-64 without -mfma, as torchvision's CPU build; a build with -march=native or on AArch64 should
// add -ffp-contract=off for IoUs bit-equal to torchvision's and to the CUDA kernels').
// NaN: max/min are written as std::max/std::min are (`a < b ? b : a`), as torchvision's CPU NMS uses
// them, so a NaN coordinate gives an intersection width of 0 or NaN and a NaN IoU compares false:
// such a box never suppresses and is never suppressed.
#pragma once

#include <cmath>
#include <cstdint>

#include <anima/kernels/host_device.hpp>
#include <anima/kernels/mul_rn.hpp>

namespace anima::kernels {

// log(1000 / 16): the largest dw/dh decode accepts (exp of it = 62.5, i.e. a box at most 62.5 times
// its anchor), torchvision's BoxCoder default bbox_xform_clip. Computed in double, like math.log.
inline constexpr double kBboxXformClip = 4.135166556742356;

struct BoxCoderWeights {
  double wx = 1.0, wy = 1.0, ww = 1.0, wh = 1.0;
};

template <class T>
ANIMA_HD T box_max(T a, T b) {
  return a < b ? b : a;
}  // std::max's rule (NaN in b is dropped)
template <class T>
ANIMA_HD T box_min(T a, T b) {
  return b < a ? b : a;
}  // std::min's rule

// Products that feed a sum are rounded on their own (mul_rn, anima/kernels/mul_rn.hpp): NMS keeps or
// drops a box on `iou > threshold`, so the IoU must be the same bits on both backends.

// b: [4] (x1, y1, x2, y2)
template <class T>
ANIMA_HD T box_area(const T* b) {
  return mul_rn(b[2] - b[0], b[3] - b[1]);
}

// IoU as torchvision's NMS computes it (areas given): inter / (area_a + area_b - inter).
template <class T>
ANIMA_HD T box_iou_with_areas(const T* a, T area_a, const T* b, T area_b) {
  const T w = box_max(T(0), box_min(a[2], b[2]) - box_max(a[0], b[0]));
  const T h = box_max(T(0), box_min(a[3], b[3]) - box_max(a[1], b[1]));
  const T inter = mul_rn(w, h);
  return inter / (area_a + area_b - inter);
}

template <class T>
ANIMA_HD T box_iou(const T* a, const T* b) {
  return box_iou_with_areas(a, box_area(a), b, box_area(b));
}

// anchor: [4], deltas: [4] (dx, dy, dw, dh), out: [4]. See the header comment.
template <class T>
ANIMA_HD void box_decode(const T* anchor, const T* deltas, const BoxCoderWeights& wt, T clip, T* out) {
  using std::exp;  // float overloads on the host; CUDA's device overloads under nvcc
  const T w = anchor[2] - anchor[0];
  const T h = anchor[3] - anchor[1];
  const T cx = anchor[0] + mul_rn(T(0.5), w);
  const T cy = anchor[1] + mul_rn(T(0.5), h);
  const T dx = deltas[0] / static_cast<T>(wt.wx);
  const T dy = deltas[1] / static_cast<T>(wt.wy);
  T dw = deltas[2] / static_cast<T>(wt.ww);
  T dh = deltas[3] / static_cast<T>(wt.wh);
  // torch.clamp(max=clip): NaN stays NaN.
  dw = dw > clip ? clip : dw;
  dh = dh > clip ? clip : dh;
  const T pcx = mul_rn(dx, w) + cx;
  const T pcy = mul_rn(dy, h) + cy;
  const T pw = mul_rn(static_cast<T>(exp(dw)), w);
  const T ph = mul_rn(static_cast<T>(exp(dh)), h);
  const T hw = mul_rn(T(0.5), pw);
  const T hh = mul_rn(T(0.5), ph);
  out[0] = pcx - hw;
  out[1] = pcy - hh;
  out[2] = pcx + hw;
  out[3] = pcy + hh;
}

// reference (the target box): [4], proposal: [4], out: [4] (dx, dy, dw, dh).
template <class T>
ANIMA_HD void box_encode(const T* reference, const T* proposal, const BoxCoderWeights& wt, T* out) {
  using std::log;
  const T pw = proposal[2] - proposal[0];
  const T ph = proposal[3] - proposal[1];
  const T pcx = proposal[0] + mul_rn(T(0.5), pw);
  const T pcy = proposal[1] + mul_rn(T(0.5), ph);
  const T gw = reference[2] - reference[0];
  const T gh = reference[3] - reference[1];
  const T gcx = reference[0] + mul_rn(T(0.5), gw);
  const T gcy = reference[1] + mul_rn(T(0.5), gh);
  out[0] = mul_rn(static_cast<T>(wt.wx), gcx - pcx) / pw;
  out[1] = mul_rn(static_cast<T>(wt.wy), gcy - pcy) / ph;
  out[2] = mul_rn(static_cast<T>(wt.ww), static_cast<T>(log(gw / pw)));
  out[3] = mul_rn(static_cast<T>(wt.wh), static_cast<T>(log(gh / ph)));
}

// Clamps x to [0, width] and y to [0, height] (torch.clamp: NaN stays NaN). b: [4], in place.
template <class T>
ANIMA_HD void box_clip(T* b, T width, T height) {
  for (int k = 0; k < 4; ++k) {
    const T hi = (k % 2 == 0) ? width : height;
    const T v = b[k];
    b[k] = v < T(0) ? T(0) : (v > hi ? hi : v);
  }
}

// The suppression test. The IoU (in the boxes' dtype) is compared with the threshold in double, as
// torchvision's CPU kernel does (`ovr > iou_threshold`, iou_threshold a double): with float boxes and
// threshold 0.7, an IoU of 0.7f (0.69999998...) does not suppress. (torchvision's CUDA kernel takes the
// threshold as a float, so it suppresses there; anima follows the CPU on both backends.)
template <class T>
ANIMA_HD bool nms_overlaps(T iou, double iou_threshold) {
  return static_cast<double>(iou) > iou_threshold;
}

// NMS works on blocks of 64 boxes: bit j of mask[i·blocks + c] says box (in score order) 64·c + j
// overlaps box i by more than the threshold.
inline constexpr int kNmsBlock = 64;
ANIMA_HD std::int64_t nms_blocks(std::int64_t n) { return (n + kNmsBlock - 1) / kNmsBlock; }

}  // namespace anima::kernels
