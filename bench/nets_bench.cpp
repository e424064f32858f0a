// Whole-network inference on the CPU: the ImageNet nets of anima/nets/registry.hpp in eval mode under
// NoGradGuard, float32, at batch 1 and 8:
//
//   BM_net/<net>/batch:<n>     net in vgg16, resnet50, mobilenet_v2, inception_v3
//
// Input [n, 3, S, S] with S = 224 (inception_v3: 299), standard normal; weights are the nets' default
// initialisation (the time of a dense forward does not depend on the values). One warm-up forward
// before timing (thread pool, allocator); each iteration is one forward, output allocation included.
// Wall time (UseRealTime): the work runs on the thread pool (ANIMA_NUM_THREADS, default: the cores).
// bench/compare_nets.py runs this binary and times torchvision's same nets in the same run.
//
// Run: anima_bench_nets [--benchmark_filter='resnet50|mobilenet_v2'] [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <exception>
#include <string>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/generator.hpp>
#include <anima/nets/registry.hpp>
#include <anima/ops/factory.hpp>

namespace {

void run_net(benchmark::State& state, std::string name, std::int64_t batch) {
  try {
    anima::NoGradGuard no_grad;
    anima::Generator gen(1);
    auto net = anima::nets::make_net(name);
    net->eval();
    const std::int64_t size = anima::nets::net_input_size(name);
    const anima::Tensor x = anima::randn({batch, 3, size, size}, {}, gen);
    anima::Tensor y = net->forward(x);  // warm-up
    for (auto _ : state) {
      y = net->forward(x);
      benchmark::DoNotOptimize(y.raw_data());
    }
    state.counters["images/s"] =
        benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

const bool kRegistered = [] {
  for (const char* name : {"vgg16", "resnet50", "mobilenet_v2", "inception_v3"})
    for (std::int64_t batch : {1, 8})
      benchmark::RegisterBenchmark(("BM_net/" + std::string(name) + "/batch:" + std::to_string(batch)).c_str(), run_net,
                                   std::string(name), batch)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
