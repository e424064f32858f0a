// `anima classify` (tools/anima/classify_command.hpp) end to end, through its CLI11 registration as
// main.cpp runs it: a small PNG and a MobileNetV2 with 10 classes (the nets' deterministic fill, saved
// as safetensors at test time, 9 MB: nothing big is committed) -> --json output, whose structure is checked
// (one entry per image, top-k sorted by probability, probabilities in [0, 1] summing to at most 1,
// labels matching indices, logits) and whose logits are compared with the net run directly on the
// same preprocessed image. Failing cases: a missing or corrupt image, missing or corrupt weights,
// weights of another net, a labels file of the wrong length, an unknown net.
//
// With ANIMA_CLASSIFY_FIXTURE_DIR set, ClassifyCli.WritesFixture leaves image.png, weights.safetensors
// and labels.txt there for the cli_classify ctest, which runs the real binary on them.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <stb/stb_image_write.h>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/data/imagenet_transforms.hpp>
#include <anima/io/weights_file.hpp>
#include <anima/nn/deterministic_fill.hpp>
#include <anima/nn/inference.hpp>
#include <anima/nets/registry.hpp>

#include "anima/classify_command.hpp"
#include "run_subcommand.hpp"

namespace classify_test {

namespace fs = std::filesystem;

constexpr int kClasses = 10;

struct Fixture {
  fs::path dir, image, weights, labels;
};

// A 70x50 RGB PNG (a colour gradient with a bright square), 10 labels, and a mobilenet_v2 with 10
// classes saved as safetensors.
Fixture write_fixture(const fs::path& dir) {
  fs::create_directories(dir);
  Fixture f{dir, dir / "image.png", dir / "weights.safetensors", dir / "labels.txt"};
  const int w = 70, h = 50;
  std::vector<unsigned char> rgb(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const bool square = x > 20 && x < 40 && y > 10 && y < 30;
      unsigned char* p = &rgb[(static_cast<std::size_t>(y) * w + x) * 3];
      p[0] = static_cast<unsigned char>(square ? 250 : x * 3);
      p[1] = static_cast<unsigned char>(square ? 240 : y * 5);
      p[2] = static_cast<unsigned char>((x + y) % 256);
    }
  if (!stbi_write_png(f.image.c_str(), w, h, 3, rgb.data(), w * 3)) anima::fail("classify_test", "cannot write PNG");
  auto net = anima::nets::make_net("mobilenet_v2", kClasses);
  // The nets' deterministic fill (anima/nn/deterministic_fill.hpp): logits of a few units, so the
  // ranking means something (a default-initialised MobileNetV2 gives logits ~1e-9, all equal in float32).
  anima::nn::deterministic_fill(net->state_dict());
  anima::io::save_weights_safetensors(f.weights.string(), net->state_dict());
  std::ofstream labels(f.labels);
  for (int i = 0; i < kClasses; ++i) labels << "class number " << i << "\n";
  return f;
}

const Fixture& fixture() {
  static const Fixture f =
      write_fixture(fs::temp_directory_path() / ("anima_classify_test_" + std::to_string(::getpid())));
  return f;
}

// Runs `anima <args...>` through the classify command's registration; returns stdout.
std::string run_cli(const std::vector<std::string>& args, int* status_out = nullptr) {
  return anima::cli::testing::run_subcommand(
      [](CLI::App& app, int& status) { anima::cli::add_classify_command(app, status); }, args, status_out);
}

TEST(ClassifyCli, JsonOutputIsWellFormedAndMatchesTheNet) {
  const Fixture& f = fixture();
  int status = -1;
  const std::string out =
      run_cli({"classify", "--net", "mobilenet_v2", "--weights", f.weights.string(), "--labels", f.labels.string(),
               "--topk", "5", "--json", "--logits", f.image.string(), f.image.string()},
              &status);
  EXPECT_EQ(status, 0);
  const nlohmann::json j = nlohmann::json::parse(out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  const std::vector<std::string> labels = anima::cli::read_labels_file(f.labels, "classify");
  for (const auto& entry : j) {
    EXPECT_EQ(entry.at("file").get<std::string>(), f.image.string());
    const auto& topk = entry.at("topk");
    ASSERT_EQ(topk.size(), 5u);
    double sum = 0, previous = 2;
    std::vector<int> seen;
    for (const auto& p : topk) {
      const double prob = p.at("prob").get<double>();
      const int index = p.at("index").get<int>();
      EXPECT_GE(prob, 0.0);
      EXPECT_LE(prob, previous) << "top-k must be sorted by probability";
      previous = prob;
      sum += prob;
      ASSERT_GE(index, 0);
      ASSERT_LT(index, kClasses);
      EXPECT_EQ(std::count(seen.begin(), seen.end(), index), 0) << "index " << index << " listed twice";
      seen.push_back(index);
      EXPECT_EQ(p.at("label").get<std::string>(), labels[static_cast<std::size_t>(index)]);
    }
    EXPECT_LE(sum, 1.0 + 1e-12) << "probabilities are computed in double";
    EXPECT_GT(sum, 0.5 - 1e-9) << "5 of 10 classes hold at least half the mass";
    ASSERT_EQ(entry.at("logits").size(), static_cast<std::size_t>(kClasses));
  }

  // The logits are the net's on torchvision's preprocessing of the image (resize 256, crop 224), the net
  // prepared for inference as the command runs it (nn/inference.hpp).
  anima::NoGradGuard no_grad;
  auto net = anima::nets::make_net("mobilenet_v2", kClasses);
  net->load_state_dict(anima::io::load_weights(f.weights.string()));
  anima::nn::prepare_inference(*net);
  const anima::data::ImageU8 im = anima::cli::load_rgb(f.image.string());
  EXPECT_EQ(im.width, 70);
  const anima::Tensor x = anima::unsqueeze(anima::data::imagenet_eval_transform(im, 256, 224), 0);
  const std::vector<float> want = anima::to_vector<float>(net->forward(x));
  const std::vector<float> got = j[0].at("logits").get<std::vector<float>>();
  ASSERT_EQ(got.size(), want.size());
  float spread = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i], want[i]) << "logit " << i << " (same net, same input: bitwise equal)";
    spread = std::max(spread, std::fabs(want[i] - want[0]));
  }
  EXPECT_GT(spread, 0.f) << "degenerate logits would not test the ranking";
  // The best class is the arg-max of the logits.
  const int best = static_cast<int>(std::max_element(want.begin(), want.end()) - want.begin());
  EXPECT_EQ(j[0].at("topk")[0].at("index").get<int>(), best);
}

TEST(ClassifyCli, TextOutputAndTopkLargerThanTheClasses) {
  const Fixture& f = fixture();
  const std::string out = run_cli({"classify", "--net", "mobilenet_v2", "--weights", f.weights.string(), "--topk", "50",
                                   "--resize", "0", "--crop", "0", f.image.string()});
  EXPECT_NE(out.find(f.image.string()), std::string::npos) << out;
  EXPECT_NE(out.find("10. "), std::string::npos) << "all 10 classes listed: " << out;
  EXPECT_EQ(out.find("11. "), std::string::npos) << out;
}

// --batch runs several images per forward: the same logits as one at a time, up to float32 rounding
// (the convolutions may block a batch differently: 1e-4 of the logits' range, here a few units, is far
// below any difference in the ranking this test would miss). Three images at --batch 2: a full
// batch and a partial one.
TEST(ClassifyCli, BatchesGiveTheSameLogits) {
  const Fixture& f = fixture();
  const std::vector<std::string> common = {"classify",         "--net",  "mobilenet_v2", "--weights",
                                           f.weights.string(), "--json", "--logits"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = common;
    args.insert(args.end(), extra.begin(), extra.end());
    return nlohmann::json::parse(run_cli(args));
  };
  const nlohmann::json one = with({f.image.string()});
  const nlohmann::json batched = with({"--batch", "2", f.image.string(), f.image.string(), f.image.string()});
  ASSERT_EQ(batched.size(), 3u);
  const std::vector<float> want = one[0].at("logits").get<std::vector<float>>();
  for (const auto& entry : batched) {
    const std::vector<float> got = entry.at("logits").get<std::vector<float>>();
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4) << "logit " << i;
    EXPECT_EQ(entry.at("topk")[0].at("index"), one[0].at("topk")[0].at("index"));
  }
}

TEST(ClassifyCli, BadInputsAreClearErrors) {
  const Fixture& f = fixture();
  auto error_of = [](const std::vector<std::string>& args) {
    return anima::cli::testing::error_message([&] { run_cli(args); });
  };
  const std::string w = f.weights.string(), img = f.image.string();
  const fs::path garbage = f.dir / "garbage.png";
  std::ofstream(garbage) << "this is not an image";
  const fs::path bad_weights = f.dir / "bad_weights.safetensors";
  std::ofstream(bad_weights) << "not a weights file at all";
  const fs::path short_labels = f.dir / "short_labels.txt";
  std::ofstream(short_labels) << "a\nb\n";

  std::string e = error_of({"classify", "--net", "mobilenet_v2", "--weights", w, (f.dir / "missing.png").string()});
  EXPECT_NE(e.find("missing.png"), std::string::npos) << e;
  e = error_of({"classify", "--net", "mobilenet_v2", "--weights", w, garbage.string()});
  EXPECT_NE(e.find("cannot decode image"), std::string::npos) << e;
  e = error_of({"classify", "--net", "mobilenet_v2", "--weights", (f.dir / "missing.safetensors").string(), img});
  EXPECT_NE(e.find("missing.safetensors"), std::string::npos) << e;
  e = error_of({"classify", "--net", "mobilenet_v2", "--weights", bad_weights.string(), img});
  EXPECT_NE(e.find("bad_weights.safetensors"), std::string::npos) << e;
  e = error_of({"classify", "--net", "resnet50", "--weights", w, img});
  EXPECT_NE(e.find("fc.weight"), std::string::npos) << e;
  e = error_of({"classify", "--net", "mobilenet_v2", "--weights", w, "--labels", short_labels.string(), img});
  EXPECT_NE(e.find("2 labels but the net has 10 classes"), std::string::npos) << e;
  e = error_of({"classify", "--net", "mobilenet_v2", "--weights", w, "--device", "tpu", img});
  EXPECT_NE(e.find("unknown device 'tpu'"), std::string::npos) << e;
  EXPECT_THROW(run_cli({"classify", "--net", "alexnet", "--weights", w, img}), CLI::ValidationError);
  EXPECT_THROW(run_cli({"classify", "--net", "mobilenet_v2", "--weights", w, "--batch", "0", img}),
               CLI::ValidationError);
}

// Leaves the fixture where the cli_classify ctest (the real binary) reads it.
TEST(ClassifyCli, WritesFixture) {
  const char* dir = std::getenv("ANIMA_CLASSIFY_FIXTURE_DIR");
  if (dir == nullptr || *dir == '\0')
    GTEST_SKIP() << "ANIMA_CLASSIFY_FIXTURE_DIR not set (the cli_classify setup sets it)";
  const Fixture f = write_fixture(dir);
  EXPECT_TRUE(fs::is_regular_file(f.weights));
  EXPECT_TRUE(fs::is_regular_file(f.image));
}

}  // namespace classify_test
