// `anima train classifier` (tools/anima/train_command.hpp). The runs themselves go through the real
// binary (tests/synth/cli_train.cmake: a run killed by SIGKILL and resumed ends with the same bits as
// one that was not; then `anima eval classifier` on the trained weights); here: the fixture they use
// and the refusals, in-process.
//
// With ANIMA_TRAIN_FIXTURE_DIR set, TrainCli.WritesFixture leaves data/ there (train/ with 4 images per
// class, val/ with 2, three classes) for the cli_train ctests.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "anima/train_command.hpp"
#include "run_subcommand.hpp"
#include "test_images.hpp"

namespace {

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

}  // namespace
