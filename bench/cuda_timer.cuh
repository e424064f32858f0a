// bench/cuda_timer.cuh — the GPU time of one call per Google Benchmark iteration, for the CUDA
// benchmarks registered with UseManualTime():
//
//   const double seconds = anima::bench::time_cuda_iterations(state, [&] { launch(); });
//
// One warm-up call first (cuBLAS / cuDNN handles, algorithm choice, caching allocator, module
// loading) and a device synchronisation; then per iteration:
//   1. the L2 cache is flushed: a buffer of twice the device's L2 size is overwritten with
//      cudaMemsetAsync on the stream, and the host waits for it (outside the timed region);
//   2. a CUDA event is recorded on the stream, the call runs, a second event is recorded and waited for;
//   3. the time between the two events is the iteration's time (state.SetIterationTime).
// So every repetition starts from a cold L2 (as a layer of a network finds it after the other layers
// ran), rather than reading what the previous repetition left there: without the flush, inputs that
// fit the L2 (50 MB on an H100) would be timed at L2 bandwidth. The host work of the call (argument
// checks, launches, an op's host-side planning) is inside the timed region: the GPU is idle when the
// first event is recorded. All timed work must run on `stream` (anima's kernels run on
// anima::cuda::current_stream(), the legacy default stream unless a StreamGuard sets another; the
// default here is the legacy default stream).
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>

#include <cuda_runtime.h>

#include <anima/backends/cuda/check.cuh>

namespace anima::bench {

// A device buffer of twice the current device's L2 size; flush() overwrites it on a stream, which
// evicts from the L2 whatever earlier work left there.
class L2Flusher {
 public:
  L2Flusher() {
    int device = 0, l2_bytes = 0;
    ANIMA_CUDA_CHECK(cudaGetDevice(&device));
    ANIMA_CUDA_CHECK(cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, device));
    bytes_ = 2 * static_cast<std::size_t>(l2_bytes > 0 ? l2_bytes : 0);
    if (bytes_ > 0) ANIMA_CUDA_CHECK(cudaMalloc(&buffer_, bytes_));
  }
  ~L2Flusher() { cudaFree(buffer_); }
  L2Flusher(const L2Flusher&) = delete;
  L2Flusher& operator=(const L2Flusher&) = delete;

  // Overwrites the buffer on `stream` and waits until that is done.
  void flush(cudaStream_t stream) {
    if (bytes_ == 0) return;
    ANIMA_CUDA_CHECK(cudaMemsetAsync(buffer_, 0, bytes_, stream));
    ANIMA_CUDA_CHECK(cudaStreamSynchronize(stream));
  }

 private:
  void* buffer_ = nullptr;
  std::size_t bytes_ = 0;
};

// The process's flusher, made on first use and never freed: Google Benchmark calls a benchmark
// function several times (its search for the iteration count), and freeing the buffer during the
// program's exit could run after the CUDA runtime has shut down.
inline L2Flusher& l2_flusher() {
  static L2Flusher* const flusher = new L2Flusher();
  return *flusher;
}

// A start and a stop event; seconds(fn) is the GPU time of the work fn enqueues on the stream.
class CudaEventTimer {
 public:
  explicit CudaEventTimer(cudaStream_t stream) : stream_(stream) {
    ANIMA_CUDA_CHECK(cudaEventCreate(&start_));
    try {
      ANIMA_CUDA_CHECK(cudaEventCreate(&stop_));
    } catch (...) {
      cudaEventDestroy(start_);
      throw;
    }
  }
  ~CudaEventTimer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  CudaEventTimer(const CudaEventTimer&) = delete;
  CudaEventTimer& operator=(const CudaEventTimer&) = delete;

  // Records the start event, calls fn, records the stop event and waits for it; returns the seconds
  // between the two events.
  template <class Fn>
  double seconds(Fn& fn) {
    ANIMA_CUDA_CHECK(cudaEventRecord(start_, stream_));
    fn();
    ANIMA_CUDA_CHECK(cudaEventRecord(stop_, stream_));
    ANIMA_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0.f;
    ANIMA_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return static_cast<double>(ms) * 1e-3;
  }

 private:
  cudaStream_t stream_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// Runs the benchmark loop of `state` as described at the top of this file: one warm-up call of fn,
// then per iteration an L2 flush and one call timed with CUDA events as the iteration's manual time.
// Returns the seconds timed over all iterations.
template <class Fn>
double time_cuda_iterations(benchmark::State& state, Fn&& fn, cudaStream_t stream = nullptr) {
  L2Flusher& l2 = l2_flusher();
  CudaEventTimer timer(stream);
  fn();  // warm-up
  ANIMA_CUDA_CHECK(cudaDeviceSynchronize());
  double total_s = 0;
  for (auto _ : state) {
    l2.flush(stream);
    const double s = timer.seconds(fn);
    state.SetIterationTime(s);
    total_s += s;
  }
  return total_s;
}

}  // namespace anima::bench
