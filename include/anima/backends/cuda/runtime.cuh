// anima/backends/cuda/runtime.cuh — the CUDA DeviceRuntime (device count, allocators, copies,
// synchronisation); register_runtime() puts it into anima::cuda_runtime_slot() (called by
// anima::cuda::register_backend(), anima/backends/cuda/backend.cuh).
//
// Streams: every CUDA kernel and copy of anima runs on current_stream(), which is the legacy default
// stream for now. That stream orders all work on a device, which the caching allocator relies on
// (see anima/kernels/cuda/caching_allocator.cuh). copy_bytes uses cudaMemcpy (synchronous with the
// host for host<->device copies). Kernels run on the current device (cudaSetDevice); copy_bytes,
// synchronize and the allocators select their device themselves and restore the previous one.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include <cuda_runtime.h>

#include <anima/core/allocator.hpp>
#include <anima/core/device.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/error.hpp>
#include <anima/core/workspace.hpp>
#include <anima/kernels/cuda/caching_allocator.cuh>
#include <anima/kernels/cuda/check.cuh>

namespace anima::cuda {

// The stream anima's CUDA kernels run on: the legacy default stream (0) for now.
inline cudaStream_t current_stream() { return nullptr; }

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

// The caching allocator of device `index` (created on first use, never destroyed).
inline kernels::cuda::CudaCachingAllocator& caching_allocator(int index) {
  static std::mutex* mutex = new std::mutex();
  static std::vector<kernels::cuda::CudaCachingAllocator*>* allocators =
      new std::vector<kernels::cuda::CudaCachingAllocator*>();
  const int n = device_count();
  ANIMA_CHECK(index >= 0 && index < n, "cuda", "device cuda:", index, " does not exist (", n,
              " CUDA device(s) present)");
  std::lock_guard<std::mutex> lock(*mutex);
  if (allocators->empty()) allocators->assign(static_cast<std::size_t>(n), nullptr);
  auto& slot = (*allocators)[static_cast<std::size_t>(index)];
  if (!slot) slot = new kernels::cuda::CudaCachingAllocator(index);
  return *slot;
}

inline Allocator* allocator(int index) { return &caching_allocator(index); }

// A workspace from the current device's caching allocator (see anima/core/workspace.hpp).
inline ScopedWorkspace device_workspace(std::size_t bytes) {
  int device = 0;
  ANIMA_CUDA_CHECK(cudaGetDevice(&device));
  return ScopedWorkspace(*allocator(device), bytes);
}

// Releases the cached free blocks of device `index` (memory of live tensors is kept).
inline void empty_cache(int index = 0) { caching_allocator(index).empty_cache(); }

// Copies `bytes` between host and device or device and device (both synchronous with respect to
// the legacy stream's earlier work, as cudaMemcpy is).
inline void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cuda() && src_device.is_cuda()) {
    if (dst_device.index == src_device.index) {
      kernels::cuda::DeviceGuard guard(dst_device.index);
      ANIMA_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
    } else {
      ANIMA_CUDA_CHECK(cudaMemcpyPeer(dst, dst_device.index, src, src_device.index, bytes));
    }
  } else if (dst_device.is_cuda()) {
    kernels::cuda::DeviceGuard guard(dst_device.index);
    ANIMA_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
  } else if (src_device.is_cuda()) {
    kernels::cuda::DeviceGuard guard(src_device.index);
    ANIMA_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
  } else {
    fail("cuda", "copy_bytes called for a host-to-host copy");
  }
}

// Waits for all work on device `index`; reports any asynchronous kernel error as an Error.
inline void synchronize(int index) {
  kernels::cuda::DeviceGuard guard(index);
  ANIMA_CUDA_CHECK(cudaDeviceSynchronize());
}

inline DeviceRuntime& runtime() {
  static DeviceRuntime r{"cuda", &device_count, &allocator, &copy_bytes, &synchronize};
  return r;
}

inline void register_runtime() { anima::cuda_runtime_slot() = &runtime(); }

}  // namespace anima::cuda
