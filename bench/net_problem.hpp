// bench/net_problem.hpp — one forward of the whole-network inference benchmarks (bench/nets_bench.cpp
// on the CPU, bench/cuda_nets_bench.cu on cuda:0): the net of anima/nets/registry.hpp by name, default
// initialisation, on the device, prepared for inference (eval, nn/inference.hpp), and a standard-normal input [n, 3, S, S] (S = 224,
// inception_v3: 299; Generator seed 1, drawn on the host and copied to the device); the cases both
// register, and the images/s counter both report.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>

#include <anima/core/generator.hpp>
#include <anima/nets/registry.hpp>
#include <anima/nn/inference.hpp>
#include <anima/ops/factory.hpp>

#include "row_time.hpp"
#include "tensor_on_device.hpp"

namespace anima::bench {

struct NetProblem {
  std::shared_ptr<nn::Module> net;
  Tensor x;

  // The timed call: one forward, output allocation included.
  Tensor run() const { return net->forward(x); }
};

inline NetProblem make_net_problem(const std::string& name, std::int64_t batch, Device device) {
  Generator gen(1);
  NetProblem p;
  p.net = nets::make_net(name);
  if (!device.is_cpu()) p.net->to(device);
  nn::prepare_inference(*p.net);  // eval, batch norms folded, weights packed once (nn/inference.hpp)
  const std::int64_t size = nets::net_input_size(name);
  p.x = on_device(randn({batch, 3, size, size}, {}, gen), device);
  return p;
}

// Counter images/s: `batch` images per iteration.
inline void set_images_per_second(benchmark::State& state, std::int64_t batch) {
  state.counters["images/s"] =
      benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

// Registers the cases every net benchmark runs, in this order: vgg16, resnet50, mobilenet_v2,
// inception_v3, each at batch 1 then 8, named <prefix>/<net>/batch:<n> (bench/compare_nets.py parses
// these names), each running run(state, net, batch), timed as t, in milliseconds.
template <class Run>
void register_net_benchmarks(const std::string& prefix, Run run, RowTime t) {
  for (const char* name : {"vgg16", "resnet50", "mobilenet_v2", "inception_v3"})
    for (std::int64_t batch : {1, 8}) {
      const std::string bench_name = prefix + "/" + name + "/batch:" + std::to_string(batch);
      set_row_time(benchmark::RegisterBenchmark(bench_name.c_str(), run, std::string(name), batch), t,
                   benchmark::kMillisecond);
    }
}

}  // namespace anima::bench
