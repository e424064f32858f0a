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

using golden::Case;

void check_concat(Case& c) {
  std::vector<Tensor> parts;
  for (std::int64_t i = 0; i < c.integer("count"); ++i) parts.push_back(c.input("t" + std::to_string(i)));
  c.check(concat(parts, c.integer("dim")));
}

void check_split(Case& c) {
  const Tensor x = c.input("x");
  c.check(c.has_arg("sizes") ? split(x, c.integers("sizes"), c.integer("dim"))
                             : split(x, c.integer("split_size"), c.integer("dim")));
}

TEST(GoldenNn, EveryCase) {
  golden::run_family(
      "nn", {
                {"linear",
                 {3,
                  [](Case& c) {
                    const Tensor x = c.input("x"), w = c.input("weight"), b = c.input("bias");
                    c.check(linear(x, w, b));
                  }}},
                {"dropout", {2, [](Case& c) { c.check(dropout(c.input("x"), c.number("p"), c.flag("training"))); }}},
                {"concat", {3, check_concat}},
                {"split", {3, check_split}},
                {"softmax", {3, [](Case& c) { c.check(softmax(c.input("x"), c.integer("dim"))); }}},
                {"log_softmax", {3, [](Case& c) { c.check(log_softmax(c.input("x"), c.integer("dim"))); }}},
                {"add",
                 {3,
                  [](Case& c) {
                    const Tensor a = c.input("a"), b = c.input("b");
                    c.check(add(a, b));
                  }}},
                {"mul",
                 {3,
                  [](Case& c) {
                    const Tensor a = c.input("a"), b = c.input("b");
                    c.check(a * b);
                  }}},
            });
}

}  // namespace
}  // namespace anima
