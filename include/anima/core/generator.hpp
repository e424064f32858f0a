// anima/core/generator.hpp — the state behind rand/randn/dropout: a seed and a Philox offset.
//
// Philox is counter-based (anima/kernels/philox.hpp): a draw of n numbers uses counters
// [offset, offset + n) under key = seed, then the offset advances by n. Same seed, same sequence
// of calls -> same numbers, on any backend and any thread count.
#pragma once

#include <cstdint>
#include <mutex>

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

}  // namespace anima
