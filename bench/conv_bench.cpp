// CPU conv2d benchmarks on every distinct conv of ResNet50, VGG16 and MobileNetV2 (bench/conv_shapes.hpp)
// at batch 1 and 8, float32, forward, no bias:
//
//   BM_conv2d_im2col/<shape>/batch:<n>      ConvAlgorithm::Im2colGemm (every shape)
//   BM_conv2d_depthwise/<shape>/batch:<n>   ConvAlgorithm::Depthwise (the depthwise shapes only)
//
// FLOP/s counts 2·n·O·Ho·Wo·(C/groups)·k² per iteration (base units). Wall time (UseRealTime): the
// work runs on the thread pool (ANIMA_NUM_THREADS, default: the machine's cores). Each iteration is
// the whole op (output allocation included), as torch.nn.functional.conv2d is timed by
// bench/compare_conv.py; inputs are made once, outside the timed loop, after one warm-up call.
//
// Run: anima_bench_conv [--benchmark_filter=resnet50] [--benchmark_min_time=0.05]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/generator.hpp>
#include <anima/ops/conv.hpp>
#include <anima/ops/factory.hpp>

#include "conv_shapes.hpp"

namespace {

using anima::bench::ConvShape;

void run_conv(benchmark::State& state, ConvShape s, std::int64_t batch, anima::ConvAlgorithm alg) {
  anima::NoGradGuard no_grad;
  anima::Generator gen(1);
  anima::Tensor x = anima::randn({batch, s.C, s.H, s.W}, {}, gen);
  anima::Tensor w = anima::randn({s.O, s.C / s.groups, s.k, s.k}, {}, gen);
  anima::Conv2dOptions o;
  o.stride = {s.stride, s.stride};
  o.padding = {s.pad, s.pad};
  o.groups = s.groups;
  o.algorithm = alg;
  anima::Tensor y = anima::conv2d(x, w, anima::Tensor(), o);  // warm-up (thread pool, allocator)
  for (auto _ : state) {
    y = anima::conv2d(x, w, anima::Tensor(), o);
    benchmark::DoNotOptimize(y.raw_data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(anima::bench::conv_shape_flops(s, batch), benchmark::Counter::kIsIterationInvariantRate);
}

const bool kRegistered = [] {
  for (std::int64_t batch : {1, 8})
    for (const ConvShape& s : anima::bench::conv_shapes()) {
      const std::string suffix = "/" + anima::bench::conv_shape_name(s) + "/batch:" + std::to_string(batch);
      benchmark::RegisterBenchmark(("BM_conv2d_im2col" + suffix).c_str(), run_conv, s, batch,
                                   anima::ConvAlgorithm::Im2colGemm)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      if (anima::bench::conv_shape_is_depthwise(s))
        benchmark::RegisterBenchmark(("BM_conv2d_depthwise" + suffix).c_str(), run_conv, s, batch,
                                     anima::ConvAlgorithm::Depthwise)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
    }
  return true;
}();

}  // namespace
