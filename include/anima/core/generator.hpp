// anima/core/generator.hpp — the state behind rand/randn/dropout: a seed and a Philox offset; and
// random_permutation, a Philox shuffle on the host.
//
// Philox is counter-based (anima/kernels/philox.hpp): a draw of n numbers uses counters
// [offset, offset + n) under key = seed, then the offset advances by n. Same seed, same sequence
// of calls -> same numbers, on any backend and any thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include <anima/kernels/philox.hpp>

namespace anima {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0x5eed) : seed_(seed) {}

  void manual_seed(std::uint64_t seed) {
    std::lock_guard<std::mutex> lock(mutex_);
    seed_ = seed;
    offset_ = 0;
  }
  std::uint64_t seed() const { return seed_; }
  std::uint64_t offset() const { return offset_; }

  // Reserves n counters; returns the offset of the first.
  std::uint64_t advance(std::uint64_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::uint64_t first = offset_;
    offset_ += n;
    return first;
  }

 private:
  std::mutex mutex_;
  std::uint64_t seed_;
  std::uint64_t offset_ = 0;
};

inline Generator& default_generator() {
  static Generator g;
  return g;
}

// Re-seeds the default generator (torch.manual_seed).
inline void manual_seed(std::uint64_t seed) { default_generator().manual_seed(seed); }

// The float64 uniform in [0, 1) at counter `counter` after `offset` under key `seed`: Philox's draw,
// stateless, the same on every machine (what Generator and random_permutation draw from).
inline double philox_uniform(std::uint64_t seed, std::uint64_t offset, std::uint64_t counter) {
  return kernels::philox_uniform<double>(seed, offset, counter);
}

// A permutation of 0..n-1 drawn on the host by Fisher-Yates: for i = n-1 down to 1, element i is
// swapped with element floor(u_i·(i+1)), u_i the float64 Philox uniform of counter i after `offset`
// under key `seed`. The same (n, seed, offset) give the same permutation on every machine.
inline std::vector<std::int64_t> random_permutation(std::int64_t n, std::uint64_t seed, std::uint64_t offset) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n > 0 ? n : 0));
  for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  for (std::int64_t i = n - 1; i > 0; --i) {
    const double u = philox_uniform(seed, offset, static_cast<std::uint64_t>(i));
    std::swap(order[static_cast<std::size_t>(i)],
              order[static_cast<std::size_t>(static_cast<std::int64_t>(u * static_cast<double>(i + 1)))]);
  }
  return order;
}

}  // namespace anima
