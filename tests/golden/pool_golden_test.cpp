// max/avg/adaptive/global average pooling against PyTorch 1.13 (fixtures:
// tests/golden/data/pool.safetensors, written by tools/golden/ops.py). Max-pool inputs have no ties,
// so PyTorch's argmax is unique and the gradient is well defined. Tolerances: golden.hpp.
#include <gtest/gtest.h>

#include <anima/ops/pool.hpp>
#include <anima/ops/view.hpp>

#include "golden/golden.hpp"

namespace anima {
namespace {

Pool2dOptions pool_options(const golden::Case& c) {
  Pool2dOptions o;
  o.kernel_size = c.pair("kernel_size");
  o.stride = c.pair("stride");
  o.padding = c.pair("padding");
  o.ceil_mode = c.flag("ceil_mode");
  o.count_include_pad = c.flag("count_include_pad");
  return o;
}

TEST(GoldenPool, EveryCase) {
  std::map<std::string, int> counts;
  for (auto& c : golden::load_family("pool")) {
    SCOPED_TRACE(c.name);
    ++counts[c.op];
    const Tensor x = c.input("x");
    const double tol = golden::tolerance(c);
    if (c.op == "max_pool2d") {
      c.check(max_pool2d(x, pool_options(c)), tol);
    } else if (c.op == "avg_pool2d") {
      c.check(avg_pool2d(x, pool_options(c)), tol);
    } else if (c.op == "adaptive_avg_pool2d") {
      c.check(adaptive_avg_pool2d(x, c.pair("output_size")), tol);
    } else if (c.op == "global_avg_pool2d") {
      Tensor y = global_avg_pool2d(x);
      // The fixture is torchvision's AdaptiveAvgPool2d(1): [N, C, 1, 1]; a [N, C] result is viewed as it.
      if (y.dim() == 2) y = reshape(y, c.stored("out").shape());
      c.check(y, tol);
    } else {
      ADD_FAILURE() << "unknown op " << c.op;
    }
  }
  EXPECT_EQ(counts["max_pool2d"], 7);
  EXPECT_EQ(counts["avg_pool2d"], 9);
  EXPECT_EQ(counts["adaptive_avg_pool2d"], 5);
  EXPECT_EQ(counts["global_avg_pool2d"], 2);
}

}  // namespace
}  // namespace anima
