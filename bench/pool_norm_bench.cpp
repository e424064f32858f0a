// Pooling and batch-norm benchmarks (CPU, float32) on ResNet-50 shapes, at batch 1 and 8:
//
//   BM_max_pool2d_{fwd,bwd}/<version>/<N>      stem max pool: [N, 64, 112, 112], k 3, s 2, p 1 -> 56x56
//   BM_avg_pool2d_{fwd,bwd}/<version>/<N>      the same geometry with averaging (count_include_pad)
//   BM_global_avg_pool_fwd/<version>/<N>       head: [N, 2048, 7, 7] -> [N, 2048, 1, 1]
//   BM_batch_norm_{fwd,bwd}/<version>/<N>/<s>  training BN on s = 0: [N, 64, 112, 112] (stem),
//                                              1: [N, 256, 56, 56] (layer1), 2: [N, 2048, 7, 7] (layer4)
// <version>: reference (plain loops, one thread) or planes / channels (the dispatched kernels of
// anima/kernels/cpu/{pool,batch_norm}.hpp, parallel on the thread pool; ANIMA_NUM_THREADS sets its size).
// bytes_per_second counts the minimum traffic of the op: every input read once and every output
// written once (pool fwd: x + y (+ int64 idx for max); max bwd: gy + idx + gx; avg bwd: gy + gx;
// BN fwd: x + y; BN bwd: x + gy + gx). The implementations make more passes (BN statistics read x
// twice), so this is an "effective" bandwidth, comparable across versions and with the GPU bench.
// Wall time (UseRealTime): the parallel versions run on the pool's workers. Caches are warm; the
// batch-8 tensors (25.7 MB for the stem) stream from memory anyway.
//
// Run: anima_bench_pool_norm [--benchmark_filter=batch_norm] [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include <anima/kernels/cpu/batch_norm.hpp>
#include <anima/kernels/cpu/pool.hpp>

namespace {

namespace kc = anima::kernels::cpu;
using anima::kernels::Pool2dGeometry;

std::vector<float> random_vector(std::int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
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

enum class Version { Reference, Parallel };

void BM_max_pool2d_fwd(benchmark::State& state, Version v) {
  const Pool2dGeometry g = stem_pool(state.range(0));
  const std::int64_t nin = g.planes * g.in_h * g.in_w, nout = g.planes * g.out_h * g.out_w;
  const auto x = random_vector(nin, 1);
  std::vector<float> y(nout);
  std::vector<std::int64_t> idx(nout);
  for (auto _ : state) {
    if (v == Version::Reference)
      kc::max_pool2d_forward_reference(x.data(), g, y.data(), idx.data());
    else
      kc::max_pool2d_forward_planes(x.data(), g, y.data(), idx.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * (nin * 4 + nout * 4 + nout * 8));
}

void BM_max_pool2d_bwd(benchmark::State& state, Version v) {
  const Pool2dGeometry g = stem_pool(state.range(0));
  const std::int64_t nin = g.planes * g.in_h * g.in_w, nout = g.planes * g.out_h * g.out_w;
  const auto x = random_vector(nin, 1), gy = random_vector(nout, 2);
  std::vector<float> y(nout), gx(nin);
  std::vector<std::int64_t> idx(nout);
  kc::max_pool2d_forward_planes(x.data(), g, y.data(), idx.data());
  for (auto _ : state) {
    if (v == Version::Reference)
      kc::max_pool2d_backward_reference(gy.data(), idx.data(), g, gx.data());
    else
      kc::max_pool2d_backward_planes(gy.data(), idx.data(), g, gx.data());
    benchmark::DoNotOptimize(gx.data());
  }
  state.SetBytesProcessed(state.iterations() * (nout * 4 + nout * 8 + nin * 4));
}

void BM_avg_pool2d_fwd(benchmark::State& state, Version v) {
  const Pool2dGeometry g = stem_pool(state.range(0));
  const std::int64_t nin = g.planes * g.in_h * g.in_w, nout = g.planes * g.out_h * g.out_w;
  const auto x = random_vector(nin, 1);
  std::vector<float> y(nout);
  for (auto _ : state) {
    if (v == Version::Reference)
      kc::avg_pool2d_forward_reference(x.data(), g, true, y.data());
    else
      kc::avg_pool2d_forward_planes(x.data(), g, true, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * (nin + nout) * 4);
}

void BM_avg_pool2d_bwd(benchmark::State& state, Version v) {
  const Pool2dGeometry g = stem_pool(state.range(0));
  const std::int64_t nin = g.planes * g.in_h * g.in_w, nout = g.planes * g.out_h * g.out_w;
  const auto gy = random_vector(nout, 2);
  std::vector<float> gx(nin);
  for (auto _ : state) {
    if (v == Version::Reference)
      kc::avg_pool2d_backward_reference(gy.data(), g, true, gx.data());
    else
      kc::avg_pool2d_backward_planes(gy.data(), g, true, gx.data());
    benchmark::DoNotOptimize(gx.data());
  }
  state.SetBytesProcessed(state.iterations() * (nin + nout) * 4);
}

void BM_global_avg_pool_fwd(benchmark::State& state, Version v) {
  Pool2dGeometry g;
  g.planes = state.range(0) * 2048;
  g.in_h = g.in_w = 7;
  g.out_h = g.out_w = 1;
  const std::int64_t nin = g.planes * 49;
  const auto x = random_vector(nin, 1);
  std::vector<float> y(g.planes);
  for (auto _ : state) {
    if (v == Version::Reference)
      kc::adaptive_avg_pool2d_forward_reference(x.data(), g, y.data());
    else
      kc::adaptive_avg_pool2d_forward_planes(x.data(), g, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * (nin + g.planes) * 4);
}

struct BnShape {
  std::int64_t C, HW;
};
BnShape bn_shape(std::int64_t s) {
  switch (s) {
    case 0: return {64, 112 * 112};
    case 1: return {256, 56 * 56};
    default: return {2048, 7 * 7};
  }
}

void BM_batch_norm_fwd(benchmark::State& state, Version v) {
  const std::int64_t N = state.range(0);
  const BnShape s = bn_shape(state.range(1));
  const std::int64_t n = N * s.C * s.HW;
  const auto x = random_vector(n, 1), w = random_vector(s.C, 3), b = random_vector(s.C, 4);
  std::vector<float> y(n), mean(s.C), var(s.C);
  for (auto _ : state) {
    if (v == Version::Reference) {
      kc::batch_norm_stats_reference(x.data(), N, s.C, s.HW, mean.data(), var.data());
      kc::batch_norm_transform_reference(x.data(), N, s.C, s.HW, mean.data(), var.data(), w.data(), b.data(), 1e-5,
                                         y.data());
    } else {
      kc::batch_norm_stats_channels(x.data(), N, s.C, s.HW, mean.data(), var.data());
      kc::batch_norm_transform_channels(x.data(), N, s.C, s.HW, mean.data(), var.data(), w.data(), b.data(), 1e-5,
                                        y.data());
    }
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * 2 * n * 4);
}

void BM_batch_norm_bwd(benchmark::State& state, Version v) {
  const std::int64_t N = state.range(0);
  const BnShape s = bn_shape(state.range(1));
  const std::int64_t n = N * s.C * s.HW;
  const auto x = random_vector(n, 1), gy = random_vector(n, 2), w = random_vector(s.C, 3);
  std::vector<float> gx(n), mean(s.C), var(s.C), gw(s.C), gb(s.C);
  kc::batch_norm_stats_channels(x.data(), N, s.C, s.HW, mean.data(), var.data());
  for (auto _ : state) {
    if (v == Version::Reference)
      kc::batch_norm_backward_reference(x.data(), gy.data(), N, s.C, s.HW, mean.data(), var.data(), w.data(), 1e-5, true,
                                        gx.data(), gw.data(), gb.data());
    else
      kc::batch_norm_backward_channels(x.data(), gy.data(), N, s.C, s.HW, mean.data(), var.data(), w.data(), 1e-5, true,
                                       gx.data(), gw.data(), gb.data());
    benchmark::DoNotOptimize(gx.data());
  }
  state.SetBytesProcessed(state.iterations() * 3 * n * 4);
}

void pool_args(benchmark::internal::Benchmark* b) { b->Arg(1)->Arg(8)->UseRealTime()->Unit(benchmark::kMicrosecond); }
void bn_args(benchmark::internal::Benchmark* b) {
  for (int n : {1, 8})
    for (int s : {0, 1, 2}) b->Args({n, s});
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

BENCHMARK_CAPTURE(BM_max_pool2d_fwd, reference, Version::Reference)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_max_pool2d_fwd, planes, Version::Parallel)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_max_pool2d_bwd, reference, Version::Reference)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_max_pool2d_bwd, planes, Version::Parallel)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_avg_pool2d_fwd, reference, Version::Reference)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_avg_pool2d_fwd, planes, Version::Parallel)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_avg_pool2d_bwd, reference, Version::Reference)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_avg_pool2d_bwd, planes, Version::Parallel)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_global_avg_pool_fwd, reference, Version::Reference)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_global_avg_pool_fwd, planes, Version::Parallel)->Apply(pool_args);
BENCHMARK_CAPTURE(BM_batch_norm_fwd, reference, Version::Reference)->Apply(bn_args);
BENCHMARK_CAPTURE(BM_batch_norm_fwd, channels, Version::Parallel)->Apply(bn_args);
BENCHMARK_CAPTURE(BM_batch_norm_bwd, reference, Version::Reference)->Apply(bn_args);
BENCHMARK_CAPTURE(BM_batch_norm_bwd, channels, Version::Parallel)->Apply(bn_args);

}  // namespace
