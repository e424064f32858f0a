// anima/kernels/cuda/status.cuh — how a CUDA kernel launcher reports failure.
//
// Every launcher in kernels/cuda returns [[nodiscard]] cudaError_t: cudaSuccess, or the status of the
// first runtime call or launch that failed (a launch fails on a bad configuration: grid too large, too
// much shared memory). Kernels know nothing of anima::Error; the backend adapter that calls a launcher
// turns a failure into one that names the call (ANIMA_CUDA_CHECK, anima/backends/cuda/check.cuh).
// A launch does not synchronise, so a fault inside a kernel surfaces at the next synchronising call.
//
//   ANIMA_KERNEL_TRY(cudaMemsetAsync(p, 0, bytes, stream));   // return the status if it failed
//   kernel<<<grid, block, 0, stream>>>(...);
//   ANIMA_KERNEL_TRY_LAUNCH();                                   // the launch's status
//
// A launcher whose arguments break its documented preconditions returns cudaErrorInvalidValue without
// launching; the adapters check them first and say which argument was wrong.
#pragma once

#include <cuda_runtime.h>

#define ANIMA_KERNEL_TRY(call)                                            \
  do {                                                                    \
    const cudaError_t anima_kernel_status_ = (call);                      \
    if (anima_kernel_status_ != cudaSuccess) return anima_kernel_status_; \
  } while (0)

#define ANIMA_KERNEL_TRY_LAUNCH() ANIMA_KERNEL_TRY(cudaGetLastError())
