// anima/backends/cuda/check.cuh — CUDA, cuBLAS and cuDNN status codes become anima::Error.
//
//   ANIMA_CUDA_CHECK(cudaMemcpy(...));        ANIMA_CUBLAS_CHECK(cublasSgemm(...));
//   ANIMA_CUDNN_CHECK(cudnnSetStream(...));   ANIMA_CUDA_CHECK(kernels::cuda::max_pool2d_forward(...));
//
// Kernel launchers (kernels/cuda) return their cudaError_t; the adapters check it here, so the message
// names the launcher call as the adapter wrote it.
//
// The message names the call as written (#call), the status name and its description, and file:line:
//   "anima::cuda: cudaMemcpy(dst, src, n, kind) failed: cudaErrorInvalidValue (invalid argument) at f.cuh:12"
// A failed CUDA runtime call also clears the runtime's last-error slot (cudaGetLastError), so a
// non-sticky error is reported once, by the call that caused it, and not again by the next launch
// check. Sticky errors (a kernel fault) stay: the context is unusable and every later call reports it.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <anima/core/error.hpp>

namespace anima::cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  (void)cudaGetLastError();  // clear a non-sticky error so it is reported only here
  throw Error(str_cat("anima::cuda: ", call, " failed: ", cudaGetErrorName(status), " (", cudaGetErrorString(status),
                      ") at ", file, ":", line));
}

[[noreturn]] inline void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  throw Error(str_cat("anima::cublas: ", call, " failed: ", cublasGetStatusName(status), " (",
                      cublasGetStatusString(status), ") at ", file, ":", line));
}

[[noreturn]] inline void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file, int line) {
  throw Error(str_cat("anima::cudnn: ", call, " failed: status ", static_cast<int>(status), " (",
                      cudnnGetErrorString(status), ") at ", file, ":", line));
}

}  // namespace anima::cuda

#define ANIMA_CUDA_CHECK(call)                                                        \
  do {                                                                                \
    const cudaError_t anima_cuda_status_ = (call);                                    \
    if (anima_cuda_status_ != cudaSuccess)                                            \
      ::anima::cuda::throw_cuda_error(anima_cuda_status_, #call, __FILE__, __LINE__); \
  } while (0)

#define ANIMA_CUBLAS_CHECK(call)                                                          \
  do {                                                                                    \
    const cublasStatus_t anima_cublas_status_ = (call);                                   \
    if (anima_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                    \
      ::anima::cuda::throw_cublas_error(anima_cublas_status_, #call, __FILE__, __LINE__); \
  } while (0)

#define ANIMA_CUDNN_CHECK(call)                                                         \
  do {                                                                                  \
    const cudnnStatus_t anima_cudnn_status_ = (call);                                   \
    if (anima_cudnn_status_ != CUDNN_STATUS_SUCCESS)                                    \
      ::anima::cuda::throw_cudnn_error(anima_cudnn_status_, #call, __FILE__, __LINE__); \
  } while (0)

// After a <<<...>>> launch: reports a bad configuration (grid too large, too much shared memory) as
// an Error naming the kernel. Does not synchronise, so faults inside the kernel surface at the next
// synchronising call.
#define ANIMA_CUDA_CHECK_LAUNCH(kernel_name)                                                             \
  do {                                                                                                   \
    const cudaError_t anima_cuda_status_ = cudaGetLastError();                                           \
    if (anima_cuda_status_ != cudaSuccess)                                                               \
      ::anima::cuda::throw_cuda_error(anima_cuda_status_, "launch of " kernel_name, __FILE__, __LINE__); \
  } while (0)
