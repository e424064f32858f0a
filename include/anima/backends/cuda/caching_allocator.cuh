// anima/backends/cuda/caching_allocator.cuh — a caching device-memory allocator, one per CUDA device.
//
// cudaMalloc/cudaFree are slow (cudaFree synchronises the device), so freed blocks are kept and
// handed out again:
//   size classes   requests up to kSmallLimit (1 MiB) are rounded up to a multiple of 512 bytes and
//                  served from the small pool; larger ones are rounded up to a multiple of 2 MiB and
//                  served from the large pool. Rounding bounds the number of distinct sizes, so
//                  reuse is frequent, and keeps every block 512-byte aligned.
//   reuse          each pool is a free list ordered by (stream, size); a request takes the smallest
//                  free block of its stream that fits (best fit) provided it is at most twice the
//                  rounded size (blocks are not split, so this bounds the waste); otherwise cudaMalloc.
//   out of memory  when cudaMalloc reports cudaErrorMemoryAllocation, every cached free block is
//                  released (cudaFree) and the allocation is retried once; if that fails too an
//                  anima::Error reports the bytes requested, in use and reserved.
//   empty_cache()  releases every cached free block to the driver.
// Stats: current_bytes = bytes requested by live allocations (as the CPU allocator counts them),
// peak_bytes = its high-water mark, reserved_bytes = bytes obtained with cudaMalloc (live + cached).
//
// Streams: a block belongs to the stream it was allocated on (allocate(): the calling thread's
// anima::cuda::current_stream(device), anima/backends/cuda/stream.cuh), and once freed it is handed out
// again only to an allocation on that same stream. Work on one stream runs in order, so every kernel
// that used the old tensor runs before any kernel that writes the new one: a block may be reused as
// soon as it is freed, with no event and no synchronisation (and so also during stream capture, when
// the cache already holds a fitting block). Releasing blocks to the driver (empty_cache, the
// out-of-memory retry) is safe for blocks of any stream because cudaFree synchronises the device.
// The rule's one obligation on the user: a tensor used on a stream other than the one it was
// allocated on must not be freed before that use is finished (make the allocating stream wait on an
// event recorded after the use, or synchronise), as with PyTorch's allocator without record_stream.
// Free blocks of a stream that has been destroyed stay cached until empty_cache().
//
// Thread safety: one mutex per allocator guards its lists and counters.
// Lifetime: allocators are created with `new` and never destroyed, and nothing is freed at static
// destruction time (the CUDA context may already be gone then); cached blocks are simply leaked at
// exit, which the driver reclaims.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>

#include <cuda_runtime.h>

#include <anima/core/allocator.hpp>
#include <anima/core/error.hpp>
#include <anima/backends/cuda/stream.cuh>
#include <anima/backends/cuda/check.cuh>

namespace anima::cuda {

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

  // A block for work on the calling thread's current stream of this device.
  void* allocate(std::size_t bytes) override { return allocate(bytes, current_stream(device_)); }

  // A block for work on `stream` (a stream of this device): it is reused only on that stream.
  void* allocate(std::size_t bytes, cudaStream_t stream) {
    if (bytes == 0) return nullptr;
    const std::size_t size = rounded_size(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    FreeList& pool = pool_for(size);
    auto it = pool.lower_bound(BlockKey{stream, size});
    void* ptr = nullptr;
    std::size_t block = 0;
    if (it != pool.end() && it->first.stream == stream && it->first.size <= 2 * size) {
      block = it->first.size;
      ptr = it->second;
      pool.erase(it);
    } else {
      block = size;
      ptr = cuda_malloc_locked(bytes, size);
    }
    live_.emplace(ptr, LiveBlock{block, bytes, stream});
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
    pool_for(b.size).emplace(BlockKey{b.stream, b.size}, ptr);
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
      for (const auto& kv : *pool) total += kv.first.size;
    return total;
  }

 private:
  struct BlockKey {
    cudaStream_t stream;  // the stream the block was allocated on
    std::size_t size;     // rounded block size (what cudaMalloc gave)
    bool operator<(const BlockKey& o) const {
      return std::less<cudaStream_t>()(stream, o.stream) || (stream == o.stream && size < o.size);
    }
  };
  using FreeList = std::multimap<BlockKey, void*>;  // free blocks, grouped by stream, ordered by size
  struct LiveBlock {
    std::size_t size;       // rounded block size (what cudaMalloc gave)
    std::size_t requested;  // what the caller asked for
    cudaStream_t stream;    // the stream it was allocated on
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
        const std::size_t size = it->first.size;
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

}  // namespace anima::cuda
