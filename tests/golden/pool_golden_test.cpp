// max/avg/adaptive/global average pooling against PyTorch 1.13 (fixtures:
// tests/golden/data/pool.safetensors, written by tools/golden/ops.py). Max-pool inputs have no ties,
// so PyTorch's argmax is unique and the gradient is well defined. Tolerances: golden.hpp.
#include <gtest/gtest.h>

#include <anima/ops/pool.hpp>
#include <anima/ops/view.hpp>

#include "golden/golden.hpp"

namespace anima {
namespace {

using golden::Case;

Pool2dOptions pool_options(const Case& c) {
  Pool2dOptions o;
  o.kernel_size = c.pair("kernel_size");
  o.stride = c.pair("stride");
  o.padding = c.pair("padding");
  o.ceil_mode = c.flag("ceil_mode");
  o.count_include_pad = c.flag("count_include_pad");
  return o;
}

void check_global_avg_pool2d(Case& c) {
  Tensor y = global_avg_pool2d(c.input("x"));
  // The fixture is torchvision's AdaptiveAvgPool2d(1): [N, C, 1, 1]; a [N, C] result is viewed as it.
  if (y.dim() == 2) y = reshape(y, c.stored("out").shape());
  c.check(y);
}

TEST(GoldenPool, EveryCase) {
  golden::run_family("pool",
                     {
                         {"max_pool2d", {7, [](Case& c) { c.check(max_pool2d(c.input("x"), pool_options(c))); }}},
                         {"avg_pool2d", {9, [](Case& c) { c.check(avg_pool2d(c.input("x"), pool_options(c))); }}},
                         {"adaptive_avg_pool2d",
                          {5, [](Case& c) { c.check(adaptive_avg_pool2d(c.input("x"), c.pair("output_size"))); }}},
                         {"global_avg_pool2d", {2, check_global_avg_pool2d}},
                     });
}

}  // namespace
}  // namespace anima
