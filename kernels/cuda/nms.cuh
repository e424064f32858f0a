// anima/kernels/cuda/nms.cuh — non-maximum suppression on the device (CUDA): a stable radix sort of
// the scores, the bitmask algorithm of torchvision's csrc/ops/cuda/nms_kernel.cu with anima's per-box
// math (anima/kernels/box_math.hpp, so every IoU decision equals the CPU's bit for bit), and the
// greedy pass over the mask on the device (anima/kernels/nms_math.hpp).
//
//   nms_score_keys          keys[i] = nms_score_key(scores[i]), index[i] = i.
//   nms_sort (CUB)          cub::DeviceRadixSort::SortPairsDescending of (key, index): stable, so the
//                           order is nms_score_order's (descending, NaN first, ties lowest index
//                           first, -0.0 == +0.0): see anima/kernels/nms_math.hpp.
//   nms_gather_sorted       sorted[p] = boxes[order[p]]: the boxes in score order.
//   nms_mask_v1             grid (column block c, row block r), 64 threads: the 64 boxes of column block c
//                           are staged in shared memory (with their areas); thread t takes box i = 64·r + t
//                           and sets bit j of mask[i·blocks + c] when box 64·c + j comes after i and
//                           IoU(i, 64·c + j) > threshold. Blocks with c < r have nothing to do (only later
//                           boxes are tested) and leave their words unwritten; the reduction never reads them.
//   nms_reduce_mask_device  one thread block walks the column blocks in order (nms_reduce_block_step):
//                           the 64 diagonal words of the block are staged in shared memory, every thread
//                           takes the block's keep decisions from them, then ORs the words it owns of the
//                           kept rows into `removed` (shared memory up to 40 KiB, i.e. 327680 boxes, else
//                           the workspace); thread 0 writes the keep list (box indices, score order) and
//                           the count. One __syncthreads pair per 64 boxes. (torchvision 0.26 reduces on the
//                           device too, with a barrier per kept box.)
//   nms_device              sort + gather + mask + device reduction: what the registered CUDA nms runs.
// Versions of the whole pass (anima/backends/cuda/nms.cuh): nms (registered, default: nms_device; only the count
// and the keep list come back) and nms_host_reduce (for comparison: the mask and
// the order are copied back and reduced on the host by anima/kernels/cpu/nms.hpp nms_reduce_mask, as
// torchvision 0.14 does).
// Workspace (from the caller; nothing here allocates): NmsWorkspaceLayout<T>(n), all on the device.
// Determinism: the sort is a stable radix sort; each mask word is written by one thread from fixed
// inputs; each `removed` word by one thread, in the fixed block order; no atomics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <cub/device/device_radix_sort.cuh>
#include <cuda_runtime.h>

#include <anima/kernels/box_math.hpp>
#include <anima/kernels/cuda/status.cuh>
#include <anima/kernels/cuda/elementwise.cuh>
#include <anima/kernels/nms_math.hpp>

namespace anima::kernels::cuda {

// The most boxes one pass takes: the mask kernel's grid is nms_blocks(n) x nms_blocks(n), at most 65535 each.
inline constexpr std::int64_t kNmsMaxBoxes = std::int64_t(65535) * kNmsBlock;

// The radix key type of a score dtype (nms_score_key's result).
template <class T>
using NmsKey = std::conditional_t<std::is_same_v<T, float>, std::uint32_t, std::uint64_t>;

// Byte offsets of the pieces of the workspace, each aligned to 256 bytes:
//   keys_in, keys_out [n] NmsKey<T>; index_in, order [n] int64; sorted [n, 4] T; mask [n, blocks] words;
//   removed [blocks] words; keep [n] int64; count [1] int64; sort_temp (CUB's temporary storage).
// status: cudaErrorInvalidValue when n > kNmsMaxBoxes (nothing laid out), else CUB's size query's.
template <class T>
struct NmsWorkspaceLayout {
  using Scalar = T;
  std::size_t keys_in = 0, keys_out = 0, index_in = 0, order = 0, sorted = 0, mask = 0, removed = 0, keep = 0,
              count = 0, sort_temp = 0, sort_temp_bytes = 0, bytes = 0;
  cudaError_t status = cudaSuccess;
  explicit NmsWorkspaceLayout(std::int64_t n) {
    if (n > kNmsMaxBoxes) {
      status = cudaErrorInvalidValue;
      return;
    }
    const auto un = static_cast<std::size_t>(n);
    const auto blocks = static_cast<std::size_t>(nms_blocks(n));
    std::size_t at = 0;
    const auto take = [&at](std::size_t b) {
      const std::size_t here = at;
      at += (b + 255) / 256 * 256;
      return here;
    };
    keys_in = take(un * sizeof(NmsKey<T>));
    keys_out = take(un * sizeof(NmsKey<T>));
    index_in = take(un * sizeof(std::int64_t));
    order = take(un * sizeof(std::int64_t));
    sorted = take(un * 4 * sizeof(T));
    mask = take(un * blocks * sizeof(std::uint64_t));
    removed = take(blocks * sizeof(std::uint64_t));
    keep = take(un * sizeof(std::int64_t));
    count = take(sizeof(std::int64_t));
    // CUB's size query reads nothing and launches nothing.
    status = cub::DeviceRadixSort::SortPairsDescending(
        nullptr, sort_temp_bytes, static_cast<const NmsKey<T>*>(nullptr), static_cast<NmsKey<T>*>(nullptr),
        static_cast<const std::int64_t*>(nullptr), static_cast<std::int64_t*>(nullptr), static_cast<int>(n));
    sort_temp = take(sort_temp_bytes);
    bytes = at;
  }
};

template <class T>
__global__ void nms_score_keys_kernel(const T* __restrict__ scores, std::int64_t n, NmsKey<T>* __restrict__ keys,
                                      std::int64_t* __restrict__ index) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    keys[i] = nms_score_key(scores[i]);
    index[i] = i;
  }
}

template <class T>
__global__ void nms_gather_sorted_kernel(const T* __restrict__ boxes, const std::int64_t* __restrict__ order,
                                         std::int64_t n, T* __restrict__ sorted) {
  for (std::int64_t i = global_thread_index(); i < 4 * n; i += grid_stride())
    sorted[i] = boxes[4 * order[i / 4] + i % 4];
}

template <class T>
__global__ void nms_mask_v1_kernel(const T* __restrict__ sorted, std::int64_t n, double iou_threshold,
                                   std::uint64_t* __restrict__ mask) {
  const std::int64_t col_block = blockIdx.x, row_block = blockIdx.y;
  if (col_block < row_block) return;
  const std::int64_t blocks = nms_blocks(n);
  const std::int64_t col_start = col_block * kNmsBlock, row_start = row_block * kNmsBlock;
  const int cols = static_cast<int>(n - col_start < kNmsBlock ? n - col_start : kNmsBlock);
  const int rows = static_cast<int>(n - row_start < kNmsBlock ? n - row_start : kNmsBlock);
  __shared__ T col_boxes[kNmsBlock * 4];
  __shared__ T col_areas[kNmsBlock];
  const int t = threadIdx.x;
  if (t < cols) {
    for (int k = 0; k < 4; ++k) col_boxes[4 * t + k] = sorted[4 * (col_start + t) + k];
    col_areas[t] = box_area(col_boxes + 4 * t);
  }
  __syncthreads();
  if (t >= rows) return;
  const std::int64_t i = row_start + t;
  T bi[4];
  for (int k = 0; k < 4; ++k) bi[k] = sorted[4 * i + k];
  const T ai = box_area(bi);
  std::uint64_t word = 0;
  const int first = col_block == row_block ? t + 1 : 0;  // only boxes after i
  for (int j = first; j < cols; ++j)
    if (nms_overlaps(box_iou_with_areas(bi, ai, col_boxes + 4 * j, col_areas[j]), iou_threshold))
      word |= std::uint64_t(1) << j;
  mask[i * blocks + col_block] = word;
}

// One block of blockDim.x threads. removed_global: [blocks] words, used when the dynamic shared
// memory is not (use_shared false). keep: [n] out, count: [1] out. (A template only so that the header
// can define it in every translation unit; Word is std::uint64_t.) Launch bounds: up to 1024 threads.
template <class Word>
__global__ void __launch_bounds__(1024)
    nms_reduce_mask_kernel(const Word* __restrict__ mask, std::int64_t n, const std::int64_t* __restrict__ order,
                           std::uint64_t* removed_global, bool use_shared, std::int64_t* __restrict__ keep,
                           std::int64_t* __restrict__ count_out) {
  extern __shared__ std::uint64_t removed_shared[];
  __shared__ std::uint64_t diag[kNmsBlock];  // diag[b] = mask row 64·c + b, word c
  std::uint64_t* removed = use_shared ? removed_shared : removed_global;
  const int t = static_cast<int>(threadIdx.x), threads = static_cast<int>(blockDim.x);
  const std::int64_t blocks = nms_blocks(n);
  for (std::int64_t k = t; k < blocks; k += threads) removed[k] = 0;  // each thread zeroes the words it owns
  std::int64_t count = 0;
  for (std::int64_t c = 0; c < blocks; ++c) {
    __syncthreads();  // removed[c] complete; the previous block is done with diag
    const std::int64_t start = c * kNmsBlock;
    for (int b = t; b < kNmsBlock; b += threads)
      if (start + b < n) diag[b] = mask[(start + b) * blocks + c];
    __syncthreads();
    count = nms_reduce_block_step(mask, n, blocks, c, diag, removed[c], t, threads, removed, order, keep, count);
  }
  if (t == 0) *count_out = count;
}

// scores: [n] -> keys_in, index_in: [n]; then the stable descending sort into order: [n].
template <class T>
[[nodiscard]] cudaError_t nms_sort(const T* scores, std::int64_t n, const NmsWorkspaceLayout<T>& layout, char* work,
                                   cudaStream_t stream) {
  auto* keys_in = reinterpret_cast<NmsKey<T>*>(work + layout.keys_in);
  auto* keys_out = reinterpret_cast<NmsKey<T>*>(work + layout.keys_out);
  auto* index_in = reinterpret_cast<std::int64_t*>(work + layout.index_in);
  auto* order = reinterpret_cast<std::int64_t*>(work + layout.order);
  nms_score_keys_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(scores, n, keys_in, index_in);
  ANIMA_KERNEL_TRY_LAUNCH();
  std::size_t temp_bytes = layout.sort_temp_bytes;
  ANIMA_KERNEL_TRY(cub::DeviceRadixSort::SortPairsDescending(work + layout.sort_temp, temp_bytes, keys_in, keys_out,
                                                             index_in, order, static_cast<int>(n), 0,
                                                             static_cast<int>(8 * sizeof(NmsKey<T>)), stream));
  return cudaSuccess;
}

// boxes: [n, 4], order: [n] (device) -> sorted: [n, 4] (device)
template <class T>
[[nodiscard]] cudaError_t nms_gather_sorted(const T* boxes, const std::int64_t* order, std::int64_t n, T* sorted,
                                            cudaStream_t stream) {
  nms_gather_sorted_kernel<T><<<grid_1d(4 * n), kBlock, 0, stream>>>(boxes, order, n, sorted);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

// sorted: [n, 4] -> mask: [n, nms_blocks(n)] (words of column blocks before the row's block untouched)
template <class T>
[[nodiscard]] cudaError_t nms_mask_v1(const T* sorted, std::int64_t n, double iou_threshold, std::uint64_t* mask,
                                      cudaStream_t stream) {
  const std::int64_t blocks = nms_blocks(n);
  if (n > kNmsMaxBoxes) return cudaErrorInvalidValue;
  const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(blocks));
  nms_mask_v1_kernel<T><<<grid, kNmsBlock, 0, stream>>>(sorted, n, iou_threshold, mask);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

// mask: [n, blocks], order: [n], removed: [blocks] workspace -> keep: [n], count: [1] (device).
// threads (0: automatic): a multiple of 32 near the number of words, at most 512, so that each thread
// owns about one word of every row. `removed` lives in shared memory when it fits (40 KiB: n up to
// 327680) unless allow_shared is false (the tests run both).
[[nodiscard]] inline cudaError_t nms_reduce_mask_device(const std::uint64_t* mask, std::int64_t n,
                                                        const std::int64_t* order, std::uint64_t* removed,
                                                        std::int64_t* keep, std::int64_t* count, cudaStream_t stream,
                                                        int threads = 0, bool allow_shared = true) {
  const std::int64_t blocks = nms_blocks(n);
  if (threads <= 0) {
    const std::int64_t warps = (blocks + 31) / 32;
    threads = static_cast<int>(32 * (warps < 1 ? 1 : (warps > 16 ? 16 : warps)));
  }
  if (threads > 1024) return cudaErrorInvalidValue;
  const std::size_t removed_bytes = static_cast<std::size_t>(blocks) * sizeof(std::uint64_t);
  const bool use_shared = allow_shared && removed_bytes <= 40 * 1024;  // + diag: within the 48 KiB default
  const std::size_t shared_bytes = use_shared ? removed_bytes : 0;
  nms_reduce_mask_kernel<std::uint64_t>
      <<<1, threads, shared_bytes, stream>>>(mask, n, order, removed, use_shared, keep, count);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

// The whole device pass up to the mask: boxes [n, 4], scores [n] (device) -> order [n] and mask in
// `work` (layout: NmsWorkspaceLayout<T>(n)).
template <class T>
[[nodiscard]] cudaError_t nms_sort_and_mask(const T* boxes, const T* scores, std::int64_t n, double iou_threshold,
                                            const NmsWorkspaceLayout<T>& layout, char* work, cudaStream_t stream) {
  ANIMA_KERNEL_TRY(nms_sort<T>(scores, n, layout, work, stream));
  const auto* order = reinterpret_cast<const std::int64_t*>(work + layout.order);
  auto* sorted = reinterpret_cast<T*>(work + layout.sorted);
  ANIMA_KERNEL_TRY(nms_gather_sorted<T>(boxes, order, n, sorted, stream));
  ANIMA_KERNEL_TRY(
      nms_mask_v1<T>(sorted, n, iou_threshold, reinterpret_cast<std::uint64_t*>(work + layout.mask), stream));
  return cudaSuccess;
}

// Everything on the device: boxes [n, 4], scores [n] -> keep [n] at work + layout.keep, the count at
// work + layout.count.
template <class T>
[[nodiscard]] cudaError_t nms_device(const T* boxes, const T* scores, std::int64_t n, double iou_threshold,
                                     const NmsWorkspaceLayout<T>& layout, char* work, cudaStream_t stream) {
  ANIMA_KERNEL_TRY(nms_sort_and_mask<T>(boxes, scores, n, iou_threshold, layout, work, stream));
  ANIMA_KERNEL_TRY(nms_reduce_mask_device(reinterpret_cast<const std::uint64_t*>(work + layout.mask), n,
                                          reinterpret_cast<const std::int64_t*>(work + layout.order),
                                          reinterpret_cast<std::uint64_t*>(work + layout.removed),
                                          reinterpret_cast<std::int64_t*>(work + layout.keep),
                                          reinterpret_cast<std::int64_t*>(work + layout.count), stream));
  return cudaSuccess;
}

}  // namespace anima::kernels::cuda
