// bench/cuda_gemm_bench.cu — square SGEMM C[n,n] = A[n,n] B[n,n] (row-major, NN, alpha 1, beta 0) on
// the GPU: cuBLAS (backends/cuda/gemm_cublas.cuh) versus our kernels (kernels/cuda/gemm_tiled.cuh):
//   BM_SgemmCublas/n       cublasSgemmStridedBatched via the row-major wrapper (FP32, no TF32)
//   BM_SgemmV1Naive/n      one thread per output (n <= 2048: it is slow)
//   BM_SgemmV2SmemTiled/n  128x128x8 shared-memory tiles, 8x8 register blocking
// Each iteration is timed with CUDA events around one launch (UseManualTime), after one warm-up
// launch, with the L2 flushed before each launch (bench/cuda_timer.cuh); the counter FLOP/s =
// 2 n^3 / time (base units, printed with a G/T suffix). Inputs are Philox uniforms in [-1, 1). With no
// GPU every benchmark reports "no CUDA device". Correctness is tested in tests/cuda/cuda_kernels_test.cu.
#include <benchmark/benchmark.h>

#include <cstdint>

#include <cuda_runtime.h>

#include <anima/backends/cuda/library_handles.cuh>
#include <anima/backends/cuda/check.cuh>
#include <anima/backends/cuda/gemm_cublas.cuh>
#include <anima/kernels/cuda/gemm_tiled.cuh>
#include <anima/kernels/cuda/random.cuh>

#include "cuda_device_required.cuh"
#include "cuda_timer.cuh"

namespace {

namespace kc = anima::kernels::cuda;

enum class Impl { Cublas, V1, V2 };

void run_sgemm(benchmark::State& state, Impl impl) {
  if (anima::bench::skip_without_cuda_device(state)) return;
  const std::int64_t n = state.range(0);
  const std::size_t elems = static_cast<std::size_t>(n * n);
  float *A = nullptr, *B = nullptr, *C = nullptr;
  try {
    ANIMA_CUDA_CHECK(cudaMalloc(&A, elems * sizeof(float)));
    ANIMA_CUDA_CHECK(cudaMalloc(&B, elems * sizeof(float)));
    ANIMA_CUDA_CHECK(cudaMalloc(&C, elems * sizeof(float)));
    ANIMA_CUDA_CHECK(kc::random_uniform<float>(A, static_cast<std::int64_t>(elems), 1, 0, -1.f, 1.f, nullptr));
    ANIMA_CUDA_CHECK(kc::random_uniform<float>(B, static_cast<std::int64_t>(elems), 2, 0, -1.f, 1.f, nullptr));
    auto launch = [&] {
      switch (impl) {
        case Impl::Cublas:
          anima::cuda::gemm_cublas<float>(false, false, 1, n, n, n, 1.f, A, n, n * n, B, n, n * n, 0.f, C, n, n * n,
                                          anima::cuda::cublas_handle(nullptr), nullptr);
          break;
        case Impl::V1:
          ANIMA_CUDA_CHECK(kc::sgemm_tiled(1, false, false, n, n, n, 1.f, A, n, B, n, 0.f, C, n, nullptr));
          break;
        case Impl::V2:
          ANIMA_CUDA_CHECK(kc::sgemm_tiled(2, false, false, n, n, n, 1.f, A, n, B, n, 0.f, C, n, nullptr));
          break;
      }
    };
    // The warm-up launch also creates the cuBLAS handle.
    const double total_s = anima::bench::time_cuda_iterations(state, launch);
    const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
    if (total_s > 0) state.counters["FLOP/s"] = flops * static_cast<double>(state.iterations()) / total_s;
  } catch (const anima::Error& e) {
    state.SkipWithError(e.what());
  }
  cudaFree(A);
  cudaFree(B);
  cudaFree(C);
}

void BM_SgemmCublas(benchmark::State& state) { run_sgemm(state, Impl::Cublas); }
void BM_SgemmV1Naive(benchmark::State& state) { run_sgemm(state, Impl::V1); }
void BM_SgemmV2SmemTiled(benchmark::State& state) { run_sgemm(state, Impl::V2); }

BENCHMARK(BM_SgemmCublas)->Arg(512)->Arg(1024)->Arg(2048)->Arg(4096)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SgemmV1Naive)->Arg(512)->Arg(1024)->Arg(2048)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SgemmV2SmemTiled)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Arg(4096)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
