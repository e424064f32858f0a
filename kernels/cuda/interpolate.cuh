// anima/kernels/cuda/interpolate.cuh — 2-D nearest and bilinear resizing and their backward (CUDA).
// Same contract as anima/kernels/cpu/interpolate.hpp; the index and weight math is the shared ANIMA_HD
// code of anima/kernels/interpolate_math.hpp.
//
//   forward:   one thread per output element (grid-stride, 64-bit indices).
//   backward:  gx is zeroed (cudaMemsetAsync), then one thread per output element scatters its
//              gradient into its source pixel(s) with atomicAdd (float and double atomics, sm_60+).
// Determinism: the forward is run-to-run deterministic and gives the CPU kernels' bits (the same explicit
// double coordinate, fmas and lone products, bilinear_blend: nothing left for nvcc to contract); the
// backward is not in the last bits where several outputs share a source pixel (the order of the atomic
// additions varies). It agrees with the CPU's sequential scatter to float rounding.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/cuda/status.cuh>
#include <anima/kernels/cuda/elementwise.cuh>
#include <anima/kernels/interpolate_math.hpp>

namespace anima::kernels::cuda {

template <class T>
__global__ void interpolate2d_forward_kernel(InterpMode mode, const T* __restrict__ x, Interp2dGeometry g,
                                             T* __restrict__ y, std::int64_t n) {
  const bool ac = mode == InterpMode::Bilinear && g.align_corners;
  const T rh = interp_ratio<T>(g.in_h, g.out_h, g.scale_h, ac);
  const T rw = interp_ratio<T>(g.in_w, g.out_w, g.scale_w, ac);
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t ow = i % g.out_w, oh = (i / g.out_w) % g.out_h, p = i / (g.out_w * g.out_h);
    const T* xp = x + p * g.in_h * g.in_w;
    if (mode == InterpMode::Nearest) {
      y[i] = xp[nearest_source_index(rh, oh, g.in_h) * g.in_w + nearest_source_index(rw, ow, g.in_w)];
      continue;
    }
    const LinearTap<T> th = linear_source(rh, oh, g.in_h, g.out_h, g.align_corners);
    const LinearTap<T> tw = linear_source(rw, ow, g.in_w, g.out_w, g.align_corners);
    y[i] = bilinear_blend(xp + th.i0 * g.in_w, xp + th.i1 * g.in_w, th, tw);
  }
}

template <class T>
__global__ void interpolate2d_backward_atomic_kernel(InterpMode mode, const T* __restrict__ gy, Interp2dGeometry g,
                                                     T* __restrict__ gx, std::int64_t n) {
  const bool ac = mode == InterpMode::Bilinear && g.align_corners;
  const T rh = interp_ratio<T>(g.in_h, g.out_h, g.scale_h, ac);
  const T rw = interp_ratio<T>(g.in_w, g.out_w, g.scale_w, ac);
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t ow = i % g.out_w, oh = (i / g.out_w) % g.out_h, p = i / (g.out_w * g.out_h);
    T* gp = gx + p * g.in_h * g.in_w;
    const T d = gy[i];
    if (mode == InterpMode::Nearest) {
      atomicAdd(gp + nearest_source_index(rh, oh, g.in_h) * g.in_w + nearest_source_index(rw, ow, g.in_w), d);
      continue;
    }
    const LinearTap<T> th = linear_source(rh, oh, g.in_h, g.out_h, g.align_corners);
    const LinearTap<T> tw = linear_source(rw, ow, g.in_w, g.out_w, g.align_corners);
    T* r0 = gp + th.i0 * g.in_w;
    T* r1 = gp + th.i1 * g.in_w;
    atomicAdd(r0 + tw.i0, th.l0 * tw.l0 * d);
    atomicAdd(r0 + tw.i1, th.l0 * tw.l1 * d);
    atomicAdd(r1 + tw.i0, th.l1 * tw.l0 * d);
    atomicAdd(r1 + tw.i1, th.l1 * tw.l1 * d);
  }
}

// Launchers (host); device pointers, run on `stream`.
template <class T>
[[nodiscard]] cudaError_t interpolate2d_forward(InterpMode mode, const T* x, const Interp2dGeometry& g, T* y,
                                                cudaStream_t stream) {
  const std::int64_t n = g.planes * g.out_h * g.out_w;
  if (n <= 0) return cudaSuccess;
  interpolate2d_forward_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(mode, x, g, y, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t interpolate2d_backward(InterpMode mode, const T* gy, const Interp2dGeometry& g, T* gx,
                                                 cudaStream_t stream) {
  const std::int64_t n_in = g.planes * g.in_h * g.in_w, n = g.planes * g.out_h * g.out_w;
  if (n_in <= 0) return cudaSuccess;
  ANIMA_KERNEL_TRY(cudaMemsetAsync(gx, 0, static_cast<std::size_t>(n_in) * sizeof(T), stream));
  if (n <= 0) return cudaSuccess;
  interpolate2d_backward_atomic_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(mode, gy, g, gx, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

}  // namespace anima::kernels::cuda
