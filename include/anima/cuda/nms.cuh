// anima/cuda/nms.cuh — CUDA entries of the NMS tag (anima/ops/nms_kernels.hpp) and of the box kernel
// tags (anima/ops/box_ops_kernels.hpp), run on anima::cuda::current_stream(). Kernels, numerics and
// determinism: anima/kernels/cuda/nms.cuh and anima/kernels/cuda/box_ops.cuh. Including this header
// registers them (and the CUDA runtime).
//
// NMS on CUDA: the score order (computed on the host by the op) is copied to the device, the boxes
// gathered into that order, the 64-bit overlap mask computed (nms_mask_v1), copied back, and the
// greedy pass run on the host (anima/kernels/cpu/nms.hpp nms_reduce_mask). Workspace: 8·n (order) +
// 4·n·sizeof(T) (sorted boxes) + 8·n·ceil(n/64) bytes (mask; 50 MB for 20000 boxes) from the device's
// caching allocator, returned when the call ends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/cuda/runtime.cuh>
#include <anima/kernels/cpu/nms.hpp>
#include <anima/kernels/cuda/box_ops.cuh>
#include <anima/kernels/cuda/check.cuh>
#include <anima/kernels/cuda/nms.cuh>
#include <anima/ops/box_ops_kernels.hpp>
#include <anima/ops/nms_kernels.hpp>

namespace anima::cuda {

namespace nms_detail {

// Device memory from `device`'s caching allocator, returned when it goes out of scope.
struct Workspace {
  Allocator* allocator = nullptr;
  void* ptr = nullptr;
  std::size_t bytes = 0;
  Workspace(Device device, std::size_t b) : allocator(cuda::allocator(device.index)), bytes(b) {
    if (b > 0) ptr = allocator->allocate(b);
  }
  ~Workspace() {
    if (ptr) allocator->deallocate(ptr, bytes);
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
};

inline std::size_t round_up8(std::size_t b) { return (b + 7) / 8 * 8; }

}  // namespace nms_detail

inline std::int64_t nms(Device device, DType dtype, const void* boxes, const std::int64_t* order, std::int64_t n,
                        double iou_threshold, std::int64_t* keep) {
  return ANIMA_DISPATCH_FLOATING(dtype, NmsKernel::name, [&]() -> std::int64_t {
    if (n == 0) return 0;
    const std::int64_t blocks = kernels::nms_blocks(n);
    const std::size_t order_bytes = static_cast<std::size_t>(n) * sizeof(std::int64_t);
    const std::size_t sorted_bytes = nms_detail::round_up8(static_cast<std::size_t>(n) * 4 * sizeof(scalar_t));
    const std::size_t mask_words = static_cast<std::size_t>(n) * static_cast<std::size_t>(blocks);
    nms_detail::Workspace work(device, order_bytes + sorted_bytes + mask_words * sizeof(std::uint64_t));
    auto* order_dev = static_cast<std::int64_t*>(work.ptr);
    auto* sorted = reinterpret_cast<scalar_t*>(static_cast<char*>(work.ptr) + order_bytes);
    auto* mask = reinterpret_cast<std::uint64_t*>(static_cast<char*>(work.ptr) + order_bytes + sorted_bytes);
    const cudaStream_t stream = current_stream();
    ANIMA_CUDA_CHECK(cudaMemcpyAsync(order_dev, order, order_bytes, cudaMemcpyHostToDevice, stream));
    kernels::cuda::nms_gather_sorted<scalar_t>(static_cast<const scalar_t*>(boxes), order_dev, n, sorted, stream);
    kernels::cuda::nms_mask_v1<scalar_t>(sorted, n, iou_threshold, mask, stream);
    std::vector<std::uint64_t> host_mask(mask_words), removed(static_cast<std::size_t>(blocks));
    ANIMA_CUDA_CHECK(cudaMemcpyAsync(host_mask.data(), mask, mask_words * sizeof(std::uint64_t), cudaMemcpyDeviceToHost,
                                     stream));
    ANIMA_CUDA_CHECK(cudaStreamSynchronize(stream));
    return kernels::cpu::nms_reduce_mask(host_mask.data(), order, n, removed.data(), keep);
  });
}

inline void box_iou(DType dtype, const void* a, std::int64_t n, const void* b, std::int64_t m, void* iou) {
  ANIMA_DISPATCH_FLOATING(dtype, BoxIouKernel::name, [&] {
    kernels::cuda::box_iou_matrix<scalar_t>(static_cast<const scalar_t*>(a), n, static_cast<const scalar_t*>(b), m,
                                            static_cast<scalar_t*>(iou), current_stream());
  });
}

inline void box_decode(DType dtype, const void* anchors, const void* deltas, std::int64_t n, std::int64_t k,
                       const kernels::BoxCoderWeights& w, double clip, void* out) {
  ANIMA_DISPATCH_FLOATING(dtype, BoxDecodeKernel::name, [&] {
    kernels::cuda::box_decode_rows<scalar_t>(static_cast<const scalar_t*>(anchors),
                                             static_cast<const scalar_t*>(deltas), n, k, w,
                                             static_cast<scalar_t>(clip), static_cast<scalar_t*>(out),
                                             current_stream());
  });
}

inline void box_encode(DType dtype, const void* reference, const void* proposals, std::int64_t n,
                       const kernels::BoxCoderWeights& w, void* out) {
  ANIMA_DISPATCH_FLOATING(dtype, BoxEncodeKernel::name, [&] {
    kernels::cuda::box_encode_rows<scalar_t>(static_cast<const scalar_t*>(reference),
                                             static_cast<const scalar_t*>(proposals), n, w,
                                             static_cast<scalar_t*>(out), current_stream());
  });
}

inline void box_clip(DType dtype, const void* boxes, std::int64_t n, double width, double height, void* out) {
  ANIMA_DISPATCH_FLOATING(dtype, BoxClipKernel::name, [&] {
    kernels::cuda::box_clip_rows<scalar_t>(static_cast<const scalar_t*>(boxes), n, static_cast<scalar_t>(width),
                                           static_cast<scalar_t>(height), static_cast<scalar_t*>(out),
                                           current_stream());
  });
}

inline const bool kNmsRegistered = (KernelRegistry<NmsKernel>::cuda = &nms, true);
inline const bool kBoxIouRegistered = (KernelRegistry<BoxIouKernel>::cuda = &box_iou, true);
inline const bool kBoxDecodeRegistered = (KernelRegistry<BoxDecodeKernel>::cuda = &box_decode, true);
inline const bool kBoxEncodeRegistered = (KernelRegistry<BoxEncodeKernel>::cuda = &box_encode, true);
inline const bool kBoxClipRegistered = (KernelRegistry<BoxClipKernel>::cuda = &box_clip, true);

}  // namespace anima::cuda
