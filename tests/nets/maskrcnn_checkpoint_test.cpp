// Mask R-CNN checkpoint names: the names torchvision <= 0.12 wrote (the COCO file) and the ones 0.14
// writes map to one set, the manifest of the COCO file is that set, and a file mixing both namings or
// with inconsistent head shapes is refused with a message naming the file; the architecture (body,
// widths, classes) is read from the tensors.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <anima/io/manifest.hpp>
#include <anima/nets/maskrcnn/checkpoint.hpp>
#include <anima/nets/maskrcnn/mask_rcnn.hpp>
#include <anima/nn/init.hpp>
#include <anima/ops/factory.hpp>

#include "core/expect_error.hpp"

namespace anima::nets::maskrcnn {
namespace {

TEST(MaskRcnnCheckpoint, OldNamesMapToTorchvision014Names) {
  EXPECT_EQ(canonical_maskrcnn_name("backbone.fpn.inner_blocks.3.weight"), "backbone.fpn.inner_blocks.3.0.weight");
  EXPECT_EQ(canonical_maskrcnn_name("backbone.fpn.layer_blocks.0.bias"), "backbone.fpn.layer_blocks.0.0.bias");
  EXPECT_EQ(canonical_maskrcnn_name("rpn.head.conv.weight"), "rpn.head.conv.0.0.weight");
  EXPECT_EQ(canonical_maskrcnn_name("rpn.head.conv.bias"), "rpn.head.conv.0.0.bias");
  EXPECT_EQ(canonical_maskrcnn_name("roi_heads.mask_head.mask_fcn1.weight"), "roi_heads.mask_head.0.0.weight");
  EXPECT_EQ(canonical_maskrcnn_name("roi_heads.mask_head.mask_fcn4.bias"), "roi_heads.mask_head.3.0.bias");
  // New names, and names that only look similar, pass unchanged.
  for (const char* same :
       {"backbone.fpn.inner_blocks.3.0.weight", "rpn.head.conv.0.0.bias", "roi_heads.mask_head.2.0.weight",
        "backbone.body.layer1.0.conv1.weight", "rpn.head.cls_logits.weight", "backbone.fpn.inner_blocks.x.weight",
        "roi_heads.mask_head.mask_fcn0.weight", "roi_heads.mask_predictor.conv5_mask.weight"})
    EXPECT_EQ(canonical_maskrcnn_name(same), same) << same;
}

TEST(MaskRcnnCheckpoint, TheCocoManifestIsInCanonicalNames) {
  // ANIMA_TEST_DATA_DIR is tests/nets/data.
  const io::Manifest manifest = io::load_manifest(std::string(ANIMA_TEST_DATA_DIR) +
                                                  "/../../../weights/manifests/maskrcnn_resnet50_fpn.COCO_V1.json");
  std::set<std::string> names;
  for (const io::ManifestTensor& t : manifest.tensors) {
    EXPECT_EQ(canonical_maskrcnn_name(t.name), t.name);
    names.insert(t.name);
  }
  EXPECT_EQ(names.size(), 307u);
  EXPECT_TRUE(names.count("roi_heads.mask_head.3.0.weight"));
}

TEST(MaskRcnnCheckpoint, DropsBatchCountsAndRefusesMixedNamings) {
  io::StateDict old_names;
  old_names.insert("rpn.head.conv.weight", zeros({256, 256, 3, 3}));
  old_names.insert("backbone.body.bn1.num_batches_tracked", zeros({}, TensorOptions(DType::Int64)));
  old_names.insert("backbone.body.bn1.weight", zeros({64}));
  const io::StateDict canonical = canonical_maskrcnn_state_dict(old_names, "old.pth");
  EXPECT_EQ(canonical.size(), 2u);
  EXPECT_TRUE(canonical.contains("rpn.head.conv.0.0.weight"));
  EXPECT_TRUE(canonical.contains("backbone.body.bn1.weight"));
  EXPECT_FALSE(canonical.contains("backbone.body.bn1.num_batches_tracked"));

  io::StateDict mixed = old_names;
  mixed.insert("rpn.head.conv.0.0.weight", zeros({256, 256, 3, 3}));
  testing::expect_error([&] { canonical_maskrcnn_state_dict(mixed, "mixed.pth"); },
                        {"mixed.pth", "rpn.head.conv.0.0.weight"});
}

TEST(MaskRcnnCheckpoint, ClassCountComesFromTheHeads) {
  io::StateDict d;
  d.insert("roi_heads.box_predictor.cls_score.weight", zeros({3, 1024}));
  d.insert("roi_heads.box_predictor.bbox_pred.weight", zeros({12, 1024}));
  d.insert("roi_heads.mask_predictor.mask_fcn_logits.weight", zeros({3, 256, 1, 1}));
  EXPECT_EQ(maskrcnn_num_classes(d), 3);

  io::StateDict bad = d;
  bad.set("roi_heads.box_predictor.bbox_pred.weight", zeros({8, 1024}));
  EXPECT_THROW(maskrcnn_num_classes(bad, "bad.pth"), Error);
  io::StateDict classifier;
  classifier.insert("fc.weight", zeros({1000, 2048}));
  testing::expect_error([&] { maskrcnn_num_classes(classifier, "resnet50.pth"); },
                        {"resnet50.pth", "roi_heads.box_predictor.cls_score.weight"});
}

TEST(MaskRcnnCheckpoint, ArchitectureComesFromTheTensors) {
  MaskRcnnOptions o;
  o.num_classes = 4;
  o.backbone = BackboneKind::MobileNetV2;
  o.fpn_channels = 32;
  o.roi_heads.representation_size = 48;
  o.roi_heads.mask_layers = {16, 16, 16, 16};
  o.roi_heads.mask_dim_reduced = 24;
  const io::StateDict light = MaskRCNN(o).state_dict();
  const MaskRcnnArchitecture a = maskrcnn_architecture(canonical_maskrcnn_state_dict(light));
  EXPECT_EQ(a.num_classes, 4);
  EXPECT_TRUE(a.mobilenet_v2_body);
  EXPECT_EQ(a.fpn_channels, 32);
  EXPECT_EQ(a.representation_size, 48);
  EXPECT_EQ(a.mask_layers, (std::vector<std::int64_t>{16, 16, 16, 16}));
  EXPECT_EQ(a.mask_dim_reduced, 24);
  // maskrcnn_from_state_dict builds that model from the tensors alone (num_batches_tracked included or not).
  const auto rebuilt = maskrcnn_from_state_dict(light, {}, "light.safetensors");
  EXPECT_EQ(rebuilt->options.backbone, BackboneKind::MobileNetV2);
  EXPECT_EQ(rebuilt->options.roi_heads.in_channels, 32);
  EXPECT_EQ(rebuilt->state_dict().size(), light.size());

  nn::SkipInitGuard skip;  // only the shapes matter
  const MaskRcnnArchitecture r50 = maskrcnn_architecture(MaskRCNN(MaskRcnnOptions{}).state_dict());
  EXPECT_FALSE(r50.mobilenet_v2_body);
  EXPECT_EQ(r50.num_classes, 91);
  EXPECT_EQ(r50.fpn_channels, 256);
  EXPECT_EQ(r50.representation_size, 1024);
  EXPECT_EQ(r50.mask_layers, (std::vector<std::int64_t>{256, 256, 256, 256}));
  EXPECT_EQ(r50.mask_dim_reduced, 256);

  const auto without = [&](const std::string& name) {
    io::StateDict d;
    for (const auto& [n, t] : light.items())
      if (n != name) d.insert(n, t);
    return d;
  };
  const io::StateDict neither = without("backbone.body.0.0.weight");
  testing::expect_error([&] { maskrcnn_architecture(neither, "neither.pth"); }, {"neither.pth", "found neither"});
  const io::StateDict no_fpn = without("backbone.fpn.inner_blocks.0.0.weight");
  testing::expect_error([&] { maskrcnn_architecture(no_fpn, "no_fpn.pth"); },
                        {"no_fpn.pth", "backbone.fpn.inner_blocks.0.0.weight"});
}

}  // namespace
}  // namespace anima::nets::maskrcnn
