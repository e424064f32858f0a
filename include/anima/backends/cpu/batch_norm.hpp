// anima/backends/cpu/batch_norm.hpp — dispatch tags of the batch-norm kernels, with their CPU
// implementations (anima/kernels/cpu/batch_norm.hpp, the *_channels versions). CUDA:
// anima/backends/cuda/batch_norm.cuh.
//
// Contract shared by every backend: x, y, gy, gx are contiguous [N, C, HW]; mean, var, w, b, gw, gb are
// contiguous [C]; w, b may be null (affine = false: w = 1, b = 0); gx, gw, gb may be null (not wanted).
// var is the variance the normalisation uses (biased batch variance or running variance), invstd =
// 1/sqrt(var + eps) is derived from it in the kernel. dtype float32 or float64 for every array.
#pragma once

#include <cstdint>

#include <anima/core/dtype.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/batch_norm.hpp>

namespace anima {

// mean[c], var[c] (biased) of channel c over its N·HW values.
struct BatchNormStatsKernel {
  using Fn = void(DType dtype, const void* x, std::int64_t N, std::int64_t C, std::int64_t HW, void* mean, void* var);
  static constexpr const char* name = "batch_norm_stats";
  static void cpu(DType dtype, const void* x, std::int64_t N, std::int64_t C, std::int64_t HW, void* mean, void* var) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::batch_norm_stats_channels<scalar_t>(static_cast<const scalar_t*>(x), N, C, HW,
                                                        static_cast<scalar_t*>(mean), static_cast<scalar_t*>(var),
                                                        default_parallel());
    });
  }
};

// y = x·α + β, α = w/sqrt(var + eps), β = b - mean·α.
struct BatchNormTransformKernel {
  using Fn = void(DType dtype, const void* x, std::int64_t N, std::int64_t C, std::int64_t HW, const void* mean,
                  const void* var, const void* w, const void* b, double eps, void* y);
  static constexpr const char* name = "batch_norm";
  static void cpu(DType dtype, const void* x, std::int64_t N, std::int64_t C, std::int64_t HW, const void* mean,
                  const void* var, const void* w, const void* b, double eps, void* y) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      using T = scalar_t;
      kernels::cpu::batch_norm_transform_channels<T>(
          static_cast<const T*>(x), N, C, HW, static_cast<const T*>(mean), static_cast<const T*>(var),
          static_cast<const T*>(w), static_cast<const T*>(b), eps, static_cast<T*>(y), default_parallel());
    });
  }
};

// gx (training: through the batch statistics; eval: dy·w·invstd), gw = Σ dy·x̂, gb = Σ dy.
struct BatchNormBackwardKernel {
  using Fn = void(DType dtype, const void* x, const void* gy, std::int64_t N, std::int64_t C, std::int64_t HW,
                  const void* mean, const void* var, const void* w, double eps, bool training, void* gx, void* gw,
                  void* gb);
  static constexpr const char* name = "batch_norm_backward";
  static void cpu(DType dtype, const void* x, const void* gy, std::int64_t N, std::int64_t C, std::int64_t HW,
                  const void* mean, const void* var, const void* w, double eps, bool training, void* gx, void* gw,
                  void* gb) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      using T = scalar_t;
      kernels::cpu::batch_norm_backward_channels<T>(static_cast<const T*>(x), static_cast<const T*>(gy), N, C, HW,
                                                    static_cast<const T*>(mean), static_cast<const T*>(var),
                                                    static_cast<const T*>(w), eps, training, static_cast<T*>(gx),
                                                    static_cast<T*>(gw), static_cast<T*>(gb), default_parallel());
    });
  }
};

}  // namespace anima
