// VGG16 and VGG16-BN against torchvision 0.14 (tools/golden/nets.py ->
// tests/golden/data/nets_vgg16.safetensors, nets_vgg16_bn.safetensors): both filled by
// anima::nn::deterministic_fill (138M parameters). Eval: logits [2, 1000] for two 224x224 images and
// the per-channel means of three points of `features` (the first block's second ReLU, the
// third pool, the last pool), plus the first one's [:, :2, :8, :8]. Tolerances: tests/nets/net_golden.hpp.
#include <gtest/gtest.h>

#include <anima/nets/vgg.hpp>

#include "nets/net_golden.hpp"

namespace anima {
namespace vgg16_golden_test {

using nets_golden::output_of;

TEST(Vgg16Golden, EvalLogitsAndStages) {
  const nets_golden::GoldenNet net("nets_vgg16.safetensors", [] { return nets::vgg16(); });
  net.check_eval({output_of("features.3"), output_of("features.16"), output_of("features.30")});
}

TEST(Vgg16BnGolden, EvalLogitsAndStages) {
  const nets_golden::GoldenNet net("nets_vgg16_bn.safetensors", [] { return nets::vgg16_bn(); });
  net.check_eval({output_of("features.5"), output_of("features.23"), output_of("features.43")});
}

// Prepared for inference: conv -> bn -> relu runs of `features` folded (VGG16-BN covers plain VGG16's
// conv -> relu runs too).
TEST(Vgg16BnGolden, EvalLogitsPrepared) {
  const nets_golden::GoldenNet net("nets_vgg16_bn.safetensors", [] { return nets::vgg16_bn(); });
  net.check_eval_prepared();
}

}  // namespace vgg16_golden_test
}  // namespace anima
