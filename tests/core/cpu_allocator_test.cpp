// The CPU allocator's cache of large blocks: what is reused, what is released, what the stats say.
// Each test uses its own CpuAllocator (not the process-wide one the tensors share), so the numbers
// are exact.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <anima/core/allocator.hpp>

namespace {

using anima::CpuAllocator;
constexpr std::size_t MiB = std::size_t(1) << 20;

#define SKIP_WITHOUT_CACHE() \
  if (!CpuAllocator::kCachingAvailable) GTEST_SKIP() << "built with AddressSanitizer: nothing is cached"

TEST(CpuAllocator, SizeClassesAreEighthsOfThePowerOfTwo) {
  EXPECT_EQ(CpuAllocator::rounded_size(1), 64u);
  EXPECT_EQ(CpuAllocator::rounded_size(MiB - 1), MiB);  // under kCacheMin: to the alignment only
  EXPECT_EQ(CpuAllocator::rounded_size(MiB), MiB);
  EXPECT_EQ(CpuAllocator::rounded_size(MiB + 1), MiB + MiB / 8);
  EXPECT_EQ(CpuAllocator::rounded_size(2 * MiB), 2 * MiB);
  EXPECT_EQ(CpuAllocator::rounded_size(3 * MiB - 1), 3 * MiB);
  EXPECT_EQ(CpuAllocator::rounded_size(100 * MiB + 1), 104 * MiB);  // power 64 MiB, step 8 MiB
  for (std::size_t bytes = 1; bytes < (std::size_t(1) << 34); bytes = bytes * 3 + 7) {
    const std::size_t r = CpuAllocator::rounded_size(bytes);
    EXPECT_GE(r, bytes);
    EXPECT_EQ(r % CpuAllocator::kAlignment, 0u);
    if (bytes >= MiB) {
      EXPECT_LE(r, bytes + bytes / 8) << bytes;
    }
  }
}

TEST(CpuAllocator, ReusesAFreedLargeBlockAndCountsItAsReserved) {
  SKIP_WITHOUT_CACHE();
  CpuAllocator a;
  void* p = a.allocate(3 * MiB);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % CpuAllocator::kAlignment, 0u);
  std::memset(p, 1, 3 * MiB);
  a.deallocate(p, 3 * MiB);
  EXPECT_EQ(a.stats().current_bytes, 0u);
  EXPECT_EQ(a.cached_bytes(), 3 * MiB);
  EXPECT_EQ(a.stats().reserved_bytes, 3 * MiB);
  void* q = a.allocate(3 * MiB - 100);  // same size class
  EXPECT_EQ(q, p);
  EXPECT_EQ(a.cached_bytes(), 0u);
  const anima::MemoryStats s = a.stats();
  EXPECT_EQ(s.current_bytes, 3 * MiB - 100);
  EXPECT_EQ(s.reserved_bytes, 3 * MiB);  // the block's size, not the request
  EXPECT_EQ(s.peak_bytes, 3 * MiB);
  a.deallocate(q, 3 * MiB - 100);
  a.empty_cache();
  EXPECT_EQ(a.cached_bytes(), 0u);
  EXPECT_EQ(a.stats().reserved_bytes, 0u);
}

TEST(CpuAllocator, SmallBlocksAreNotCached) {
  CpuAllocator a;
  void* p = a.allocate(1000);
  EXPECT_EQ(a.stats().current_bytes, 1000u);
  a.deallocate(p, 1000);
  EXPECT_EQ(a.cached_bytes(), 0u);
  EXPECT_EQ(a.stats().reserved_bytes, 0u);
}

TEST(CpuAllocator, TakesTheSmallestFittingBlockButNotOneOverTwiceTheSize) {
  SKIP_WITHOUT_CACHE();
  CpuAllocator a(static_cast<long long>(100 * MiB));  // a fixed limit: nothing here is evicted
  void* big = a.allocate(16 * MiB);
  void* mid = a.allocate(6 * MiB);
  a.deallocate(big, 16 * MiB);
  a.deallocate(mid, 6 * MiB);
  EXPECT_EQ(a.cached_bytes(), 22 * MiB);
  void* p = a.allocate(5 * MiB);  // 6 MiB fits within twice 5 MiB; 16 MiB would too, but is larger
  EXPECT_EQ(p, mid);
  void* q = a.allocate(2 * MiB);  // only 16 MiB is cached: more than twice 2 MiB, so a new block
  EXPECT_NE(q, big);
  EXPECT_EQ(a.cached_bytes(), 16 * MiB);
  const anima::MemoryStats s = a.stats();
  EXPECT_EQ(s.current_bytes, 7 * MiB);
  EXPECT_EQ(s.reserved_bytes, 6 * MiB + 2 * MiB + 16 * MiB);
  a.deallocate(p, 5 * MiB);
  a.deallocate(q, 2 * MiB);
}

// By default the cache holds at most the headroom under the live peak: live plus cached bytes never
// exceed the most that was ever live.
TEST(CpuAllocator, TheDefaultLimitIsTheHeadroomUnderTheLivePeak) {
  SKIP_WITHOUT_CACHE();
  CpuAllocator a;
  void* p = a.allocate(4 * MiB);
  EXPECT_EQ(a.cache_limit(), 0u);  // at the peak
  a.deallocate(p, 4 * MiB);
  EXPECT_EQ(a.cache_limit(), 4 * MiB);
  EXPECT_EQ(a.cached_bytes(), 4 * MiB);
  void* q = a.allocate(12 * MiB);  // the cached block is too small: a new one, and a new peak of 12 MiB
  EXPECT_EQ(a.cached_bytes(), 0u);  // with 12 MiB live there is no headroom: the 4 MiB block went back
  EXPECT_EQ(a.stats().reserved_bytes, 12 * MiB);
  void* r = a.allocate(2 * MiB);  // above the old peak now: nothing cached, nothing to release
  a.deallocate(r, 2 * MiB);       // 14 MiB peak, 12 live: the 2 MiB block fits the headroom
  EXPECT_EQ(a.cached_bytes(), 2 * MiB);
  a.deallocate(q, 12 * MiB);
  EXPECT_EQ(a.cached_bytes(), 14 * MiB);
  EXPECT_EQ(a.stats().reserved_bytes, 14 * MiB);
  // The same allocations again come from the cache, and reserved memory stays at the peak.
  q = a.allocate(12 * MiB);
  r = a.allocate(2 * MiB);
  EXPECT_EQ(a.cached_bytes(), 0u);
  EXPECT_EQ(a.stats().reserved_bytes, 14 * MiB);
  a.deallocate(r, 2 * MiB);
  a.deallocate(q, 12 * MiB);
  EXPECT_EQ(a.stats().reserved_bytes, 14 * MiB);
}

// A loop whose blocks do not fit under its peak together: 8 MiB, then 3 MiB, each freed before the
// next (peak 8 MiB, blocks are not split, and an 8 MiB block is too big to serve 3 MiB). The headroom
// alone makes every pass give the 8 MiB block back for the 3 MiB one and take a new 8 MiB block: the
// limit learns that block on the second pass, and from then on nothing comes from the system.
TEST(CpuAllocator, TheLimitLearnsABlockTheLoopKeepsTakingBack) {
  SKIP_WITHOUT_CACHE();
  CpuAllocator a;
  auto pass = [&] {
    void* p = a.allocate(8 * MiB);
    a.deallocate(p, 8 * MiB);
    void* q = a.allocate(3 * MiB);
    a.deallocate(q, 3 * MiB);
  };
  pass();
  EXPECT_EQ(a.cached_bytes(), 3 * MiB) << "the 8 MiB block went back for the 3 MiB one (headroom 5 MiB)";
  EXPECT_EQ(a.cache_limit(), 8 * MiB) << "nothing learned yet: the headroom under the 8 MiB peak";
  pass();  // the 8 MiB request misses for a block the cache gave back: learned
  EXPECT_EQ(a.cache_limit(), 16 * MiB);
  EXPECT_EQ(a.cached_bytes(), 11 * MiB);
  for (int i = 0; i < 3; ++i) {
    pass();
    EXPECT_EQ(a.stats().reserved_bytes, 11 * MiB) << "pass " << i + 3 << " took a block from the system";
    EXPECT_EQ(a.cached_bytes(), 11 * MiB);
  }
  EXPECT_EQ(a.cache_limit(), 16 * MiB) << "a loop that no longer misses learns nothing more";
  // What was given back on request (empty_cache) is not learned: the next pass misses without growing
  // the limit.
  a.empty_cache();
  pass();
  EXPECT_EQ(a.cache_limit(), 16 * MiB);
}

TEST(CpuAllocator, AFixedLimitEvictsTheLargestBlocksAndZeroCachesNothing) {
  SKIP_WITHOUT_CACHE();
  CpuAllocator a(static_cast<long long>(10 * MiB));
  void* b8 = a.allocate(8 * MiB);
  void* b2 = a.allocate(2 * MiB);
  void* b3 = a.allocate(3 * MiB);
  void* b20 = a.allocate(20 * MiB);
  a.deallocate(b8, 8 * MiB);
  a.deallocate(b2, 2 * MiB);
  EXPECT_EQ(a.cached_bytes(), 10 * MiB);
  a.deallocate(b3, 3 * MiB);  // over 10 MiB: the largest cached block (8 MiB) goes first
  EXPECT_EQ(a.cached_bytes(), 5 * MiB);
  a.deallocate(b20, 20 * MiB);  // alone over the limit: released, the cache left as it was
  EXPECT_EQ(a.cached_bytes(), 5 * MiB);
  EXPECT_EQ(a.stats().reserved_bytes, 5 * MiB);

  CpuAllocator none(0);
  void* p = none.allocate(4 * MiB);
  none.deallocate(p, 4 * MiB);
  EXPECT_EQ(none.cached_bytes(), 0u);
  EXPECT_EQ(none.stats().reserved_bytes, 0u);
}

// Run in a child process: caches a 64 MiB block, caps the address space 20 MiB above what is in use,
// then asks for 80 MiB, which the C library refuses until the cache is released. 0: it fitted then.
int allocate_under_an_address_space_cap() {
  CpuAllocator a;
  a.deallocate(a.allocate(64 * MiB), 64 * MiB);
  long pages = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
    std::fclose(f);
  }
  if (pages <= 0 || a.cached_bytes() != 64 * MiB) return 3;
  const rlim_t used = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE));
  const rlimit cap{used + 20 * MiB, used + 20 * MiB};
  if (setrlimit(RLIMIT_AS, &cap) != 0) return 4;
  void* p = a.allocate(80 * MiB);
  return p != nullptr && a.cached_bytes() == 0 ? 0 : 5;
}

TEST(CpuAllocator, ReleasesTheCacheWhenTheSystemRefusesABlock) {
  SKIP_WITHOUT_CACHE();
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer reserves address space of its own; an address-space cap breaks it";
#endif
  GTEST_FLAG_SET(death_test_style, "fast");  // fork: the cap stays in the child
  EXPECT_EXIT(std::_Exit(allocate_under_an_address_space_cap()), ::testing::ExitedWithCode(0), "");
}

TEST(CpuAllocator, ParsesTheCacheSizeFromTheEnvironment) {
  EXPECT_EQ(anima::parse_cache_megabytes(nullptr), -1);
  EXPECT_EQ(anima::parse_cache_megabytes(""), -1);
  EXPECT_EQ(anima::parse_cache_megabytes("0"), 0);
  EXPECT_EQ(anima::parse_cache_megabytes(" 512 "), 512);
  EXPECT_EQ(anima::parse_cache_megabytes("-1"), -1);
  EXPECT_EQ(anima::parse_cache_megabytes("12MB"), -1);
  EXPECT_EQ(anima::parse_cache_megabytes("99999999999999999999"), -1);
}

// Threads allocating and freeing blocks of a few size classes at once: every block handed out is
// the caller's alone (its fill survives until it frees it) and the counters end where they began.
TEST(CpuAllocator, ThreadsShareTheCacheSafely) {
  CpuAllocator a;
  constexpr int kThreads = 4, kRounds = 200;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&a, &failures, t] {
      for (int r = 0; r < kRounds; ++r) {
        const std::size_t bytes = MiB + static_cast<std::size_t>((r * 7 + t) % 5) * MiB / 2;
        auto* p = static_cast<unsigned char*>(a.allocate(bytes));
        const auto mark = static_cast<unsigned char>(t * 31 + r);
        std::memset(p, mark, bytes);
        std::this_thread::yield();
        for (std::size_t i = 0; i < bytes; i += 4093) failures[static_cast<std::size_t>(t)] += p[i] != mark;
        a.deallocate(p, bytes);
      }
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[static_cast<std::size_t>(t)], 0) << "thread " << t;
  EXPECT_EQ(a.stats().current_bytes, 0u);
  EXPECT_EQ(a.stats().reserved_bytes, a.cached_bytes());
  EXPECT_LE(a.cached_bytes(), a.cache_limit());
  a.empty_cache();
  EXPECT_EQ(a.stats().reserved_bytes, 0u);
}

}  // namespace
