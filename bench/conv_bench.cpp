// CPU conv2d benchmarks on every distinct conv of ResNet50, VGG16 and MobileNetV2 (bench/conv_shapes.hpp)
// at batch 1 and 8, float32, forward, no bias:
//
//   BM_conv2d_im2col/<shape>/batch:<n>      CpuConvAlgorithm::Im2colGemm (every shape)
//   BM_conv2d_depthwise/<shape>/batch:<n>   CpuConvAlgorithm::Depthwise (the depthwise shapes only)
//
// FLOP/s counts 2·n·O·Ho·Wo·(C/groups)·k² per iteration (base units). Wall time (UseRealTime): the
// work runs on the thread pool (ANIMA_NUM_THREADS, default: the machine's cores). Each iteration is
// the whole op (output allocation included), as torch.nn.functional.conv2d is timed by
// bench/compare_conv.py; inputs are made once, outside the timed loop, after one warm-up call.
//
// Run: anima_bench_conv [--benchmark_filter=resnet50] [--benchmark_min_time=0.05]
#include <benchmark/benchmark.h>

#include <cstdint>

#include <anima/autograd/grad_mode.hpp>
#include <anima/ops/conv.hpp>

#include "conv_problem.hpp"
#include "conv_shapes.hpp"

namespace {

using anima::bench::ConvShape;

void run_conv(benchmark::State& state, ConvShape s, std::int64_t batch, anima::ConvAlgorithms alg) {
  anima::NoGradGuard no_grad;
  const anima::bench::ConvProblem p = anima::bench::make_conv_problem(s, batch, alg, anima::Device::cpu());
  anima::Tensor y = p.run();  // warm-up (thread pool, allocator)
  for (auto _ : state) {
    y = p.run();
    benchmark::DoNotOptimize(y.raw_data());
  }
  anima::bench::set_conv_flops(state, s, batch);
}

const bool kRegistered = [] {
  using anima::bench::register_conv_benchmark;
  constexpr anima::bench::RowTime kWall = anima::bench::RowTime::Wall;
  anima::bench::for_each_conv_case([](const ConvShape& s, std::int64_t batch) {
    register_conv_benchmark("im2col", anima::ConvAlgorithms{anima::CpuConvAlgorithm::Im2colGemm, {}}, run_conv, s,
                            batch, kWall);
    if (anima::bench::conv_shape_is_depthwise(s))
      register_conv_benchmark("depthwise", anima::ConvAlgorithms{anima::CpuConvAlgorithm::Depthwise, {}}, run_conv, s,
                              batch, kWall);
  });
  return true;
}();

}  // namespace
