// anima/backends/cpu/box_ops.hpp — dispatch tags of the box kernels (IoU matrix, box coder decode /
// encode, clipping), with their CPU implementations (anima/kernels/cpu/box_ops.hpp). CUDA:
// anima/backends/cuda/nms.cuh.
//
// Contract shared by every backend: every array is contiguous on the tensor's device, boxes are rows
// of 4 (x1, y1, x2, y2) in float32 or float64 (one dtype for all arrays of a call); per-box math in
// anima/kernels/box_math.hpp.
#pragma once

#include <cstdint>

#include <anima/core/dtype.hpp>
#include <anima/kernels/box_math.hpp>
#include <anima/kernels/cpu/box_ops.hpp>

namespace anima {

// a: [n, 4], b: [m, 4] -> iou: [n, m]
struct BoxIouKernel {
  using Fn = void(DType dtype, const void* a, std::int64_t n, const void* b, std::int64_t m, void* iou);
  static constexpr const char* name = "box_iou";
  static void cpu(DType dtype, const void* a, std::int64_t n, const void* b, std::int64_t m, void* iou) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::box_iou_matrix<scalar_t>(static_cast<const scalar_t*>(a), n, static_cast<const scalar_t*>(b), m,
                                             static_cast<scalar_t*>(iou));
    });
  }
};

// anchors: [n, 4], deltas: [n, k, 4] -> out: [n, k, 4]
struct BoxDecodeKernel {
  using Fn = void(DType dtype, const void* anchors, const void* deltas, std::int64_t n, std::int64_t k,
                  const kernels::BoxCoderWeights& w, double clip, void* out);
  static constexpr const char* name = "box_decode";
  static void cpu(DType dtype, const void* anchors, const void* deltas, std::int64_t n, std::int64_t k,
                  const kernels::BoxCoderWeights& w, double clip, void* out) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::box_decode_rows<scalar_t>(static_cast<const scalar_t*>(anchors),
                                              static_cast<const scalar_t*>(deltas), n, k, w,
                                              static_cast<scalar_t>(clip), static_cast<scalar_t*>(out));
    });
  }
};

// reference: [n, 4], proposals: [n, 4] -> out: [n, 4]
struct BoxEncodeKernel {
  using Fn = void(DType dtype, const void* reference, const void* proposals, std::int64_t n,
                  const kernels::BoxCoderWeights& w, void* out);
  static constexpr const char* name = "box_encode";
  static void cpu(DType dtype, const void* reference, const void* proposals, std::int64_t n,
                  const kernels::BoxCoderWeights& w, void* out) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::box_encode_rows<scalar_t>(static_cast<const scalar_t*>(reference),
                                              static_cast<const scalar_t*>(proposals), n, w,
                                              static_cast<scalar_t*>(out));
    });
  }
};

// boxes: [n, 4] -> out: [n, 4] clamped to [0, width] x [0, height]
struct BoxClipKernel {
  using Fn = void(DType dtype, const void* boxes, std::int64_t n, double width, double height, void* out);
  static constexpr const char* name = "clip_boxes_to_image";
  static void cpu(DType dtype, const void* boxes, std::int64_t n, double width, double height, void* out) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::box_clip_rows<scalar_t>(static_cast<const scalar_t*>(boxes), n, static_cast<scalar_t>(width),
                                            static_cast<scalar_t>(height), static_cast<scalar_t*>(out));
    });
  }
};

}  // namespace anima
