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

}  // namespace anima
