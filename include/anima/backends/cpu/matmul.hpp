// anima/backends/cpu/matmul.hpp — dispatch tag of the batched matrix product.
//
//   for b < batch:  C_b[M,N] = alpha * op(A_b) op(B_b) + beta * C_b,   X_b = X + b * stride_x
// row-major, op(X) = X^T when its trans flag is set; lda/ldb/ldc are row strides of the stored
// matrices. CPU: the packed GEMM of anima/kernels/cpu/gemm.hpp on the default thread pool, with its
// workspace allocated here (kernels never allocate). CUDA: cuBLAS (anima/backends/cuda/matmul.cuh).
#pragma once

#include <cstddef>
#include <cstdint>

#include <anima/core/allocator.hpp>
#include <anima/core/dtype.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/core/workspace.hpp>
#include <anima/kernels/cpu/gemm.hpp>

namespace anima {

// The micro-kernel the CPU GEMM runs on this machine: "avx512f", "avx2+fma" or "portable".
inline const char* cpu_gemm_isa() { return kernels::cpu::gemm_packed_isa(); }

struct GemmKernel {
  using Fn = void(DType dtype, bool trans_a, bool trans_b, std::int64_t batch, std::int64_t M, std::int64_t N,
                  std::int64_t K, double alpha, const void* A, std::int64_t lda, std::int64_t stride_a, const void* B,
                  std::int64_t ldb, std::int64_t stride_b, double beta, void* C, std::int64_t ldc,
                  std::int64_t stride_c);
  static constexpr const char* name = "gemm";
  static void cpu(DType dtype, bool trans_a, bool trans_b, std::int64_t batch, std::int64_t M, std::int64_t N,
                  std::int64_t K, double alpha, const void* A, std::int64_t lda, std::int64_t stride_a, const void* B,
                  std::int64_t ldb, std::int64_t stride_b, double beta, void* C, std::int64_t ldc,
                  std::int64_t stride_c) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      const kernels::ParallelFor parallel = default_parallel();
      const std::size_t ws_bytes = kernels::cpu::gemm_packed_workspace_bytes<scalar_t>(M, N, K, parallel.size());
      const ScopedWorkspace ws = cpu_workspace(ws_bytes);  // the packed panels
      const auto* a = static_cast<const scalar_t*>(A);
      const auto* b = static_cast<const scalar_t*>(B);
      auto* c = static_cast<scalar_t*>(C);
      for (std::int64_t i = 0; i < batch; ++i)
        kernels::cpu::gemm_packed<scalar_t>(trans_a, trans_b, M, N, K, static_cast<scalar_t>(alpha), a + i * stride_a,
                                            lda, b + i * stride_b, ldb, static_cast<scalar_t>(beta), c + i * stride_c,
                                            ldc, ws.get(), parallel);
    });
  }
};

}  // namespace anima
