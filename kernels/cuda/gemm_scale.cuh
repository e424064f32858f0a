// anima/kernels/cuda/gemm_scale.cuh — the empty-product GEMM: C_b = beta * C_b for each batch b.
//
//   C_b[r, c] = beta * C_b[r, c]   (0 when beta == 0, without reading C, so C may hold NaN)
// The K == 0 case of C = alpha * op(A) op(B) + beta * C, where the product is empty and cuBLAS would
// reject the leading dimensions of the empty operands. Row-major, row stride ldc, batch stride stride_c.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/cuda/elementwise.cuh>  // grid_1d, kBlock, grid-stride helpers
#include <anima/kernels/cuda/status.cuh>

namespace anima::kernels::cuda {

// C[r, c] = beta * C[r, c] (or 0 when beta == 0, without reading C) for each batch: the K == 0 case,
// where the product is empty (cuBLAS would reject the leading dimensions of empty operands).
template <class T>
__global__ void gemm_scale_c_kernel(std::int64_t batch, std::int64_t M, std::int64_t N, T beta, T* C, std::int64_t ldc,
                                    std::int64_t stride_c) {
  const std::int64_t total = batch * M * N;
  for (std::int64_t i = global_thread_index(); i < total; i += grid_stride()) {
    const std::int64_t b = i / (M * N), r = (i / N) % M, c = i % N;
    T& v = C[b * stride_c + r * ldc + c];
    v = beta == T(0) ? T(0) : beta * v;
  }
}

template <class T>
[[nodiscard]] cudaError_t gemm_scale_c(std::int64_t batch, std::int64_t M, std::int64_t N, T beta, T* C,
                                       std::int64_t ldc, std::int64_t stride_c, cudaStream_t stream) {
  if (batch <= 0 || M <= 0 || N <= 0) return cudaSuccess;
  gemm_scale_c_kernel<T><<<grid_1d(batch * M * N), kBlock, 0, stream>>>(batch, M, N, beta, C, ldc, stride_c);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

}  // namespace anima::kernels::cuda
