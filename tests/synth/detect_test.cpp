// `anima detect` (tools/anima/detect_command.hpp) end to end, through its CLI11 registration as main.cpp
// runs it. The fixture, written at test time (nothing big is committed): a Mask R-CNN R50-FPN with 3
// classes with the golden tests' weights (golden_fill, tests/nets/maskrcnn_golden_model.hpp: the
// deterministic fill with the five head layers scaled, so it detects ~100 objects on any image), saved as safetensors (176 MB) with
// the metadata "labels" = ["background", "tom", "jerry"]; a 120x90 PNG; a text file named like an image;
// a small classifier checkpoint. Checked: the --json schema (keys, types, boxes inside the image, sorted
// scores, label names from the metadata, RLE masks that decode to the image's size and equal the model's
// own masks binarised at prob > 0.5), --score filtering of the text output, --coco-results against the
// JSON, --overlay's PNG, --batch, --labels, the label-name rules, and clear errors that name the file
// with nothing written.
//
// With ANIMA_DETECT_FIXTURE_DIR set, DetectCli.WritesFixture leaves the files there for the cli_detect*
// ctests (tests/synth/cli_detect.cmake), which run the real binary.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/io/coco_rle.hpp>
#include <anima/io/weights_file.hpp>
#include <anima/nets/maskrcnn/mask_rcnn.hpp>
#include <anima/nn/deterministic_fill.hpp>
#include <anima/nn/inference.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>

#include "anima/detect_command.hpp"
#include "run_subcommand.hpp"
#include "nets/maskrcnn_golden_model.hpp"

namespace detect_test {

namespace fs = std::filesystem;

struct Fixture {
  fs::path dir, image, image2, weights, not_image, classifier, labels;
};

// 120x90: a diagonal colour pattern with two bright discs.
void write_png(const fs::path& path, int w, int h, int shift) {
  std::vector<unsigned char> rgb(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      unsigned char* p = &rgb[(static_cast<std::size_t>(y) * w + x) * 3];
      const bool disc1 = (x - 35) * (x - 35) + (y - 40) * (y - 40) < 300;
      const bool disc2 = (x - 85 - shift) * (x - 85 - shift) + (y - 55) * (y - 55) < 200;
      p[0] = static_cast<unsigned char>(disc1 ? 250 : std::abs((x * 2 + y * 3) % 128 - 64) * 3);
      p[1] = static_cast<unsigned char>(disc2 ? 240 : std::abs((x * 3 + y) % 128 - 64) * 3);
      p[2] = static_cast<unsigned char>((x + y + shift) % 256);
    }
  if (!stbi_write_png(path.c_str(), w, h, 3, rgb.data(), w * 3)) anima::fail("detect_test", "cannot write PNG");
}

Fixture write_fixture(const fs::path& dir) {
  using namespace anima;
  fs::create_directories(dir);
  Fixture f{dir,
            dir / "image.png",
            dir / "image2.png",
            dir / "maskrcnn.safetensors",
            dir / "not_an_image.png",
            dir / "classifier.safetensors",
            dir / "labels.txt"};
  write_png(f.image, 120, 90, 0);
  write_png(f.image2, 100, 80, -10);
  nets::maskrcnn::MaskRcnnOptions o;
  o.num_classes = 3;
  auto model = std::make_shared<nets::maskrcnn::MaskRCNN>(o);
  const io::StateDict sd = model->state_dict();
  nets::maskrcnn::fixture::golden_fill(sd);
  io::save_weights_safetensors(f.weights.string(), sd, {{"labels", R"(["background", "tom", "jerry"])"}});
  std::ofstream(f.not_image) << "this is not an image\n";
  io::StateDict cls;
  cls.insert("fc.weight", full({2, 4}, 0.5));
  cls.insert("fc.bias", zeros({2}));
  io::save_weights_safetensors(f.classifier.string(), cls);
  std::ofstream(f.labels) << "cat\nmouse\n";  // without the background
  return f;
}

struct FixtureHolder {
  Fixture f;
  FixtureHolder() : f(write_fixture(fs::temp_directory_path() / ("anima_detect_test_" + std::to_string(::getpid())))) {}
  ~FixtureHolder() {
    std::error_code ec;
    fs::remove_all(f.dir, ec);
  }
};

const Fixture& fixture() {
  static const FixtureHolder holder;
  return holder.f;
}

// Runs `anima <args...>` through the detect command's registration; returns stdout.
std::string run_cli(const std::vector<std::string>& args, int* status_out = nullptr) {
  return anima::cli::testing::run_subcommand(
      [](CLI::App& app, int& status) { anima::cli::add_detect_command(app, status); }, args, status_out);
}

std::vector<std::string> small(std::vector<std::string> args) {
  args.insert(args.begin(),
              {"detect", "--weights", fixture().weights.string(), "--min-size", "128", "--max-size", "200"});
  return args;
}

TEST(DetectCli, JsonSchemaCocoResultsAndOverlay) {
  const Fixture& f = fixture();
  const fs::path out = f.dir / "results.json", overlay = f.dir / "overlay";
  int status = -1;
  const std::string text = run_cli(small({"--score", "0", "--json", "--coco-results", out.string(), "--overlay",
                                          overlay.string(), f.image.string()}),
                                   &status);
  EXPECT_EQ(status, 0);
  const nlohmann::json j = nlohmann::json::parse(text);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  const auto& e = j[0];
  EXPECT_EQ(e.at("file").get<std::string>(), f.image.string());
  EXPECT_EQ(e.at("width").get<int>(), 120);
  EXPECT_EQ(e.at("height").get<int>(), 90);
  const auto& dets = e.at("detections");
  ASSERT_TRUE(dets.is_array());
  ASSERT_GT(dets.size(), 10u) << "the scaled fill detects many objects";
  double previous = 2;
  for (const auto& d : dets) {
    ASSERT_EQ(d.size(), 5u) << d.dump();
    const double score = d.at("score").get<double>();
    EXPECT_GE(score, 0.0);
    EXPECT_LE(score, previous);
    previous = score;
    const int id = d.at("label_id").get<int>();
    ASSERT_TRUE(id == 1 || id == 2) << id;
    EXPECT_EQ(d.at("label").get<std::string>(), id == 1 ? "tom" : "jerry") << "names from the metadata";
    const auto box = d.at("box").get<std::vector<double>>();
    ASSERT_EQ(box.size(), 4u);
    EXPECT_GE(box[0], 0.0);
    EXPECT_GE(box[1], 0.0);
    EXPECT_LE(box[0], box[2]);
    EXPECT_LE(box[1], box[3]);
    EXPECT_LE(box[2], 120.0);
    EXPECT_LE(box[3], 90.0);
    const auto& mask = d.at("mask");
    EXPECT_EQ(mask.at("size").get<std::vector<int>>(), (std::vector<int>{90, 120}));
    const std::vector<std::uint8_t> m = anima::io::coco_rle_decode({90, 120, mask.at("counts").get<std::string>()});
    EXPECT_EQ(m.size(), 90u * 120u);
  }

  // The masks are the model's probabilities binarised at > 0.5; the boxes and scores are the model's,
  // prepared for inference as the command runs it (nn/inference.hpp), so bitwise the same.
  {
    anima::NoGradGuard no_grad;
    anima::nets::maskrcnn::MaskRcnnOptions o;
    o.transform.min_size = 128;
    o.transform.max_size = 200;
    auto model = anima::nets::maskrcnn::maskrcnn_from_state_dict(anima::io::load_weights(f.weights.string()), o);
    anima::nn::prepare_inference(*model);
    const auto want = model->detect({anima::cli::image_tensor(anima::cli::load_detect_image(f.image.string()))});
    ASSERT_EQ(static_cast<std::size_t>(want[0].scores.shape()[0]), dets.size());
    const std::vector<float> masks = anima::to_vector<float>(want[0].masks),
                             boxes = anima::to_vector<float>(want[0].boxes);
    const std::vector<float> scores = anima::to_vector<float>(want[0].scores);
    std::size_t nonempty = 0;
    for (std::size_t k = 0; k < std::min<std::size_t>(dets.size(), 5); ++k) {
      const std::vector<std::uint8_t> got =
          anima::io::coco_rle_decode({90, 120, dets[k].at("mask").at("counts").get<std::string>()});
      for (std::size_t p = 0; p < got.size(); ++p) ASSERT_EQ(got[p], masks[k * got.size() + p] > 0.5f ? 1 : 0) << p;
      nonempty += std::count(got.begin(), got.end(), 1) > 0;
      EXPECT_EQ(dets[k].at("score").get<double>(), static_cast<double>(scores[k]));
      EXPECT_EQ(dets[k].at("box")[2].get<double>(), static_cast<double>(boxes[k * 4 + 2]));
    }
    EXPECT_GT(nonempty, 0u) << "some mask has pixels above 0.5, so the RLE check means something";
  }

  // --coco-results: the same detections in COCO's results format.
  std::ifstream in(out);
  ASSERT_TRUE(in.good());
  const nlohmann::json coco = nlohmann::json::parse(in);
  ASSERT_EQ(coco.size(), dets.size());
  for (std::size_t k = 0; k < dets.size(); ++k) {
    EXPECT_EQ(coco[k].at("image_id").get<int>(), 1);
    EXPECT_EQ(coco[k].at("category_id").get<int>(), dets[k].at("label_id").get<int>());
    EXPECT_EQ(coco[k].at("score").get<double>(), dets[k].at("score").get<double>());
    const auto box = dets[k].at("box").get<std::vector<double>>();
    const auto bbox = coco[k].at("bbox").get<std::vector<double>>();
    ASSERT_EQ(bbox.size(), 4u);
    EXPECT_EQ(bbox[0], box[0]);
    EXPECT_EQ(bbox[1], box[1]);
    EXPECT_DOUBLE_EQ(bbox[2], box[2] - box[0]);
    EXPECT_DOUBLE_EQ(bbox[3], box[3] - box[1]);
    EXPECT_EQ(coco[k].at("segmentation"), dets[k].at("mask"));
  }

  // --overlay: a PNG of the image's size, changed by the drawing.
  const fs::path png = overlay / "image.png";
  int w = 0, h = 0, c = 0;
  unsigned char* drawn = stbi_load(png.c_str(), &w, &h, &c, 3);
  ASSERT_NE(drawn, nullptr) << png;
  EXPECT_EQ(w, 120);
  EXPECT_EQ(h, 90);
  unsigned char* original = stbi_load(f.image.c_str(), &w, &h, &c, 3);
  ASSERT_NE(original, nullptr);
  EXPECT_NE(std::memcmp(drawn, original, 120 * 90 * 3), 0);
  stbi_image_free(drawn);
  stbi_image_free(original);
  for (const auto& entry : fs::directory_iterator(overlay))
    EXPECT_EQ(entry.path().filename().string().rfind(".", 0), std::string::npos) << "temporary left: " << entry.path();
}

TEST(DetectCli, TextOutputKeepsScoresAboveTheThresholdAndBatches) {
  const Fixture& f = fixture();
  const nlohmann::json all = nlohmann::json::parse(
      run_cli(small({"--score", "0", "--json", "--batch", "2", f.image.string(), f.image2.string()})));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].at("width").get<int>(), 100);
  EXPECT_EQ(all[1].at("height").get<int>(), 80);
  for (const auto& d : all[1].at("detections"))
    EXPECT_EQ(d.at("mask").at("size").get<std::vector<int>>(), (std::vector<int>{80, 100}));
  // Single-image runs: --score 0.3 keeps exactly the JSON detections with score >= 0.3.
  const nlohmann::json one = nlohmann::json::parse(run_cli(small({"--score", "0", "--json", f.image.string()})));
  std::size_t above = 0;
  for (const auto& d : one[0].at("detections")) above += d.at("score").get<double>() >= 0.3;
  const std::string text = run_cli(small({"--score", "0.3", "--labels", f.labels.string(), f.image.string()}));
  std::istringstream lines(text);
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    std::vector<std::string> fields;
    std::istringstream ls(line);
    for (std::string field; std::getline(ls, field, '\t');) fields.push_back(field);
    ASSERT_EQ(fields.size(), 7u) << line;
    EXPECT_EQ(fields[0], f.image.string());
    EXPECT_TRUE(fields[1] == "cat" || fields[1] == "mouse") << "--labels without background: " << line;
    EXPECT_GE(std::stod(fields[2]), 0.3 - 5e-5);
  }
  EXPECT_EQ(n, above) << text;
}

// --square on images that are not square: the image sits at the top-left of the canvas, so the batch is
// larger than the image along its shorter side. A 200x70 image in a 160x160 canvas is 160x56: the
// stride-4 map (40x40) is 40/56 of the image's height but 40/160 of its width, and the RoI pooling must
// take the true 1/4 (one image per batch: a batch with a taller image would hide it). Every box and mask comes back in the original image's pixels.
TEST(DetectCli, SquareModeOnNonSquareImages) {
  const Fixture& f = fixture();
  const fs::path wide = f.dir / "wide.png";
  write_png(wide, 200, 70, 5);
  int status = -1;
  const nlohmann::json all =
      nlohmann::json::parse(run_cli({"detect", "--weights", f.weights.string(), "--square", "160", "--score", "0",
                                     "--json", wide.string(), f.image.string()},
                                    &status));
  EXPECT_EQ(status, 0);
  ASSERT_EQ(all.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const double w = all[i].at("width").get<double>(), h = all[i].at("height").get<double>();
    ASSERT_FALSE(all[i].at("detections").empty()) << "image " << i;
    for (const auto& d : all[i].at("detections")) {
      const std::vector<double> b = d.at("box").get<std::vector<double>>();
      EXPECT_TRUE(b[0] >= 0 && b[1] >= 0 && b[0] <= b[2] && b[1] <= b[3] && b[2] <= w && b[3] <= h) << d.at("box");
      EXPECT_EQ(d.at("mask").at("size").get<std::vector<double>>(), (std::vector<double>{h, w}));
    }
  }
  EXPECT_EQ(all[0].at("width").get<int>(), 200);
  fs::remove(wide);
}

TEST(DetectCli, ClassNames) {
  using anima::cli::detect_class_names;
  const auto coco = detect_class_names(91, "", {}, "w");
  ASSERT_EQ(coco.size(), 91u);
  EXPECT_EQ(coco[0], "__background__");
  EXPECT_EQ(coco[1], "person");
  EXPECT_EQ(coco[12], "N/A");
  EXPECT_EQ(coco[90], "toothbrush");
  EXPECT_EQ(detect_class_names(4, "", {}, "w"),
            (std::vector<std::string>{"__background__", "class_1", "class_2", "class_3"}));
  EXPECT_EQ(detect_class_names(3, "", {{"labels", R"(["bg", "a", "b"])"}}, "w"),
            (std::vector<std::string>{"bg", "a", "b"}));
  EXPECT_EQ(detect_class_names(3, "", {{"labels", R"(["a", "b"])"}}, "w"),
            (std::vector<std::string>{"__background__", "a", "b"}));
  EXPECT_THROW(detect_class_names(3, "", {{"labels", R"(["a"])"}}, "w"), anima::Error);
  EXPECT_THROW(detect_class_names(3, "", {{"labels", R"({"a": 1})"}}, "w"), anima::Error);
}

TEST(DetectCli, BadInputsAreClearErrorsAndWriteNothing) {
  const Fixture& f = fixture();
  auto error_of = [](const std::vector<std::string>& args) {
    return anima::cli::testing::error_message([&] { run_cli(args); });
  };
  const fs::path out = f.dir / "bad" / "results.json", overlay = f.dir / "bad_overlay";
  fs::create_directories(out.parent_path());
  const std::vector<std::string> outputs{"--coco-results", out.string(), "--overlay", overlay.string()};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), outputs.begin(), outputs.end());
    return args;
  };
  const std::string img = f.image.string();
  std::string e = error_of(small(with({f.not_image.string()})));
  EXPECT_NE(e.find("not_an_image.png"), std::string::npos) << e;
  e = error_of(small(with({img, (f.dir / "missing.png").string()})));
  EXPECT_NE(e.find("missing.png"), std::string::npos) << e;
  e = error_of(with({"detect", "--weights", f.classifier.string(), img}));
  EXPECT_NE(e.find("classifier.safetensors"), std::string::npos) << e;
  e = error_of(with({"detect", "--weights", (f.dir / "missing.safetensors").string(), img}));
  EXPECT_NE(e.find("missing.safetensors"), std::string::npos) << e;
  e = error_of(with({"detect", "--weights", f.not_image.string(), img}));
  EXPECT_NE(e.find("not_an_image.png"), std::string::npos) << e;
  const fs::path bad_labels = f.dir / "five_labels.txt";
  std::ofstream(bad_labels) << "a\nb\nc\nd\ne\n";  // neither 3 (with background) nor 2 (without)
  e = error_of(small(with({"--labels", bad_labels.string(), img})));
  EXPECT_NE(e.find("five_labels.txt' has 5 labels but the checkpoint has 3 classes"), std::string::npos) << e;
  e = error_of(small(with({"--device", "tpu", img})));
  EXPECT_NE(e.find("tpu"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(out)) << "nothing written on failure";
  EXPECT_TRUE(fs::is_empty(out.parent_path()));
  EXPECT_FALSE(fs::exists(overlay) && !fs::is_empty(overlay));
  EXPECT_THROW(run_cli(small({"--square", "256", img})), CLI::ExcludesError);
  EXPECT_THROW(run_cli(small({"--score", "2", img})), CLI::ValidationError);
}

// Leaves the fixture where the cli_detect ctests (the real binary) read it.
TEST(DetectCli, WritesFixture) {
  const char* dir = std::getenv("ANIMA_DETECT_FIXTURE_DIR");
  if (dir == nullptr || *dir == '\0') GTEST_SKIP() << "ANIMA_DETECT_FIXTURE_DIR not set (the cli_detect setup sets it)";
  const Fixture f = write_fixture(dir);
  EXPECT_TRUE(fs::is_regular_file(f.weights));
  EXPECT_TRUE(fs::is_regular_file(f.image));
}

}  // namespace detect_test
