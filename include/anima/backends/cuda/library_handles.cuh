// anima/backends/cuda/library_handles.cuh — the cuBLAS and cuDNN handles the CUDA adapters pass to the
// kernels (anima/backends/cuda/gemm_cublas.cuh, conv_cudnn.cuh), bound to a stream.
//
//   cublasHandle_t h = anima::cuda::cublas_handle(stream);   // of the current device, bound to stream
//   cudnnHandle_t h = anima::cuda::cudnn_handle(stream);
//
// One handle per thread and device: a handle is bound to one stream at a time (cublasSetStream /
// cudnnSetStream), and the current stream is thread-local (anima/backends/cuda/stream.cuh), so a handle
// shared between threads could run one thread's call on another thread's stream. Each call rebinds the
// handle to the stream it is given before returning it. When a thread exits its handles go to a
// per-device free list and are reused by the next thread that needs one, so a program that starts
// many threads creates at most as many handles per device as it ever runs threads at once.
// Handles are never destroyed (destroying one after the CUDA context is gone, at exit, can crash;
// the driver reclaims them).
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <anima/backends/cuda/stream.cuh>
#include <anima/backends/cuda/check.cuh>

namespace anima::cuda {

namespace library_handles_detail {

// Handles whose threads have exited, per device; never destroyed (thread_local destructors may run
// after static destruction).
template <class Handle>
struct FreeHandles {
  std::mutex mutex;
  std::vector<std::vector<Handle>> per_device;

  static FreeHandles& instance() {
    static FreeHandles* free_handles = new FreeHandles();
    return *free_handles;
  }
};

// The calling thread's handles, one per device, created (or taken from FreeHandles) on first use.
// Library::create(&handle) creates a handle on the current device.
template <class Library>
class ThreadHandles {
 public:
  using Handle = typename Library::Handle;

  ~ThreadHandles() {
    FreeHandles<Handle>& free_handles = FreeHandles<Handle>::instance();
    std::lock_guard<std::mutex> lock(free_handles.mutex);
    for (std::size_t d = 0; d < handles_.size(); ++d) {
      if (!handles_[d]) continue;
      if (free_handles.per_device.size() <= d) free_handles.per_device.resize(d + 1);
      free_handles.per_device[d].push_back(handles_[d]);
    }
  }

  Handle get(int device) {
    const auto d = static_cast<std::size_t>(device);
    if (handles_.size() <= d) handles_.resize(d + 1, nullptr);
    if (!handles_[d]) {
      FreeHandles<Handle>& free_handles = FreeHandles<Handle>::instance();
      {
        std::lock_guard<std::mutex> lock(free_handles.mutex);
        if (free_handles.per_device.size() > d && !free_handles.per_device[d].empty()) {
          handles_[d] = free_handles.per_device[d].back();
          free_handles.per_device[d].pop_back();
        }
      }
      if (!handles_[d]) handles_[d] = Library::create();
    }
    return handles_[d];
  }

  static ThreadHandles& of_this_thread() {
    thread_local ThreadHandles handles;
    return handles;
  }

 private:
  std::vector<Handle> handles_;
};

struct Cublas {
  using Handle = cublasHandle_t;
  static Handle create() {
    Handle h = nullptr;
    ANIMA_CUBLAS_CHECK(cublasCreate(&h));
    return h;
  }
};

struct Cudnn {
  using Handle = cudnnHandle_t;
  static Handle create() {
    Handle h = nullptr;
    ANIMA_CUDNN_CHECK(cudnnCreate(&h));
    return h;
  }
};

}  // namespace library_handles_detail

// This thread's cuBLAS handle of the current device, bound to `stream` (a stream of that device).
inline cublasHandle_t cublas_handle(cudaStream_t stream) {
  using library_handles_detail::Cublas;
  const cublasHandle_t h = library_handles_detail::ThreadHandles<Cublas>::of_this_thread().get(current_device());
  ANIMA_CUBLAS_CHECK(cublasSetStream(h, stream));
  return h;
}

// This thread's cuDNN handle of the current device, bound to `stream` (a stream of that device).
inline cudnnHandle_t cudnn_handle(cudaStream_t stream) {
  using library_handles_detail::Cudnn;
  const cudnnHandle_t h = library_handles_detail::ThreadHandles<Cudnn>::of_this_thread().get(current_device());
  ANIMA_CUDNN_CHECK(cudnnSetStream(h, stream));
  return h;
}

}  // namespace anima::cuda
