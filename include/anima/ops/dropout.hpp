// anima/ops/dropout.hpp — dropout (Srivastava et al. 2014, "Dropout: a simple way to prevent neural
// networks from overfitting"), inverted: the kept elements are scaled at training time.
//
// Forward (training, 0 < p < 1): u = philox_uniform draws (float32, one per element of x, row-major,
//   from the generator's next counters), keep = [u >= p] (u and p compared in float32: p rounded to the
//   nearest float), y = x · keep / (1 − p) (the factor 1/(1 − p) computed in double, rounded to x's dtype).
//   So an element is dropped with probability p (u is uniform on [0, 1)). The mask is drawn in float32
//   whatever x's dtype, so a float64 run and a float32 run with the same seed drop the same elements,
//   and CPU and CUDA draw the same u (anima/kernels/philox.hpp), hence the same mask.
// Identity (returns x itself, no draw) when !training or p == 0.
// Backward: dL/dx = g · keep / (1 − p) (the saved scaled mask m = keep / (1 − p)).
// Composite: rand + compare + where build m (no grad), then mul(x, m) gives the gradient.
// Determinism: the mask depends only on (seed, generator offset, numel): reproducible on any backend
//   and thread count. Each training call advances the generator by numel(x).
#pragma once

#include <anima/core/error.hpp>
#include <anima/core/generator.hpp>
#include <anima/core/tensor.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/elementwise_untracked.hpp>
#include <anima/ops/factory.hpp>

namespace anima {

inline Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator()) {
  ANIMA_CHECK(p >= 0.0 && p < 1.0, "dropout", "probability p must be in [0, 1), got ", p, " (input ",
              shape_str(x.shape()), ")");
  untracked::check_floating("dropout", x);
  if (!training || p == 0.0) return x;
  const Tensor u = rand(x.shape(), TensorOptions(DType::Float32).with_device(x.device()), gen);
  const Tensor keep = untracked::compare("dropout", kernels::CompareOp::Ge, u, untracked::scalar_like(u, p));
  const Tensor m = untracked::where(keep, untracked::scalar_like(x, 1.0 / (1.0 - p)), untracked::scalar_like(x, 0.0));
  return mul(x, m);
}

}  // namespace anima
