// conv2d and conv_transpose2d against PyTorch 1.13 (fixtures: tests/golden/data/conv.safetensors,
// written by tools/golden/ops.py). Every case runs with every CPU algorithm that applies to it, so
// each implementation is held to PyTorch, not only to our own reference. Tolerances: golden.hpp.
#include <gtest/gtest.h>

#include <vector>

#include <anima/ops/conv.hpp>

#include "golden/golden.hpp"

namespace anima {
namespace {

TEST(GoldenConv, Conv2dEveryCpuAlgorithm) {
  int cases = 0;
  for (auto& c : golden::load_family("conv")) {
    if (c.op != "conv2d") continue;
    ++cases;
    std::vector<ConvAlgorithm> algorithms = {ConvAlgorithm::Auto, ConvAlgorithm::Reference, ConvAlgorithm::Im2colGemm};
    const std::int64_t groups = c.integer("groups");
    const Shape ws = c.stored("in/weight").shape();                        // [O, C/groups, kh, kw]
    const std::int64_t channels = c.stored("in/input").shape()[1];
    if (groups == channels && groups > 1 && ws[0] % channels == 0) algorithms.push_back(ConvAlgorithm::Depthwise);
    for (ConvAlgorithm alg : algorithms) {
      SCOPED_TRACE(c.name + " with ConvAlgorithm::" + conv_algorithm_name(alg));
      c.reset();
      Conv2dOptions o;
      o.stride = c.pair("stride");
      o.padding = c.pair("padding");
      o.dilation = c.pair("dilation");
      o.groups = groups;
      o.algorithm = alg;
      const Tensor x = c.input("input"), w = c.input("weight"), b = c.input("bias");
      c.check(conv2d(x, w, b, o), golden::tolerance(c));
    }
  }
  EXPECT_EQ(cases, 12) << "conv2d cases in the fixture";
}

TEST(GoldenConv, ConvTranspose2d) {
  int cases = 0;
  for (auto& c : golden::load_family("conv")) {
    if (c.op != "conv_transpose2d") continue;
    ++cases;
    SCOPED_TRACE(c.name);
    ConvTranspose2dOptions o;
    o.stride = c.pair("stride");
    o.padding = c.pair("padding");
    o.output_padding = c.pair("output_padding");
    o.dilation = c.pair("dilation");
    o.groups = c.integer("groups");
    const Tensor x = c.input("input"), w = c.input("weight"), b = c.input("bias");
    c.check(conv_transpose2d(x, w, b, o), golden::tolerance(c));
  }
  EXPECT_EQ(cases, 7) << "conv_transpose2d cases in the fixture";
}

}  // namespace
}  // namespace anima
