// cross_entropy (class weights, ignore_index, label smoothing, every reduction),
// binary_cross_entropy_with_logits (weight, pos_weight), smooth_l1_loss (beta 1 and 0.5) and mse_loss
// against PyTorch 1.13 (fixtures: tests/golden/data/loss.safetensors, written by tools/golden/ops.py).
// Mean reductions follow PyTorch: cross_entropy with class weights divides by the summed weights of
// the targets that are not ignored. Tolerances: golden.hpp.
#include <gtest/gtest.h>

#include <anima/ops/loss.hpp>

#include "golden/golden.hpp"

namespace anima {
namespace {

using golden::Case;

Reduction reduction_of(const Case& c) {
  const std::string r = c.text("reduction");
  if (r == "none") return Reduction::None;
  if (r == "sum") return Reduction::Sum;
  return Reduction::Mean;
}

void check_cross_entropy(Case& c) {
  CrossEntropyOptions o;
  o.reduction = reduction_of(c);
  o.label_smoothing = c.number("label_smoothing");
  o.ignore_index = c.integer("ignore_index");
  o.weight = c.input("weight");
  const Tensor logits = c.input("logits"), target = c.input("target");
  c.check(cross_entropy(logits, target, o));
}

void check_bce_with_logits(Case& c) {
  const Tensor logits = c.input("logits"), target = c.input("target");
  const Tensor weight = c.input("weight"), pos_weight = c.input("pos_weight");
  c.check(binary_cross_entropy_with_logits(logits, target, weight, reduction_of(c), pos_weight));
}

TEST(GoldenLoss, EveryCase) {
  golden::run_family("loss", {
                                 {"cross_entropy", {13, check_cross_entropy}},
                                 {"binary_cross_entropy_with_logits", {6, check_bce_with_logits}},
                                 {"smooth_l1_loss",
                                  {6,
                                   [](Case& c) {
                                     const Tensor input = c.input("input"), target = c.input("target");
                                     c.check(smooth_l1_loss(input, target, c.number("beta"), reduction_of(c)));
                                   }}},
                                 {"mse_loss",
                                  {3,
                                   [](Case& c) {
                                     const Tensor input = c.input("input"), target = c.input("target");
                                     c.check(mse_loss(input, target, reduction_of(c)));
                                   }}},
                             });
}

}  // namespace
}  // namespace anima
