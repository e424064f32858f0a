// anima/ops/softmax.hpp — softmax and log_softmax along one dim (fused kernels, explicit backward).
//
// Forward, over the index k of dim (every other index fixed), with m = max_k x_k:
//   softmax:      y_k = e^(x_k − m) / Σ_i e^(x_i − m)
//   log_softmax:  y_k = x_k − m − log Σ_i e^(x_i − m)
// Subtracting the max keeps every exponent <= 0: no overflow for any finite input.
// Backward (g = dL/dy; saved: the output y):
//   softmax:      dL/dx_k = y_k · (g_k − Σ_i g_i · y_i)
//   log_softmax:  dL/dx_k = g_k − e^(y_k) · Σ_i g_i
// x is made contiguous and viewed as [outer, dim, inner]; SoftmaxForwardKernel / SoftmaxBackwardKernel
// (anima/backends/cpu/softmax.hpp) run on the tensor's device. The backward is not itself differentiable
// (no double backward).
// Determinism: each slice is reduced in a fixed order: bitwise reproducible on the CPU; on CUDA run-to-run
// deterministic (fixed launch shape, no atomics).
#pragma once

#include <cstdint>
#include <vector>

#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/shape.hpp>
#include <anima/core/tensor.hpp>
#include <anima/ops/elementwise_untracked.hpp>
#include <anima/backends/cpu/softmax.hpp>

namespace anima {

namespace detail {
struct SoftmaxGeometry {
  std::int64_t outer = 1, dim = 1, inner = 1;
};

inline SoftmaxGeometry softmax_geometry(const Shape& shape, int d) {
  SoftmaxGeometry g;
  if (shape.empty()) return g;  // a 0-dim tensor is one slice of one element
  for (int i = 0; i < d; ++i) g.outer *= shape[i];
  g.dim = shape[d];
  for (std::size_t i = static_cast<std::size_t>(d) + 1; i < shape.size(); ++i) g.inner *= shape[i];
  return g;
}

inline Tensor contiguous_untracked(const Tensor& t) { return t.is_contiguous() ? t : contiguous_copy(t); }

inline Tensor softmax_impl(const char* name, bool log, const Tensor& x, std::int64_t dim) {
  untracked::check_floating(name, x);
  const int d = normalize_dim(dim, x.shape(), name, /*scalar_as_vector=*/true);
  const SoftmaxGeometry geo = softmax_geometry(x.shape(), d);
  const Tensor xc = contiguous_untracked(detach(x));
  Tensor y = Tensor::empty(x.shape(), TensorOptions(x.dtype()).with_device(x.device()));
  if (y.numel() > 0)
    kernel_for<SoftmaxForwardKernel>(x.device())(x.dtype(), log, xc.raw_data(), y.raw_data(), geo.outer, geo.dim,
                                                 geo.inner);
  Tensor sy = detach(y);
  record(name, y, {x}, [sy, geo, log](const Tensor& g) -> std::vector<Tensor> {
    const Tensor gc = contiguous_untracked(g);
    Tensor dx = Tensor::empty(sy.shape(), TensorOptions(sy.dtype()).with_device(sy.device()));
    if (dx.numel() > 0)
      kernel_for<SoftmaxBackwardKernel>(sy.device())(sy.dtype(), log, sy.raw_data(), gc.raw_data(), dx.raw_data(),
                                                     geo.outer, geo.dim, geo.inner);
    return {dx};
  });
  return y;
}
}  // namespace detail

inline Tensor softmax(const Tensor& x, std::int64_t dim) { return detail::softmax_impl("softmax", false, x, dim); }

inline Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  return detail::softmax_impl("log_softmax", true, x, dim);
}

}  // namespace anima
