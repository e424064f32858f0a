// bench/cuda_device_required.cuh — the check that opens every CUDA benchmark, so that a binary built
// with CUDA still runs on a machine without a GPU and reports each of its benchmarks as skipped:
//
//   if (anima::bench::skip_without_cuda_device(state)) return;
#pragma once

#include <benchmark/benchmark.h>

#include <cuda_runtime.h>

namespace anima::bench {

// When no CUDA device is usable (no GPU, no or too old a driver), marks the benchmark skipped with
// the error "no CUDA device" and returns true. The runtime's error is cleared, so that later CUDA
// calls do not report it.
inline bool skip_without_cuda_device(benchmark::State& state) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    n = 0;
  }
  if (n > 0) return false;
  state.SkipWithError("no CUDA device");
  return true;
}

}  // namespace anima::bench
