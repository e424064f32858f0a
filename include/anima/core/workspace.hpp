// anima/core/workspace.hpp — scratch memory for one kernel call, taken from an allocator and given
// back when it goes out of scope.
//
// Backend adapters use it to hand kernels the workspace they ask for (kernels never allocate). On
// CUDA the memory comes from the device's caching allocator, which reuses a block only on the stream
// it was allocated on (the current stream, where the kernels that use the workspace run), so a
// workspace may be given back as soon as those kernels are enqueued.
#pragma once

#include <cstddef>
#include <utility>

#include <anima/core/allocator.hpp>

namespace anima {

class ScopedWorkspace {
 public:
  ScopedWorkspace() = default;
  ScopedWorkspace(Allocator& allocator, std::size_t bytes)
      : allocator_(&allocator), bytes_(bytes), ptr_(bytes > 0 ? allocator.allocate(bytes) : nullptr) {}
  ~ScopedWorkspace() { release(); }

  ScopedWorkspace(ScopedWorkspace&& other) noexcept
      : allocator_(other.allocator_), bytes_(other.bytes_), ptr_(std::exchange(other.ptr_, nullptr)) {}
  ScopedWorkspace& operator=(ScopedWorkspace&& other) noexcept {
    if (this != &other) {
      release();
      allocator_ = other.allocator_;
      bytes_ = other.bytes_;
      ptr_ = std::exchange(other.ptr_, nullptr);
    }
    return *this;
  }
  ScopedWorkspace(const ScopedWorkspace&) = delete;
  ScopedWorkspace& operator=(const ScopedWorkspace&) = delete;

  void* get() const { return ptr_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  std::size_t bytes() const { return bytes_; }

 private:
  void release() {
    if (ptr_ != nullptr) allocator_->deallocate(ptr_, bytes_);
    ptr_ = nullptr;
  }

  Allocator* allocator_ = nullptr;
  std::size_t bytes_ = 0;
  void* ptr_ = nullptr;
};

// A workspace from the CPU allocator.
inline ScopedWorkspace cpu_workspace(std::size_t bytes) { return ScopedWorkspace(cpu_allocator(), bytes); }

// Scratch memory that stays with the calling thread between kernel calls: one block from the CPU
// allocator, grown to the largest request seen and kept until the thread ends. For the kernels whose
// scratch is large and asked for on every call with the same few sizes (a network's convolutions: the
// im2col matrix of VGG-16's second layer is 115 MB at 224x224): taken from the allocator each time,
// such blocks outgrow its cache and come back from the system with a page fault per 4 KiB, which cost
// VGG-16 at batch 1 more than its arithmetic. The memory is live (counted in the allocator's stats).
// One user at a time per thread: a kernel takes it, uses it and returns before the next kernel call
// on that thread (kernels do not nest).
class ThreadWorkspace {
 public:
  ~ThreadWorkspace() { reset(); }
  // At least `bytes` bytes, 64-byte aligned; valid until the next get() or reset() on this thread.
  void* get(std::size_t bytes) {
    if (bytes > bytes_) {
      reset();
      ptr_ = cpu_allocator().allocate(bytes);
      bytes_ = bytes;
    }
    return ptr_;
  }
  void reset() {
    if (ptr_) cpu_allocator().deallocate(ptr_, bytes_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  std::size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

inline ThreadWorkspace& cpu_thread_workspace() {
  thread_local ThreadWorkspace workspace;
  return workspace;
}

}  // namespace anima
