// anima/backends/cpu/conv.hpp — dispatch tags of 2-D convolution (anima/ops/conv.hpp) and their CPU entries.
//
// Three tags, one per pass of conv2d (math in anima/kernels/cpu/conv_reference.hpp):
//   Conv2dForwardKernel         y  = conv(x, w) + b
//   Conv2dBackwardDataKernel    dx = convᵀ(dy, w)           (also conv_transpose2d's forward)
//   Conv2dBackwardFilterKernel  dw, db from x and dy        (db optional)
// and two for eval-time fusion (anima/ops/conv_inference.hpp), CPU only (other backends compose):
//   Conv2dPackWeightKernel      w packed once per group for the GEMM (im2col algorithm only)
//   Conv2dFusedForwardKernel    y  = act(conv(x, w) + b), reading the prepacked weights when given
// Each takes the caller's ConvAlgorithms (anima/backends/conv_algorithms.hpp) and runs its own backend's
// field: here ConvAlgorithms::cpu, with the packed GEMM on the default thread pool and its workspace
// the calling thread's (cpu_thread_workspace: kept between calls, grown to the largest one). CUDA entries: anima/backends/cuda/conv.cuh.
#pragma once

#include <cstddef>
#include <cstdint>

#include <anima/core/allocator.hpp>
#include <anima/core/dtype.hpp>
#include <anima/core/error.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/core/workspace.hpp>
#include <anima/backends/conv_algorithms.hpp>
#include <anima/kernels/conv_math.hpp>
#include <anima/kernels/cpu/conv_depthwise.hpp>
#include <anima/kernels/cpu/conv_im2col.hpp>
#include <anima/kernels/cpu/conv_reference.hpp>

namespace anima {

namespace detail {

// The CPU algorithm that runs (Auto resolved); throws when it does not support the geometry.
inline CpuConvAlgorithm cpu_conv_algorithm(CpuConvAlgorithm requested, const kernels::Conv2dGeometry& p,
                                           const char* op) {
  if (requested == CpuConvAlgorithm::Auto)
    return p.is_depthwise() ? CpuConvAlgorithm::Depthwise : CpuConvAlgorithm::Im2colGemm;
  ANIMA_CHECK(conv_supports(requested, p), op, "CpuConvAlgorithm::", conv_algorithm_name(requested),
              " needs groups == C > 1 and O a multiple of C, got C = ", p.C, ", O = ", p.O, ", groups = ", p.groups);
  return requested;
}

}  // namespace detail

struct Conv2dForwardKernel {
  // y [N, O, Ho, Wo] = conv(x [N, C, H, W], w [O, C/groups, kh, kw]) + b [O] (b may be nullptr); contiguous.
  using Fn = void(DType dtype, const ConvAlgorithms& algorithms, const kernels::Conv2dGeometry& p, const void* x,
                  const void* w, const void* b, void* y);
  static constexpr const char* name = "conv2d_forward";
  static void cpu(DType dtype, const ConvAlgorithms& algorithms, const kernels::Conv2dGeometry& p, const void* x,
                  const void* w, const void* b, void* y) {
    const CpuConvAlgorithm a = detail::cpu_conv_algorithm(algorithms.cpu, p, name);
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      const auto* xs = static_cast<const scalar_t*>(x);
      const auto* ws = static_cast<const scalar_t*>(w);
      const auto* bs = static_cast<const scalar_t*>(b);
      auto* ys = static_cast<scalar_t*>(y);
      const kernels::ParallelFor parallel = default_parallel();
      if (a == CpuConvAlgorithm::Reference) {
        kernels::cpu::conv2d_fwd_reference(p, xs, ws, bs, ys);
      } else if (a == CpuConvAlgorithm::Depthwise) {
        kernels::cpu::conv2d_fwd_depthwise(p, xs, ws, bs, ys, parallel);
      } else {
        void* work =
            cpu_thread_workspace().get(kernels::cpu::conv2d_im2col_forward_workspace_bytes<scalar_t>(p, parallel.size()));
        kernels::cpu::conv2d_fwd_im2col(p, xs, ws, bs, ys, work, parallel);
      }
    });
  }
};

struct Conv2dBackwardDataKernel {
  // dx [N, C, H, W] (overwritten) from dy [N, O, Ho, Wo] and w [O, C/groups, kh, kw]; contiguous.
  using Fn = void(DType dtype, const ConvAlgorithms& algorithms, const kernels::Conv2dGeometry& p, const void* dy,
                  const void* w, void* dx);
  static constexpr const char* name = "conv2d_backward_data";
  static void cpu(DType dtype, const ConvAlgorithms& algorithms, const kernels::Conv2dGeometry& p, const void* dy,
                  const void* w, void* dx) {
    const CpuConvAlgorithm a = detail::cpu_conv_algorithm(algorithms.cpu, p, name);
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      const auto* dys = static_cast<const scalar_t*>(dy);
      const auto* ws = static_cast<const scalar_t*>(w);
      auto* dxs = static_cast<scalar_t*>(dx);
      const kernels::ParallelFor parallel = default_parallel();
      if (a == CpuConvAlgorithm::Reference) {
        kernels::cpu::conv2d_bwd_data_reference(p, dys, ws, dxs);
      } else if (a == CpuConvAlgorithm::Depthwise) {
        kernels::cpu::conv2d_bwd_data_depthwise(p, dys, ws, dxs, parallel);
      } else {
        void* work =
            cpu_thread_workspace().get(kernels::cpu::conv2d_im2col_workspace_bytes<scalar_t>(p, parallel.size()));
        kernels::cpu::conv2d_bwd_data_im2col(p, dys, ws, dxs, work, parallel);
      }
    });
  }
};

struct Conv2dBackwardFilterKernel {
  // dw [O, C/groups, kh, kw] and db [O] (nullptr: not wanted), overwritten, from x [N, C, H, W] and dy [N, O, Ho, Wo].
  using Fn = void(DType dtype, const ConvAlgorithms& algorithms, const kernels::Conv2dGeometry& p, const void* x,
                  const void* dy, void* dw, void* db);
  static constexpr const char* name = "conv2d_backward_filter";
  static void cpu(DType dtype, const ConvAlgorithms& algorithms, const kernels::Conv2dGeometry& p, const void* x,
                  const void* dy, void* dw, void* db) {
    const CpuConvAlgorithm a = detail::cpu_conv_algorithm(algorithms.cpu, p, name);
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      const auto* xs = static_cast<const scalar_t*>(x);
      const auto* dys = static_cast<const scalar_t*>(dy);
      auto* dws = static_cast<scalar_t*>(dw);
      auto* dbs = static_cast<scalar_t*>(db);
      const kernels::ParallelFor parallel = default_parallel();
      if (a == CpuConvAlgorithm::Reference) {
        kernels::cpu::conv2d_bwd_filter_reference(p, xs, dys, dws, dbs);
      } else if (a == CpuConvAlgorithm::Depthwise) {
        kernels::cpu::conv2d_bwd_filter_depthwise(p, xs, dys, dws, dbs, parallel);
      } else {
        void* work =
            cpu_thread_workspace().get(kernels::cpu::conv2d_im2col_workspace_bytes<scalar_t>(p, parallel.size()));
        kernels::cpu::conv2d_bwd_filter_im2col(p, xs, dys, dws, dbs, work, parallel);
      }
    });
  }
};

struct Conv2dPackWeightKernel {
  // Elements (of the dtype) the packed weights of geometry p take: groups x one group's packed [O/groups, K].
  static std::int64_t elements(DType dtype, const kernels::Conv2dGeometry& p) {
    std::int64_t n = 0;
    ANIMA_DISPATCH_FLOATING(dtype, "conv2d_pack_weight", [&] {
      n = p.groups * kernels::cpu::conv2d_packed_weight_group_elements<scalar_t>(p);
    });
    return n;
  }
  // dst [elements(dtype, p)] = w [O, C/groups, kh, kw] packed for the ISA selected now; returns that ISA.
  static kernels::cpu::GemmIsa cpu(DType dtype, const kernels::Conv2dGeometry& p, const void* w, void* dst) {
    kernels::cpu::GemmIsa isa = kernels::cpu::GemmIsa::automatic;
    ANIMA_DISPATCH_FLOATING(dtype, "conv2d_pack_weight", [&] {
      isa = kernels::cpu::conv2d_pack_weight(p, static_cast<const scalar_t*>(w), static_cast<scalar_t*>(dst));
    });
    return isa;
  }
};

struct Conv2dFusedForwardKernel {
  // y [N, O, Ho, Wo] = act(conv(x, w) + b) (b may be nullptr); packed: w packed by Conv2dPackWeightKernel
  // for `packed_isa`, or nullptr (packed as the GEMM runs). Contiguous.
  static constexpr const char* name = "conv2d_fused_forward";
  static void cpu(DType dtype, const ConvAlgorithms& algorithms, const kernels::Conv2dGeometry& p, const void* x,
                  const void* w, const void* b, kernels::ConvActivation act, const void* packed,
                  kernels::cpu::GemmIsa packed_isa, void* y) {
    const CpuConvAlgorithm a = detail::cpu_conv_algorithm(algorithms.cpu, p, name);
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      const auto* xs = static_cast<const scalar_t*>(x);
      const auto* ws = static_cast<const scalar_t*>(w);
      const auto* bs = static_cast<const scalar_t*>(b);
      auto* ys = static_cast<scalar_t*>(y);
      const kernels::ParallelFor parallel = default_parallel();
      if (a == CpuConvAlgorithm::Reference) {
        kernels::cpu::conv2d_fwd_reference(p, xs, ws, bs, ys);
        const std::int64_t n = p.N * p.O * p.Ho * p.Wo;
        if (act != kernels::ConvActivation::None)
          for (std::int64_t e = 0; e < n; ++e) ys[e] = kernels::conv_activate(act, ys[e]);
      } else if (a == CpuConvAlgorithm::Depthwise) {
        kernels::cpu::conv2d_fwd_depthwise(p, xs, ws, bs, ys, parallel, act);
      } else {
        kernels::cpu::Conv2dForwardExtras<scalar_t> extras;
        extras.activation = act;
        extras.packed_weight = static_cast<const scalar_t*>(packed);
        extras.packed_isa = packed_isa;
        void* work =
            cpu_thread_workspace().get(kernels::cpu::conv2d_im2col_forward_workspace_bytes<scalar_t>(p, parallel.size()));
        kernels::cpu::conv2d_fwd_im2col(p, xs, ws, bs, ys, work, parallel, extras);
      }
    });
  }
};

}  // namespace anima
