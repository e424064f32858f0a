// anima/kernels/cuda/paste_masks.cuh — paste_masks_in_image on CUDA (forward only). Same contract as
// anima/kernels/cpu/paste_masks.hpp; the per-pixel math is the shared ANIMA_HD code of
// anima/kernels/paste_masks_math.hpp.
//
//   paste_masks_pixel_kernel (v1): one thread per output pixel (grid-stride, 64-bit indices); a thread
//   outside its mask's box writes 0, so the output needs no separate clear.
// Determinism: run-to-run deterministic (no atomics). nvcc may contract the bilinear products into FMAs,
// so a value can differ from the CPU's in the last bits (the integer boxes come from the host).
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/cuda/status.cuh>
#include <anima/kernels/cuda/elementwise.cuh>
#include <anima/kernels/paste_masks_math.hpp>

namespace anima::kernels::cuda {

template <class T>
__global__ void paste_masks_pixel_kernel(const T* __restrict__ masks, const std::int64_t* __restrict__ boxes,
                                         PasteMasksGeometry g, T* __restrict__ out, std::int64_t n) {
  const std::int64_t mm = g.mask_size * g.mask_size;
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t x = i % g.image_w, y = (i / g.image_w) % g.image_h, r = i / (g.image_w * g.image_h);
    out[i] = paste_pixel(masks + r * mm, boxes + 4 * r, y, x, g);
  }
}

// Launcher (host); device pointers, run on `stream`.
template <class T>
[[nodiscard]] cudaError_t paste_masks(const T* masks, const std::int64_t* boxes, const PasteMasksGeometry& g, T* out,
                                      cudaStream_t stream) {
  const std::int64_t n = g.masks * g.image_h * g.image_w;
  if (n <= 0) return cudaSuccess;
  paste_masks_pixel_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(masks, boxes, g, out, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

}  // namespace anima::kernels::cuda
