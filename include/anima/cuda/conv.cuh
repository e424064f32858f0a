// anima/cuda/conv.cuh — CUDA entries of the conv tags (anima/ops/conv_kernels.hpp), run on
// anima::cuda::current_stream() of the current device. Including this header registers them.
//
//   ConvAlgorithm   forward                               backward data / backward filter
//   Auto, Cudnn     cuDNN (kernels/cuda/conv_cudnn.cuh)   cuDNN
//   ImplicitGemm    conv2d_fwd_implicit_gemm_v1 (ours)    cuDNN (no own backward kernel yet)
//   Reference, Im2colGemm, Depthwise: CPU-only -> Error.
// cuDNN workspace comes from the device's caching allocator and is returned right after the call is
// enqueued (the caching allocator hands memory out in stream order on the one stream we use, so the
// next user of that block runs after this kernel).
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/core/error.hpp>
#include <anima/cuda/runtime.cuh>
#include <anima/kernels/conv_math.hpp>
#include <anima/kernels/cuda/conv_cudnn.cuh>
#include <anima/kernels/cuda/conv_implicit_gemm.cuh>
#include <anima/ops/conv_kernels.hpp>

namespace anima::cuda {

namespace conv_detail {

// Resolves Auto; rejects the CPU-only algorithms. Returns true for our implicit GEMM.
inline bool use_implicit_gemm(ConvAlgorithm a, const char* op) {
  switch (a) {
    case ConvAlgorithm::Auto:
    case ConvAlgorithm::Cudnn:
      return false;
    case ConvAlgorithm::ImplicitGemm:
      return true;
    default:
      break;
  }
  fail(op, "ConvAlgorithm::", conv_algorithm_name(a),
       " runs on CPU tensors only (CUDA offers Auto, Cudnn and ImplicitGemm)");
}

// Device workspace from the current device's caching allocator, freed when it goes out of scope.
struct DeviceWorkspace {
  Allocator* allocator = nullptr;
  void* ptr = nullptr;
  std::size_t bytes = 0;
  explicit DeviceWorkspace(std::size_t b) : bytes(b) {
    if (b == 0) return;
    int device = 0;
    ANIMA_CUDA_CHECK(cudaGetDevice(&device));
    allocator = cuda::allocator(device);
    ptr = allocator->allocate(b);
  }
  ~DeviceWorkspace() {
    if (ptr) allocator->deallocate(ptr, bytes);
  }
  DeviceWorkspace(const DeviceWorkspace&) = delete;
  DeviceWorkspace& operator=(const DeviceWorkspace&) = delete;
};

}  // namespace conv_detail

inline void conv2d_forward(DType dtype, ConvAlgorithm algorithm, const kernels::Conv2dGeometry& p, const void* x,
                           const void* w, const void* b, void* y) {
  const bool ours = conv_detail::use_implicit_gemm(algorithm, Conv2dForwardKernel::name);
  ANIMA_DISPATCH_FLOATING(dtype, Conv2dForwardKernel::name, [&] {
    const auto* xs = static_cast<const scalar_t*>(x);
    const auto* ws = static_cast<const scalar_t*>(w);
    const auto* bs = static_cast<const scalar_t*>(b);
    auto* ys = static_cast<scalar_t*>(y);
    const cudaStream_t stream = current_stream();
    if (ours) {
      kernels::cuda::conv2d_fwd_implicit_gemm(p, xs, ws, bs, ys, stream);
      return;
    }
    const auto plan = kernels::cuda::cudnn_conv_plan<scalar_t>(kernels::cuda::CudnnConvPass::Forward, p, stream);
    conv_detail::DeviceWorkspace work(plan.workspace_bytes);
    kernels::cuda::cudnn_conv_forward(p, plan, xs, ws, bs, ys, work.ptr, stream);
  });
}

inline void conv2d_backward_data(DType dtype, ConvAlgorithm algorithm, const kernels::Conv2dGeometry& p, const void* dy,
                                 const void* w, void* dx) {
  (void)conv_detail::use_implicit_gemm(algorithm, Conv2dBackwardDataKernel::name);  // both run on cuDNN
  ANIMA_DISPATCH_FLOATING(dtype, Conv2dBackwardDataKernel::name, [&] {
    const cudaStream_t stream = current_stream();
    const auto plan = kernels::cuda::cudnn_conv_plan<scalar_t>(kernels::cuda::CudnnConvPass::BackwardData, p, stream);
    conv_detail::DeviceWorkspace work(plan.workspace_bytes);
    kernels::cuda::cudnn_conv_backward_data(p, plan, static_cast<const scalar_t*>(dy), static_cast<const scalar_t*>(w),
                                            static_cast<scalar_t*>(dx), work.ptr, stream);
  });
}

inline void conv2d_backward_filter(DType dtype, ConvAlgorithm algorithm, const kernels::Conv2dGeometry& p, const void* x,
                                   const void* dy, void* dw, void* db) {
  (void)conv_detail::use_implicit_gemm(algorithm, Conv2dBackwardFilterKernel::name);  // both run on cuDNN
  ANIMA_DISPATCH_FLOATING(dtype, Conv2dBackwardFilterKernel::name, [&] {
    const cudaStream_t stream = current_stream();
    const auto plan = kernels::cuda::cudnn_conv_plan<scalar_t>(kernels::cuda::CudnnConvPass::BackwardFilter, p, stream);
    conv_detail::DeviceWorkspace work(plan.workspace_bytes);
    kernels::cuda::cudnn_conv_backward_filter(p, plan, static_cast<const scalar_t*>(x), static_cast<const scalar_t*>(dy),
                                              static_cast<scalar_t*>(dw), static_cast<scalar_t*>(db), work.ptr, stream);
  });
}

inline const bool kConvRegistered = (KernelRegistry<Conv2dForwardKernel>::cuda = &conv2d_forward,
                                     KernelRegistry<Conv2dBackwardDataKernel>::cuda = &conv2d_backward_data,
                                     KernelRegistry<Conv2dBackwardFilterKernel>::cuda = &conv2d_backward_filter, true);

}  // namespace anima::cuda
