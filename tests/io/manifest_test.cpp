// tests/io/manifest_test.cpp — weights/manifests (tools/weights/make_manifests.py) and matching a
// StateDict against them (anima/io/manifest.hpp).
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <anima/io/manifest.hpp>
#include <anima/io/pth.hpp>

#include "core/expect_error.hpp"

namespace anima {
namespace {

// ANIMA_TEST_DATA_DIR is <repo>/tests/io/data.
std::string repo_path(const std::string& rel) { return std::string(ANIMA_TEST_DATA_DIR) + "/../../../" + rel; }

const std::vector<io::Manifest>& manifests() {
  static const std::vector<io::Manifest> m = io::load_manifests(repo_path("weights/manifests"));
  return m;
}

const io::Manifest& manifest(const std::string& weights) {
  for (const auto& m : manifests())
    if (m.weights == weights) return m;
  throw Error("no manifest for " + weights);
}

// A StateDict with the manifest's names, shapes and dtypes (zeros).
io::StateDict state_dict_of(const io::Manifest& m) {
  io::StateDict sd;
  for (const auto& t : m.tensors) {
    const DType dt = t.dtype == "int64" ? DType::Int64 : DType::Float32;
    sd.insert(t.name, Tensor::empty(t.shape, TensorOptions(dt)));
  }
  return sd;
}

TEST(Manifests, EveryOfficialCheckpointIsDescribed) {
  std::set<std::string> weights;
  for (const auto& m : manifests()) {
    SCOPED_TRACE(m.path);
    weights.insert(m.weights);
    EXPECT_EQ(m.sha256_prefix.size(), 8u);
    EXPECT_NE(m.file.find("-" + m.sha256_prefix + ".pth"), std::string::npos);  // the hash is in the file name
    EXPECT_EQ(m.url, "https://download.pytorch.org/models/" + m.file);
    EXPECT_FALSE(m.tensors.empty());
    std::set<std::string> names;
    std::int64_t floats = 0;
    for (const auto& t : m.tensors) {
      EXPECT_TRUE(names.insert(t.name).second) << "duplicate " << t.name;
      EXPECT_TRUE(t.dtype == "float32" || t.dtype == "int64") << t.name;
      if (t.dtype == "float32") floats += numel_of(t.shape);
    }
    EXPECT_GE(floats, m.num_params);  // parameters, plus BatchNorm's running statistics
  }
  const std::set<std::string> want = {"VGG16_Weights.IMAGENET1K_V1",          "VGG16_Weights.IMAGENET1K_FEATURES",
                                      "VGG16_BN_Weights.IMAGENET1K_V1",       "ResNet50_Weights.IMAGENET1K_V1",
                                      "ResNet50_Weights.IMAGENET1K_V2",       "MobileNet_V2_Weights.IMAGENET1K_V1",
                                      "MobileNet_V2_Weights.IMAGENET1K_V2",   "Inception_V3_Weights.IMAGENET1K_V1",
                                      "MaskRCNN_ResNet50_FPN_Weights.COCO_V1"};
  EXPECT_EQ(weights, want);
}

TEST(Manifests, KnownFiguresOfTheNets) {
  // torchvision's published parameter counts and file hashes.
  EXPECT_EQ(manifest("VGG16_Weights.IMAGENET1K_V1").num_params, 138357544);
  EXPECT_EQ(manifest("VGG16_Weights.IMAGENET1K_V1").sha256_prefix, "397923af");
  EXPECT_EQ(manifest("ResNet50_Weights.IMAGENET1K_V2").num_params, 25557032);
  EXPECT_EQ(manifest("MaskRCNN_ResNet50_FPN_Weights.COCO_V1").num_classes, 91);
  const auto& vgg = manifest("VGG16_Weights.IMAGENET1K_V1");
  EXPECT_EQ(vgg.tensors.front().name, "features.0.weight");
  EXPECT_EQ(vgg.tensors.front().shape, (Shape{64, 3, 3, 3}));
  EXPECT_EQ(vgg.tensors.back().name, "classifier.6.bias");
  // VGG has no buffers: its float tensors are exactly its parameters.
  std::int64_t n = 0;
  for (const auto& t : vgg.tensors) n += numel_of(t.shape);
  EXPECT_EQ(n, vgg.num_params);
  // The inception file holds the auxiliary head; Mask R-CNN's frozen BatchNorm has no num_batches_tracked.
  const auto& inc = manifest("Inception_V3_Weights.IMAGENET1K_V1");
  bool aux = false;
  for (const auto& t : inc.tensors) aux = aux || t.name.rfind("AuxLogits.", 0) == 0;
  EXPECT_TRUE(aux);
  for (const auto& t : manifest("MaskRCNN_ResNet50_FPN_Weights.COCO_V1").tensors)
    EXPECT_EQ(t.name.find("num_batches_tracked"), std::string::npos) << t.name;
}

TEST(Manifests, ImageNetClasses) {
  std::ifstream in(repo_path("weights/imagenet_classes.txt"));
  std::vector<std::string> lines;
  for (std::string s; std::getline(in, s);) lines.push_back(s);
  ASSERT_EQ(lines.size(), 1000u);
  EXPECT_EQ(lines[0], "tench");
  EXPECT_EQ(lines[999], "toilet tissue");
}

TEST(ManifestMatch, ExactMatchNamesTheNet) {
  const io::StateDict sd = state_dict_of(manifest("MobileNet_V2_Weights.IMAGENET1K_V1"));
  const auto ranked = io::rank_manifests(sd, manifests());
  ASSERT_GE(ranked.size(), 2u);
  // V1 and V2 have the same tensors: both match exactly, nothing else does.
  EXPECT_TRUE(ranked[0].exact());
  EXPECT_TRUE(ranked[1].exact());
  EXPECT_EQ(ranked[0].manifest->net, "mobilenet_v2");
  EXPECT_EQ(ranked[1].manifest->net, "mobilenet_v2");
  EXPECT_FALSE(ranked[2].exact());
}

TEST(ManifestMatch, OldFilesWithoutNumBatchesTrackedStillMatch) {
  const io::Manifest& m = manifest("MobileNet_V2_Weights.IMAGENET1K_V1");
  const io::StateDict full = state_dict_of(m);
  io::StateDict sd;
  for (const auto& item : full.items())
    if (item.first.find("num_batches_tracked") == std::string::npos) sd.insert(item.first, item.second);
  const io::ManifestMatch r = io::match_manifest(sd, m);
  EXPECT_TRUE(r.exact());
  EXPECT_EQ(r.missing_optional.size(), 52u);  // one per BatchNorm
}

TEST(ManifestMatch, ClosestWithCounts) {
  const io::Manifest& m = manifest("ResNet50_Weights.IMAGENET1K_V1");
  io::StateDict sd;
  for (const auto& t : m.tensors) {
    if (t.name == "layer4.2.bn3.bias") continue;                  // missing
    Shape s = t.name == "fc.weight" ? Shape{10, 2048} : t.shape;  // mismatched
    sd.insert(t.name, Tensor::empty(s, TensorOptions(t.dtype == "int64" ? DType::Int64 : DType::Float32)));
  }
  sd.insert("extra.weight", Tensor::empty({1}));  // unexpected
  const auto ranked = io::rank_manifests(sd, manifests());
  EXPECT_FALSE(ranked[0].exact());
  EXPECT_EQ(ranked[0].manifest->net, "resnet50");
  EXPECT_EQ(ranked[0].missing, (std::vector<std::string>{"layer4.2.bn3.bias"}));
  EXPECT_EQ(ranked[0].unexpected, (std::vector<std::string>{"extra.weight"}));
  ASSERT_EQ(ranked[0].mismatched.size(), 1u);
  EXPECT_EQ(ranked[0].mismatched[0], "fc.weight: file [10, 2048] float32, manifest [1000, 2048] float32");
  EXPECT_EQ(ranked[0].distance(), 3u);
  EXPECT_EQ(ranked[0].agreeing, m.tensors.size() - 2);
}

TEST(ManifestMatch, BadManifestsAreErrors) {
  testing::expect_error([] { io::load_manifests(repo_path("weights/no_such_folder")); },
                        {"load_manifests", "no_such_folder"});
  testing::expect_error([] { io::load_manifest(std::string(ANIMA_TEST_DATA_DIR) + "/small_expected.safetensors"); },
                        {"load_manifest", "small_expected.safetensors"});
}

}  // namespace
}  // namespace anima
