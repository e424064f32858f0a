// anima/kernels/cuda/nms.cuh — the device half of non-maximum suppression (CUDA): the bitmask
// algorithm of torchvision's csrc/ops/cuda/nms_kernel.cu, with anima's per-box math
// (anima/kernels/box_math.hpp) so every IoU decision equals the CPU's bit for bit.
//
//   nms_gather_sorted   sorted[p] = boxes[order[p]]: the boxes in score order.
//   nms_mask_v1         grid (column block c, row block r), 64 threads: the 64 boxes of column block c
//                       are staged in shared memory (with their areas); thread t takes box i = 64·r + t
//                       and sets bit j of mask[i·blocks + c] when box 64·c + j comes after i and
//                       IoU(i, 64·c + j) > threshold. Blocks with c < r have nothing to do (only later
//                       boxes are tested) and leave their words unwritten; the reduction never reads them.
// The greedy pass over the mask (anima/kernels/cpu/nms.hpp nms_reduce_mask) runs on the host after
// the mask is copied back, as torchvision 0.14 does.
// Workspace (from the caller): sorted [n, 4] in the boxes' dtype, order [n] int64, mask [n, blocks]
// 64-bit words, all on the device.
// Determinism: each mask word is written by one thread from fixed inputs; no atomics.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/box_math.hpp>
#include <anima/kernels/cuda/check.cuh>
#include <anima/kernels/cuda/elementwise.cuh>

namespace anima::kernels::cuda {

template <class T>
__global__ void nms_gather_sorted_kernel(const T* __restrict__ boxes, const std::int64_t* __restrict__ order,
                                         std::int64_t n, T* __restrict__ sorted) {
  for (std::int64_t i = global_thread_index(); i < 4 * n; i += grid_stride()) sorted[i] = boxes[4 * order[i / 4] + i % 4];
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

// boxes: [n, 4], order: [n] (device) -> sorted: [n, 4] (device)
template <class T>
void nms_gather_sorted(const T* boxes, const std::int64_t* order, std::int64_t n, T* sorted, cudaStream_t stream) {
  nms_gather_sorted_kernel<T><<<grid_1d(4 * n), kBlock, 0, stream>>>(boxes, order, n, sorted);
  ANIMA_CUDA_CHECK_LAUNCH("nms_gather_sorted_kernel");
}

// sorted: [n, 4] -> mask: [n, nms_blocks(n)] (words of column blocks before the row's block untouched)
template <class T>
void nms_mask_v1(const T* sorted, std::int64_t n, double iou_threshold, std::uint64_t* mask, cudaStream_t stream) {
  const std::int64_t blocks = nms_blocks(n);
  ANIMA_CHECK(blocks <= 65535, "nms", "at most ", 65535 * kNmsBlock, " boxes on CUDA, got ", n);
  const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(blocks));
  nms_mask_v1_kernel<T><<<grid, kNmsBlock, 0, stream>>>(sorted, n, iou_threshold, mask);
  ANIMA_CUDA_CHECK_LAUNCH("nms_mask_v1_kernel");
}

}  // namespace anima::kernels::cuda
