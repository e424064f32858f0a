// anima/core/allocator.hpp — where tensor memory comes from, and how much of it is in use.
//
// The CPU allocator hands out 64-byte-aligned blocks (one cache line, the width of an AVX-512
// register) so vector kernels can use aligned loads on fresh tensors. Device allocators (the CUDA
// caching allocator) implement the same interface and are registered by their backend.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

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
    std::size_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
  }
  void sub(std::size_t bytes) { current_.fetch_sub(bytes); }
  std::size_t current() const { return current_.load(); }
  std::size_t peak() const { return peak_.load(); }
  void reset_peak() { peak_.store(current_.load()); }

 private:
  std::atomic<std::size_t> current_{0};
  std::atomic<std::size_t> peak_{0};
};

class CpuAllocator final : public Allocator {
 public:
  static constexpr std::size_t kAlignment = 64;

  void* allocate(std::size_t bytes) override {
    if (bytes == 0) return nullptr;
    // std::aligned_alloc needs a size that is a multiple of the alignment.
    const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    void* p = std::aligned_alloc(kAlignment, rounded);
    if (!p) fail("CpuAllocator", "out of memory allocating ", bytes, " bytes");
    usage_.add(bytes);
    return p;
  }
  void deallocate(void* ptr, std::size_t bytes) override {
    if (!ptr) return;
    std::free(ptr);
    usage_.sub(bytes);
  }
  MemoryStats stats() const override { return {usage_.current(), usage_.peak(), usage_.current()}; }
  void reset_peak() override { usage_.reset_peak(); }

 private:
  UsageCounter usage_;
};

inline CpuAllocator& cpu_allocator() {
  static CpuAllocator* a = new CpuAllocator();  // never destroyed: tensors may outlive static destructors
  return *a;
}

}  // namespace anima
