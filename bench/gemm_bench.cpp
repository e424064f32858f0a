// GEMM benchmarks: C[m,n] = A[m,k] * B[k,n] (alpha = 1, beta = 0).
//
//   BM_fma_peak/threads:<t>                      this CPU's float32 FMA peak (bench/fma_peak.hpp)
//   BM_sgemm_packed/<n>/threads:<t>              packed, selected ISA, square n, t = 1 and default_num_threads()
//   BM_sgemm_packed_thin/<m>x<k>x<n>/threads:<t> packed, the shapes of a convolution's im2col GEMM with
//                                                64 output channels (m = 64 filters, k = C*kh*kw, n = H*W):
//                                                ResNet's stem (3x7x7 at 112^2), a 3x3 and a 1x1 of layer1
//   BM_sgemm_packed_<isa>/<n>/threads:1          packed with each other supported ISA forced
//   BM_dgemm_packed/<n>/threads:1                packed double, selected ISA
//   BM_sgemm_reference/<n>                       triple loop (slow: 256 and 512 only)
//
// FLOP/s counts 2*m*k*n flops per iteration (base units; printed as e.g. 90.1G/s); of_peak is that
// rate over the FMA peak measured on the same thread count (fma_peak_flops: best of five 50 ms runs,
// once per thread count, before the first timed GEMM), e.g. 0.62 = 62% of the peak. Wall time is
// reported (UseRealTime) because the multi-threaded runs spend their time on the pool's workers.
// Inputs and workspace are allocated and filled outside the timed loop; the caches are warm (the
// working set of n = 2048 is 48 MiB, so the large sizes stream from memory anyway).
//
// Run: anima_bench_gemm [--benchmark_filter=sgemm_packed] [--benchmark_repetitions=5]
//      ANIMA_NUM_THREADS=<t> sets the "all threads" count.
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/gemm.hpp>

#include <benchmark/benchmark.h>

#include "fma_peak.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

namespace {

namespace cpu = anima::kernels::cpu;

struct AlignedFree {
  void operator()(void* p) const { ::operator delete(p, std::align_val_t(64)); }
};
using AlignedBuffer = std::unique_ptr<unsigned char, AlignedFree>;

AlignedBuffer make_aligned(size_t bytes) {
  return AlignedBuffer(static_cast<unsigned char*>(::operator new(bytes, std::align_val_t(64))));
}

template <class T>
std::vector<T> random_matrix(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> m(static_cast<size_t>(rows * cols));
  for (T& x : m) x = static_cast<T>(dist(rng));
  return m;
}

// FLOP/s and, where the CPU has a vector FMA peak to compare with, of_peak: the rate over the peak on
// `threads` threads (seconds: the wall time of the timed loop, which Google Benchmark does not hand
// to the function).
void set_flops(benchmark::State& state, int64_t m, int64_t k, int64_t n, int threads, double seconds) {
  const double flops = 2.0 * double(m) * double(k) * double(n);
  state.counters["FLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  const double peak = anima::bench::fma_peak_flops(threads);
  if (peak > 0 && seconds > 0) state.counters["of_peak"] = flops * double(state.iterations()) / seconds / peak;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void run_fma_peak(benchmark::State& state, int threads) {
  if (anima::bench::fma_peak_isa() == nullptr) {
    state.SkipWithError("no x86 vector FMA (AVX2+FMA or AVX-512) on this CPU");
    return;
  }
  anima::ThreadPool pool(threads);
  const int64_t iters = 1'000'000;
  double flops = 0;
  for (auto _ : state) flops = anima::bench::run_fma_chains(pool, iters);
  state.SetLabel(anima::bench::fma_peak_isa());
  state.counters["FLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

template <class T>
void run_packed(benchmark::State& state, int64_t m, int64_t k, int64_t n, int threads, cpu::GemmIsa isa) {
  if (!cpu::gemm_packed_force_isa(isa)) {
    state.SkipWithError("ISA not supported on this CPU");
    return;
  }
  anima::bench::fma_peak_flops(threads);  // measured before the GEMM runs, not between its iterations
  anima::ThreadPool pool(threads);
  const anima::kernels::ParallelFor parallel = pool.parallel();
  const std::vector<T> a = random_matrix<T>(m, k, 1), b = random_matrix<T>(k, n, 2);
  std::vector<T> c(static_cast<size_t>(m * n));
  AlignedBuffer ws = make_aligned(std::max<size_t>(64, cpu::gemm_packed_workspace_bytes<T>(m, n, k, threads)));
  state.SetLabel(cpu::gemm_packed_config<T>().name);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    cpu::gemm_packed<T>(false, false, m, n, k, T(1), a.data(), k, b.data(), n, T(0), c.data(), n, ws.get(), parallel);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, m, k, n, threads, seconds_since(start));
  cpu::gemm_packed_force_isa(cpu::GemmIsa::automatic);
}

void run_reference(benchmark::State& state, int64_t n) {
  const std::vector<float> a = random_matrix<float>(n, n, 1), b = random_matrix<float>(n, n, 2);
  std::vector<float> c(static_cast<size_t>(n * n));
  anima::bench::fma_peak_flops(1);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    cpu::gemm_reference<float>(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, n, n, n, 1, seconds_since(start));
}

template <class Fn>
void add(const std::string& name, Fn fn) {
  benchmark::RegisterBenchmark(name.c_str(), fn)->Unit(benchmark::kMillisecond)->UseRealTime();
}

const bool registered = [] {
  const int all = anima::default_num_threads();
  std::vector<int> thread_counts = {1};
  if (all > 1) thread_counts.push_back(all);
  for (int t : thread_counts)
    add("BM_fma_peak/threads:" + std::to_string(t), [t](benchmark::State& s) { run_fma_peak(s, t); });
  for (int64_t n : {512, 1024, 2048}) {
    for (int t : thread_counts) {
      add("BM_sgemm_packed/" + std::to_string(n) + "/threads:" + std::to_string(t),
          [n, t](benchmark::State& s) { run_packed<float>(s, n, n, n, t, cpu::GemmIsa::automatic); });
    }
  }
  const struct { int64_t m, k, n; } thin[] = {{64, 147, 12544}, {64, 576, 3136}, {64, 64, 3136}};
  for (const auto& g : thin) {
    for (int t : thread_counts) {
      add("BM_sgemm_packed_thin/" + std::to_string(g.m) + "x" + std::to_string(g.k) + "x" + std::to_string(g.n) +
              "/threads:" + std::to_string(t),
          [g, t](benchmark::State& s) { run_packed<float>(s, g.m, g.k, g.n, t, cpu::GemmIsa::automatic); });
    }
  }
  const struct {
    cpu::GemmIsa isa;
    const char* tag;
  } isas[] = {
      {cpu::GemmIsa::avx512f, "avx512f"}, {cpu::GemmIsa::avx2_fma, "avx2"}, {cpu::GemmIsa::portable, "portable"}};
  for (const auto& i : isas) {
    if (!cpu::gemm_packed_isa_supported(i.isa)) continue;
    const cpu::GemmIsa isa = i.isa;
    add(std::string("BM_sgemm_packed_") + i.tag + "/1024/threads:1",
        [isa](benchmark::State& s) { run_packed<float>(s, 1024, 1024, 1024, 1, isa); });
  }
  add("BM_dgemm_packed/1024/threads:1",
      [](benchmark::State& s) { run_packed<double>(s, 1024, 1024, 1024, 1, cpu::GemmIsa::automatic); });
  for (int64_t n : {256, 512})
    add("BM_sgemm_reference/" + std::to_string(n), [n](benchmark::State& s) { run_reference(s, n); });
  return true;
}();

}  // namespace
