// bench/conv_problem.hpp — one conv2d call of the conv benchmarks (bench/conv_bench.cpp on the CPU,
// bench/cuda_conv_bench.cu on cuda:0) for a shape of bench/conv_shapes.hpp at batch n: standard-normal
// input [n, C, H, W] and weight [O, C/groups, k, k] (Generator seed 1, drawn on the host and copied to
// the device), the shape's stride, padding and groups, no bias; the benchmarks' registration and the
// FLOP/s counter both report.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include <anima/core/generator.hpp>
#include <anima/ops/conv.hpp>
#include <anima/ops/factory.hpp>

#include "conv_shapes.hpp"
#include "row_time.hpp"
#include "tensor_on_device.hpp"

namespace anima::bench {

struct ConvProblem {
  Tensor x, w;
  Conv2dOptions options;

  // The timed call: the whole op, output allocation included.
  Tensor run() const { return conv2d(x, w, Tensor(), options); }
};

inline ConvProblem make_conv_problem(const ConvShape& s, std::int64_t batch, const ConvAlgorithms& algorithms,
                                     Device device) {
  Generator gen(1);
  ConvProblem p;
  p.x = on_device(randn({batch, s.C, s.H, s.W}, {}, gen), device);
  p.w = on_device(randn({s.O, s.C / s.groups, s.k, s.k}, {}, gen), device);
  p.options.stride = {s.stride, s.stride};
  p.options.padding = {s.pad, s.pad};
  p.options.groups = s.groups;
  p.options.algorithms = algorithms;
  return p;
}

// Registers BM_conv2d_<impl>/<conv_shape_name>/batch:<n> (the name format of bench/conv_shapes.hpp),
// running run(state, s, batch, algorithms), timed as t, in milliseconds.
template <class Run>
void register_conv_benchmark(const char* impl, const ConvAlgorithms& algorithms, Run run, const ConvShape& s,
                             std::int64_t batch, RowTime t) {
  const std::string name =
      std::string("BM_conv2d_") + impl + "/" + conv_shape_name(s) + "/batch:" + std::to_string(batch);
  set_row_time(benchmark::RegisterBenchmark(name.c_str(), run, s, batch, algorithms), t, benchmark::kMillisecond);
}

// Counter FLOP/s: conv_shape_flops(s, batch) per iteration, in base units (printed as e.g. 1.2T/s).
inline void set_conv_flops(benchmark::State& state, const ConvShape& s, std::int64_t batch) {
  state.counters["FLOP/s"] =
      benchmark::Counter(conv_shape_flops(s, batch), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace anima::bench
