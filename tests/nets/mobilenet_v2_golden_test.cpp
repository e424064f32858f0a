// MobileNetV2 against torchvision 0.14 (tools/golden/nets.py ->
// tests/golden/data/nets_mobilenet_v2.safetensors): both filled by anima::nn::deterministic_fill.
// Eval: logits [2, 1000] for two 224x224 images and the per-channel means of features.1, .3, .10,
// .18 (plus features.1's [:, :2, :8, :8]). Training step on two 112x112 images (dropout off): logits,
// loss, gradients of the stem conv and BN, a depthwise conv, an expansion BN and the classifier, and
// running statistics after the step. Tolerances: tests/nets/net_golden.hpp.
#include <gtest/gtest.h>

#include <anima/nets/mobilenet_v2.hpp>

#include "nets/net_golden.hpp"

namespace anima {
namespace mobilenet_v2_golden_test {

using nets_golden::output_of;

const nets_golden::GoldenNet kNet("nets_mobilenet_v2.safetensors", [] { return nets::mobilenet_v2(); });

TEST(MobileNetV2Golden, EvalLogitsAndStages) {
  kNet.check_eval(
      {output_of("features.1"), output_of("features.3"), output_of("features.10"), output_of("features.18")});
}

// Prepared for inference: Conv2dNormActivation runs and the projections folded (Sequential).
TEST(MobileNetV2Golden, EvalLogitsPrepared) { kNet.check_eval_prepared(); }

// The training step in float64 (the precise comparison) and in float32 (coarse: see net_golden.hpp).
TEST(MobileNetV2Golden, TrainingStepFloat64) { kNet.check_train_step(DType::Float64); }
TEST(MobileNetV2Golden, TrainingStepFloat32) { kNet.check_train_step(DType::Float32); }

}  // namespace mobilenet_v2_golden_test
}  // namespace anima
