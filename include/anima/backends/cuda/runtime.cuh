// anima/backends/cuda/runtime.cuh — the CUDA DeviceRuntime (device count, allocators, copies,
// synchronisation); register_runtime() puts it into anima::cuda_runtime_slot() (called by
// anima::cuda::register_backend(), anima/backends/cuda/backend.cuh).
//
// Streams: every CUDA kernel, cuBLAS / cuDNN call, copy and memset of anima is enqueued on
// anima::cuda::current_stream(device) (anima/backends/cuda/stream.cuh): the legacy default stream
// unless this thread set another one (set_current_stream, StreamGuard). Kernels run on the current
// device (cudaSetDevice) with its current stream; copy_bytes, synchronize and the allocators select
// their device themselves and restore the previous one. copy_bytes never makes the host wait for the
// device except where the host reads the result:
//   host -> device     staged through pinned buffers and copied asynchronously on the device's current
//                      stream (anima/backends/cuda/pinned_staging.cuh); `src` may be reused on return.
//   device -> host     cudaMemcpyAsync on the device's current stream, then that stream is synchronised
//                      (the host reads the data after the call).
//   device -> device   cudaMemcpyAsync on the device's current stream; between two devices,
//                      cudaMemcpyPeerAsync on the source device's current stream, ordered after the
//                      destination's current stream's earlier work and before its later work (events).
// synchronize(device) waits for all work on the device (cudaDeviceSynchronize), not only the current
// stream: it is the point after which every earlier anima call on the device is done, whichever
// stream or thread enqueued it (cudaStreamSynchronize(current_stream()) waits for one stream).
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
#include <anima/backends/cuda/caching_allocator.cuh>
#include <anima/backends/cuda/pinned_staging.cuh>
#include <anima/backends/cuda/stream.cuh>
#include <anima/backends/cuda/check.cuh>

namespace anima::cuda {

// The caching allocator of device `index` (created on first use, never destroyed).
inline CudaCachingAllocator& caching_allocator(int index) {
  static std::mutex* mutex = new std::mutex();
  static std::vector<CudaCachingAllocator*>* allocators = new std::vector<CudaCachingAllocator*>();
  check_device_index(index, "cuda");
  std::lock_guard<std::mutex> lock(*mutex);
  if (allocators->empty()) allocators->assign(static_cast<std::size_t>(device_count()), nullptr);
  auto& slot = (*allocators)[static_cast<std::size_t>(index)];
  if (!slot) slot = new CudaCachingAllocator(index);
  return *slot;
}

inline Allocator* allocator(int index) { return &caching_allocator(index); }

// A workspace from the current device's caching allocator, for work on its current stream (see
// anima/core/workspace.hpp).
inline ScopedWorkspace device_workspace(std::size_t bytes) {
  return ScopedWorkspace(*allocator(current_device()), bytes);
}

// Releases the cached free blocks of device `index` (memory of live tensors is kept).
inline void empty_cache(int index = 0) { caching_allocator(index).empty_cache(); }

namespace runtime_detail {

// A CUDA event of the current device, destroyed with the object (CUDA releases it once it has completed).
class ScopedEvent {
 public:
  ScopedEvent() { ANIMA_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming)); }
  ~ScopedEvent() { (void)cudaEventDestroy(event_); }
  ScopedEvent(const ScopedEvent&) = delete;
  ScopedEvent& operator=(const ScopedEvent&) = delete;
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

// dst (device `dst_index`) = src (device `src_index`), on the source device's current stream, ordered
// after the destination stream's earlier work and before its later work.
inline void copy_between_devices(void* dst, int dst_index, const void* src, int src_index, std::size_t bytes) {
  const cudaStream_t dst_stream = current_stream(dst_index);
  const cudaStream_t src_stream = current_stream(src_index);
  // A null stream is the legacy default stream of the current device, so each stream is used with
  // its own device current.
  DeviceGuard on_dst(dst_index);
  ScopedEvent dst_ready;
  ANIMA_CUDA_CHECK(cudaEventRecord(dst_ready.get(), dst_stream));
  {
    DeviceGuard on_src(src_index);
    ScopedEvent copied;
    ANIMA_CUDA_CHECK(cudaStreamWaitEvent(src_stream, dst_ready.get(), 0));
    ANIMA_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_index, src, src_index, bytes, src_stream));
    ANIMA_CUDA_CHECK(cudaEventRecord(copied.get(), src_stream));
    DeviceGuard back_on_dst(dst_index);
    ANIMA_CUDA_CHECK(cudaStreamWaitEvent(dst_stream, copied.get(), 0));
  }
}

}  // namespace runtime_detail

// Copies `bytes` between host and device or device and device, on the current streams of the
// devices involved (see the header comment for when the host waits).
inline void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cuda() && src_device.is_cuda()) {
    if (dst_device.index == src_device.index) {
      DeviceGuard guard(dst_device.index);
      ANIMA_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, current_stream(dst_device.index)));
    } else {
      runtime_detail::copy_between_devices(dst, dst_device.index, src, src_device.index, bytes);
    }
  } else if (dst_device.is_cuda()) {
    DeviceGuard guard(dst_device.index);
    pinned_staging(dst_device.index).copy_to_device(dst, src, bytes, current_stream(dst_device.index));
  } else if (src_device.is_cuda()) {
    DeviceGuard guard(src_device.index);
    const cudaStream_t stream = current_stream(src_device.index);
    ANIMA_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream));
    ANIMA_CUDA_CHECK(cudaStreamSynchronize(stream));
  } else {
    fail("cuda", "copy_bytes called for a host-to-host copy");
  }
}

// Waits for all work on device `index`, on every stream; reports any asynchronous kernel error as an Error.
inline void synchronize(int index) {
  DeviceGuard guard(index);
  ANIMA_CUDA_CHECK(cudaDeviceSynchronize());
}

inline DeviceRuntime& runtime() {
  static DeviceRuntime r{"cuda", &device_count, &allocator, &copy_bytes, &synchronize};
  return r;
}

inline void register_runtime() { anima::cuda_runtime_slot() = &runtime(); }

}  // namespace anima::cuda
