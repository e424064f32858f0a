// `anima train` (tools/anima/train_command.hpp): the classifier and the detector, in one file because
// both compile the whole command.
//
// Classifier:
//   `anima train classifier` (tools/anima/train_command.hpp). The runs themselves go through the real
//   binary (tests/synth/cli_train.cmake: a run killed by SIGKILL and resumed ends with the same bits as
//   one that was not; then `anima eval classifier` on the trained weights); here: the fixture they use
//   and the refusals, in-process.
//
//   With ANIMA_TRAIN_FIXTURE_DIR set, TrainCli.WritesFixture leaves data/ there (train/ with 4 images per
//   class, val/ with 2, three classes) for the cli_train ctests.
//
// Detector:
//   `anima train detector` (tools/anima/train_detector.hpp), the parts the CLI runs
//   (tests/synth/cli_train_detector.cmake) cannot see: a training sample flipped with its boxes and
//   masks, the validation split, the ImageNet ResNet-50 start, and the refusals.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <anima/core/copy.hpp>
#include <anima/io/weights_file.hpp>
#include <anima/nets/registry.hpp>

#include "anima/train_command.hpp"
#include "run_subcommand.hpp"
#include "test_images.hpp"

// --- anima train classifier --------------------------------------------------------------------

namespace train_test {

namespace fs = std::filesystem;
using anima::cli::testing::error_message;
using anima::cli::testing::write_png;

void write_data(const fs::path& data) {
  int seed = 0;
  for (const char* split : {"train", "val"})
    for (const char* c : {"angry", "happy", "sad"})
      for (int i = 0; i < (std::string(split) == "train" ? 4 : 2); ++i)
        write_png(data / split / c / ("img" + std::to_string(i) + ".png"), seed++);
}

std::string run_train(const std::vector<std::string>& args) {
  return anima::cli::testing::run_subcommand(
      [](CLI::App& app, int& status) { anima::cli::add_train_command(app, status); }, args);
}

TEST(TrainCli, WritesFixture) {
  const char* dir = std::getenv("ANIMA_TRAIN_FIXTURE_DIR");
  if (dir == nullptr) GTEST_SKIP() << "ANIMA_TRAIN_FIXTURE_DIR not set";
  fs::remove_all(dir);
  write_data(fs::path(dir) / "data");
  EXPECT_TRUE(fs::exists(fs::path(dir) / "data" / "val" / "sad" / "img1.png"));
}

TEST(TrainCli, RefusalsAreClearErrors) {
  const fs::path dir = fs::temp_directory_path() / ("anima_train_test_" + std::to_string(::getpid()));
  write_data(dir / "data");
  const std::vector<std::string> base = {"train", "classifier", "--net", "mobilenet_v2", "--quiet"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  std::string e = error_message([&] {
    run_train(with({"--data", (dir / "nowhere").string(), "--out", (dir / "r1").string()}));
  });
  EXPECT_NE(e.find("nowhere"), std::string::npos) << e;
  e = error_message([&] { run_train(with({"--data", (dir / "data").string()})); });
  EXPECT_NE(e.find("--out are required"), std::string::npos) << e;
  e = error_message([&] {
    run_train(with({"--data", (dir / "data").string(), "--out", (dir / "r2").string(), "--optimizer", "lbfgs"}));
  });
  EXPECT_NE(e.find("--optimizer must be sgd, adam or adamw"), std::string::npos) << e;
  e = error_message([&] { run_train({"train", "classifier", "--resume", (dir / "no_run").string()}); });
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;
  // A val/ with other classes than train/.
  write_png(dir / "data" / "val" / "surprise" / "x.png", 1);
  e = error_message([&] { run_train(with({"--data", (dir / "data").string(), "--out", (dir / "r3").string()})); });
  EXPECT_NE(e.find("other class folders"), std::string::npos) << e;
  fs::remove_all(dir);
}

}  // namespace train_test

// --- anima train detector ----------------------------------------------------------------------

namespace train_test {

namespace fs = std::filesystem;
using anima::cli::testing::error_message;
using anima::cli::testing::write_png;

fs::path temp_dir(const char* name) {
  const fs::path dir = fs::temp_directory_path() / (std::string(name) + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A 12x8 image with one rect object over columns 2..4 and rows 1..5 (box [2, 1, 5, 6]).
anima::data::AnnotatedImage one_object_image(const fs::path& dir) {
  write_png(dir / "f.png", 3, 12, 8);
  anima::data::AnnotatedImage im;
  im.file = dir / "f.png";
  anima::data::AnnotatedInstance inst;
  inst.box = {2, 1, 5, 6};
  inst.label = 2;
  im.instances.push_back(inst);
  anima::data::AnnotatedInstance crowd = inst;
  crowd.iscrowd = true;
  im.instances.push_back(crowd);
  return im;
}

TEST(TrainDetector, FlippedSampleFlipsItsBoxAndMask) {
  const fs::path dir = temp_dir("anima_train_detector_flip");
  const anima::data::AnnotatedImage im = one_object_image(dir);
  const anima::cli::DetectionSample plain = anima::cli::detection_sample(im, false);
  const anima::cli::DetectionSample flipped = anima::cli::detection_sample(im, true);
  ASSERT_EQ(plain.width, 12);
  ASSERT_EQ(plain.height, 8);
  // The crowd region is not a target.
  ASSERT_EQ(plain.labels, (std::vector<std::int64_t>{2}));
  ASSERT_EQ(flipped.labels, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(plain.boxes, (std::vector<float>{2, 1, 5, 6}));
  EXPECT_EQ(flipped.boxes, (std::vector<float>{12 - 5, 1, 12 - 2, 6}));  // x1' = W − x2, x2' = W − x1
  // The mask: the box's pixels (a rect annotation has no polygon of its own), mirrored with the image.
  std::size_t inside = 0;
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 12; ++x) {
      const std::size_t at = static_cast<std::size_t>(y * 12 + x), mirrored = static_cast<std::size_t>(y * 12 + 11 - x);
      EXPECT_EQ(plain.masks[at], flipped.masks[mirrored]) << x << "," << y;
      inside += plain.masks[at] > 0;
      for (std::size_t c = 0; c < 3; ++c)
        EXPECT_EQ(plain.pixels[c * 96 + at], flipped.pixels[c * 96 + mirrored]) << x << "," << y << "," << c;
    }
  EXPECT_EQ(inside, 15u);                           // pycocotools rasterises [2, 5) x [1, 6): 3 columns, 5 rows
  EXPECT_FLOAT_EQ(plain.pixels[1], 6.0f / 255.0f);  // red of (x 1, y 0): (x·6 + y) % 256 = 6, in [0, 1]
  fs::remove_all(dir);
}

TEST(TrainDetector, HoldsOutTheLastImagesForValidation) {
  const fs::path dir = temp_dir("anima_train_detector_split");
  std::ofstream via(dir / "via.json");
  via << "{";
  for (int i = 0; i < 5; ++i) {
    write_png(dir / ("f" + std::to_string(i) + ".png"), i, 16, 16);
    via << (i ? "," : "") << "\"f" << i << ".png1\": {\"filename\": \"f" << i << ".png\", \"regions\": [{"
        << "\"shape_attributes\": {\"name\": \"rect\", \"x\": 2, \"y\": 2, \"width\": 6, \"height\": 6}, "
        << "\"region_attributes\": {\"character\": \"" << (i % 2 ? "tom" : "jerry") << "\"}}]}";
  }
  via << "}";
  via.close();
  anima::cli::TrainDetectorOptions o;
  o.via = (dir / "via.json").string();
  o.images = dir.string();
  o.val_fraction = 0.3;  // ceil(1.5) = 2 of 5
  const anima::cli::DetectionSplits s = anima::cli::detection_splits(o);
  ASSERT_EQ(s.train.images.size(), 3u);
  ASSERT_EQ(s.val.images.size(), 2u);
  EXPECT_EQ(s.val.images[0].file.filename(), "f3.png");
  EXPECT_EQ(s.val.images[1].file.filename(), "f4.png");
  EXPECT_EQ(s.val.classes, (std::vector<std::string>{"jerry", "tom"}));
  // --data reads the same file (VIA, told by its content); --classes checks the class count.
  o.via.clear();
  o.data = (dir / "via.json").string();
  EXPECT_EQ(anima::cli::detection_splits(o).train.images.size(), 3u);
  o.run.classes = 3;
  const std::string e = error_message([&] { anima::cli::detection_splits(o); });
  EXPECT_NE(e.find("--classes 3, but '" + o.data + "' has 2 class(es)"), std::string::npos) << e;
  fs::remove_all(dir);
}

TEST(TrainDetector, StartsFromAnImageNetResNet50) {
  const fs::path dir = temp_dir("anima_train_detector_imagenet");
  anima::manual_seed(11);
  auto resnet = anima::nets::make_net("resnet50", 1000);
  anima::io::save_weights_safetensors((dir / "resnet50.safetensors").string(), resnet->state_dict(), {});
  anima::cli::TrainDetectorOptions o;
  o.run.weights = (dir / "resnet50.safetensors").string();
  auto model = anima::cli::initial_detector(o, {}, 2);
  EXPECT_EQ(model->num_classes(), 3);
  EXPECT_EQ(model->options.frozen_bn_eps, 1e-5);  // torchvision's FrozenBatchNorm2d default for ImageNet weights
  const anima::io::StateDict r = resnet->state_dict(), m = model->state_dict();
  for (const char* name : {"conv1.weight", "layer1.0.conv1.weight", "layer4.2.bn3.running_var", "bn1.weight"}) {
    const std::vector<float> a = anima::to_vector<float>(r.at(name));
    const std::vector<float> b = anima::to_vector<float>(m.at(std::string("backbone.body.") + name));
    EXPECT_EQ(a, b) << name;
  }
  fs::remove_all(dir);
}

TEST(TrainDetector, RefusalsAreClearErrors) {
  const fs::path dir = temp_dir("anima_train_detector_refusals");
  auto run = [](const std::vector<std::string>& args) {
    return anima::cli::testing::run_subcommand(
        [](CLI::App& app, int& status) { anima::cli::add_train_command(app, status); }, args);
  };
  std::string e = error_message([&] { run({"train", "detector", "--images", dir.string(), "--out", "o"}); });
  EXPECT_NE(e.find("--data (or --via or --coco)"), std::string::npos) << e;
  e = error_message([&] {
    run({"train", "detector", "--via", "a.json", "--coco", "b.json", "--images", dir.string(), "--out", "o"});
  });
  EXPECT_NE(e.find("(one)"), std::string::npos) << e;
  // One annotated image: nothing left for validation.
  write_png(dir / "f.png", 1, 16, 16);
  std::ofstream(dir / "via.json") << R"({"f.png1": {"filename": "f.png", "regions": [{"shape_attributes":
      {"name": "rect", "x": 2, "y": 2, "width": 6, "height": 6}, "region_attributes": {"character": "tom"}}]}})";
  e = error_message([&] {
    run({"train", "detector", "--via", (dir / "via.json").string(), "--images", dir.string(), "--out",
         (dir / "run").string()});
  });
  EXPECT_NE(e.find("at least 2"), std::string::npos) << e;
  e = error_message([&] { run({"train", "detector", "--resume", (dir / "no_run").string()}); });
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;
  e = error_message([&] {
    run({"train", "detector", "--via", (dir / "via.json").string(), "--images", dir.string(), "--out", "o",
         "--schedule", "multistep", "--milestones", "0"});
  });
  EXPECT_NE(e.find("--milestones must be epochs >= 1"), std::string::npos) << e;
  fs::remove_all(dir);
}

}  // namespace train_test
