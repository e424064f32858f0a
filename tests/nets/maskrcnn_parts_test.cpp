// Mask R-CNN's backbone (ResNet-50 body with FrozenBatchNorm2d, or MobileNetV2, + FPN) and RPN:
// torchvision 0.14's parameter names, the map sizes of each pyramid level, which parameters train,
// FrozenBatchNorm2d's formula, that the RPN gives proposals inside each image and finite training
// losses, and that a batch with an image without objects trains (finite losses and gradients).
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <anima/autograd/engine.hpp>
#include <anima/core/generator.hpp>
#include <anima/nets/maskrcnn/backbone.hpp>
#include <anima/nets/maskrcnn/mask_rcnn.hpp>
#include <anima/nets/maskrcnn/rpn.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/view.hpp>

namespace anima::nets::maskrcnn {
namespace {

TEST(FrozenBatchNorm2d, AppliesTheConstantAffineMap) {
  nn::FrozenBatchNorm2d bn(2, 0.0);
  copy_into(bn.weight, from_vector<float>({2.0f, 0.5f}, {2}));
  copy_into(bn.bias, from_vector<float>({1.0f, -1.0f}, {2}));
  copy_into(bn.running_mean, from_vector<float>({3.0f, 0.0f}, {2}));
  copy_into(bn.running_var, from_vector<float>({4.0f, 0.25f}, {2}));
  // channel 0: scale 2/2 = 1, shift 1 - 3 = -2; channel 1: scale 0.5/0.5 = 1, shift -1.
  const Tensor x = from_vector<float>({5.0f, 7.0f}, {1, 2, 1, 1});
  EXPECT_EQ(to_vector<float>(bn.forward(x)), (std::vector<float>{3.0f, 6.0f}));
  std::set<std::string> names;
  const io::StateDict sd = bn.state_dict();
  for (const auto& [name, t] : sd.items()) names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{"weight", "bias", "running_mean", "running_var"}));
  EXPECT_TRUE(bn.named_parameters().empty());
}

TEST(MaskRcnnBackbone, NamesSizesAndTrainableLayers) {
  BackboneWithFPN backbone(3);
  const io::StateDict sd = backbone.state_dict();
  for (const char* name : {"body.conv1.weight", "body.bn1.running_var", "body.layer4.2.bn3.weight",
                           "fpn.inner_blocks.0.0.weight", "fpn.inner_blocks.3.0.bias", "fpn.layer_blocks.2.0.weight"})
    EXPECT_TRUE(sd.contains(name)) << name;
  EXPECT_FALSE(sd.contains("body.bn1.num_batches_tracked"));
  EXPECT_FALSE(sd.contains("body.fc.weight"));
  for (const auto& [name, p] : backbone.named_parameters()) {
    const bool trains = name.rfind("fpn.", 0) == 0 || name.rfind("body.layer2", 0) == 0 ||
                        name.rfind("body.layer3", 0) == 0 || name.rfind("body.layer4", 0) == 0;
    EXPECT_EQ(p.requires_grad(), trains) << name;
  }
  backbone.train(false);
  const FeatureMaps maps = backbone.forward_maps(zeros({2, 3, 64, 96}));
  ASSERT_EQ(maps.size(), 5u);
  const std::vector<std::string> names = {"0", "1", "2", "3", "pool"};
  for (std::size_t l = 0; l < maps.size(); ++l) {
    EXPECT_EQ(maps[l].first, names[l]);
    // "0".."3": strides 4..32; "pool": max_pool2d(kernel 1, stride 2) of "3", (size - 1) / 2 + 1.
    const Shape want =
        l < 4 ? Shape{2, 256, 64 >> (l + 2), 96 >> (l + 2)} : Shape{2, 256, (2 - 1) / 2 + 1, (3 - 1) / 2 + 1};
    EXPECT_EQ(maps[l].second.shape(), want) << names[l];
  }
  EXPECT_THROW(backbone.set_trainable_layers(6), Error);
}

TEST(MaskRcnnBackbone, MobileNetV2BodyNamesSizesAndTrainableLayers) {
  BackboneWithFPN backbone(BackboneOptions{BackboneKind::MobileNetV2, 64, 3, 1e-5});
  const io::StateDict sd = backbone.state_dict();
  // torchvision's BackboneWithFPN(mobilenet_v2().features, ...) names: the features' children under body.
  for (const char* name : {"body.0.0.weight", "body.0.1.running_var", "body.1.conv.0.0.weight", "body.17.conv.3.weight",
                           "body.18.1.num_batches_tracked", "fpn.inner_blocks.3.0.weight"})
    EXPECT_TRUE(sd.contains(name)) << name;
  EXPECT_FALSE(sd.contains("body.19.0.weight"));
  EXPECT_EQ(sd.at("fpn.inner_blocks.0.0.weight").shape(), (Shape{64, 24, 1, 1}));
  EXPECT_EQ(sd.at("fpn.inner_blocks.1.0.weight").shape(), (Shape{64, 32, 1, 1}));
  EXPECT_EQ(sd.at("fpn.inner_blocks.2.0.weight").shape(), (Shape{64, 96, 1, 1}));
  EXPECT_EQ(sd.at("fpn.inner_blocks.3.0.weight").shape(), (Shape{64, 1280, 1, 1}));
  // 3 of the 6 stages (0, 2, 4, 7, 14, 18) train: features 7 and after.
  for (const auto& [name, p] : backbone.named_parameters()) {
    bool trains = name.rfind("fpn.", 0) == 0;
    if (name.rfind("body.", 0) == 0) trains = std::stoi(name.substr(5)) >= 7;
    EXPECT_EQ(p.requires_grad(), trains) << name;
  }
  backbone.set_trainable_layers(6);
  for (const auto& [name, p] : backbone.named_parameters()) EXPECT_TRUE(p.requires_grad()) << name;
  backbone.set_trainable_layers(0);
  for (const auto& [name, p] : backbone.named_parameters())
    EXPECT_EQ(p.requires_grad(), name.rfind("fpn.", 0) == 0) << name;
  EXPECT_THROW(backbone.set_trainable_layers(7), Error);
  backbone.train(false);
  const FeatureMaps maps = backbone.forward_maps(zeros({1, 3, 64, 96}));
  ASSERT_EQ(maps.size(), 5u);
  for (std::size_t l = 0; l < 4; ++l)
    EXPECT_EQ(maps[l].second.shape(), (Shape{1, 64, 64 >> (l + 2), 96 >> (l + 2)})) << l;
  EXPECT_EQ(maps[4].second.shape(), (Shape{1, 64, 1, 2}));
}

TEST(MaskRcnnRpn, ProposalsLieInsideTheirImagesAndLossesAreFinite) {
  BackboneWithFPN backbone;
  RegionProposalNetwork rpn;
  const io::StateDict sd = rpn.state_dict();
  for (const char* name : {"head.conv.0.0.weight", "head.cls_logits.weight", "head.bbox_pred.bias"})
    EXPECT_TRUE(sd.contains(name)) << name;
  EXPECT_EQ(sd.at("head.bbox_pred.weight").shape(), (Shape{12, 256, 1, 1}));
  Generator gen(3);
  const ImageList images{randn({2, 3, 64, 96}, {}, gen), {{64, 90}, {57, 96}}};
  backbone.train(false);
  rpn.train(false);
  const FeatureMaps maps = backbone.forward_maps(images.tensors);
  const RpnOutput out = rpn.forward(images, maps);
  ASSERT_EQ(out.boxes.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const std::int64_t k = out.boxes[i].shape()[0];
    EXPECT_GT(k, 0);
    EXPECT_LE(k, rpn.options.post_nms_top_n_test);
    const std::vector<float> b = to_vector<float>(out.boxes[i]), s = to_vector<float>(out.scores[i]);
    for (std::int64_t r = 0; r < k; ++r) {
      EXPECT_GE(b[4 * r], 0.0f);
      EXPECT_LE(b[4 * r + 2], static_cast<float>(images.image_sizes[i][1]));
      EXPECT_LE(b[4 * r + 3], static_cast<float>(images.image_sizes[i][0]));
      if (r > 0) {
        EXPECT_LE(s[r], s[r - 1]);  // decreasing objectness
      }
    }
  }
  rpn.train(true);
  const DetectionTarget target{from_vector<float>({10, 10, 40, 40}, {1, 4}), from_vector<std::int64_t>({1}, {1}),
                               Tensor()};
  const RpnOutput tr = rpn.forward(images, maps, {target, target});
  ASSERT_TRUE(tr.loss_objectness.defined() && tr.loss_rpn_box_reg.defined());
  EXPECT_TRUE(std::isfinite(item<float>(tr.loss_objectness)));
  EXPECT_GT(item<float>(tr.loss_objectness), 0.0f);
  EXPECT_TRUE(std::isfinite(item<float>(tr.loss_rpn_box_reg)));
  EXPECT_THROW(rpn.forward(images, maps, {target}), Error);  // one target per image
}

// A frame with no face is common in a cartoon: torchvision makes every anchor and proposal of such an
// image background. The losses of a batch holding one must be finite, and so must every gradient.
TEST(MaskRcnnTraining, AnImageWithoutObjectsKeepsTheLossesFinite) {
  MaskRcnnOptions o;
  o.num_classes = 3;
  o.backbone = BackboneKind::MobileNetV2;
  o.fpn_channels = 16;
  o.roi_heads.representation_size = 32;
  o.roi_heads.mask_layers = {16, 16, 16, 16};
  o.roi_heads.mask_dim_reduced = 16;
  o.transform.min_size = 96;
  o.transform.max_size = 128;
  manual_seed(5);
  MaskRCNN model(o);
  model.train(true);
  Generator gen(9);
  const std::vector<Tensor> images = {rand({3, 96, 128}, {}, gen), rand({3, 96, 128}, {}, gen)};
  DetectionTarget with_face, empty;
  with_face.boxes = from_vector<float>({20, 16, 70, 60}, {1, 4});
  with_face.labels = from_vector<std::int64_t>({1}, {1});
  with_face.masks = zeros({1, 96, 128});
  copy_into(narrow(narrow(with_face.masks, 1, 16, 44), 2, 20, 50), ones({1, 44, 50}));
  empty.boxes = zeros({0, 4});
  empty.labels = zeros({0}, TensorOptions(DType::Int64));
  empty.masks = zeros({0, 96, 128});
  for (const auto& targets :
       {std::vector<DetectionTarget>{empty, empty}, std::vector<DetectionTarget>{with_face, empty}}) {
    const MaskRcnnLosses l = model.losses(images, targets);
    for (const Tensor* t : {&l.loss_objectness, &l.loss_rpn_box_reg, &l.loss_classifier, &l.loss_box_reg})
      EXPECT_TRUE(std::isfinite(item<float>(*t)));
    if (l.loss_mask.defined()) EXPECT_TRUE(std::isfinite(item<float>(l.loss_mask)));
    backward(l.total());
    for (const auto& [name, p] : model.named_parameters()) {
      if (!p.grad().defined()) continue;
      for (float g : to_vector<float>(p.grad())) ASSERT_TRUE(std::isfinite(g)) << name;
    }
  }
}

}  // namespace
}  // namespace anima::nets::maskrcnn
