// conv2d and conv_transpose2d against PyTorch 1.13 (fixtures: tests/golden/data/conv.safetensors,
// written by tools/golden/ops.py). Every conv2d case runs with every CPU algorithm that applies to it,
// so each implementation is held to PyTorch, not only to our own reference. Tolerances: golden.hpp.
#include <gtest/gtest.h>

#include <vector>

#include <anima/ops/conv.hpp>

#include "golden/golden.hpp"

namespace anima {
namespace {

using golden::Case;

void conv2d_every_cpu_algorithm(Case& c) {
  std::vector<CpuConvAlgorithm> algorithms = {CpuConvAlgorithm::Auto, CpuConvAlgorithm::Reference,
                                              CpuConvAlgorithm::Im2colGemm};
  const std::int64_t groups = c.integer("groups");
  const Shape ws = c.stored("in/weight").shape();  // [O, C/groups, kh, kw]
  const std::int64_t channels = c.stored("in/input").shape()[1];
  if (groups == channels && groups > 1 && ws[0] % channels == 0) algorithms.push_back(CpuConvAlgorithm::Depthwise);
  for (CpuConvAlgorithm alg : algorithms) {
    SCOPED_TRACE(std::string("CpuConvAlgorithm::") + conv_algorithm_name(alg));
    c.reset();
    Conv2dOptions o = golden::conv_geometry<Conv2dOptions>(c);
    o.algorithms.cpu = alg;
    const Tensor x = c.input("input"), w = c.input("weight"), b = c.input("bias");
    c.check(conv2d(x, w, b, o));
  }
}

TEST(GoldenConv, EveryCase) {
  golden::run_family("conv", {
                                 {"conv2d", {12, conv2d_every_cpu_algorithm}},
                                 {"conv_transpose2d",
                                  {7,
                                   [](Case& c) {
                                     ConvTranspose2dOptions o = golden::conv_geometry<ConvTranspose2dOptions>(c);
                                     o.output_padding = c.pair("output_padding");
                                     const Tensor x = c.input("input"), w = c.input("weight"), b = c.input("bias");
                                     c.check(conv_transpose2d(x, w, b, o));
                                   }}},
                             });
}

}  // namespace
}  // namespace anima
