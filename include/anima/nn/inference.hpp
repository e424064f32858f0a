// anima/nn/inference.hpp — prepares a module tree for eval-only forwards.
//
// prepare_inference(root) puts root in eval mode and lets every module prepare what it can do once
// instead of on every forward: a Conv2d packs its weights for the GEMM; a chain conv -> batch norm ->
// ReLU/ReLU6 that a module owns (Sequential runs, ResNet's Bottleneck, Inception's BasicConv2d) folds
// into one convolution (nn/conv_norm_act.hpp). Forwards then use the prepared copies whenever no
// gradient is wanted (under NoGradGuard, or with nothing requiring grad), and give the same results as
// before up to the rounding of the fold (a few ulps per product).
// The prepared copies are a snapshot: train(true), load_state_dict, to(device) and replace_module drop
// them; after changing parameters any other way (writing into them), call prepare_inference again.
// Memory: one packed copy of each convolution's weights (the parameters stay as they are).
#pragma once

#include <anima/nn/module.hpp>

namespace anima::nn {

inline void prepare_inference(Module& root) {
  root.eval();
  const auto modules = root.named_modules();  // parents before children
  for (const auto& m : modules) m.second->release_inference();
  for (const auto& m : modules) m.second->prepare_inference();
}

}  // namespace anima::nn
