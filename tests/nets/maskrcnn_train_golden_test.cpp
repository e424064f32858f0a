// One Mask R-CNN training step in float64 against torchvision 0.14's (tests/golden/data/
// maskrcnn_train.safetensors, written by tools/golden/maskrcnn.py): 3 classes, the two formula images
// with two elliptic objects each, the five losses of the multitask loss and the gradients of their sum
// for parameters of every stage.
//
// Sampling is made deterministic on both sides: the script's samplers pick by a hash of the candidate's
// rank and store their choice; here both samplers (RPN 256 / 0.5, RoI heads 512 / 0.25) are replaced by
// that stored choice, and each checks that the labels it is given (which anchors are positive, negative or
// ignored) are torchvision's. The RoI heads get the script's proposals, as the fixture's notes say, after
// a check that ours are the same.
//
// Tolerance kRel 1e-8 of each tensor's max |x|: both sides run the same float64 arithmetic from the same
// float32 fill widened exactly; only the order of additions differs (~1e-16 relative per sum), and the
// gradients amplify that by at most ~1e5 (net_golden.hpp explains the amplification). Any wrong term of
// a loss or of a backward formula moves a result by O(1) of its scale.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <anima/autograd/engine.hpp>
#include <anima/nets/maskrcnn/mask_rcnn.hpp>
#include <anima/ops/view.hpp>

#include "nets/maskrcnn_golden.hpp"
#include "nets/net_golden.hpp"

namespace anima::nets::maskrcnn {
namespace {

constexpr double kRel = 1e-8;

using fixture::expect_rel_close;

// The stored choice of one sampler ("rpn" or "roi"), checking the labels it is given against
// `expected_labels` (per image; empty: not checked).
FgBgSampler stored_choice(const io::SafetensorsFile& file, const std::string& tag,
                          std::vector<Tensor> expected_labels) {
  return [&file, tag, expected_labels](const std::vector<Tensor>& labels) {
    std::vector<Tensor> pos, neg;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const std::string n = std::to_string(i);
      if (i < expected_labels.size()) {
        EXPECT_EQ(to_vector<std::int64_t>(labels[i]), to_vector<std::int64_t>(expected_labels[i]))
            << tag << " labels of image " << i;
      }
      const std::int64_t count = labels[i].shape()[0];
      auto mask = [&](const std::string& which) {
        std::vector<double> m(static_cast<std::size_t>(count), 0.0);
        for (std::int64_t k : to_vector<std::int64_t>(fixture::fixture_tensor(file, "train/" + tag + "/" + which + n)))
          m[static_cast<std::size_t>(k)] = 1.0;
        return cast_copy(from_vector<double>(m, {count}), DType::Bool);
      };
      pos.push_back(mask("sampled_pos/"));
      neg.push_back(mask("sampled_neg/"));
    }
    return std::make_pair(pos, neg);
  };
}

TEST(MaskRcnnTrainGolden, LossesAndGradientsEqualTorchvisionInFloat64) {
  const io::SafetensorsFile file = fixture::load_fixture("maskrcnn_train");
  const auto stored = [&](const std::string& key) -> const Tensor& { return fixture::fixture_tensor(file, key); };
  auto model = fixture::golden_model(3);
  nets_golden::convert_to_float64(*model);
  model->train(true);
  for (const char* frozen : {"backbone.body.conv1.weight", "backbone.body.layer1.0.conv1.weight"})
    for (const auto& [name, p] : model->named_parameters())
      if (name == frozen) {
        EXPECT_FALSE(p.requires_grad()) << name;
      }

  model->rpn->fg_bg_sampler = stored_choice(
      file, "rpn",
      {cast_copy(stored("train/rpn/labels/0"), DType::Int64), cast_copy(stored("train/rpn/labels/1"), DType::Int64)});
  model->roi_heads->fg_bg_sampler = stored_choice(file, "roi", {});

  std::vector<DetectionTarget> targets;
  for (int i = 0; i < 2; ++i) {
    const std::string n = std::to_string(i);
    targets.push_back({stored("train/target/" + n + "/boxes"), stored("train/target/" + n + "/labels"),
                       stored("train/target/" + n + "/masks")});
  }
  const TransformedBatch batch = model->transform.forward(fixture::formula_batch(DType::Float64), targets);
  const FeatureMaps features = model->backbone->forward_maps(batch.images.tensors);
  const RpnOutput rpn = model->rpn->forward(batch.images, features, batch.targets);
  std::vector<Tensor> proposals;
  for (int i = 0; i < 2; ++i) {
    const std::string n = std::to_string(i);
    expect_rel_close(rpn.boxes[static_cast<std::size_t>(i)], stored("train/rpn/proposals/" + n), kRel,
                     "train/rpn/proposals/" + n);
    proposals.push_back(stored("train/rpn/proposals/" + n));
  }
  const RoiHeadsOutput heads = model->roi_heads->forward(features, proposals, batch.images.image_sizes, batch.targets);
  for (int i = 0; i < 2; ++i) {
    const std::string n = std::to_string(i);
    const auto k = static_cast<std::size_t>(i);
    EXPECT_EQ(to_vector<std::int64_t>(heads.samples.sampled_inds[k]),
              to_vector<std::int64_t>(stored("train/roi/sampled/" + n)));
    EXPECT_EQ(to_vector<std::int64_t>(heads.samples.labels[k]),
              to_vector<std::int64_t>(stored("train/roi/labels/" + n)));
    EXPECT_EQ(to_vector<std::int64_t>(heads.samples.matched_idxs[k]),
              to_vector<std::int64_t>(stored("train/roi/matched_idxs/" + n)));
    expect_rel_close(heads.samples.regression_targets[k], stored("train/roi/regression_targets/" + n), kRel,
                     "train/roi/regression_targets/" + n);
  }

  const std::map<std::string, Tensor> losses = {{"loss_objectness", rpn.loss_objectness},
                                                {"loss_rpn_box_reg", rpn.loss_rpn_box_reg},
                                                {"loss_classifier", heads.loss_classifier},
                                                {"loss_box_reg", heads.loss_box_reg},
                                                {"loss_mask", heads.loss_mask}};
  Tensor total;
  for (const auto& [name, loss] : losses) {
    ASSERT_TRUE(loss.defined()) << name;
    EXPECT_EQ(loss.dtype(), DType::Float64) << name;
    expect_rel_close(loss, stored("train/loss/" + name), kRel, "train/loss/" + name);
    total = total.defined() ? add(total, loss) : loss;
  }
  backward(total);

  std::map<std::string, Tensor> params;
  for (const auto& [name, p] : model->named_parameters()) params[name] = p;
  int compared = 0;
  for (const auto& [key, expected] : file.tensors) {
    if (key.rfind("train/grad/", 0) != 0) continue;
    std::string name = key.substr(std::string("train/grad/").size());
    std::int64_t a = -1, b = -1;
    if (const std::size_t bracket = name.find('['); bracket != std::string::npos) {
      const std::size_t colon = name.find(':', bracket);
      a = std::stoll(name.substr(bracket + 1, colon - bracket - 1));
      b = std::stoll(name.substr(colon + 1, name.size() - colon - 2));
      name = name.substr(0, bracket);
    }
    ASSERT_TRUE(params.count(name)) << name;
    const Tensor grad = params[name].grad();
    ASSERT_TRUE(grad.defined()) << "no gradient for " << name;
    expect_rel_close(a >= 0 ? narrow(grad, 0, a, b - a) : grad, expected, kRel, key);
    ++compared;
  }
  EXPECT_EQ(compared, 18);  // every stage: body layer2/layer4, FPN, RPN head, box head and predictor, mask head
}

}  // namespace
}  // namespace anima::nets::maskrcnn
