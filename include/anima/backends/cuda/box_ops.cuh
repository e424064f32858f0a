// anima/backends/cuda/box_ops.cuh — CUDA entries of the box kernel tags (anima/backends/cpu/box_ops.hpp):
// pairwise IoU, box decoding / encoding and clipping, run on anima::cuda::current_stream(). Kernels and
// numerics: anima/kernels/cuda/box_ops.cuh (the per-box math is anima/kernels/box_math.hpp, shared with
// the CPU).
#pragma once

#include <cstdint>

#include <anima/backends/cuda/check.cuh>
#include <anima/backends/cpu/box_ops.hpp>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/kernels/cuda/box_ops.cuh>

namespace anima::cuda {

inline void box_iou(DType dtype, const void* a, std::int64_t n, const void* b, std::int64_t m, void* iou) {
  ANIMA_DISPATCH_FLOATING(dtype, BoxIouKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::box_iou_matrix<scalar_t>(static_cast<const scalar_t*>(a), n,
                                                             static_cast<const scalar_t*>(b), m,
                                                             static_cast<scalar_t*>(iou), current_stream()));
  });
}

inline void box_decode(DType dtype, const void* anchors, const void* deltas, std::int64_t n, std::int64_t k,
                       const kernels::BoxCoderWeights& w, double clip, void* out) {
  ANIMA_DISPATCH_FLOATING(dtype, BoxDecodeKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::box_decode_rows<scalar_t>(
        static_cast<const scalar_t*>(anchors), static_cast<const scalar_t*>(deltas), n, k, w,
        static_cast<scalar_t>(clip), static_cast<scalar_t*>(out), current_stream()));
  });
}

inline void box_encode(DType dtype, const void* reference, const void* proposals, std::int64_t n,
                       const kernels::BoxCoderWeights& w, void* out) {
  ANIMA_DISPATCH_FLOATING(dtype, BoxEncodeKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::box_encode_rows<scalar_t>(static_cast<const scalar_t*>(reference),
                                                              static_cast<const scalar_t*>(proposals), n, w,
                                                              static_cast<scalar_t*>(out), current_stream()));
  });
}

inline void box_clip(DType dtype, const void* boxes, std::int64_t n, double width, double height, void* out) {
  ANIMA_DISPATCH_FLOATING(dtype, BoxClipKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::box_clip_rows<scalar_t>(static_cast<const scalar_t*>(boxes), n,
                                                            static_cast<scalar_t>(width), static_cast<scalar_t>(height),
                                                            static_cast<scalar_t*>(out), current_stream()));
  });
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_box_ops_kernels() {
  KernelRegistry<BoxIouKernel>::cuda = &box_iou;
  KernelRegistry<BoxDecodeKernel>::cuda = &box_decode;
  KernelRegistry<BoxEncodeKernel>::cuda = &box_encode;
  KernelRegistry<BoxClipKernel>::cuda = &box_clip;
}

}  // namespace anima::cuda
