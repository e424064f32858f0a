// anima/backends/cuda/stream.cuh — CUDA devices and the current stream every anima CUDA call runs on.
//
//   anima::cuda::current_stream(device)          the stream anima uses for `device` on this thread
//   anima::cuda::current_stream()                the same for the current device (cudaGetDevice)
//   anima::cuda::set_current_stream(device, s)   makes `s` that stream (nullptr: the legacy default stream)
//   anima::cuda::StreamGuard guard(s);           sets the current stream of s's device for a scope, then
//                                                restores the previous one (StreamGuard(device, s) names it)
//   anima::cuda::DeviceGuard guard(device);      makes `device` current for a scope, then restores it
//
// Every kernel launch, cuBLAS / cuDNN call, copy and memset of anima's CUDA backend is enqueued on
// current_stream() of the device it runs on; the caching allocator records that stream for each block
// (anima/backends/cuda/caching_allocator.cuh).
//
// Thread safety: the current stream is thread-local, one per device (as in PyTorch): a StreamGuard on
// one thread does not move another thread's work. A thread that never sets one uses the legacy default
// stream, which stays the default because it orders anima's work with every other blocking stream and
// with CUDA code that uses stream 0 (other libraries, cudaMemcpy), so single-stream programs need no
// synchronisation of their own. A stream set here must outlive its use by anima: destroy it only after
// restoring the previous stream and after the tensors allocated on it are freed.
// Setting a stream does not change the current device: kernels still run on cudaGetDevice()'s device,
// with that device's current stream (pair a StreamGuard with a DeviceGuard to move both).
#pragma once

#include <cstddef>
#include <vector>

#include <cuda_runtime.h>

#include <anima/core/error.hpp>
#include <anima/backends/cuda/check.cuh>

namespace anima::cuda {

// Number of usable CUDA devices; 0 when there is no device, no (or too old a) driver, or any other
// error (the error is cleared so that later CUDA calls do not report it). Queried once.
inline int device_count() {
  static const int count = [] {
    int n = 0;
    const cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      return 0;
    }
    return n;
  }();
  return count;
}

// The device the calling thread's CUDA calls go to (cudaGetDevice).
inline int current_device() {
  int device = 0;
  ANIMA_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

inline void check_device_index(int device, const char* what) {
  const int n = device_count();
  ANIMA_CHECK(device >= 0 && device < n, what, "device cuda:", device, " does not exist (", n,
              " CUDA device(s) present)");
}

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

namespace stream_detail {

// This thread's current stream of each device; a device past the end uses the legacy default stream.
inline std::vector<cudaStream_t>& thread_streams() {
  thread_local std::vector<cudaStream_t> streams;
  return streams;
}

// The device `stream` belongs to; the current device for the legacy and per-thread default streams.
inline int stream_device(cudaStream_t stream) {
  if (stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread) return current_device();
  int device = 0;
  ANIMA_CUDA_CHECK(cudaStreamGetDevice(stream, &device));
  return device;
}

}  // namespace stream_detail

// The stream anima's CUDA work for `device` runs on, on this thread.
inline cudaStream_t current_stream(int device) {
  const std::vector<cudaStream_t>& streams = stream_detail::thread_streams();
  return device >= 0 && static_cast<std::size_t>(device) < streams.size() ? streams[static_cast<std::size_t>(device)]
                                                                          : nullptr;
}

// The current stream of the current device.
inline cudaStream_t current_stream() { return current_stream(current_device()); }

// Makes `stream` (created on `device`; nullptr: the legacy default stream) the current stream of
// `device` on this thread.
inline void set_current_stream(int device, cudaStream_t stream) {
  check_device_index(device, "set_current_stream");
  if (stream != nullptr && stream != cudaStreamLegacy && stream != cudaStreamPerThread) {
    const int owner = stream_detail::stream_device(stream);
    ANIMA_CHECK(owner == device, "set_current_stream", "the stream belongs to cuda:", owner, ", not cuda:", device);
  }
  std::vector<cudaStream_t>& streams = stream_detail::thread_streams();
  if (streams.size() <= static_cast<std::size_t>(device)) streams.resize(static_cast<std::size_t>(device) + 1, nullptr);
  streams[static_cast<std::size_t>(device)] = stream;
}

// Makes `stream` the current stream of `device` (by default: the stream's own device; the current
// device for nullptr) on this thread for the guard's lifetime, then restores the previous one.
class StreamGuard {
 public:
  explicit StreamGuard(cudaStream_t stream) : StreamGuard(stream_detail::stream_device(stream), stream) {}
  StreamGuard(int device, cudaStream_t stream) : device_(device), previous_(current_stream(device)) {
    set_current_stream(device, stream);
  }
  ~StreamGuard() { stream_detail::thread_streams()[static_cast<std::size_t>(device_)] = previous_; }
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

  int device() const { return device_; }
  cudaStream_t previous_stream() const { return previous_; }

 private:
  int device_;
  cudaStream_t previous_;
};

}  // namespace anima::cuda
