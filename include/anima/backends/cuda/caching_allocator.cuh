// anima/kernels/cuda/caching_allocator.cuh — a caching device-memory allocator, one per CUDA device.
//
// cudaMalloc/cudaFree are slow (cudaFree synchronises the device), so freed blocks are kept and
// handed out again:
//   size classes   requests up to kSmallLimit (1 MiB) are rounded up to a multiple of 512 bytes and
//                  served from the small pool; larger ones are rounded up to a multiple of 2 MiB and
//                  served from the large pool. Rounding bounds the number of distinct sizes, so
//                  reuse is frequent, and keeps every block 512-byte aligned.
//   reuse          each pool is a size-ordered free list; a request takes the smallest free block
//                  that fits (best fit) provided it is at most twice the rounded size (blocks are not
//                  split, so this bounds the waste); otherwise cudaMalloc.
//   out of memory  when cudaMalloc reports cudaErrorMemoryAllocation, every cached free block is
//                  released (cudaFree) and the allocation is retried once; if that fails too an
//                  anima::Error reports the bytes requested, in use and reserved.
//   empty_cache()  releases every cached free block to the driver.
// Stats: current_bytes = bytes requested by live allocations (as the CPU allocator counts them),
// peak_bytes = its high-water mark, reserved_bytes = bytes obtained with cudaMalloc (live + cached).
//
// Streams: all of anima's CUDA work runs on the legacy default stream for now
// (anima::cuda::current_stream()), which orders every kernel and copy on the device. A block freed
// by a tensor may therefore be handed to the next allocation at once: any kernel still reading the
// old tensor is ordered before any kernel that writes the new one. Using other streams will need
// per-stream pools or events recorded at free time.
//
// Thread safety: one mutex per allocator guards its lists and counters.
// Lifetime: allocators are created with `new` and never destroyed, and nothing is freed at static
// destruction time (the CUDA context may already be gone then); cached blocks are simply leaked at
// exit, which the driver reclaims.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>

#include <cuda_runtime.h>

#include <anima/core/allocator.hpp>
#include <anima/core/error.hpp>
#include <anima/kernels/cuda/check.cuh>

namespace anima::kernels::cuda {

// Makes `device` current for the guard's lifetime, then restores the previous device.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    ANIMA_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != device) ANIMA_CUDA_CHECK(cudaSetDevice(device));
    changed_ = previous_ != device;
  }
  ~DeviceGuard() {
    if (changed_) (void)cudaSetDevice(previous_);  // never throws from a destructor
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool changed_ = false;
};

class CudaCachingAllocator final : public Allocator {
 public:
  static constexpr std::size_t kSmallLimit = std::size_t(1) << 20;  // 1 MiB
  static constexpr std::size_t kSmallRound = 512;
  static constexpr std::size_t kLargeRound = std::size_t(2) << 20;  // 2 MiB

  explicit CudaCachingAllocator(int device) : device_(device) {}

  int device() const { return device_; }

  // The size of the block that serves a request of `bytes` (> 0).
  static std::size_t rounded_size(std::size_t bytes) {
    const std::size_t unit = bytes <= kSmallLimit ? kSmallRound : kLargeRound;
    return (bytes + unit - 1) / unit * unit;
  }

  void* allocate(std::size_t bytes) override {
    if (bytes == 0) return nullptr;
    const std::size_t size = rounded_size(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    FreeList& pool = pool_for(size);
    auto it = pool.lower_bound(size);
    void* ptr = nullptr;
    std::size_t block = 0;
    if (it != pool.end() && it->first <= 2 * size) {
      block = it->first;
      ptr = it->second;
      pool.erase(it);
    } else {
      block = size;
      ptr = cuda_malloc_locked(bytes, size);
    }
    live_.emplace(ptr, LiveBlock{block, bytes});
    usage_.add(bytes);
    return ptr;
  }

  // Never throws (called from Storage's destructor); an unknown pointer is ignored.
  void deallocate(void* ptr, std::size_t /*bytes*/) override {
    if (!ptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(ptr);
    if (it == live_.end()) return;
    const LiveBlock b = it->second;
    live_.erase(it);
    usage_.sub(b.requested);
    pool_for(b.size).emplace(b.size, ptr);
  }

  MemoryStats stats() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return {usage_.current(), usage_.peak(), reserved_};
  }
  void reset_peak() override { usage_.reset_peak(); }

  // Returns every cached (free) block to the driver. Blocks of live tensors are untouched.
  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cached_locked();
  }

  // Bytes in the free lists (reserved but not in use).
  std::size_t cached_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t total = 0;
    for (const FreeList* pool : {&small_, &large_})
      for (const auto& kv : *pool) total += kv.first;
    return total;
  }

 private:
  using FreeList = std::multimap<std::size_t, void*>;  // block size -> pointer, ordered by size
  struct LiveBlock {
    std::size_t size;       // rounded block size (what cudaMalloc gave)
    std::size_t requested;  // what the caller asked for
  };

  FreeList& pool_for(std::size_t rounded) { return rounded <= kSmallLimit ? small_ : large_; }

  void* cuda_malloc_locked(std::size_t requested, std::size_t size) {
    DeviceGuard guard(device_);
    void* ptr = nullptr;
    cudaError_t err = cudaMalloc(&ptr, size);
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // clear the (non-sticky) allocation error
      release_cached_locked();
      err = cudaMalloc(&ptr, size);
    }
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      fail("CudaCachingAllocator", "cudaMalloc of ", size, " bytes (", requested, " requested) on cuda:", device_,
           " failed: ", cudaGetErrorName(err), " (", cudaGetErrorString(err), "); ", usage_.current(),
           " bytes in use by tensors, ", reserved_, " bytes reserved after releasing the cache");
    }
    reserved_ += size;
    return ptr;
  }

  void release_cached_locked() {
    if (small_.empty() && large_.empty()) return;
    DeviceGuard guard(device_);
    for (FreeList* pool : {&small_, &large_}) {
      while (!pool->empty()) {  // erase before freeing, so a failing cudaFree leaves the lists consistent
        const auto it = pool->begin();
        const std::size_t size = it->first;
        void* ptr = it->second;
        pool->erase(it);
        reserved_ -= size;
        ANIMA_CUDA_CHECK(cudaFree(ptr));
      }
    }
  }

  const int device_;
  mutable std::mutex mutex_;
  FreeList small_, large_;
  std::unordered_map<void*, LiveBlock> live_;
  UsageCounter usage_;
  std::size_t reserved_ = 0;
};

}  // namespace anima::kernels::cuda
