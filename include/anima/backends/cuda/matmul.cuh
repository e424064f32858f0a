// anima/backends/cuda/matmul.cuh — CUDA entry of GemmKernel (anima/backends/cpu/matmul.hpp): row-major batched GEMM
// through cuBLAS (anima/backends/cuda/gemm_cublas.cuh), run on anima::cuda::current_stream() with this thread's
// cuBLAS handle bound to it (anima/backends/cuda/library_handles.cuh).
#pragma once

#include <cstdint>

#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/backends/cuda/library_handles.cuh>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/backends/cuda/gemm_cublas.cuh>
#include <anima/backends/cpu/matmul.hpp>

namespace anima::cuda {

inline void gemm(DType dtype, bool trans_a, bool trans_b, std::int64_t batch, std::int64_t M, std::int64_t N,
                 std::int64_t K, double alpha, const void* A, std::int64_t lda, std::int64_t stride_a, const void* B,
                 std::int64_t ldb, std::int64_t stride_b, double beta, void* C, std::int64_t ldc,
                 std::int64_t stride_c) {
  ANIMA_DISPATCH_FLOATING(dtype, GemmKernel::name, [&] {
    const cudaStream_t stream = current_stream();
    gemm_cublas<scalar_t>(trans_a, trans_b, batch, M, N, K, static_cast<scalar_t>(alpha),
                          static_cast<const scalar_t*>(A), lda, stride_a, static_cast<const scalar_t*>(B), ldb,
                          stride_b, static_cast<scalar_t>(beta), static_cast<scalar_t*>(C), ldc, stride_c,
                          cublas_handle(stream), stream);
  });
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_matmul_kernels() { KernelRegistry<GemmKernel>::cuda = &gemm; }

}  // namespace anima::cuda
