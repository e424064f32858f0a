// bench/cuda_pool_norm_bench.cu — pooling and batch norm on the GPU (float32), ResNet-50 shapes at
// batch 1 and 8; the same cases and byte counts as bench/pool_norm_bench.cpp (minimum traffic: inputs
// read once, outputs written once), so GB/s compare directly:
//   BM_CudaPool/MaxPool2d{Fwd,Bwd}/<N>     [N, 64, 112, 112], k 3, s 2, p 1   (bwd: gather from indices)
//   BM_CudaPool/AvgPool2d{Fwd,Bwd}/<N>     same geometry, count_include_pad     (bwd: gather)
//   BM_CudaPool/GlobalAvgPoolFwd/<N>       [N, 2048, 7, 7] -> [N, 2048, 1, 1]
//   BM_CudaBatchNorm/{Fwd,Bwd}/<N>/<s>     training: stats + transform / fused backward;
//                                          s = 0: [N, 64, 112, 112], 1: [N, 256, 56, 56], 2: [N, 2048, 7, 7]
// Shapes: bench/pool_norm_shapes.hpp. Kernels: anima/kernels/cuda/{pool,batch_norm}.cuh. Each
// iteration is one launch sequence timed with CUDA events (UseManualTime) after a warm-up, with the L2
// flushed before each (bench/cuda_timer.cuh: the batch-1 tensors would otherwise sit in an H100's 50 MB
// L2); bytes_per_second = bytes / event time. With no GPU every benchmark reports "no CUDA device".
#include <benchmark/benchmark.h>

#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/cuda/batch_norm.cuh>
#include <anima/backends/cuda/check.cuh>
#include <anima/kernels/cuda/pool.cuh>
#include <anima/kernels/cuda/random.cuh>

#include "cuda_device_required.cuh"
#include "cuda_timer.cuh"
#include "pool_norm_shapes.hpp"

namespace {

namespace kc = anima::kernels::cuda;
using anima::kernels::Pool2dGeometry;

// Device buffer freed at scope exit.
template <class T>
struct DeviceBuffer {
  T* ptr = nullptr;
  explicit DeviceBuffer(std::int64_t n, std::uint64_t seed = 0) {
    ANIMA_CUDA_CHECK(cudaMalloc(&ptr, static_cast<std::size_t>(n > 0 ? n : 1) * sizeof(T)));
    if constexpr (sizeof(T) == 4) ANIMA_CUDA_CHECK(kc::random_uniform<float>(ptr, n, seed, 0, -1.f, 1.f, nullptr));
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

// Times `launch` (bench/cuda_timer.cuh); reports bytes_per_second for `bytes` per launch.
template <class Launch>
void time_launches(benchmark::State& state, std::int64_t bytes, Launch launch) {
  anima::bench::time_cuda_iterations(state, launch);
  state.SetBytesProcessed(state.iterations() * bytes);
}

enum class PoolCase { MaxFwd, MaxBwd, AvgFwd, AvgBwd, GlobalFwd };

void BM_CudaPool(benchmark::State& state, PoolCase c) {
  if (anima::bench::skip_without_cuda_device(state)) return;
  try {
    const Pool2dGeometry g = c == PoolCase::GlobalFwd ? anima::bench::global_avg_pool(state.range(0))
                                                      : anima::bench::stem_pool(state.range(0));
    const std::int64_t nin = anima::bench::pool_input_elements(g), nout = anima::bench::pool_output_elements(g);
    DeviceBuffer<float> x(nin, 1), y(nout, 2), gx(nin, 3);
    DeviceBuffer<std::int64_t> idx(nout);
    ANIMA_CUDA_CHECK(kc::max_pool2d_forward(x.ptr, g, y.ptr, idx.ptr, nullptr));
    switch (c) {
      case PoolCase::MaxFwd:
        time_launches(state, nin * 4 + nout * 12,
                      [&] { ANIMA_CUDA_CHECK(kc::max_pool2d_forward(x.ptr, g, y.ptr, idx.ptr, nullptr)); });
        break;
      case PoolCase::MaxBwd:
        time_launches(state, nout * 12 + nin * 4,
                      [&] { ANIMA_CUDA_CHECK(kc::max_pool2d_backward(y.ptr, idx.ptr, g, gx.ptr, nullptr)); });
        break;
      case PoolCase::AvgFwd:
        time_launches(state, (nin + nout) * 4,
                      [&] { ANIMA_CUDA_CHECK(kc::avg_pool2d_forward(x.ptr, g, true, y.ptr, nullptr)); });
        break;
      case PoolCase::AvgBwd:
        time_launches(state, (nin + nout) * 4,
                      [&] { ANIMA_CUDA_CHECK(kc::avg_pool2d_backward(y.ptr, g, true, gx.ptr, nullptr)); });
        break;
      case PoolCase::GlobalFwd:
        time_launches(state, (nin + nout) * 4,
                      [&] { ANIMA_CUDA_CHECK(kc::adaptive_avg_pool2d_forward(x.ptr, g, y.ptr, nullptr)); });
        break;
    }
  } catch (const anima::Error& e) {
    state.SkipWithError(e.what());
  }
}

void BM_CudaBatchNorm(benchmark::State& state, bool backward) {
  if (anima::bench::skip_without_cuda_device(state)) return;
  try {
    const std::int64_t N = state.range(0);
    const anima::bench::BnShape s = anima::bench::bn_shape(state.range(1));
    const std::int64_t C = s.C, HW = s.HW;
    const std::int64_t n = N * C * HW;
    DeviceBuffer<float> x(n, 1), y(n, 2), gx(n, 3), w(C, 4), b(C, 5), mean(C, 6), var(C, 7), gw(C, 8), gb(C, 9);
    ANIMA_CUDA_CHECK(kc::batch_norm_stats(x.ptr, N, C, HW, mean.ptr, var.ptr, nullptr));
    if (!backward)
      time_launches(state, 2 * n * 4, [&] {
        ANIMA_CUDA_CHECK(kc::batch_norm_stats(x.ptr, N, C, HW, mean.ptr, var.ptr, nullptr));
        ANIMA_CUDA_CHECK(
            kc::batch_norm_transform(x.ptr, N, C, HW, mean.ptr, var.ptr, w.ptr, b.ptr, 1e-5, y.ptr, nullptr));
      });
    else
      time_launches(state, 3 * n * 4, [&] {
        ANIMA_CUDA_CHECK(kc::batch_norm_backward(x.ptr, y.ptr, N, C, HW, mean.ptr, var.ptr, w.ptr, 1e-5, true, gx.ptr,
                                                 gw.ptr, gb.ptr, nullptr));
      });
  } catch (const anima::Error& e) {
    state.SkipWithError(e.what());
  }
}

constexpr auto pool_args = anima::bench::pool_args<anima::bench::RowTime::CudaEvents>;
constexpr auto bn_args = anima::bench::bn_args<anima::bench::RowTime::CudaEvents>;

BENCHMARK_CAPTURE(BM_CudaPool, MaxPool2dFwd, PoolCase::MaxFwd)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_CudaPool, MaxPool2dBwd, PoolCase::MaxBwd)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_CudaPool, AvgPool2dFwd, PoolCase::AvgFwd)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_CudaPool, AvgPool2dBwd, PoolCase::AvgBwd)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_CudaPool, GlobalAvgPoolFwd, PoolCase::GlobalFwd)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_CudaBatchNorm, Fwd, false)->Apply(bn_args);
BENCHMARK_CAPTURE(BM_CudaBatchNorm, Bwd, true)->Apply(bn_args);

}  // namespace
