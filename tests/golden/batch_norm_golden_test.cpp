// batch_norm2d (training and eval, with the running-stat update) and frozen_batch_norm2d
// (torchvision.ops.FrozenBatchNorm2d) against PyTorch 1.13 (fixtures:
// tests/golden/data/batch_norm.safetensors, written by tools/golden/ops.py). Training updates the
// running variance with the unbiased batch variance, as PyTorch does. Tolerances: golden.hpp.
#include <gtest/gtest.h>

#include <anima/ops/batch_norm.hpp>

#include "golden/golden.hpp"

namespace anima {
namespace {

using golden::Case;

TEST(GoldenBatchNorm, EveryCase) {
  golden::run_family(
      "batch_norm",
      {
          {"batch_norm2d",
           {5,
            [](Case& c) {
              const Tensor x = c.input("x"), w = c.input("weight"), b = c.input("bias");
              const Tensor rm = c.input("running_mean"), rv = c.input("running_var");
              const bool training = c.flag("training");
              c.check(batch_norm2d(x, w, b, rm, rv, training, c.number("momentum"), c.number("eps")));
              if (training) {
                c.check_after("running_mean", rm, golden::tolerance(c));
                c.check_after("running_var", rv, golden::tolerance(c));
              } else {  // eval leaves the buffers alone
                golden::expect_close(rm, c.stored("in/running_mean"), 0.0, c.name + " running_mean unchanged");
                golden::expect_close(rv, c.stored("in/running_var"), 0.0, c.name + " running_var unchanged");
              }
            }}},
          {"frozen_batch_norm2d",
           {2,
            [](Case& c) {
              const Tensor x = c.input("x"), w = c.input("weight"), b = c.input("bias");
              const Tensor rm = c.input("running_mean"), rv = c.input("running_var");
              c.check(frozen_batch_norm2d(x, w, b, rm, rv, c.number("eps")));
            }}},
      });
}

}  // namespace
}  // namespace anima
