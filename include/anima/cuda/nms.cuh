// anima/cuda/nms.cuh — CUDA entries of the NMS tag (anima/ops/nms_kernels.hpp) and of the box kernel
// tags (anima/ops/box_ops_kernels.hpp), run on anima::cuda::current_stream(). Kernels, numerics and
// determinism: anima/kernels/cuda/nms.cuh and anima/kernels/cuda/box_ops.cuh. Including this header
// registers them (and the CUDA runtime).
//
// NMS on CUDA (nms, registered): everything on the device (anima/kernels/cuda/nms.cuh nms_device):
// the scores sorted by a stable radix sort (the order of anima/kernels/cpu/nms.hpp nms_score_order),
// the boxes gathered into that order, the 64-bit overlap mask (nms_mask_v1) and the greedy pass over it
// (nms_reduce_mask_device); then the count and the keep list (8·(count + 1) bytes) are copied back.
// nms_host_reduce (not registered; for comparison, bench/cuda_nms_bench.cu): the same sort and mask,
// then the mask (8·n·ceil(n/64) bytes: 50 MB for 20000 boxes) and the order copied back and the greedy
// pass run on the host (anima/kernels/cpu/nms.hpp nms_reduce_mask), as torchvision 0.14 does.
// Workspace: anima/kernels/cuda/nms.cuh NmsWorkspaceLayout<T>(n).bytes (about 8·n·ceil(n/64) for the
// mask + 40·n + CUB's sort storage) from the device's caching allocator, returned when the call ends.
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

}  // namespace nms_detail

// boxes: [n, 4], scores: [n] (device, contiguous) -> keep: [n] (host), returns the count.
inline std::int64_t nms(Device device, DType dtype, const void* boxes, const void* scores, std::int64_t n,
                        double iou_threshold, std::int64_t* keep) {
  return ANIMA_DISPATCH_FLOATING(dtype, NmsKernel::name, [&]() -> std::int64_t {
    if (n == 0) return 0;
    const kernels::cuda::NmsWorkspaceLayout<scalar_t> layout(n);
    nms_detail::Workspace work(device, layout.bytes);
    char* w = static_cast<char*>(work.ptr);
    const cudaStream_t stream = current_stream();
    kernels::cuda::nms_device<scalar_t>(static_cast<const scalar_t*>(boxes), static_cast<const scalar_t*>(scores), n,
                                        iou_threshold, layout, w, stream);
    std::int64_t count = 0;
    ANIMA_CUDA_CHECK(cudaMemcpyAsync(&count, w + layout.count, sizeof count, cudaMemcpyDeviceToHost, stream));
    ANIMA_CUDA_CHECK(cudaStreamSynchronize(stream));
    ANIMA_CHECK(count >= 0 && count <= n, NmsKernel::name, "device reduction returned count ", count, " for ", n,
                " boxes");
    if (count > 0) {
      ANIMA_CUDA_CHECK(cudaMemcpyAsync(keep, w + layout.keep, static_cast<std::size_t>(count) * sizeof(std::int64_t),
                                       cudaMemcpyDeviceToHost, stream));
      ANIMA_CUDA_CHECK(cudaStreamSynchronize(stream));
    }
    return count;
  });
}

// The same contract, with the greedy pass on the host (see the header comment).
inline std::int64_t nms_host_reduce(Device device, DType dtype, const void* boxes, const void* scores, std::int64_t n,
                                    double iou_threshold, std::int64_t* keep) {
  return ANIMA_DISPATCH_FLOATING(dtype, NmsKernel::name, [&]() -> std::int64_t {
    if (n == 0) return 0;
    const kernels::cuda::NmsWorkspaceLayout<scalar_t> layout(n);
    nms_detail::Workspace work(device, layout.bytes);
    char* w = static_cast<char*>(work.ptr);
    const cudaStream_t stream = current_stream();
    kernels::cuda::nms_sort_and_mask<scalar_t>(static_cast<const scalar_t*>(boxes),
                                               static_cast<const scalar_t*>(scores), n, iou_threshold, layout, w,
                                               stream);
    const std::int64_t blocks = kernels::nms_blocks(n);
    const std::size_t mask_words = static_cast<std::size_t>(n) * static_cast<std::size_t>(blocks);
    std::vector<std::uint64_t> host_mask(mask_words), removed(static_cast<std::size_t>(blocks));
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    ANIMA_CUDA_CHECK(cudaMemcpyAsync(host_mask.data(), w + layout.mask, mask_words * sizeof(std::uint64_t),
                                     cudaMemcpyDeviceToHost, stream));
    ANIMA_CUDA_CHECK(cudaMemcpyAsync(order.data(), w + layout.order, order.size() * sizeof(std::int64_t),
                                     cudaMemcpyDeviceToHost, stream));
    ANIMA_CUDA_CHECK(cudaStreamSynchronize(stream));
    return kernels::cpu::nms_reduce_mask(host_mask.data(), order.data(), n, removed.data(), keep);
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
