// Mask R-CNN checkpoint names: the names torchvision <= 0.12 wrote (the COCO file) and the ones 0.14
// writes map to one set, the manifest of the COCO file is that set, and a file mixing both namings or
// with inconsistent head shapes is refused with a message naming the file.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include <anima/io/manifest.hpp>
#include <anima/nets/maskrcnn/checkpoint.hpp>
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

}  // namespace
}  // namespace anima::nets::maskrcnn
