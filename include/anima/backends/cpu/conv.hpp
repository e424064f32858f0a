// anima/backends/cpu/conv.hpp — dispatch tags of 2-D convolution (anima/ops/conv.hpp) and their CPU entries.
//
// Three tags, one per pass of conv2d (math in anima/kernels/cpu/conv_reference.hpp):
//   Conv2dForwardKernel         y  = conv(x, w) + b
//   Conv2dBackwardDataKernel    dx = convᵀ(dy, w)           (also conv_transpose2d's forward)
//   Conv2dBackwardFilterKernel  dw, db from x and dy        (db optional)
// Each takes the ConvAlgorithm the caller asked for; a backend resolves Auto itself and rejects the
// algorithms it does not implement. CPU: Reference (conv_reference.hpp), Im2colGemm (conv_im2col.hpp,
// packed GEMM on the default thread pool, workspace allocated here), Depthwise (conv_depthwise.hpp);
// Auto = Depthwise when groups == C > 1 and O is a multiple of C, else Im2colGemm. CUDA: Cudnn and
// ImplicitGemm (anima/backends/cuda/conv.cuh); Auto = Cudnn.
#pragma once

#include <cstddef>
#include <cstdint>

#include <anima/core/allocator.hpp>
#include <anima/core/dtype.hpp>
#include <anima/core/error.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/core/workspace.hpp>
#include <anima/kernels/conv_math.hpp>
#include <anima/kernels/cpu/conv_depthwise.hpp>
#include <anima/kernels/cpu/conv_im2col.hpp>
#include <anima/kernels/cpu/conv_reference.hpp>

namespace anima {

enum class ConvAlgorithm { Auto, Reference, Im2colGemm, Depthwise, Cudnn, ImplicitGemm };

inline const char* conv_algorithm_name(ConvAlgorithm a) {
  switch (a) {
    case ConvAlgorithm::Auto: return "Auto";
    case ConvAlgorithm::Reference: return "Reference";
    case ConvAlgorithm::Im2colGemm: return "Im2colGemm";
    case ConvAlgorithm::Depthwise: return "Depthwise";
    case ConvAlgorithm::Cudnn: return "Cudnn";
    case ConvAlgorithm::ImplicitGemm: return "ImplicitGemm";
  }
  return "?";
}

namespace detail {

// The CPU algorithm that runs for `requested` (Auto resolved); throws for the CUDA-only ones.
inline ConvAlgorithm cpu_conv_algorithm(ConvAlgorithm requested, const kernels::Conv2dGeometry& p, const char* op) {
  switch (requested) {
    case ConvAlgorithm::Auto: return p.is_depthwise() ? ConvAlgorithm::Depthwise : ConvAlgorithm::Im2colGemm;
    case ConvAlgorithm::Reference:
    case ConvAlgorithm::Im2colGemm: return requested;
    case ConvAlgorithm::Depthwise:
      ANIMA_CHECK(p.is_depthwise(), op,
                  "ConvAlgorithm::Depthwise needs groups == C and O a multiple of C, got C = ", p.C, ", O = ", p.O,
                  ", groups = ", p.groups);
      return requested;
    case ConvAlgorithm::Cudnn:
    case ConvAlgorithm::ImplicitGemm: break;
  }
  fail(op, "ConvAlgorithm::", conv_algorithm_name(requested),
       " runs on CUDA tensors only (the tensors are on the CPU)");
}

}  // namespace detail

struct Conv2dForwardKernel {
  // y [N, O, Ho, Wo] = conv(x [N, C, H, W], w [O, C/groups, kh, kw]) + b [O] (b may be nullptr); contiguous.
  using Fn = void(DType dtype, ConvAlgorithm algorithm, const kernels::Conv2dGeometry& p, const void* x, const void* w,
                  const void* b, void* y);
  static constexpr const char* name = "conv2d_forward";
  static void cpu(DType dtype, ConvAlgorithm algorithm, const kernels::Conv2dGeometry& p, const void* x, const void* w,
                  const void* b, void* y) {
    const ConvAlgorithm a = detail::cpu_conv_algorithm(algorithm, p, name);
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      const auto* xs = static_cast<const scalar_t*>(x);
      const auto* ws = static_cast<const scalar_t*>(w);
      const auto* bs = static_cast<const scalar_t*>(b);
      auto* ys = static_cast<scalar_t*>(y);
      ThreadPool& pool = default_thread_pool();
      if (a == ConvAlgorithm::Reference) {
        kernels::cpu::conv2d_fwd_reference(p, xs, ws, bs, ys);
      } else if (a == ConvAlgorithm::Depthwise) {
        kernels::cpu::conv2d_fwd_depthwise(p, xs, ws, bs, ys, &pool);
      } else {
        const ScopedWorkspace work =
            cpu_workspace(kernels::cpu::conv2d_im2col_workspace_bytes<scalar_t>(p, pool.size()));
        kernels::cpu::conv2d_fwd_im2col(p, xs, ws, bs, ys, work.get(), &pool);
      }
    });
  }
};

struct Conv2dBackwardDataKernel {
  // dx [N, C, H, W] (overwritten) from dy [N, O, Ho, Wo] and w [O, C/groups, kh, kw]; contiguous.
  using Fn = void(DType dtype, ConvAlgorithm algorithm, const kernels::Conv2dGeometry& p, const void* dy, const void* w,
                  void* dx);
  static constexpr const char* name = "conv2d_backward_data";
  static void cpu(DType dtype, ConvAlgorithm algorithm, const kernels::Conv2dGeometry& p, const void* dy, const void* w,
                  void* dx) {
    const ConvAlgorithm a = detail::cpu_conv_algorithm(algorithm, p, name);
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      const auto* dys = static_cast<const scalar_t*>(dy);
      const auto* ws = static_cast<const scalar_t*>(w);
      auto* dxs = static_cast<scalar_t*>(dx);
      ThreadPool& pool = default_thread_pool();
      if (a == ConvAlgorithm::Reference) {
        kernels::cpu::conv2d_bwd_data_reference(p, dys, ws, dxs);
      } else if (a == ConvAlgorithm::Depthwise) {
        kernels::cpu::conv2d_bwd_data_depthwise(p, dys, ws, dxs, &pool);
      } else {
        const ScopedWorkspace work =
            cpu_workspace(kernels::cpu::conv2d_im2col_workspace_bytes<scalar_t>(p, pool.size()));
        kernels::cpu::conv2d_bwd_data_im2col(p, dys, ws, dxs, work.get(), &pool);
      }
    });
  }
};

struct Conv2dBackwardFilterKernel {
  // dw [O, C/groups, kh, kw] and db [O] (nullptr: not wanted), overwritten, from x [N, C, H, W] and dy [N, O, Ho, Wo].
  using Fn = void(DType dtype, ConvAlgorithm algorithm, const kernels::Conv2dGeometry& p, const void* x, const void* dy,
                  void* dw, void* db);
  static constexpr const char* name = "conv2d_backward_filter";
  static void cpu(DType dtype, ConvAlgorithm algorithm, const kernels::Conv2dGeometry& p, const void* x, const void* dy,
                  void* dw, void* db) {
    const ConvAlgorithm a = detail::cpu_conv_algorithm(algorithm, p, name);
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      const auto* xs = static_cast<const scalar_t*>(x);
      const auto* dys = static_cast<const scalar_t*>(dy);
      auto* dws = static_cast<scalar_t*>(dw);
      auto* dbs = static_cast<scalar_t*>(db);
      ThreadPool& pool = default_thread_pool();
      if (a == ConvAlgorithm::Reference) {
        kernels::cpu::conv2d_bwd_filter_reference(p, xs, dys, dws, dbs);
      } else if (a == ConvAlgorithm::Depthwise) {
        kernels::cpu::conv2d_bwd_filter_depthwise(p, xs, dys, dws, dbs, &pool);
      } else {
        const ScopedWorkspace work =
            cpu_workspace(kernels::cpu::conv2d_im2col_workspace_bytes<scalar_t>(p, pool.size()));
        kernels::cpu::conv2d_bwd_filter_im2col(p, xs, dys, dws, dbs, work.get(), &pool);
      }
    });
  }
};

}  // namespace anima
