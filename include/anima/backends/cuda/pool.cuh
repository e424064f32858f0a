// anima/backends/cuda/pool.cuh — CUDA entries of the pooling kernel tags (anima/backends/cpu/pool.hpp):
// max / avg / adaptive-avg pooling forward and backward, run on anima::cuda::current_stream().
// Kernels, numerics and determinism: anima/kernels/cuda/pool.cuh.
#pragma once

#include <cstdint>

#include <anima/backends/cuda/check.cuh>
#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/kernels/cuda/pool.cuh>
#include <anima/backends/cpu/pool.hpp>

namespace anima::cuda {

inline void max_pool2d_forward(DType dtype, const void* x, const kernels::Pool2dGeometry& g, void* y,
                               std::int64_t* idx) {
  ANIMA_DISPATCH_FLOATING(dtype, MaxPool2dForwardKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::max_pool2d_forward<scalar_t>(static_cast<const scalar_t*>(x), g,
                                                                 static_cast<scalar_t*>(y), idx, current_stream()));
  });
}

inline void max_pool2d_backward(DType dtype, const void* gy, const std::int64_t* idx, const kernels::Pool2dGeometry& g,
                                void* gx) {
  ANIMA_DISPATCH_FLOATING(dtype, MaxPool2dBackwardKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::max_pool2d_backward<scalar_t>(static_cast<const scalar_t*>(gy), idx, g,
                                                                  static_cast<scalar_t*>(gx), current_stream()));
  });
}

inline void avg_pool2d_forward(DType dtype, const void* x, const kernels::Pool2dGeometry& g, bool count_include_pad,
                               void* y) {
  ANIMA_DISPATCH_FLOATING(dtype, AvgPool2dForwardKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::avg_pool2d_forward<scalar_t>(static_cast<const scalar_t*>(x), g, count_include_pad,
                                                                 static_cast<scalar_t*>(y), current_stream()));
  });
}

inline void avg_pool2d_backward(DType dtype, const void* gy, const kernels::Pool2dGeometry& g, bool count_include_pad,
                                void* gx) {
  ANIMA_DISPATCH_FLOATING(dtype, AvgPool2dBackwardKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::avg_pool2d_backward<scalar_t>(
        static_cast<const scalar_t*>(gy), g, count_include_pad, static_cast<scalar_t*>(gx), current_stream()));
  });
}

inline void adaptive_avg_pool2d_forward(DType dtype, const void* x, const kernels::Pool2dGeometry& g, void* y) {
  ANIMA_DISPATCH_FLOATING(dtype, AdaptiveAvgPool2dForwardKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::adaptive_avg_pool2d_forward<scalar_t>(static_cast<const scalar_t*>(x), g,
                                                                          static_cast<scalar_t*>(y), current_stream()));
  });
}

inline void adaptive_avg_pool2d_backward(DType dtype, const void* gy, const kernels::Pool2dGeometry& g, void* gx) {
  ANIMA_DISPATCH_FLOATING(dtype, AdaptiveAvgPool2dBackwardKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::adaptive_avg_pool2d_backward<scalar_t>(
        static_cast<const scalar_t*>(gy), g, static_cast<scalar_t*>(gx), current_stream()));
  });
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_pool_kernels() {
  KernelRegistry<MaxPool2dForwardKernel>::cuda = &max_pool2d_forward;
  KernelRegistry<MaxPool2dBackwardKernel>::cuda = &max_pool2d_backward;
  KernelRegistry<AvgPool2dForwardKernel>::cuda = &avg_pool2d_forward;
  KernelRegistry<AvgPool2dBackwardKernel>::cuda = &avg_pool2d_backward;
  KernelRegistry<AdaptiveAvgPool2dForwardKernel>::cuda = &adaptive_avg_pool2d_forward;
  KernelRegistry<AdaptiveAvgPool2dBackwardKernel>::cuda = &adaptive_avg_pool2d_backward;
}

}  // namespace anima::cuda
