// relu, relu6, leaky_relu, elu, sigmoid, tanh, hardswish and prelu (one weight and one per channel)
// against PyTorch 1.13 (fixtures: tests/golden/data/activation.safetensors, written by
// tools/golden/ops.py). Inputs stay away from the kinks (0, 6, +-3). Tolerances: golden.hpp.
#include <gtest/gtest.h>

#include <anima/ops/activation.hpp>
#include <anima/ops/elementwise.hpp>

#include "golden/golden.hpp"

namespace anima {
namespace {

TEST(GoldenActivation, EveryCase) {
  std::map<std::string, int> counts;
  for (auto& c : golden::load_family("activation")) {
    SCOPED_TRACE(c.name);
    ++counts[c.op];
    const double tol = golden::tolerance(c);
    const Tensor x = c.input("x");
    if (c.op == "relu") c.check(relu(x), tol);
    else if (c.op == "relu6") c.check(relu6(x), tol);
    else if (c.op == "leaky_relu") c.check(leaky_relu(x, c.number("negative_slope")), tol);
    else if (c.op == "elu") c.check(elu(x, c.number("alpha")), tol);
    else if (c.op == "sigmoid") c.check(sigmoid(x), tol);
    else if (c.op == "tanh") c.check(tanh(x), tol);
    else if (c.op == "hardswish") c.check(hardswish(x), tol);
    else if (c.op == "prelu") c.check(prelu(x, c.input("weight")), tol);
    else ADD_FAILURE() << "unknown op " << c.op;
  }
  for (const char* op : {"relu", "relu6", "leaky_relu", "sigmoid", "tanh", "hardswish"}) EXPECT_EQ(counts[op], 2) << op;
  EXPECT_EQ(counts["elu"], 4);
  EXPECT_EQ(counts["prelu"], 4);
}

}  // namespace
}  // namespace anima
