// anima/backends/cuda/batch_norm.cuh — CUDA entries of the batch-norm kernel tags (anima/backends/cpu/batch_norm.hpp):
// per-channel statistics, the normalising transform and the fused backward, run on
// anima::cuda::current_stream(). Kernels, numerics and determinism: anima/kernels/cuda/batch_norm.cuh.
#pragma once

#include <cstdint>

#include <anima/backends/cuda/check.cuh>
#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/kernels/cuda/batch_norm.cuh>
#include <anima/backends/cpu/batch_norm.hpp>

namespace anima::cuda {

inline void batch_norm_stats(DType dtype, const void* x, std::int64_t N, std::int64_t C, std::int64_t HW, void* mean,
                             void* var) {
  ANIMA_DISPATCH_FLOATING(dtype, BatchNormStatsKernel::name, [&] {
    using T = scalar_t;
    ANIMA_CUDA_CHECK(kernels::cuda::batch_norm_stats<T>(static_cast<const T*>(x), N, C, HW, static_cast<T*>(mean),
                                                        static_cast<T*>(var), current_stream()));
  });
}

inline void batch_norm_transform(DType dtype, const void* x, std::int64_t N, std::int64_t C, std::int64_t HW,
                                 const void* mean, const void* var, const void* w, const void* b, double eps, void* y) {
  ANIMA_DISPATCH_FLOATING(dtype, BatchNormTransformKernel::name, [&] {
    using T = scalar_t;
    ANIMA_CUDA_CHECK(kernels::cuda::batch_norm_transform<T>(
        static_cast<const T*>(x), N, C, HW, static_cast<const T*>(mean), static_cast<const T*>(var),
        static_cast<const T*>(w), static_cast<const T*>(b), eps, static_cast<T*>(y), current_stream()));
  });
}

inline void batch_norm_backward(DType dtype, const void* x, const void* gy, std::int64_t N, std::int64_t C,
                                std::int64_t HW, const void* mean, const void* var, const void* w, double eps,
                                bool training, void* gx, void* gw, void* gb) {
  ANIMA_DISPATCH_FLOATING(dtype, BatchNormBackwardKernel::name, [&] {
    using T = scalar_t;
    ANIMA_CUDA_CHECK(kernels::cuda::batch_norm_backward<T>(static_cast<const T*>(x), static_cast<const T*>(gy), N, C,
                                                           HW, static_cast<const T*>(mean), static_cast<const T*>(var),
                                                           static_cast<const T*>(w), eps, training, static_cast<T*>(gx),
                                                           static_cast<T*>(gw), static_cast<T*>(gb), current_stream()));
  });
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_batch_norm_kernels() {
  KernelRegistry<BatchNormStatsKernel>::cuda = &batch_norm_stats;
  KernelRegistry<BatchNormTransformKernel>::cuda = &batch_norm_transform;
  KernelRegistry<BatchNormBackwardKernel>::cuda = &batch_norm_backward;
}

}  // namespace anima::cuda
