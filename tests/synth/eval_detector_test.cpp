// `anima eval detector` (tools/anima/eval_detector.hpp). evaluate_detections on hand-made results
// (detections equal to the ground truth score 1; one object missed halves the recall; a class the
// annotations lack is left out); then the command end to end on two PNGs annotated in VIA with a
// golden-filled 3-class Mask R-CNN (its detections are arbitrary: the schema and ranges are checked,
// and that the curves, the overlays and the page that embeds them are written).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <anima/io/weights_file.hpp>

#include "anima/eval_command.hpp"
#include "anima/eval_detector_report.hpp"
#include "anima/eval_report.hpp"
#include "nets/maskrcnn_golden_model.hpp"
#include "run_subcommand.hpp"
#include "test_images.hpp"

namespace {

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

}  // namespace
