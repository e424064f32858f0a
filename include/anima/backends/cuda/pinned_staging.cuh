// anima/backends/cuda/pinned_staging.cuh — asynchronous host-to-device copies from pageable memory,
// staged through pinned (page-locked) buffers, one pool per device.
//
//   anima::cuda::pinned_staging(device).copy_to_device(dst, src, bytes, stream);
//
// A copy from pageable memory cannot be done by the GPU's DMA engine directly, and cudaMemcpy from it
// makes the host wait. Here the host copies `src` into fixed-size pinned chunks (kChunkBytes) and
// enqueues a cudaMemcpyAsync from each chunk on `stream`, then records an event after it; the call
// returns once every byte has been copied into a chunk, so `src` may be reused at once and the host
// does not wait for the device. A chunk is reused only after its event has completed (the copy out of
// it is done). The pool grows to kMaxChunks chunks (64 MiB); when that many are still in flight the
// host waits for the oldest one, which bounds the pinned memory a large upload can take.
// A copy on a capturing stream is refused with an Error: the graph would read the chunk at replay
// time, after the pool has handed it to another copy.
//
// Thread safety: one mutex per pool guards its free list; host copies into chunks run unlocked.
// Lifetime: pools and their chunks are never freed (the CUDA context may be gone at static destruction).
#pragma once

#include <cstddef>
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

#include <cuda_runtime.h>

#include <anima/core/error.hpp>
#include <anima/backends/cuda/stream.cuh>
#include <anima/backends/cuda/check.cuh>

namespace anima::cuda {

class PinnedStaging {
 public:
  static constexpr std::size_t kChunkBytes = std::size_t(2) << 20;  // 2 MiB
  static constexpr std::size_t kMaxChunks = 32;

  explicit PinnedStaging(int device) : device_(device) {}

  // Copies `bytes` from host memory `src` (pageable or not) to device memory `dst` on `stream`, a
  // stream of this pool's device, which must be the current device.
  void copy_to_device(void* dst, const void* src, std::size_t bytes, cudaStream_t stream) {
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    ANIMA_CUDA_CHECK(cudaStreamIsCapturing(stream, &capture));
    ANIMA_CHECK(capture == cudaStreamCaptureStatusNone, "copy_bytes",
                "a host-to-device copy cannot be captured into a CUDA graph (it is staged through a reused pinned "
                "buffer); upload before capturing");
    for (std::size_t offset = 0; offset < bytes; offset += kChunkBytes) {
      const std::size_t n = bytes - offset < kChunkBytes ? bytes - offset : kChunkBytes;
      Chunk chunk = take();
      ChunkReturn give_back{this, &chunk};
      std::memcpy(chunk.host, static_cast<const char*>(src) + offset, n);
      ANIMA_CUDA_CHECK(
          cudaMemcpyAsync(static_cast<char*>(dst) + offset, chunk.host, n, cudaMemcpyHostToDevice, stream));
      ANIMA_CUDA_CHECK(cudaEventRecord(chunk.copied, stream));
    }
  }

  // Chunks allocated so far.
  std::size_t chunk_count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return allocated_;
  }

 private:
  struct Chunk {
    void* host = nullptr;          // kChunkBytes of pinned memory
    cudaEvent_t copied = nullptr;  // recorded after the last copy out of `host`
  };

  // Gives the chunk back to the free list when the copy through it has been enqueued (or failed).
  struct ChunkReturn {
    PinnedStaging* pool;
    Chunk* chunk;
    ~ChunkReturn() {
      std::lock_guard<std::mutex> lock(pool->mutex_);
      pool->free_.push_back(*chunk);
    }
  };

  // A chunk whose last copy has completed: the oldest free one if done, else a new one while fewer
  // than kMaxChunks exist, else the oldest after waiting for it (a new one also when every chunk is
  // being filled by another thread, so the cap is exceeded only by concurrent copies).
  Chunk take() {
    Chunk chunk;
    bool wait = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        const cudaError_t status = cudaEventQuery(free_.front().copied);
        if (status == cudaSuccess || allocated_ >= kMaxChunks) {
          chunk = free_.front();
          free_.pop_front();
          wait = status != cudaSuccess;
        } else if (status != cudaErrorNotReady) {
          ANIMA_CUDA_CHECK(status);
        }
      }
      if (!chunk.host) ++allocated_;
    }
    if (wait) {
      ANIMA_CUDA_CHECK(cudaEventSynchronize(chunk.copied));
    } else if (!chunk.host) {
      try {
        DeviceGuard guard(device_);
        ANIMA_CUDA_CHECK(cudaHostAlloc(&chunk.host, kChunkBytes, cudaHostAllocDefault));
        ANIMA_CUDA_CHECK(cudaEventCreateWithFlags(&chunk.copied, cudaEventDisableTiming));
      } catch (...) {
        if (chunk.host) (void)cudaFreeHost(chunk.host);
        std::lock_guard<std::mutex> lock(mutex_);
        --allocated_;
        throw;
      }
    }
    return chunk;
  }

  const int device_;
  mutable std::mutex mutex_;
  std::deque<Chunk> free_;  // oldest use first
  std::size_t allocated_ = 0;
};

// The staging pool of device `index` (created on first use, never destroyed).
inline PinnedStaging& pinned_staging(int index) {
  static std::mutex* mutex = new std::mutex();
  static std::vector<PinnedStaging*>* pools = new std::vector<PinnedStaging*>();
  check_device_index(index, "pinned_staging");
  std::lock_guard<std::mutex> lock(*mutex);
  if (pools->empty()) pools->assign(static_cast<std::size_t>(device_count()), nullptr);
  PinnedStaging*& slot = (*pools)[static_cast<std::size_t>(index)];
  if (!slot) slot = new PinnedStaging(index);
  return *slot;
}

}  // namespace anima::cuda
