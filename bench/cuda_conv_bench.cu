// CUDA conv2d benchmarks on every distinct conv of ResNet50, VGG16 and MobileNetV2 (bench/conv_shapes.hpp)
// at batch 1 and 8, float32, forward, no bias:
//
//   BM_conv2d_cudnn/<shape>/batch:<n>          CudaConvAlgorithm::Cudnn (heuristic algorithm, FMA math: no TF32)
//   BM_conv2d_implicit_gemm/<shape>/batch:<n>  CudaConvAlgorithm::ImplicitGemm (conv2d_fwd_implicit_gemm_v1)
//
// Each iteration is timed with CUDA events around one conv2d call (UseManualTime), after one warm-up
// call (cuDNN handle, algorithm choice, caching allocator), with the L2 flushed before each call
// (bench/cuda_timer.cuh). FLOP/s as in conv_bench.cpp.
// Run: anima_bench_cuda_conv [--benchmark_filter=cudnn] [--benchmark_min_time=0.05]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <exception>

#include <anima/autograd/grad_mode.hpp>
#include <anima/backends/cuda/backend.cuh>
#include <anima/ops/conv.hpp>

#include "conv_problem.hpp"
#include "conv_shapes.hpp"
#include "cuda_device_required.cuh"
#include "cuda_timer.cuh"

namespace {

using anima::bench::ConvShape;

void run_conv(benchmark::State& state, ConvShape s, std::int64_t batch, anima::ConvAlgorithms alg) {
  if (anima::bench::skip_without_cuda_device(state)) return;
  try {
    anima::NoGradGuard no_grad;
    const anima::bench::ConvProblem p = anima::bench::make_conv_problem(s, batch, alg, anima::Device::cuda(0));
    anima::Tensor y;
    anima::bench::time_cuda_iterations(
        state, [&] { y = p.run(); }, anima::cuda::current_stream());
    anima::bench::set_conv_flops(state, s, batch);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

const bool kRegistered = [] {
  using anima::bench::register_conv_benchmark;
  constexpr anima::bench::RowTime kEvents = anima::bench::RowTime::CudaEvents;
  anima::bench::for_each_conv_case([](const ConvShape& s, std::int64_t batch) {
    register_conv_benchmark("cudnn", anima::ConvAlgorithms{{}, anima::CudaConvAlgorithm::Cudnn}, run_conv, s, batch,
                            kEvents);
    register_conv_benchmark("implicit_gemm", anima::ConvAlgorithms{{}, anima::CudaConvAlgorithm::ImplicitGemm},
                            run_conv, s, batch, kEvents);
  });
  return true;
}();

}  // namespace
