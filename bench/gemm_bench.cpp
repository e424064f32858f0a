// GEMM benchmarks: C[n,n] = A[n,n] * B[n,n] (alpha = 1, beta = 0), square sizes.
//
//   BM_sgemm_packed/<n>/threads:<t>              packed, selected ISA, t = 1 and default_num_threads()
//   BM_sgemm_packed_<isa>/<n>/threads:1          packed with each other supported ISA forced
//   BM_dgemm_packed/<n>/threads:1                packed double, selected ISA
//   BM_sgemm_reference/<n>                       triple loop (slow: 256 and 512 only)
//
// FLOP/s counts 2*n^3 flops per iteration (base units; printed as e.g. 90.1G/s). Wall time is reported (UseRealTime)
// because the
// multi-threaded runs spend their time on the pool's workers. Inputs and workspace are allocated
// and filled outside the timed loop; the caches are warm (the working set of n = 2048 is 48 MiB,
// so the large sizes stream from memory anyway).
//
// Run: anima_bench_gemm [--benchmark_filter=sgemm_packed] [--benchmark_repetitions=5]
//      ANIMA_NUM_THREADS=<t> sets the "all threads" count.
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/gemm.hpp>

#include <benchmark/benchmark.h>

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
std::vector<T> random_matrix(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> m(static_cast<size_t>(n * n));
  for (T& x : m) x = static_cast<T>(dist(rng));
  return m;
}

void set_flops(benchmark::State& state, int64_t n) {
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * double(n) * double(n) * double(n), benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}

template <class T>
void run_packed(benchmark::State& state, int64_t n, int threads, cpu::GemmIsa isa) {
  if (!cpu::gemm_packed_force_isa(isa)) {
    state.SkipWithError("ISA not supported on this CPU");
    return;
  }
  anima::ThreadPool pool(threads);
  const anima::kernels::ParallelFor parallel = pool.parallel();
  const std::vector<T> a = random_matrix<T>(n, 1), b = random_matrix<T>(n, 2);
  std::vector<T> c(static_cast<size_t>(n * n));
  AlignedBuffer ws = make_aligned(std::max<size_t>(64, cpu::gemm_packed_workspace_bytes<T>(n, n, n, threads)));
  state.SetLabel(cpu::gemm_packed_config<T>().name);
  for (auto _ : state) {
    cpu::gemm_packed<T>(false, false, n, n, n, T(1), a.data(), n, b.data(), n, T(0), c.data(), n, ws.get(), parallel);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, n);
  cpu::gemm_packed_force_isa(cpu::GemmIsa::automatic);
}

void run_reference(benchmark::State& state, int64_t n) {
  const std::vector<float> a = random_matrix<float>(n, 1), b = random_matrix<float>(n, 2);
  std::vector<float> c(static_cast<size_t>(n * n));
  for (auto _ : state) {
    cpu::gemm_reference<float>(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, n);
}

template <class Fn>
void add(const std::string& name, Fn fn) {
  benchmark::RegisterBenchmark(name.c_str(), fn)->Unit(benchmark::kMillisecond)->UseRealTime();
}

const bool registered = [] {
  const int all = anima::default_num_threads();
  std::vector<int> thread_counts = {1};
  if (all > 1) thread_counts.push_back(all);
  for (int64_t n : {512, 1024, 2048}) {
    for (int t : thread_counts) {
      add("BM_sgemm_packed/" + std::to_string(n) + "/threads:" + std::to_string(t),
          [n, t](benchmark::State& s) { run_packed<float>(s, n, t, cpu::GemmIsa::automatic); });
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
        [isa](benchmark::State& s) { run_packed<float>(s, 1024, 1, isa); });
  }
  add("BM_dgemm_packed/1024/threads:1",
      [](benchmark::State& s) { run_packed<double>(s, 1024, 1, cpu::GemmIsa::automatic); });
  for (int64_t n : {256, 512})
    add("BM_sgemm_reference/" + std::to_string(n), [n](benchmark::State& s) { run_reference(s, n); });
  return true;
}();

}  // namespace
