// bench/memory_bandwidth.hpp — this machine's main-memory bandwidth, measured: the yardstick for the
// memory-bound kernels' benchmarks (the traffic floor of RoIAlign's forward, bench/roi_align_bench.cpp).
//
// A copy of a 256 MiB buffer into another, split into one contiguous part per thread (std::memcpy,
// which glibc turns into wide, non-temporal stores at this size): 2 x 256 MiB moved (every byte read
// once and written once; a write-allocate's extra read is not counted, so this is the rate a kernel
// that reads N bytes and writes M bytes can at best sustain on N + M). Best of five copies, after one
// untimed copy that faults the pages in; measured once per thread count and cached.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include <anima/core/thread_pool.hpp>

namespace anima::bench {

// Bytes per second (read + write) of a large copy on `threads` threads.
inline double memory_bandwidth_bytes_per_second(int threads) {
  static std::mutex mutex;
  static std::map<int, double> cache;
  std::lock_guard<std::mutex> lock(mutex);
  const auto it = cache.find(threads);
  if (it != cache.end()) return it->second;
  const std::size_t bytes = std::size_t(256) << 20;
  std::vector<unsigned char> src(bytes, 1), dst(bytes, 0);
  ThreadPool pool(threads);
  const auto copy = [&] {
    pool.parallel()(0, threads, 1, [&](std::int64_t begin, std::int64_t end) {
      const std::size_t part = bytes / std::size_t(threads);
      const std::size_t lo = part * std::size_t(begin), hi = end == threads ? bytes : part * std::size_t(end);
      std::memcpy(dst.data() + lo, src.data() + lo, hi - lo);
    });
  };
  copy();
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    copy();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds > 0 && 2.0 * double(bytes) / seconds > best) best = 2.0 * double(bytes) / seconds;
  }
  cache[threads] = best;
  return best;
}

}  // namespace anima::bench
