// ResNet-50 against torchvision 0.14 (tools/golden/nets.py -> tests/golden/data/nets_resnet50.safetensors):
// both filled by anima::nn::deterministic_fill. Eval: logits [2, 1000] for two 224x224 images and the
// per-channel means of maxpool, layer1..layer4 (plus maxpool's [:, :2, :8, :8]). Training step on
// two 112x112 images: logits, cross-entropy loss, gradients of conv1, bn1, a middle and a last BN
// and fc, and the running statistics after the step. Tolerances: tests/nets/net_golden.hpp.
#include <gtest/gtest.h>

#include <anima/nets/resnet.hpp>

#include "nets/net_golden.hpp"

namespace anima {
namespace resnet50_golden_test {

using nets_golden::Probe;

const nets_golden::GoldenNet kNet("nets_resnet50.safetensors", [] { return nets::resnet50(); });

TEST(ResNet50Golden, EvalLogitsAndStages) {
  // maxpool's output is the input of layer1's first block; a stage's output is its last block's.
  kNet.check_eval({Probe{"maxpool", "layer1.0", true}, Probe{"layer1", "layer1.2", false},
                   Probe{"layer2", "layer2.3", false}, Probe{"layer3", "layer3.5", false},
                   Probe{"layer4", "layer4.2", false}});
}

// Prepared for inference: conv -> bn -> relu folded (nets/resnet.hpp's Bottleneck and stem).
TEST(ResNet50Golden, EvalLogitsPrepared) { kNet.check_eval_prepared(); }

// The training step in float64 (the precise comparison) and in float32 (coarse: see net_golden.hpp).
TEST(ResNet50Golden, TrainingStepFloat64) { kNet.check_train_step(DType::Float64); }
TEST(ResNet50Golden, TrainingStepFloat32) { kNet.check_train_step(DType::Float32); }

}  // namespace resnet50_golden_test
}  // namespace anima
