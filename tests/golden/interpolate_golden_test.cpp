// interpolate (nearest, bilinear with and without align_corners; by size and by scale factor,
// including non-integer scales, where PyTorch maps output to input coordinates with 1 / scale_factor)
// against PyTorch 1.13 (fixtures: tests/golden/data/interpolate.safetensors, written by
// tools/golden/ops.py). Tolerances: golden.hpp.
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

TEST(GoldenInterpolate, EveryCase) {
  golden::run_family(
      "interpolate",
      {
          {"interpolate", {11, [](golden::Case& c) { c.check(interpolate(c.input("x"), options_of(c))); }}},
      });
}

}  // namespace
}  // namespace anima
