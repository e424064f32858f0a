// anima/backends/cuda/nms.cuh — CUDA entry of the NMS tag (anima/backends/cpu/nms.hpp), run on
// anima::cuda::current_stream(). Kernels, numerics and determinism: anima/kernels/cuda/nms.cuh.
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
#include <type_traits>
#include <vector>

#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/kernels/cpu/nms.hpp>
#include <anima/backends/cuda/check.cuh>
#include <anima/kernels/cuda/nms.cuh>
#include <anima/backends/cpu/nms.hpp>

namespace anima::cuda {

// Runs pass(layout, workspace, stream) -> count for an n-box pass of dtype's boxes: the box limit
// stated, CUB's size query checked, the workspace taken from the device's caching allocator.
template <class Pass>
std::int64_t with_nms_workspace(Device device, DType dtype, std::int64_t n, const Pass& pass) {
  return ANIMA_DISPATCH_FLOATING(dtype, NmsKernel::name, [&]() -> std::int64_t {
    if (n == 0) return 0;
    ANIMA_CHECK(n <= kernels::cuda::kNmsMaxBoxes, NmsKernel::name, "at most ", kernels::cuda::kNmsMaxBoxes,
                " boxes on CUDA, got ", n);
    const kernels::cuda::NmsWorkspaceLayout<scalar_t> layout(n);
    ANIMA_CUDA_CHECK(layout.status);
    const ScopedWorkspace work(*cuda::allocator(device.index), layout.bytes);
    return pass(layout, static_cast<char*>(work.get()), current_stream());
  });
}

// boxes: [n, 4], scores: [n] (device, contiguous) -> keep: [n] (host), returns the count.
inline std::int64_t nms(Device device, DType dtype, const void* boxes, const void* scores, std::int64_t n,
                        double iou_threshold, std::int64_t* keep) {
  return with_nms_workspace(device, dtype, n, [&](const auto& layout, char* w, cudaStream_t stream) {
    using scalar_t = typename std::decay_t<decltype(layout)>::Scalar;
    ANIMA_CUDA_CHECK(kernels::cuda::nms_device<scalar_t>(static_cast<const scalar_t*>(boxes),
                                                         static_cast<const scalar_t*>(scores), n, iou_threshold,
                                                         layout, w, stream));
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
  return with_nms_workspace(device, dtype, n, [&](const auto& layout, char* w, cudaStream_t stream) {
    using scalar_t = typename std::decay_t<decltype(layout)>::Scalar;
    ANIMA_CUDA_CHECK(kernels::cuda::nms_sort_and_mask<scalar_t>(static_cast<const scalar_t*>(boxes),
                                                                static_cast<const scalar_t*>(scores), n,
                                                                iou_threshold, layout, w, stream));
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

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_nms_kernels() { KernelRegistry<NmsKernel>::cuda = &nms; }

}  // namespace anima::cuda
