// tests/core/random_inputs.hpp — the random test inputs every op test draws: Philox uniforms on the
// CPU, in a given dtype, optionally leaves that require grad (so a case is reproducible from its seed).
#pragma once

#include <cstdint>

#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/ops/factory.hpp>

namespace anima::testing {

// Philox uniforms in [lo, hi) on the CPU, in `dtype` (drawn in float64, then rounded: the same values
// for every dtype up to that rounding); a leaf requiring grad when `grad`.
inline Tensor uniform(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0,
                      DType dtype = DType::Float32, bool grad = true) {
  Generator g(seed);
  Tensor t = cast_copy(rand(shape, TensorOptions(DType::Float64), g, lo, hi), dtype);
  if (grad) t.set_requires_grad(true);
  return t;
}
// The float64 leaf most gradchecks start from.
inline Tensor uniform64(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0, bool grad = true) {
  return uniform(shape, seed, lo, hi, DType::Float64, grad);
}

}  // namespace anima::testing
