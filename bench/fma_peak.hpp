// bench/fma_peak.hpp — this CPU's float32 fused-multiply-add peak, measured rather than looked up:
// the yardstick the GEMM benchmarks print their efficiency against.
//
// Each thread runs kFmaChains independent chains acc[j] = acc[j] * a + b on full vector registers
// (AVX-512: 16 floats, AVX2: 8). Twelve chains cover the FMA latency times the FMA ports of current
// x86 cores (4-5 cycles x 2 ports), so the loop issues an FMA on every port every cycle: 2 flops per
// lane per FMA. The widest ISA the CPU runs is the one measured; on a CPU without AVX2+FMA there is no
// vector peak to measure (fma_peak_isa() is nullptr).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>

#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/cpu_features.hpp>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace anima::bench {

constexpr int kFmaChains = 12;

#if defined(__x86_64__) || defined(__i386__)
// iters rounds of kFmaChains 16-lane FMAs; returns a value depending on every chain (so none is dropped).
__attribute__((target("avx512f"), noinline)) inline float fma_chains_avx512(std::int64_t iters) {
  __m512 acc[kFmaChains];
  for (int j = 0; j < kFmaChains; ++j) acc[j] = _mm512_set1_ps(0.001f * float(j));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (std::int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < kFmaChains; ++j) acc[j] = _mm512_fmadd_ps(acc[j], a, b);
  __m512 sum = acc[0];
  for (int j = 1; j < kFmaChains; ++j) sum = _mm512_add_ps(sum, acc[j]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  float total = 0;
  for (float x : lanes) total += x;
  return total;
}

// The same with 8-lane AVX2 FMAs.
__attribute__((target("avx2,fma"), noinline)) inline float fma_chains_avx2(std::int64_t iters) {
  __m256 acc[kFmaChains];
  for (int j = 0; j < kFmaChains; ++j) acc[j] = _mm256_set1_ps(0.001f * float(j));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (std::int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < kFmaChains; ++j) acc[j] = _mm256_fmadd_ps(acc[j], a, b);
  __m256 sum = acc[0];
  for (int j = 1; j < kFmaChains; ++j) sum = _mm256_add_ps(sum, acc[j]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  float total = 0;
  for (float x : lanes) total += x;
  return total;
}
#endif

// The ISA fma_peak_* measure: "avx512f", "avx2+fma", or nullptr (no x86 vector FMA).
inline const char* fma_peak_isa() {
  if (kernels::cpu::cpu_supports_avx512f()) return "avx512f";
  if (kernels::cpu::cpu_supports_avx2_fma()) return "avx2+fma";
  return nullptr;
}

// Floats per FMA of fma_peak_isa() (0 without one).
inline int fma_peak_lanes() {
  if (kernels::cpu::cpu_supports_avx512f()) return 16;
  if (kernels::cpu::cpu_supports_avx2_fma()) return 8;
  return 0;
}

// Runs iters rounds of the chains on each of the pool's threads (one chunk per thread); returns the
// flops done.
inline double run_fma_chains(ThreadPool& pool, std::int64_t iters) {
  const int threads = pool.size();
  volatile float sink = 0;
  pool.parallel()(0, threads, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t t = begin; t < end; ++t) {
#if defined(__x86_64__) || defined(__i386__)
      sink = kernels::cpu::cpu_supports_avx512f() ? fma_chains_avx512(iters) : fma_chains_avx2(iters);
#endif
    }
  });
  (void)sink;
  return 2.0 * fma_peak_lanes() * kFmaChains * double(iters) * threads;
}

// The peak in flop/s on `threads` threads: best of five runs of about 50 ms each; measured once per
// thread count and cached. 0 where fma_peak_isa() is nullptr.
inline double fma_peak_flops(int threads) {
  static std::mutex mutex;
  static std::map<int, double> cache;
  std::lock_guard<std::mutex> lock(mutex);
  const auto it = cache.find(threads);
  if (it != cache.end()) return it->second;
  double best = 0;
  if (fma_peak_isa() != nullptr) {
    ThreadPool pool(threads);
    const std::int64_t iters = 2'000'000;  // ~50 ms at 2-4 GHz (12 x 2M FMAs on 2 ports)
    run_fma_chains(pool, iters / 10);      // wake the threads, raise the clock
    for (int rep = 0; rep < 5; ++rep) {
      const auto start = std::chrono::steady_clock::now();
      const double flops = run_fma_chains(pool, iters);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (seconds > 0 && flops / seconds > best) best = flops / seconds;
    }
  }
  cache[threads] = best;
  return best;
}

}  // namespace anima::bench
