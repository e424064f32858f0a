// anima/core/allocator.hpp — where tensor memory comes from, and how much of it is in use.
//
// The CPU allocator (below) keeps large freed blocks for reuse. Device allocators (the CUDA caching
// allocator) implement the same interface and are registered by their backend.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <deque>
#include <iterator>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>

#include <anima/core/device.hpp>
#include <anima/core/error.hpp>

namespace anima {

struct MemoryStats {
  std::size_t current_bytes = 0;   // bytes held by live tensors
  std::size_t peak_bytes = 0;      // high-water mark of current_bytes since start (or reset)
  std::size_t reserved_bytes = 0;  // bytes obtained from the system (>= current for caching allocators)
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void deallocate(void* ptr, std::size_t bytes) = 0;
  virtual MemoryStats stats() const = 0;
  virtual void reset_peak() = 0;
};

// Counts current and peak bytes; shared by allocators that track usage.
class UsageCounter {
 public:
  void add(std::size_t bytes) {
    const std::size_t now = current_.fetch_add(bytes) + bytes;
    raise(peak_, now);
    raise(all_time_peak_, now);
  }
  void sub(std::size_t bytes) { current_.fetch_sub(bytes); }
  std::size_t current() const { return current_.load(); }
  std::size_t peak() const { return peak_.load(); }
  std::size_t all_time_peak() const { return all_time_peak_.load(); }  // not lowered by reset_peak()
  void reset_peak() { peak_.store(current_.load()); }

 private:
  static void raise(std::atomic<std::size_t>& mark, std::size_t now) {
    std::size_t seen = mark.load();
    while (now > seen && !mark.compare_exchange_weak(seen, now)) {
    }
  }

  std::atomic<std::size_t> current_{0};
  std::atomic<std::size_t> peak_{0};
  std::atomic<std::size_t> all_time_peak_{0};
};

// Parses ANIMA_CPU_CACHE_MB: a non-negative whole number of MiB, surrounding blanks allowed. Returns
// -1 when `text` is null or does not parse (the default limit applies then).
inline long long parse_cache_megabytes(const char* text) {
  if (text == nullptr) return -1;
  const char* p = text;
  while (*p == ' ' || *p == '\t') ++p;
  if (*p < '0' || *p > '9') return -1;
  long long value = 0;
  while (*p >= '0' && *p <= '9') {
    value = value * 10 + (*p - '0');
    if (value > (1LL << 40)) return -1;  // 2^40 MiB (an exbibyte) of cache is a typo
    ++p;
  }
  while (*p == ' ' || *p == '\t') ++p;
  return *p == '\0' ? value : -1;
}

// Tensor memory on the host: 64-byte-aligned blocks (one cache line, the width of an AVX-512
// register) so vector kernels can use aligned loads on fresh tensors.
//
// Large blocks are cached. A block of kCacheMin (1 MiB) or more comes from mmap inside the C library,
// so every fresh one costs a page fault and a zeroed page per 4 KiB when first written, and a training
// step or a detection allocates the same large activations again and again (uncached, the faults
// take about a tenth of a training step). So:
//   size classes  a request of kCacheMin or more is rounded up to the next multiple of an eighth of its
//                 power of two (at most 12.5% more), which bounds the number of distinct sizes.
//   reuse         a freed large block goes to a free list ordered by size; a request takes the smallest
//                 cached block that fits, provided it is at most twice the rounded size (blocks are not
//                 split, so this bounds the waste); otherwise the C library gives a new one.
//   limit         cached (free) bytes stay at most cache_limit(): by default the headroom under the
//                 live peak, i.e. the most bytes live tensors ever held minus the bytes they hold now,
//                 so live plus cached memory never exceeds the peak an uncached allocator would reach
//                 (a loop that repeats the same allocations reuses its blocks; a run whose later sizes
//                 differ releases the old blocks as it needs room). ANIMA_CPU_CACHE_MB sets a fixed
//                 limit in MiB instead (0 turns caching off). Whenever the cache is over its limit
//                 (a block freed, a new block taken from the C library), the largest cached blocks go
//                 back to the C library first; a freed block larger than the limit is released at once.
//   learning      the headroom alone cannot hold a loop whose blocks come in more sizes than fit under
//                 its peak (blocks are not split): MobileNetV2's activations at batch 8 need 120 MB of
//                 distinct blocks under an 85 MB peak, and the cache gave most of them back and took
//                 them again, a page fault per 4 KiB, on every forward (250 ms a forward instead of
//                 55). So when a request misses the cache in a size the cache gave back among its last
//                 kRecentReleases releases (a released block that could have served it), the default
//                 limit learns that block: it grows by the block's size, up to the live peak in all, so
//                 live plus cached memory stays under twice the peak. A repeating loop stops faulting
//                 after a pass or two; a one-off sequence learns nothing. A fixed limit does not learn.
//   empty_cache() returns every cached block to the C library, as an allocation the C library
//                 refuses does before it is tried again.
// Requests under kCacheMin go straight to std::aligned_alloc / std::free (the C library's own bins
// already reuse them without page faults).
// Under AddressSanitizer nothing is cached: a reused block would hide a use after free.
// Stats: current_bytes = bytes requested by live allocations, peak_bytes = its high-water mark since
// start or reset_peak(), reserved_bytes = what the C library gave (live blocks' sizes plus cached ones).
// Thread safety: counters are atomic, the free list and the table of live large blocks share a mutex.
class CpuAllocator final : public Allocator {
 public:
  static constexpr std::size_t kAlignment = 64;
  static constexpr std::size_t kCacheMin = std::size_t(1) << 20;  // 1 MiB
  static constexpr std::size_t kRecentReleases = 64;
#if defined(__SANITIZE_ADDRESS__)
  static constexpr bool kCachingAvailable = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  static constexpr bool kCachingAvailable = false;
#else
  static constexpr bool kCachingAvailable = true;
#endif
#else
  static constexpr bool kCachingAvailable = true;
#endif

  // limit_bytes < 0: the default limit (ANIMA_CPU_CACHE_MB, else the live peak); 0: no caching.
  explicit CpuAllocator(long long limit_bytes = -1) : fixed_limit_(kCachingAvailable ? limit_bytes : 0) {}

  // The size of the block that serves a request of `bytes` (> 0).
  static std::size_t rounded_size(std::size_t bytes) {
    if (bytes < kCacheMin) return (bytes + kAlignment - 1) / kAlignment * kAlignment;
    std::size_t power = kCacheMin;
    while (power <= bytes / 2) power *= 2;  // power <= bytes < 2 * power
    const std::size_t step = power / 8;
    return (bytes + step - 1) / step * step;
  }

  void* allocate(std::size_t bytes) override {
    if (bytes == 0) return nullptr;
    const std::size_t size = rounded_size(bytes);
    if (bytes < kCacheMin) {
      void* p = system_allocate(bytes, size);
      usage_.add(bytes);
      return p;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    void* p = nullptr;
    std::size_t block = size;
    auto it = free_.lower_bound(size);
    if (it != free_.end() && it->first <= 2 * size) {
      block = it->first;
      p = it->second;
      free_.erase(it);
      cached_ -= block;
    } else {
      learn_from_miss_locked(size);
      p = std::aligned_alloc(kAlignment, size);
      if (p == nullptr && !free_.empty()) {  // out of memory: the cached blocks may be in the way
        learned_ = 0;
        while (!free_.empty()) release_locked(free_.begin());
        recent_releases_.clear();
        p = std::aligned_alloc(kAlignment, size);
      }
      if (p == nullptr) fail("CpuAllocator", "out of memory allocating ", bytes, " bytes");
    }
    try {
      live_.emplace(p, block);
    } catch (...) {
      std::free(p);
      throw;
    }
    live_slack_ += block - bytes;
    usage_.add(bytes);
    trim_locked(cache_limit_locked());  // less headroom under the peak now
    return p;
  }

  // Never throws (called from Storage's destructor).
  void deallocate(void* ptr, std::size_t bytes) override {
    if (!ptr) return;
    usage_.sub(bytes);
    if (bytes < kCacheMin) {
      std::free(ptr);
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(ptr);
    if (it == live_.end()) {  // not a block of this allocator's: nothing to cache
      std::free(ptr);
      return;
    }
    const std::size_t block = it->second;
    live_.erase(it);
    live_slack_ -= block - bytes;
    const std::size_t limit = cache_limit_locked();
    if (block > limit) {
      remember_release_locked(block);
      std::free(ptr);
      return;
    }
    trim_locked(limit - block);
    try {
      free_.emplace(block, ptr);
      cached_ += block;
    } catch (...) {  // no memory for the list node: give the block back instead of caching it
      std::free(ptr);
    }
  }

  MemoryStats stats() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return {usage_.current(), usage_.peak(), usage_.current() + live_slack_ + cached_};
  }
  void reset_peak() override { usage_.reset_peak(); }

  // Returns every cached block to the C library. Blocks of live tensors are untouched.
  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    while (!free_.empty()) release_locked(free_.begin());
    recent_releases_.clear();  // given back on request, not for want of room: nothing to learn
  }

  // Bytes in the free list (reserved but not in use).
  std::size_t cached_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }

  // The most bytes the free list may hold now.
  std::size_t cache_limit() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cache_limit_locked();
  }

 private:
  static void* system_allocate(std::size_t requested, std::size_t size) {
    void* p = std::aligned_alloc(kAlignment, size);  // size is a multiple of the alignment
    if (!p) fail("CpuAllocator", "out of memory allocating ", requested, " bytes");
    return p;
  }

  std::size_t cache_limit_locked() const {
    if (fixed_limit_ >= 0) return static_cast<std::size_t>(fixed_limit_);
    if (env_limit_ >= 0) return static_cast<std::size_t>(env_limit_) << 20;
    const std::size_t peak = usage_.all_time_peak();
    return peak - std::min(peak, usage_.current()) + learned_;
  }

  // A cache miss for `size`: if the cache recently gave back a block that could have served it (at
  // least size, at most twice), the limit was too small for the loop that is running: learn the block.
  void learn_from_miss_locked(std::size_t size) {
    if (fixed_limit_ >= 0 || env_limit_ >= 0) return;
    for (auto it = recent_releases_.begin(); it != recent_releases_.end(); ++it) {
      if (*it < size || *it > 2 * size) continue;
      learned_ = std::min(learned_ + *it, usage_.all_time_peak());
      recent_releases_.erase(it);
      return;
    }
  }

  void remember_release_locked(std::size_t block) {
    if (recent_releases_.size() == kRecentReleases) recent_releases_.pop_front();
    recent_releases_.push_back(block);
  }

  // Releases the largest cached blocks until at most `limit` bytes are cached.
  void trim_locked(std::size_t limit) {
    while (cached_ > limit) release_locked(std::prev(free_.end()));
  }

  void release_locked(std::multimap<std::size_t, void*>::iterator it) {
    remember_release_locked(it->first);
    cached_ -= it->first;
    std::free(it->second);
    free_.erase(it);
  }

  const long long fixed_limit_;
  const long long env_limit_ = parse_cache_megabytes(std::getenv("ANIMA_CPU_CACHE_MB"));
  mutable std::mutex mutex_;
  std::multimap<std::size_t, void*> free_;        // cached blocks by size
  std::unordered_map<void*, std::size_t> live_;  // live large blocks and their sizes
  std::size_t cached_ = 0;
  std::size_t live_slack_ = 0;       // live large blocks' sizes minus the bytes they were asked for
  std::size_t learned_ = 0;          // what the default limit learned (see "learning" above)
  std::deque<std::size_t> recent_releases_;  // sizes of the last kRecentReleases blocks given back
  UsageCounter usage_;
};

inline CpuAllocator& cpu_allocator() {
  static CpuAllocator* a = new CpuAllocator();  // never destroyed: tensors may outlive static destructors
  return *a;
}

}  // namespace anima
