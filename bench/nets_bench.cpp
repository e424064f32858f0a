// Whole-network inference on the CPU: the ImageNet nets of anima/nets/registry.hpp prepared for
// inference (nn::prepare_inference) under NoGradGuard, float32, at batch 1 and 8:
//
//   BM_net/<net>/batch:<n>     net in vgg16, resnet50, mobilenet_v2, inception_v3
//
// Input [n, 3, S, S] with S = 224 (inception_v3: 299), standard normal; weights are the nets' default
// initialisation (the time of a dense forward does not depend on the values). The net and input are
// built once per (net, batch) and kept across repetitions, with two warm-up forwards (thread pool,
// allocator) before the first, as bench/compare_nets.py times its peers: ten forwards of one loaded
// model after two warm-ups; each iteration is one forward, output allocation included.
// Wall time (UseRealTime): the work runs on the thread pool (ANIMA_NUM_THREADS, default: the cores).
// bench/compare_nets.py runs this binary and times torchvision's same nets in the same run.
//
// Run: anima_bench_nets [--benchmark_filter='resnet50|mobilenet_v2'] [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <string>

#include <anima/autograd/grad_mode.hpp>

#include "net_problem.hpp"

namespace {

void run_net(benchmark::State& state, std::string name, std::int64_t batch) {
  try {
    anima::NoGradGuard no_grad;
    // One problem at a time (the last one asked for), so memory holds one net.
    static std::string built_for;
    static std::unique_ptr<anima::bench::NetProblem> problem;
    const std::string key = name + "/" + std::to_string(batch);
    if (built_for != key) {
      problem.reset();
      problem = std::make_unique<anima::bench::NetProblem>(
          anima::bench::make_net_problem(name, batch, anima::Device::cpu()));
      built_for = key;
      for (int i = 0; i < 2; ++i) problem->run();  // warm-up
    }
    const anima::bench::NetProblem& p = *problem;
    anima::Tensor y;
    for (auto _ : state) {
      y = p.run();
      benchmark::DoNotOptimize(y.raw_data());
    }
    anima::bench::set_images_per_second(state, batch);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

const bool kRegistered = (anima::bench::register_net_benchmarks("BM_net", run_net, anima::bench::RowTime::Wall), true);

}  // namespace
