// relu, relu6, leaky_relu, elu, sigmoid, tanh, hardswish and prelu (one weight and one per channel)
// against PyTorch 1.13 (fixtures: tests/golden/data/activation.safetensors, written by
// tools/golden/ops.py). Inputs stay away from the kinks (0, 6, +-3). Tolerances: golden.hpp.
#include <gtest/gtest.h>

#include <anima/ops/activation.hpp>
#include <anima/ops/elementwise.hpp>

#include "golden/golden.hpp"

namespace anima {
namespace {

using golden::Case;

TEST(GoldenActivation, EveryCase) {
  golden::run_family(
      "activation",
      {
          {"relu", {2, [](Case& c) { c.check(relu(c.input("x"))); }}},
          {"relu6", {2, [](Case& c) { c.check(relu6(c.input("x"))); }}},
          {"leaky_relu", {2, [](Case& c) { c.check(leaky_relu(c.input("x"), c.number("negative_slope"))); }}},
          {"elu", {4, [](Case& c) { c.check(elu(c.input("x"), c.number("alpha"))); }}},
          {"sigmoid", {2, [](Case& c) { c.check(sigmoid(c.input("x"))); }}},
          {"tanh", {2, [](Case& c) { c.check(tanh(c.input("x"))); }}},
          {"hardswish", {2, [](Case& c) { c.check(hardswish(c.input("x"))); }}},
          {"prelu", {4, [](Case& c) { c.check(prelu(c.input("x"), c.input("weight"))); }}},
      });
}

}  // namespace
}  // namespace anima
