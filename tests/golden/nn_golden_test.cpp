// linear, dropout (eval and p = 0 only: masks are ours, not PyTorch's), concat, split (by size and by
// sizes), softmax, log_softmax, and broadcasting add / mul against PyTorch 1.13 (fixtures:
// tests/golden/data/nn.safetensors, written by tools/golden/ops.py). Tolerances: golden.hpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <anima/ops/concat.hpp>
#include <anima/ops/dropout.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/linear.hpp>
#include <anima/ops/softmax.hpp>

#include "golden/golden.hpp"

namespace anima {
namespace {

TEST(GoldenNn, EveryCase) {
  std::map<std::string, int> counts;
  for (auto& c : golden::load_family("nn")) {
    SCOPED_TRACE(c.name);
    ++counts[c.op];
    const double tol = golden::tolerance(c);
    if (c.op == "linear") {
      const Tensor x = c.input("x"), w = c.input("weight"), b = c.input("bias");
      c.check(linear(x, w, b), tol);
    } else if (c.op == "dropout") {
      c.check(dropout(c.input("x"), c.number("p"), c.flag("training")), tol);
    } else if (c.op == "concat") {
      std::vector<Tensor> parts;
      for (std::int64_t i = 0; i < c.integer("count"); ++i) parts.push_back(c.input("t" + std::to_string(i)));
      c.check(concat(parts, c.integer("dim")), tol);
    } else if (c.op == "split") {
      const Tensor x = c.input("x");
      c.check(c.has_arg("sizes") ? split(x, c.integers("sizes"), c.integer("dim"))
                                 : split(x, c.integer("split_size"), c.integer("dim")),
              tol);
    } else if (c.op == "softmax") {
      c.check(softmax(c.input("x"), c.integer("dim")), tol);
    } else if (c.op == "log_softmax") {
      c.check(log_softmax(c.input("x"), c.integer("dim")), tol);
    } else if (c.op == "add") {
      const Tensor a = c.input("a"), b = c.input("b");
      c.check(add(a, b), tol);
    } else if (c.op == "mul") {
      const Tensor a = c.input("a"), b = c.input("b");
      c.check(a * b, tol);
    } else {
      ADD_FAILURE() << "unknown op " << c.op;
    }
  }
  EXPECT_EQ(counts["linear"], 3);
  EXPECT_EQ(counts["dropout"], 2);
  EXPECT_EQ(counts["concat"], 3);
  EXPECT_EQ(counts["split"], 3);
  EXPECT_EQ(counts["softmax"], 3);
  EXPECT_EQ(counts["log_softmax"], 3);
  EXPECT_EQ(counts["add"], 3);
  EXPECT_EQ(counts["mul"], 3);
}

}  // namespace
}  // namespace anima
