// CUDA conv2d benchmarks on every distinct conv of ResNet50, VGG16 and MobileNetV2 (bench/conv_shapes.hpp)
// at batch 1 and 8, float32, forward, no bias:
//
//   BM_conv2d_cudnn/<shape>/batch:<n>          ConvAlgorithm::Cudnn (heuristic algorithm, FMA math: no TF32)
//   BM_conv2d_implicit_gemm/<shape>/batch:<n>  ConvAlgorithm::ImplicitGemm (conv2d_fwd_implicit_gemm_v1)
//
// Each iteration is timed with CUDA events around one conv2d call (UseManualTime), after one warm-up
// call (cuDNN handle, algorithm choice, caching allocator). FLOP/s as in conv_bench.cpp.
// Run: anima_bench_cuda_conv [--benchmark_filter=cudnn] [--benchmark_min_time=0.05]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <exception>
#include <string>

#include <cuda_runtime.h>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/generator.hpp>
#include <anima/cuda/backend.cuh>
#include <anima/ops/conv.hpp>
#include <anima/ops/factory.hpp>

#include "conv_shapes.hpp"

namespace {

using anima::bench::ConvShape;

void run_conv(benchmark::State& state, ConvShape s, std::int64_t batch, anima::ConvAlgorithm alg) {
  if (!anima::cuda_is_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  try {
    anima::NoGradGuard no_grad;
    anima::Generator gen(1);
    const anima::Device dev = anima::Device::cuda(0);
    anima::Tensor x = anima::device_copy(anima::randn({batch, s.C, s.H, s.W}, {}, gen), dev);
    anima::Tensor w = anima::device_copy(anima::randn({s.O, s.C / s.groups, s.k, s.k}, {}, gen), dev);
    anima::Conv2dOptions o;
    o.stride = {s.stride, s.stride};
    o.padding = {s.pad, s.pad};
    o.groups = s.groups;
    o.algorithm = alg;
    anima::Tensor y = anima::conv2d(x, w, anima::Tensor(), o);  // warm-up
    anima::synchronize(dev);
    cudaEvent_t start, stop;
    ANIMA_CUDA_CHECK(cudaEventCreate(&start));
    ANIMA_CUDA_CHECK(cudaEventCreate(&stop));
    for (auto _ : state) {
      ANIMA_CUDA_CHECK(cudaEventRecord(start, anima::cuda::current_stream()));
      y = anima::conv2d(x, w, anima::Tensor(), o);
      ANIMA_CUDA_CHECK(cudaEventRecord(stop, anima::cuda::current_stream()));
      ANIMA_CUDA_CHECK(cudaEventSynchronize(stop));
      float ms = 0.f;
      ANIMA_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      state.SetIterationTime(ms * 1e-3);
    }
    ANIMA_CUDA_CHECK(cudaEventDestroy(start));
    ANIMA_CUDA_CHECK(cudaEventDestroy(stop));
    state.counters["FLOP/s"] =
        benchmark::Counter(anima::bench::conv_shape_flops(s, batch), benchmark::Counter::kIsIterationInvariantRate);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

const bool kRegistered = [] {
  for (std::int64_t batch : {1, 8})
    for (const ConvShape& s : anima::bench::conv_shapes()) {
      const std::string suffix = "/" + anima::bench::conv_shape_name(s) + "/batch:" + std::to_string(batch);
      benchmark::RegisterBenchmark(("BM_conv2d_cudnn" + suffix).c_str(), run_conv, s, batch, anima::ConvAlgorithm::Cudnn)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("BM_conv2d_implicit_gemm" + suffix).c_str(), run_conv, s, batch,
                                   anima::ConvAlgorithm::ImplicitGemm)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  return true;
}();

}  // namespace
