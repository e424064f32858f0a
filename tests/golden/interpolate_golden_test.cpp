// interpolate (nearest, bilinear with and without align_corners; by size and by scale factor,
// including non-integer scales, where PyTorch maps output to input coordinates with 1 / scale_factor)
// against PyTorch 1.13 (fixtures: tests/golden/data/interpolate.safetensors, written by
// tools/golden/ops.py): outputs bit for bit (below), gradients within golden.hpp's tolerances.
#include <gtest/gtest.h>

#include <anima/ops/interpolate.hpp>

#include "golden/golden.hpp"

namespace anima {
namespace {

InterpolateOptions options_of(const golden::Case& c) {
  InterpolateOptions o;
  if (c.has_arg("size")) o.size = c.pair("size");
  if (c.has_arg("scale_factor")) o.scale_factor = c.real_pair("scale_factor");
  o.mode = c.text("mode") == "bilinear" ? InterpolateMode::Bilinear : InterpolateMode::Nearest;
  o.align_corners = c.flag("align_corners");
  return o;
}

// The outputs must equal PyTorch's bit for bit (max abs diff 0, float32 and float64 alike), not just
// within tolerance(dtype): anima's kernels do PyTorch 1.13's CPU arithmetic operation for operation
// (anima/kernels/interpolate_math.hpp: ratio in T, source coordinate and weights in double, weights
// rounded to T once, fused multiply-adds in PyTorch's order; nearest copies the same source pixel).
// The former float32 source coordinate and plain sum were off by up to 1.6e-5 on the 77x103 -> 127x171
// case and 1.0e-4 on the 640 -> 1066 axis of a 480x640 -> 800x1066 resize (1.8e-4 for the full 2-D
// resize of randn data); float64 by up to 6e-15. Gradients keep the usual tolerance: the backward
// scatters in another order than PyTorch's.
void check_bit_exact(golden::Case& c) {
  const Tensor y = interpolate(c.input("x"), options_of(c));
  golden::expect_close(y, c.stored("out"), 0.0, c.name + " output (bit parity with PyTorch)");
  c.check(y);
}

TEST(GoldenInterpolate, EveryCase) {
  golden::run_family("interpolate", {{"interpolate", {18, check_bit_exact}}});
}

}  // namespace
}  // namespace anima
