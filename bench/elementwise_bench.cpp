// Elementwise and copy kernels, reference loop against the fast row walker, float32 on the CPU, on
// the shapes that dominate a Mask R-CNN training step (ResNet-50 FPN activations x [2, 256, 64, 96],
// 3.1 M elements, 12.6 MB):
//
//   BM_binary_<case>_<version>       y = a (op) b through kernels::cpu::binary / binary_reference
//     same_shape      a, b contiguous                    (the residual add)
//     per_channel     b is [1, C, 1, 1]: stride 0 rows    (FrozenBatchNorm2d's x * scale + bias)
//     transposed      b read through a [0, 1, 3, 2] permutation of its own [.., W, H] buffer
//   BM_copy_transposed_<version>     strided_copy of that permutation into contiguous memory
//   BM_where_<version>               y = c ? a : b, all contiguous (relu's backward)
//
// The reference versions are serial (they are the definition); the fast versions run on the
// process-wide pool, as the ops call them. Bytes counted: the minimum traffic (inputs read once,
// output written once; a stride-0 operand counts as nothing). Wall time (UseRealTime).
//
// Run: anima_bench_elementwise [--benchmark_filter=per_channel] [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/copy.hpp>
#include <anima/kernels/cpu/elementwise.hpp>
#include <anima/kernels/layout.hpp>

namespace {

namespace cpu = anima::kernels::cpu;
using anima::kernels::BinaryOp;
using anima::kernels::Layout;

constexpr std::int64_t kN = 2, kC = 256, kH = 64, kW = 96, kNumel = kN * kC * kH * kW;

Layout layout(std::int64_t s0, std::int64_t s1, std::int64_t s2, std::int64_t s3, bool contiguous) {
  Layout l;
  l.ndim = 4;
  const std::int64_t sizes[4] = {kN, kC, kH, kW}, strides[4] = {s0, s1, s2, s3};
  for (int d = 0; d < 4; ++d) l.sizes[d] = sizes[d], l.strides[d] = strides[d];
  l.contiguous = contiguous;
  return l;
}

const Layout kContiguous = layout(kC * kH * kW, kH * kW, kW, 1, true);
const Layout kPerChannel = layout(0, 1, 0, 0, false);
const Layout kTransposed = layout(kC * kH * kW, kH * kW, 1, kH, false);

std::vector<float> values(std::int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2, 2);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

void binary_case(benchmark::State& state, const Layout& lb, std::int64_t nb, bool fast) {
  const auto a = values(kNumel, 1), b = values(nb, 2);
  std::vector<float> y(static_cast<std::size_t>(kNumel));
  const auto parallel = anima::default_parallel();
  for (auto _ : state) {
    if (fast) {
      cpu::binary(BinaryOp::Mul, a.data(), kContiguous, b.data(), lb, y.data(), kNumel, parallel);
    } else {
      cpu::binary_reference(BinaryOp::Mul, a.data(), kContiguous, b.data(), lb, y.data(), kNumel);
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const std::int64_t read_b = nb == kNumel ? kNumel : 0;
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * (2 * kNumel + read_b) * 4);
}

void BM_binary_same_shape_reference(benchmark::State& s) { binary_case(s, kContiguous, kNumel, false); }
void BM_binary_same_shape_fast(benchmark::State& s) { binary_case(s, kContiguous, kNumel, true); }
void BM_binary_per_channel_reference(benchmark::State& s) { binary_case(s, kPerChannel, kC, false); }
void BM_binary_per_channel_fast(benchmark::State& s) { binary_case(s, kPerChannel, kC, true); }
void BM_binary_transposed_reference(benchmark::State& s) { binary_case(s, kTransposed, kNumel, false); }
void BM_binary_transposed_fast(benchmark::State& s) { binary_case(s, kTransposed, kNumel, true); }

void copy_case(benchmark::State& state, bool fast) {
  const auto x = values(kNumel, 3);
  std::vector<float> y(static_cast<std::size_t>(kNumel));
  for (auto _ : state) {
    if (fast) {
      cpu::strided_copy(sizeof(float), x.data(), kTransposed, y.data(), kNumel);
    } else {
      cpu::strided_copy_reference(x.data(), kTransposed, y.data(), kNumel);
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 2 * kNumel * 4);
}

void BM_copy_transposed_reference(benchmark::State& s) { copy_case(s, false); }
void BM_copy_transposed_fast(benchmark::State& s) { copy_case(s, true); }

void where_case(benchmark::State& state, bool fast) {
  const auto a = values(kNumel, 4), b = values(kNumel, 5);
  std::unique_ptr<bool[]> c(new bool[kNumel]);
  for (std::int64_t i = 0; i < kNumel; ++i) c[static_cast<std::size_t>(i)] = a[static_cast<std::size_t>(i)] > 0;
  std::vector<float> y(static_cast<std::size_t>(kNumel));
  const auto parallel = anima::default_parallel();
  for (auto _ : state) {
    if (fast) {
      cpu::where(c.get(), kContiguous, a.data(), kContiguous, b.data(), kContiguous, y.data(), kNumel, parallel);
    } else {
      cpu::where_reference(c.get(), kContiguous, a.data(), kContiguous, b.data(), kContiguous, y.data(), kNumel);
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kNumel * (4 + 4 + 4 + 1));
}

void BM_where_reference(benchmark::State& s) { where_case(s, false); }
void BM_where_fast(benchmark::State& s) { where_case(s, true); }

BENCHMARK(BM_binary_same_shape_reference)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_binary_same_shape_fast)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_binary_per_channel_reference)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_binary_per_channel_fast)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_binary_transposed_reference)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_binary_transposed_fast)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_copy_transposed_reference)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_copy_transposed_fast)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_where_reference)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_where_fast)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
