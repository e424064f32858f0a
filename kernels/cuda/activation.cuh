// anima/kernels/cuda/activation.cuh — the fused backward of the pointwise activations (CUDA). Same
// contract as anima/kernels/cpu/activation.hpp: dx[i] = g[lg(i)] · d(s[ls(i)]) with the derivative
// UnaryOp d of anima/kernels/elementwise_math.hpp (the formula is shared, not copied).
// One thread per element, grid-stride (the elementwise launch shape of anima/kernels/cuda/elementwise.cuh).
// Determinism: elementwise: bitwise reproducible.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/cuda/status.cuh>
#include <anima/kernels/cuda/elementwise.cuh>
#include <anima/kernels/elementwise_math.hpp>
#include <anima/kernels/layout.hpp>

namespace anima::kernels::cuda {

template <class T, bool Contiguous>
__global__ void activation_backward_kernel(UnaryOp grad_op, T p0, const T* __restrict__ s, Layout ls,
                                           const T* __restrict__ g, Layout lg, T* __restrict__ dx, std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride())
    dx[i] = g[Contiguous ? i : lg.offset(i)] * apply_unary(grad_op, s[Contiguous ? i : ls.offset(i)], p0, T(0));
}

template <class T>
[[nodiscard]] cudaError_t activation_backward(UnaryOp grad_op, T p0, const T* s, const Layout& ls, const T* g,
                                              const Layout& lg, T* dx, std::int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (ls.contiguous && lg.contiguous)
    activation_backward_kernel<T, true><<<grid_1d(n), kBlock, 0, stream>>>(grad_op, p0, s, ls, g, lg, dx, n);
  else
    activation_backward_kernel<T, false><<<grid_1d(n), kBlock, 0, stream>>>(grad_op, p0, s, ls, g, lg, dx, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

}  // namespace anima::kernels::cuda
