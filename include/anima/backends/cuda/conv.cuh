// anima/backends/cuda/conv.cuh — CUDA entries of the conv tags (anima/backends/cpu/conv.hpp), run on
// anima::cuda::current_stream() of the current device.
//
//   ConvAlgorithms::cuda  forward                               backward data / backward filter
//   Auto, Cudnn           cuDNN (backends/cuda/conv_cudnn.cuh)   cuDNN
//   ImplicitGemm          conv2d_fwd_implicit_gemm_v1 (ours)    cuDNN (there is no implicit-GEMM backward)
// cuDNN runs with this thread's handle bound to the current stream (anima/backends/cuda/library_handles.cuh).
// Its workspace comes from the device's caching allocator and is returned right after the call is
// enqueued (the allocator reuses a block only on the stream it was allocated on, so the next user of
// that block runs after this kernel).
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/core/error.hpp>
#include <anima/backends/cuda/check.cuh>
#include <anima/backends/cuda/library_handles.cuh>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/kernels/conv_math.hpp>
#include <anima/backends/cuda/conv_cudnn.cuh>
#include <anima/kernels/cuda/conv_implicit_gemm.cuh>
#include <anima/backends/cpu/conv.hpp>

namespace anima::cuda {

inline void conv2d_forward(DType dtype, const ConvAlgorithms& algorithms, const kernels::Conv2dGeometry& p,
                           const void* x, const void* w, const void* b, void* y) {
  const bool ours = algorithms.cuda == CudaConvAlgorithm::ImplicitGemm;
  ANIMA_DISPATCH_FLOATING(dtype, Conv2dForwardKernel::name, [&] {
    const auto* xs = static_cast<const scalar_t*>(x);
    const auto* ws = static_cast<const scalar_t*>(w);
    const auto* bs = static_cast<const scalar_t*>(b);
    auto* ys = static_cast<scalar_t*>(y);
    const cudaStream_t stream = current_stream();
    if (ours) {
      ANIMA_CHECK(kernels::cuda::conv2d_implicit_gemm_fits(p), "conv2d",
                  "the implicit-GEMM kernel takes at most one launch's grid: N·Ho·Wo = ", p.N * p.Ho * p.Wo,
                  ", O/groups = ", p.O / p.groups, ", groups = ", p.groups, " is too large; use cuDNN");
      ANIMA_CUDA_CHECK(kernels::cuda::conv2d_fwd_implicit_gemm(p, xs, ws, bs, ys, stream));
      return;
    }
    const cudnnHandle_t handle = cudnn_handle(stream);
    const auto plan = cudnn_conv_plan<scalar_t>(handle, CudnnConvPass::Forward, p);
    const ScopedWorkspace work = device_workspace(plan.workspace_bytes);
    cudnn_conv_forward(handle, p, plan, xs, ws, bs, ys, work.get());
  });
}

inline void conv2d_backward_data(DType dtype, const ConvAlgorithms& /*every CUDA choice: cuDNN*/,
                                 const kernels::Conv2dGeometry& p, const void* dy, const void* w, void* dx) {
  ANIMA_DISPATCH_FLOATING(dtype, Conv2dBackwardDataKernel::name, [&] {
    const cudaStream_t stream = current_stream();
    const cudnnHandle_t handle = cudnn_handle(stream);
    const auto plan = cudnn_conv_plan<scalar_t>(handle, CudnnConvPass::BackwardData, p);
    const ScopedWorkspace work = device_workspace(plan.workspace_bytes);
    cudnn_conv_backward_data(handle, p, plan, static_cast<const scalar_t*>(dy), static_cast<const scalar_t*>(w),
                             static_cast<scalar_t*>(dx), work.get());
  });
}

inline void conv2d_backward_filter(DType dtype, const ConvAlgorithms& /*every CUDA choice: cuDNN*/,
                                   const kernels::Conv2dGeometry& p, const void* x, const void* dy, void* dw,
                                   void* db) {
  ANIMA_DISPATCH_FLOATING(dtype, Conv2dBackwardFilterKernel::name, [&] {
    const cudaStream_t stream = current_stream();
    const cudnnHandle_t handle = cudnn_handle(stream);
    const auto plan = cudnn_conv_plan<scalar_t>(handle, CudnnConvPass::BackwardFilter, p);
    const ScopedWorkspace work = device_workspace(plan.workspace_bytes);
    cudnn_conv_backward_filter(handle, p, plan, static_cast<const scalar_t*>(x), static_cast<const scalar_t*>(dy),
                               static_cast<scalar_t*>(dw), static_cast<scalar_t*>(db), work.get());
  });
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_conv_kernels() {
  KernelRegistry<Conv2dForwardKernel>::cuda = &conv2d_forward;
  KernelRegistry<Conv2dBackwardDataKernel>::cuda = &conv2d_backward_data;
  KernelRegistry<Conv2dBackwardFilterKernel>::cuda = &conv2d_backward_filter;
}

}  // namespace anima::cuda
