// Pooling and batch-norm benchmarks (CPU, float32) on ResNet-50 shapes (bench/pool_norm_shapes.hpp),
// at batch 1 and 8:
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
#include <string>
#include <vector>

#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/batch_norm.hpp>
#include <anima/kernels/cpu/pool.hpp>

#include "pool_norm_shapes.hpp"

namespace {

namespace kc = anima::kernels::cpu;
using anima::bench::BnShape;
using anima::bench::pool_input_elements;
using anima::bench::pool_output_elements;
using anima::kernels::Pool2dGeometry;

std::vector<float> random_vector(std::int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

enum class Version { Reference, Parallel };

// The benchmark loop of every row: one call of `reference` or `parallel` (by v) per iteration, its
// output `out` kept alive; `bytes` counted per iteration.
template <class Reference, class Parallel>
void run_version(benchmark::State& state, Version v, const void* out, std::int64_t bytes, Reference reference,
                 Parallel parallel) {
  for (auto _ : state) {
    if (v == Version::Reference)
      reference();
    else
      parallel();
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}

void BM_max_pool2d_fwd(benchmark::State& state, Version v) {
  const Pool2dGeometry g = anima::bench::stem_pool(state.range(0));
  const std::int64_t nin = pool_input_elements(g), nout = pool_output_elements(g);
  const auto x = random_vector(nin, 1);
  std::vector<float> y(nout);
  std::vector<std::int64_t> idx(nout);
  run_version(
      state, v, y.data(), nin * 4 + nout * 4 + nout * 8,
      [&] { kc::max_pool2d_forward_reference(x.data(), g, y.data(), idx.data()); },
      [&] { kc::max_pool2d_forward_planes(x.data(), g, y.data(), idx.data(), anima::default_parallel()); });
}

void BM_max_pool2d_bwd(benchmark::State& state, Version v) {
  const Pool2dGeometry g = anima::bench::stem_pool(state.range(0));
  const std::int64_t nin = pool_input_elements(g), nout = pool_output_elements(g);
  const auto x = random_vector(nin, 1), gy = random_vector(nout, 2);
  std::vector<float> y(nout), gx(nin);
  std::vector<std::int64_t> idx(nout);
  kc::max_pool2d_forward_planes(x.data(), g, y.data(), idx.data(), anima::default_parallel());
  run_version(
      state, v, gx.data(), nout * 4 + nout * 8 + nin * 4,
      [&] { kc::max_pool2d_backward_reference(gy.data(), idx.data(), g, gx.data()); },
      [&] { kc::max_pool2d_backward_planes(gy.data(), idx.data(), g, gx.data(), anima::default_parallel()); });
}

// A row whose kernel reads one float input of in_n elements (uniform in [-1, 1), seed `seed`) and
// writes one float output of out_n: kernel(in, out) of the version v; counts (in_n + out_n) · 4 bytes.
template <class Reference, class Parallel>
void run_in_out(benchmark::State& state, Version v, std::int64_t in_n, unsigned seed, std::int64_t out_n,
                Reference reference, Parallel parallel) {
  const auto in = random_vector(in_n, seed);
  std::vector<float> out(out_n);
  run_version(
      state, v, out.data(), (in_n + out_n) * 4, [&] { reference(in.data(), out.data()); },
      [&] { parallel(in.data(), out.data()); });
}

void BM_avg_pool2d_fwd(benchmark::State& state, Version v) {
  const Pool2dGeometry g = anima::bench::stem_pool(state.range(0));
  run_in_out(
      state, v, pool_input_elements(g), 1, pool_output_elements(g),
      [&](const float* x, float* y) { kc::avg_pool2d_forward_reference(x, g, true, y); },
      [&](const float* x, float* y) { kc::avg_pool2d_forward_planes(x, g, true, y, anima::default_parallel()); });
}

void BM_avg_pool2d_bwd(benchmark::State& state, Version v) {
  const Pool2dGeometry g = anima::bench::stem_pool(state.range(0));
  run_in_out(
      state, v, pool_output_elements(g), 2, pool_input_elements(g),
      [&](const float* gy, float* gx) { kc::avg_pool2d_backward_reference(gy, g, true, gx); },
      [&](const float* gy, float* gx) { kc::avg_pool2d_backward_planes(gy, g, true, gx, anima::default_parallel()); });
}

void BM_global_avg_pool_fwd(benchmark::State& state, Version v) {
  const Pool2dGeometry g = anima::bench::global_avg_pool(state.range(0));
  run_in_out(
      state, v, pool_input_elements(g), 1, pool_output_elements(g),
      [&](const float* x, float* y) { kc::adaptive_avg_pool2d_forward_reference(x, g, y); },
      [&](const float* x, float* y) { kc::adaptive_avg_pool2d_forward_planes(x, g, y, anima::default_parallel()); });
}

void BM_batch_norm_fwd(benchmark::State& state, Version v) {
  const std::int64_t N = state.range(0);
  const BnShape s = anima::bench::bn_shape(state.range(1));
  const std::int64_t n = N * s.C * s.HW;
  const auto x = random_vector(n, 1), w = random_vector(s.C, 3), b = random_vector(s.C, 4);
  std::vector<float> y(n), mean(s.C), var(s.C);
  run_version(
      state, v, y.data(), 2 * n * 4,
      [&] {
        kc::batch_norm_stats_reference(x.data(), N, s.C, s.HW, mean.data(), var.data());
        kc::batch_norm_transform_reference(x.data(), N, s.C, s.HW, mean.data(), var.data(), w.data(), b.data(), 1e-5,
                                           y.data());
      },
      [&] {
        kc::batch_norm_stats_channels(x.data(), N, s.C, s.HW, mean.data(), var.data(), anima::default_parallel());
        kc::batch_norm_transform_channels(x.data(), N, s.C, s.HW, mean.data(), var.data(), w.data(), b.data(), 1e-5,
                                          y.data(), anima::default_parallel());
      });
}

void BM_batch_norm_bwd(benchmark::State& state, Version v) {
  const std::int64_t N = state.range(0);
  const BnShape s = anima::bench::bn_shape(state.range(1));
  const std::int64_t n = N * s.C * s.HW;
  const auto x = random_vector(n, 1), gy = random_vector(n, 2), w = random_vector(s.C, 3);
  std::vector<float> gx(n), mean(s.C), var(s.C), gw(s.C), gb(s.C);
  kc::batch_norm_stats_channels(x.data(), N, s.C, s.HW, mean.data(), var.data(), anima::default_parallel());
  run_version(
      state, v, gx.data(), 3 * n * 4,
      [&] {
        kc::batch_norm_backward_reference(x.data(), gy.data(), N, s.C, s.HW, mean.data(), var.data(), w.data(), 1e-5,
                                          true, gx.data(), gw.data(), gb.data());
      },
      [&] {
        kc::batch_norm_backward_channels(x.data(), gy.data(), N, s.C, s.HW, mean.data(), var.data(), w.data(), 1e-5,
                                         true, gx.data(), gw.data(), gb.data(), anima::default_parallel());
      });
}

// Registers fn as <name>/reference and <name>/<parallel> (the dispatched kernels), with the arguments
// and time mode that apply() sets.
void register_versions(const char* name, void (*fn)(benchmark::State&, Version), const char* parallel,
                       void (*apply)(benchmark::internal::Benchmark*)) {
  benchmark::RegisterBenchmark((std::string(name) + "/reference").c_str(), fn, Version::Reference)->Apply(apply);
  benchmark::RegisterBenchmark((std::string(name) + "/" + parallel).c_str(), fn, Version::Parallel)->Apply(apply);
}

const bool kRegistered = [] {
  constexpr auto pool_args = anima::bench::pool_args<anima::bench::RowTime::Wall>;
  constexpr auto bn_args = anima::bench::bn_args<anima::bench::RowTime::Wall>;
  register_versions("BM_max_pool2d_fwd", BM_max_pool2d_fwd, "planes", pool_args);
  register_versions("BM_max_pool2d_bwd", BM_max_pool2d_bwd, "planes", pool_args);
  register_versions("BM_avg_pool2d_fwd", BM_avg_pool2d_fwd, "planes", pool_args);
  register_versions("BM_avg_pool2d_bwd", BM_avg_pool2d_bwd, "planes", pool_args);
  register_versions("BM_global_avg_pool_fwd", BM_global_avg_pool_fwd, "planes", pool_args);
  register_versions("BM_batch_norm_fwd", BM_batch_norm_fwd, "channels", bn_args);
  register_versions("BM_batch_norm_bwd", BM_batch_norm_bwd, "channels", bn_args);
  return true;
}();

}  // namespace
