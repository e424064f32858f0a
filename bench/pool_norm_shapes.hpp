// bench/pool_norm_shapes.hpp — the ResNet-50 shapes of the pooling and batch-norm benchmarks
// (bench/pool_norm_bench.cpp on the CPU, bench/cuda_pool_norm_bench.cu on the GPU), and their
// Google Benchmark arguments, so that both time the same cases:
//
//   pool rows:        argument N (batch 1 and 8); stem_pool(N): [N, 64, 112, 112], k 3, s 2, p 1 -> 56x56;
//                     global_avg_pool(N): [N, 2048, 7, 7] -> [N, 2048, 1, 1]
//   batch-norm rows:  arguments (N, s) for N in 1, 8 and s in 0, 1, 2; bn_shape(s): 0: [N, 64, 112, 112]
//                     (stem), 1: [N, 256, 56, 56] (layer1), 2: [N, 2048, 7, 7] (layer4)
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>

#include <anima/kernels/pool_math.hpp>

#include "row_time.hpp"

namespace anima::bench {

inline kernels::Pool2dGeometry stem_pool(std::int64_t N) {
  kernels::Pool2dGeometry g;
  g.planes = N * 64;
  g.in_h = g.in_w = 112;
  g.out_h = g.out_w = 56;
  g.kernel_h = g.kernel_w = 3;
  g.stride_h = g.stride_w = 2;
  g.pad_h = g.pad_w = 1;
  return g;
}

inline kernels::Pool2dGeometry global_avg_pool(std::int64_t N) {
  kernels::Pool2dGeometry g;
  g.planes = N * 2048;
  g.in_h = g.in_w = 7;
  g.out_h = g.out_w = 1;
  return g;
}

inline std::int64_t pool_input_elements(const kernels::Pool2dGeometry& g) { return g.planes * g.in_h * g.in_w; }
inline std::int64_t pool_output_elements(const kernels::Pool2dGeometry& g) { return g.planes * g.out_h * g.out_w; }

// Channels and spatial size (H·W) of batch-norm case s.
struct BnShape {
  std::int64_t C, HW;
};
inline BnShape bn_shape(std::int64_t s) {
  switch (s) {
    case 0: return {64, 112 * 112};
    case 1: return {256, 56 * 56};
    default: return {2048, 7 * 7};
  }
}

// Apply(pool_args<t>): the pool rows' argument N, timed as t, in microseconds.
template <RowTime t>
void pool_args(benchmark::internal::Benchmark* b) {
  set_row_time(b->Arg(1)->Arg(8), t, benchmark::kMicrosecond);
}

// Apply(bn_args<t>): the batch-norm rows' arguments (N, s), timed as t, in microseconds.
template <RowTime t>
void bn_args(benchmark::internal::Benchmark* b) {
  for (int n : {1, 8})
    for (int s : {0, 1, 2}) b->Args({n, s});
  set_row_time(b, t, benchmark::kMicrosecond);
}

}  // namespace anima::bench
