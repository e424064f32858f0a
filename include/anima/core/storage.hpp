// anima/core/storage.hpp — a block of bytes on one device, shared by all the tensors that view it.
//
// An owning Storage returns its bytes to the device's allocator when the last view goes away; a
// borrowed Storage wraps memory the user keeps alive (Tensor::view_of_buffer) and never frees it.
#pragma once

#include <cstddef>
#include <memory>

#include <anima/core/device.hpp>
#include <anima/core/dispatch.hpp>

namespace anima {

class Storage {
 public:
  // Owning: `bytes` from the allocator of `device`.
  Storage(std::size_t bytes, Device device) : device_(device), bytes_(bytes), allocator_(&allocator_for(device)) {
    data_ = allocator_->allocate(bytes);
  }
  // Borrowed: the caller keeps `data` alive for as long as any tensor views it.
  static std::shared_ptr<Storage> borrow(void* data, std::size_t bytes, Device device) {
    return std::shared_ptr<Storage>(new Storage(data, bytes, device));
  }
  ~Storage() {
    if (allocator_) allocator_->deallocate(data_, bytes_);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  Device device() const { return device_; }
  bool owns_memory() const { return allocator_ != nullptr; }

 private:
  Storage(void* data, std::size_t bytes, Device device) : device_(device), data_(data), bytes_(bytes) {}

  Device device_;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  Allocator* allocator_ = nullptr;
};

}  // namespace anima
