// `anima eval` (tools/anima/eval_command.hpp): the classifier and the detector evaluations, in one
// file because both compile the whole command.
//
// Classifier:
//   `anima eval classifier` (tools/anima/eval_command.hpp) end to end through its CLI11 registration: a
//   3-class MobileNetV2 (the nets' deterministic fill, written at test time) on an ImageFolder of 12
//   small PNGs. The predictions must be those `anima classify` gives for the same files; metrics.json
//   must agree with predictions.csv and with the metrics recomputed from it; the default split, --split
//   and the refusals (class count, missing folders, a corrupt image) are checked, and a failed run
//   writes nothing. The report's pictures are PNGs and report.html embeds them; with Debian's chromium
//   installed, EvalReport.RendersInChromium screenshots the page headless and checks it drew them.
//
//   With ANIMA_EVAL_FIXTURE_DIR set, EvalCli.WritesFixture leaves data/ and weights.safetensors there
//   for the cli_eval ctests, which run the real binary (and its media plugin) on them.
//
// Detector:
//   `anima eval detector` (tools/anima/eval_detector.hpp). evaluate_detections on hand-made results
//   (detections equal to the ground truth score 1; one object missed halves the recall; a class the
//   annotations lack is left out); then the command end to end on two PNGs annotated in VIA with a
//   golden-filled 3-class Mask R-CNN (its detections are arbitrary: the schema and ranges are checked,
//   and that the curves, the overlays and the page that embeds them are written).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <anima/io/weights_file.hpp>
#include <anima/metrics/one_vs_rest.hpp>
#include <anima/nets/registry.hpp>
#include <anima/nn/deterministic_fill.hpp>

#include "anima/eval_command.hpp"
#include "anima/eval_detector_report.hpp"
#include "anima/eval_report.hpp"
#include "nets/maskrcnn_golden_model.hpp"
#include "run_subcommand.hpp"
#include "test_images.hpp"

// --- anima eval classifier ---------------------------------------------------------------------

namespace eval_test {

namespace fs = std::filesystem;
using anima::cli::testing::error_message;
using anima::cli::testing::write_png;

const std::vector<std::string> kClasses = {"angry", "happy", "sad"};

struct Fixture {
  fs::path dir, data, weights;
};

// data/test/<class>/ with 4 images each, data/val/ with 2 each; a 3-class mobilenet_v2.
Fixture write_fixture(const fs::path& dir) {
  Fixture f{dir, dir / "data", dir / "weights.safetensors"};
  int seed = 0;
  for (const char* split : {"test", "val"})
    for (const auto& c : kClasses)
      for (int i = 0; i < (std::string(split) == "test" ? 4 : 2); ++i)
        write_png(f.data / split / c / ("img" + std::to_string(i) + ".png"), seed++);
  auto net = anima::nets::make_net("mobilenet_v2", static_cast<int>(kClasses.size()));
  anima::nn::deterministic_fill(net->state_dict());
  anima::io::save_weights_safetensors(f.weights.string(), net->state_dict());
  return f;
}

const Fixture& fixture() {
  static const Fixture f = write_fixture(fs::temp_directory_path() / ("anima_eval_test_" + std::to_string(::getpid())));
  return f;
}

std::string run_eval(const std::vector<std::string>& args) {
  return anima::cli::testing::run_subcommand(
      [](CLI::App& app, int& status) { anima::cli::add_eval_command(app, status, anima::cli::write_eval_report); },
      args);
}

std::vector<std::string> eval_args(const fs::path& data, const fs::path& out) {
  return {"eval",      "classifier",
          "--net",     "mobilenet_v2",
          "--weights", fixture().weights.string(),
          "--data",    data.string(),
          "--out",     out.string(),
          "--resize",  "64",
          "--crop",    "64",
          "--batch",   "5",
          "--quiet"};
}

std::vector<std::vector<std::string>> read_csv(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

TEST(EvalCli, MetricsAgreeWithClassifyAndWithThePredictions) {
  const Fixture& f = fixture();
  const fs::path out = f.dir / "out_test";
  const std::string report = run_eval(eval_args(f.data, out));
  EXPECT_NE(report.find("weighted avg"), std::string::npos) << report;
  EXPECT_NE(report.find((f.data / "test").string()), std::string::npos) << "the default split is test/";

  std::ifstream in(out / "metrics.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("schema"), "anima.eval.classifier/1");
  EXPECT_EQ(j.at("classes").get<std::vector<std::string>>(), kClasses);
  ASSERT_EQ(j.at("samples"), 12);

  // predictions.csv: a header and one row per image; its predictions are classify's argmax.
  const auto rows = read_csv(out / "predictions.csv");
  ASSERT_EQ(rows.size(), 13u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"file", "true", "predicted", "p_angry", "p_happy", "p_sad"}));
  std::vector<std::string> files;
  for (std::size_t r = 1; r < rows.size(); ++r) files.push_back(rows[r][0]);
  anima::cli::ClassifyOptions co;
  co.net = "mobilenet_v2";
  co.weights = f.weights.string();
  co.images = files;
  co.topk = 1;
  co.resize = co.crop = 64;
  co.labels = "";
  const auto classified = anima::cli::classify_images(co);
  std::vector<int> y_true, y_pred;
  std::vector<double> scores;
  int correct = 0;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    ASSERT_EQ(row.size(), 6u);
    const int t = static_cast<int>(std::find(kClasses.begin(), kClasses.end(), row[1]) - kClasses.begin());
    const int p = static_cast<int>(std::find(kClasses.begin(), kClasses.end(), row[2]) - kClasses.begin());
    EXPECT_EQ(fs::path(row[0]).parent_path().filename().string(), row[1]) << "the true class is the folder";
    EXPECT_EQ(p, classified[r - 1].topk[0].index) << row[0];
    y_true.push_back(t);
    y_pred.push_back(p);
    for (int c = 0; c < 3; ++c) scores.push_back(std::stod(row[3 + static_cast<std::size_t>(c)]));
    correct += t == p;
  }
  EXPECT_DOUBLE_EQ(j.at("accuracy").get<double>(), correct / 12.0);

  // The confusion matrix and the per-class numbers from the predictions.
  const auto& counts = j.at("confusion_matrix").at("counts");
  for (int t = 0; t < 3; ++t)
    for (int p = 0; p < 3; ++p) {
      int n = 0;
      for (std::size_t i = 0; i < y_true.size(); ++i) n += y_true[i] == t && y_pred[i] == p;
      EXPECT_EQ(counts[t][p].get<int>(), n) << t << "," << p;
    }
  const anima::metrics::OneVsRestCurves curves = anima::metrics::one_vs_rest_curves(y_true, scores, 3);
  for (int c = 0; c < 3; ++c) {
    const auto& row = j.at("per_class")[c];
    EXPECT_EQ(row.at("class"), kClasses[c]);
    EXPECT_EQ(row.at("support"), 4);
    EXPECT_NEAR(row.at("roc_auc").get<double>(), curves.auc[c], 1e-12);
    EXPECT_NEAR(row.at("average_precision").get<double>(), curves.average_precision[c], 1e-12);
  }
  EXPECT_EQ(j.at("curves").at("roc").at("micro").at("fpr").size(), curves.roc_micro.fpr.size());
  EXPECT_EQ(j.at("top_k_accuracy").at("3"), 1.0);

  // The pictures and the page.
  for (const char* png : {"confusion_matrix.png", "precision_recall.png", "roc.png"}) {
    int w = 0, h = 0, n = 0;
    unsigned char* pixels = stbi_load((out / png).c_str(), &w, &h, &n, 3);
    ASSERT_NE(pixels, nullptr) << png << " is not a PNG";
    stbi_image_free(pixels);
    EXPECT_GE(w, 300) << png;
    EXPECT_GE(h, 300) << png;
  }
  std::ifstream page_in(out / "report.html");
  const std::string page((std::istreambuf_iterator<char>(page_in)), std::istreambuf_iterator<char>());
  for (const std::string& c : kClasses) EXPECT_NE(page.find("<th>" + c + "</th>"), std::string::npos) << c;
  std::size_t embedded = 0;
  for (std::size_t at = page.find("data:image/png;base64,"); at != std::string::npos;
       at = page.find("data:image/png;base64,", at + 1))
    ++embedded;
  EXPECT_EQ(embedded, 3u + static_cast<std::size_t>(12 - correct)) << "3 plots and every misclassified image";
  EXPECT_NE(page.find("Misclassified images (" + std::to_string(12 - correct) + ")"), std::string::npos);
}

// Headless Chromium (Debian's chromium, when installed) renders report.html: the screenshot must show
// the embedded pictures (their blues), not just text.
TEST(EvalReport, RendersInChromium) {
  const char* chromium = "/usr/bin/chromium";
  if (!fs::exists(chromium)) GTEST_SKIP() << "no " << chromium << " (Debian package chromium)";
  const Fixture& f = fixture();
  const fs::path out = f.dir / "out_browser";
  run_eval(eval_args(f.data, out));
  const fs::path shot = out / "screenshot.png", profile = out / "chromium_profile";
  const std::string command = std::string(chromium) +
                              " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                              " --disable-background-networking --disable-component-update --disable-sync"
                              " --hide-scrollbars --window-size=1200,2600 --user-data-dir=" +
                              profile.string() + " --screenshot=" + shot.string() + " file://" +
                              (out / "report.html").string() + " > " + (out / "chromium.log").string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  int w = 0, h = 0, n = 0;
  unsigned char* pixels = stbi_load(shot.c_str(), &w, &h, &n, 3);
  ASSERT_NE(pixels, nullptr) << "no screenshot from " << command;
  EXPECT_EQ(w, 1200);
  std::size_t blue = 0, dark = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(w) * h; ++i) {
    const unsigned char* p = pixels + i * 3;
    blue += p[2] > 130 && p[0] < 90 && p[1] < 140;  // the heat map's dark cells, the first curve's blue
    dark += p[0] < 60 && p[1] < 60 && p[2] < 60;    // text
  }
  stbi_image_free(pixels);
  EXPECT_GT(blue, 2000u) << "the embedded pictures did not render";
  EXPECT_GT(dark, 2000u) << "no text rendered";
}

// Leaves the fixture for the cli_eval ctests (skipped unless ANIMA_EVAL_FIXTURE_DIR is set).
TEST(EvalCli, WritesFixture) {
  const char* dir = std::getenv("ANIMA_EVAL_FIXTURE_DIR");
  if (dir == nullptr) GTEST_SKIP() << "ANIMA_EVAL_FIXTURE_DIR not set";
  const Fixture f = write_fixture(dir);
  for (const char* c : {"a", "b", "c", "d"}) write_png(f.dir / "four" / "test" / c / "x.png", 1);
  EXPECT_TRUE(fs::exists(f.weights));
}

TEST(EvalCli, SplitsDefaultToTestThenVal) {
  const Fixture& f = fixture();
  const std::string val = run_eval([&] {
    auto a = eval_args(f.data, f.dir / "out_val");
    a.insert(a.end(), {"--split", "val"});
    return a;
  }());
  std::ifstream in(f.dir / "out_val" / "metrics.json");
  EXPECT_EQ(nlohmann::json::parse(in).at("samples"), 6);
  // A folder with only val/ evaluates val/; --split . takes the folder itself.
  const fs::path only_val = f.dir / "only_val";
  fs::create_directories(only_val);
  fs::copy(f.data / "val", only_val / "val", fs::copy_options::recursive | fs::copy_options::skip_existing);
  EXPECT_NE(run_eval(eval_args(only_val, f.dir / "out_only_val")).find((only_val / "val").string()), std::string::npos);
  auto dot = eval_args(only_val / "val", f.dir / "out_dot");
  dot.insert(dot.end(), {"--split", "."});
  run_eval(dot);
  EXPECT_TRUE(fs::exists(f.dir / "out_dot" / "metrics.json"));
}

TEST(EvalCli, BadInputsAreClearErrorsAndWriteNothing) {
  const Fixture& f = fixture();
  const fs::path out = f.dir / "out_bad";
  // Four class folders for a three-class net.
  const fs::path four = f.dir / "four";
  for (const char* c : {"a", "b", "c", "d"}) write_png(four / "test" / c / "x.png", 1);
  std::string e = error_message([&] { run_eval(eval_args(four, out)); });
  EXPECT_NE(e.find("has 3 classes but"), std::string::npos) << e;
  EXPECT_NE(e.find("has 4 class folders"), std::string::npos) << e;
  // No test/ or val/.
  const fs::path bare = f.dir / "bare";
  write_png(bare / "train" / "a" / "x.png", 1);
  e = error_message([&] { run_eval(eval_args(bare, out)); });
  EXPECT_NE(e.find("neither test/ nor val/"), std::string::npos) << e;
  e = error_message([&] { run_eval(eval_args(f.dir / "nowhere", out)); });
  EXPECT_NE(e.find("is not a folder"), std::string::npos) << e;
  // A file named like an image that is not one.
  const fs::path corrupt = f.dir / "corrupt";
  fs::create_directories(corrupt);
  fs::copy(f.data / "val", corrupt / "val", fs::copy_options::recursive | fs::copy_options::skip_existing);
  std::ofstream(corrupt / "val" / "happy" / "broken.png") << "not a png";
  e = error_message([&] { run_eval(eval_args(corrupt, out)); });
  EXPECT_NE(e.find("broken.png"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(out / "metrics.json"));
  EXPECT_FALSE(fs::exists(out / "predictions.csv"));
  // With --skip-unreadable the broken image is left out and listed.
  auto skip = eval_args(corrupt, out);
  skip.push_back("--skip-unreadable");
  run_eval(skip);
  std::ifstream in(out / "metrics.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("samples"), 6);
  ASSERT_EQ(j.at("skipped").size(), 1u);
  EXPECT_NE(j.at("skipped")[0].get<std::string>().find("broken.png"), std::string::npos);
}

}  // namespace eval_test

// --- anima eval detector -----------------------------------------------------------------------

namespace eval_test {

namespace fs = std::filesystem;
using anima::cli::Detection;

std::size_t count_occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}
using anima::cli::DetectResult;

anima::data::AnnotatedInstance square(double x, double y, double side, int label) {
  anima::data::AnnotatedInstance in;
  in.box = {x, y, x + side, y + side};
  in.label = label;
  in.polygons = {{x, y, x + side, y, x + side, y + side, x, y + side}};
  return in;
}

// The detection that reproduces `in` exactly on a w x h image.
Detection exact(const anima::data::AnnotatedInstance& in, const std::string& label, double score, int w, int h) {
  Detection d;
  d.label = label;
  d.score = score;
  d.box = in.box;
  d.mask = anima::io::coco_rle_encode(anima::io::coco_polygons_mask(in.polygons, h, w), h, w);
  return d;
}

TEST(EvalDetector, PerfectAndHalfFoundResults) {
  anima::data::DetectionAnnotations ann;
  ann.classes = {"jerry", "tom"};
  ann.images.resize(2);
  ann.images[0].instances = {square(10, 10, 40, 2)};  // tom, 1600 px: medium
  ann.images[1].instances = {square(5, 5, 20, 1)};    // jerry, 400 px: small
  std::vector<DetectResult> results(2);
  for (auto& r : results) r.width = 80, r.height = 60;
  results[0].detections = {exact(ann.images[0].instances[0], "tom", 0.9, 80, 60)};
  results[1].detections = {exact(ann.images[1].instances[0], "jerry", 0.8, 80, 60)};
  Detection stranger = exact(ann.images[1].instances[0], "spike", 0.99, 80, 60);  // not an annotated class
  results[1].detections.insert(results[1].detections.begin(), stranger);
  auto e = anima::cli::evaluate_detections(ann, results);
  EXPECT_EQ(e.objects, 2u);
  EXPECT_NEAR(e.bbox.ap, 1.0, 1e-12);
  EXPECT_NEAR(e.segm.ap, 1.0, 1e-12);
  EXPECT_NEAR(e.segm.ap_small, 1.0, 1e-12);
  EXPECT_NEAR(e.segm.ap_medium, 1.0, 1e-12);
  EXPECT_EQ(e.segm.ap_large, -1.0);
  // tom missed: tom's AP 0 (recall 0), jerry's 1: mean 0.5; AR100 0.5.
  results[0].detections.clear();
  e = anima::cli::evaluate_detections(ann, results);
  EXPECT_NEAR(e.bbox.ap, 0.5, 1e-12);
  EXPECT_NEAR(e.segm.ar100, 0.5, 1e-12);
  ASSERT_EQ(e.segm.ap_per_category.size(), 2u);
  EXPECT_NEAR(e.segm.ap_per_category[0], 1.0, 1e-12);
  EXPECT_NEAR(e.segm.ap_per_category[1], 0.0, 1e-12);
}

TEST(EvalDetector, CocoAreaFieldBinsTheObject) {
  // A 40x40 square (1600 px: medium) whose annotation says area 10000: pycocotools bins it by the
  // file's area, so it counts as large, for boxes and masks alike.
  anima::data::DetectionAnnotations ann;
  ann.classes = {"tom"};
  ann.images.resize(1);
  ann.images[0].instances = {square(10, 10, 40, 1)};
  std::vector<DetectResult> results(1);
  results[0].width = 80, results[0].height = 60;
  results[0].detections = {exact(ann.images[0].instances[0], "tom", 0.9, 80, 60)};
  auto e = anima::cli::evaluate_detections(ann, results);
  EXPECT_NEAR(e.segm.ap_medium, 1.0, 1e-12);
  EXPECT_EQ(e.segm.ap_large, -1.0);
  ann.images[0].instances[0].area = 10000.0;
  e = anima::cli::evaluate_detections(ann, results);
  EXPECT_EQ(e.segm.ap_medium, -1.0);
  EXPECT_NEAR(e.segm.ap_large, 1.0, 1e-12);
  EXPECT_NEAR(e.bbox.ap_large, 1.0, 1e-12);
}

TEST(EvalDetector, CommandWritesMetricsForAViaProject) {
  const fs::path dir = fs::temp_directory_path() / ("anima_eval_detector_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  anima::cli::testing::write_png(dir / "a.png", 1, 96, 72);
  anima::cli::testing::write_png(dir / "b.png", 2, 96, 72);
  std::ofstream(dir / "via.json") << R"({"a.png1": {"filename": "a.png", "regions": [
      {"shape_attributes": {"name": "polygon", "all_points_x": [10, 40, 30], "all_points_y": [10, 12, 40]},
       "region_attributes": {"character": "tom"}}]},
    "b.png2": {"filename": "b.png", "regions": [
      {"shape_attributes": {"name": "rect", "x": 50, "y": 20, "width": 30, "height": 25},
       "region_attributes": {"character": "jerry"}}]}})";
  anima::nets::maskrcnn::MaskRcnnOptions mo;
  mo.num_classes = 3;
  auto model = std::make_shared<anima::nets::maskrcnn::MaskRCNN>(mo);
  const anima::io::StateDict sd = model->state_dict();
  anima::nets::maskrcnn::fixture::golden_fill(sd);
  anima::io::save_weights_safetensors((dir / "maskrcnn.safetensors").string(), sd,
                                      {{"labels", R"(["background", "tom", "jerry"])"}});
  int status = -1;
  const std::string out = anima::cli::testing::run_subcommand(
      [](CLI::App& app, int& s) {
        anima::cli::add_eval_command(app, s, anima::cli::write_eval_report, anima::cli::write_eval_detector_report);
      },
      {"eval", "detector", "--weights", (dir / "maskrcnn.safetensors").string(), "--via", (dir / "via.json").string(),
       "--images", dir.string(), "--out", (dir / "out").string(), "--min-size", "128", "--max-size", "200"},
      &status);
  EXPECT_EQ(status, 0);
  EXPECT_NE(out.find("Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]"), std::string::npos)
      << out;
  std::ifstream in(dir / "out" / "metrics.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("schema"), "anima.eval.detector/1");
  EXPECT_EQ(j.at("classes"), (std::vector<std::string>{"jerry", "tom"}));
  EXPECT_EQ(j.at("images"), 2);
  EXPECT_EQ(j.at("objects"), 2);
  for (const char* kind : {"bbox", "segm"})
    for (const char* key : {"AP", "AP50", "AR100"}) {
      const double v = j.at(kind).at(key).get<double>();
      EXPECT_TRUE(v == -1.0 || (v >= 0.0 && v <= 1.0)) << kind << " " << key << " " << v;
    }
  EXPECT_EQ(j.at("bbox").at("per_class").size(), 2u);
  // The pictures, the overlays of both images and the page that shows them.
  for (const char* f :
       {"precision_recall_mask.png", "precision_recall_box.png", "detections/a.png", "detections/b.png"})
    EXPECT_GT(fs::file_size(dir / "out" / f), 100u) << f;
  std::ifstream page_in(dir / "out" / "report.html");
  const std::string page((std::istreambuf_iterator<char>(page_in)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("COCO metrics"), std::string::npos);
  EXPECT_GE(count_occurrences(page, "data:image/png;base64,"), 4u) << "two curves and two overlays embedded";
  // No annotations given, or both: a clear error.
  const std::string e = anima::cli::testing::error_message([&] {
    anima::cli::testing::run_subcommand([](CLI::App& app, int& s) { anima::cli::add_eval_command(app, s); },
                                        {"eval", "detector", "--weights", "w", "--images", dir.string(), "--out", "o"});
  });
  EXPECT_NE(e.find("--coco FILE or --via FILE"), std::string::npos) << e;
  fs::remove_all(dir);
}

}  // namespace eval_test
