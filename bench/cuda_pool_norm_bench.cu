// bench/cuda_pool_norm_bench.cu — pooling and batch norm on the GPU (float32), ResNet-50 shapes at
// batch 1 and 8; the same cases and byte counts as bench/pool_norm_bench.cpp (minimum traffic: inputs
// read once, outputs written once), so GB/s compare directly:
//   BM_CudaPool/MaxPool2d{Fwd,Bwd}/<N>     [N, 64, 112, 112], k 3, s 2, p 1   (bwd: gather from indices)
//   BM_CudaPool/AvgPool2d{Fwd,Bwd}/<N>     same geometry, count_include_pad     (bwd: gather)
//   BM_CudaPool/GlobalAvgPoolFwd/<N>       [N, 2048, 7, 7] -> [N, 2048, 1, 1]
//   BM_CudaBatchNorm/{Fwd,Bwd}/<N>/<s>     training: stats + transform / fused backward;
//                                          s = 0: [N, 64, 112, 112], 1: [N, 256, 56, 56], 2: [N, 2048, 7, 7]
// Kernels: anima/kernels/cuda/{pool,batch_norm}.cuh. Each iteration is one launch sequence timed with
// CUDA events (UseManualTime) after a warm-up; bytes_per_second = bytes / event time. L2 is not flushed
// (50 MB on an H100: the batch-1 tensors may sit in it; batch 8 streams from HBM). With no GPU every
// benchmark reports "no CUDA device".
#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>

#include <cuda_runtime.h>

#include <anima/kernels/cuda/batch_norm.cuh>
#include <anima/kernels/cuda/check.cuh>
#include <anima/kernels/cuda/pool.cuh>
#include <anima/kernels/cuda/random.cuh>

namespace {

namespace kc = anima::kernels::cuda;
using anima::kernels::Pool2dGeometry;

bool have_device() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return n > 0;
}

// Device buffer freed at scope exit.
template <class T>
struct DeviceBuffer {
  T* ptr = nullptr;
  explicit DeviceBuffer(std::int64_t n, std::uint64_t seed = 0) {
    ANIMA_CUDA_CHECK(cudaMalloc(&ptr, static_cast<std::size_t>(n > 0 ? n : 1) * sizeof(T)));
    if constexpr (sizeof(T) == 4) kc::random_uniform<float>(ptr, n, seed, 0, -1.f, 1.f, nullptr);
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

// Times `launch` with CUDA events per iteration; reports bytes_per_second for `bytes` per launch.
void time_launches(benchmark::State& state, std::int64_t bytes, const std::function<void()>& launch) {
  cudaEvent_t start = nullptr, stop = nullptr;
  ANIMA_CUDA_CHECK(cudaEventCreate(&start));
  ANIMA_CUDA_CHECK(cudaEventCreate(&stop));
  launch();  // warm-up
  ANIMA_CUDA_CHECK(cudaDeviceSynchronize());
  for (auto _ : state) {
    ANIMA_CUDA_CHECK(cudaEventRecord(start, nullptr));
    launch();
    ANIMA_CUDA_CHECK(cudaEventRecord(stop, nullptr));
    ANIMA_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    ANIMA_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms * 1e-3);
  }
  state.SetBytesProcessed(state.iterations() * bytes);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

Pool2dGeometry stem_pool(std::int64_t N) {
  Pool2dGeometry g;
  g.planes = N * 64;
  g.in_h = g.in_w = 112;
  g.out_h = g.out_w = 56;
  g.kernel_h = g.kernel_w = 3;
  g.stride_h = g.stride_w = 2;
  g.pad_h = g.pad_w = 1;
  return g;
}

enum class PoolCase { MaxFwd, MaxBwd, AvgFwd, AvgBwd, GlobalFwd };

void BM_CudaPool(benchmark::State& state, PoolCase c) {
  if (!have_device()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  try {
    Pool2dGeometry g = stem_pool(state.range(0));
    if (c == PoolCase::GlobalFwd) {
      g = Pool2dGeometry{};
      g.planes = state.range(0) * 2048;
      g.in_h = g.in_w = 7;
      g.out_h = g.out_w = 1;
    }
    const std::int64_t nin = g.planes * g.in_h * g.in_w, nout = g.planes * g.out_h * g.out_w;
    DeviceBuffer<float> x(nin, 1), y(nout, 2), gx(nin, 3);
    DeviceBuffer<std::int64_t> idx(nout);
    kc::max_pool2d_forward(x.ptr, g, y.ptr, idx.ptr, nullptr);
    switch (c) {
      case PoolCase::MaxFwd:
        time_launches(state, nin * 4 + nout * 12, [&] { kc::max_pool2d_forward(x.ptr, g, y.ptr, idx.ptr, nullptr); });
        break;
      case PoolCase::MaxBwd:
        time_launches(state, nout * 12 + nin * 4, [&] { kc::max_pool2d_backward(y.ptr, idx.ptr, g, gx.ptr, nullptr); });
        break;
      case PoolCase::AvgFwd:
        time_launches(state, (nin + nout) * 4, [&] { kc::avg_pool2d_forward(x.ptr, g, true, y.ptr, nullptr); });
        break;
      case PoolCase::AvgBwd:
        time_launches(state, (nin + nout) * 4, [&] { kc::avg_pool2d_backward(y.ptr, g, true, gx.ptr, nullptr); });
        break;
      case PoolCase::GlobalFwd:
        time_launches(state, (nin + nout) * 4, [&] { kc::adaptive_avg_pool2d_forward(x.ptr, g, y.ptr, nullptr); });
        break;
    }
  } catch (const anima::Error& e) {
    state.SkipWithError(e.what());
  }
}

void BM_CudaBatchNorm(benchmark::State& state, bool backward) {
  if (!have_device()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  try {
    const std::int64_t N = state.range(0);
    std::int64_t C = 2048, HW = 49;
    if (state.range(1) == 0) C = 64, HW = 112 * 112;
    if (state.range(1) == 1) C = 256, HW = 56 * 56;
    const std::int64_t n = N * C * HW;
    DeviceBuffer<float> x(n, 1), y(n, 2), gx(n, 3), w(C, 4), b(C, 5), mean(C, 6), var(C, 7), gw(C, 8), gb(C, 9);
    kc::batch_norm_stats(x.ptr, N, C, HW, mean.ptr, var.ptr, nullptr);
    if (!backward)
      time_launches(state, 2 * n * 4, [&] {
        kc::batch_norm_stats(x.ptr, N, C, HW, mean.ptr, var.ptr, nullptr);
        kc::batch_norm_transform(x.ptr, N, C, HW, mean.ptr, var.ptr, w.ptr, b.ptr, 1e-5, y.ptr, nullptr);
      });
    else
      time_launches(state, 3 * n * 4, [&] {
        kc::batch_norm_backward(x.ptr, y.ptr, N, C, HW, mean.ptr, var.ptr, w.ptr, 1e-5, true, gx.ptr, gw.ptr, gb.ptr,
                                nullptr);
      });
  } catch (const anima::Error& e) {
    state.SkipWithError(e.what());
  }
}

void pool_args(benchmark::internal::Benchmark* b) { b->Arg(1)->Arg(8)->UseManualTime()->Unit(benchmark::kMicrosecond); }
void bn_args(benchmark::internal::Benchmark* b) {
  for (int n : {1, 8})
    for (int s : {0, 1, 2}) b->Args({n, s});
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}

BENCHMARK_CAPTURE(BM_CudaPool, MaxPool2dFwd, PoolCase::MaxFwd)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_CudaPool, MaxPool2dBwd, PoolCase::MaxBwd)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_CudaPool, AvgPool2dFwd, PoolCase::AvgFwd)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_CudaPool, AvgPool2dBwd, PoolCase::AvgBwd)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_CudaPool, GlobalAvgPoolFwd, PoolCase::GlobalFwd)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_CudaBatchNorm, Fwd, false)->Apply(bn_args);
BENCHMARK_CAPTURE(BM_CudaBatchNorm, Bwd, true)->Apply(bn_args);

}  // namespace
