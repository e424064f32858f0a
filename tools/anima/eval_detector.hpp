// tools/anima/eval_detector.hpp — `anima eval detector`: a Mask R-CNN checkpoint's COCO metrics on
// annotated frames.
//
//   anima eval detector --weights FILE (--data FILE | --coco FILE | --via FILE) [--label-attribute character]
//                       --images DIR --out OUT [--min-size 800 --max-size 1333 | --square S]
//                       [--batch N] [--device cpu|cuda[:N]]
//
// The annotations (anima/data/detection_annotations.hpp) name the images (in DIR) and their objects;
// every image is run through `anima detect` (tools/anima/detect_command.hpp) keeping all the model's
// detections (score > 0.05, 100 at most, masks binarised at 0.5). A detection's class is matched to
// the annotations' classes by name (the checkpoint's "labels" metadata, or --labels of detect), else,
// when the checkpoint has no names and as many classes as the annotations, by label id.
// Ground truth: boxes as annotated, masks rasterised as pycocotools does (io/coco_polygon.hpp) or the
// RLE given, areas = COCO's "area" when the file gives one (what pycocotools bins small / medium /
// large by), else the mask's pixel count; crowd flags kept. Then COCO's box and mask metrics
// (anima/metrics/coco_eval.hpp): OUT/metrics.json
//   {"schema": "anima.eval.detector/1", "weights", "annotations", "classes", "images", "objects",
//    "bbox": {"AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl",
//             "per_class": {"<class>": AP}}, "segm": {the same}}        (−1: undefined, as pycocotools)
// OUT/detections/ (the first 12 images with their detections of score >= 0.5 drawn), OUT/report.html
// with the precision-recall curves (tools/anima/eval_detector_report.hpp), and on stdout the two
// summaries in pycocotools' layout.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <anima/core/error.hpp>
#include <anima/data/detection_annotations.hpp>
#include <anima/io/atomic_file.hpp>
#include <anima/io/coco_rle.hpp>
#include <anima/metrics/coco_eval.hpp>

#include "detect_command.hpp"
#include "media.hpp"

namespace anima::cli {

struct EvalDetectorOptions {
  DetectOptions detect;  // weights, resizing, batch, device (images come from the annotations)
  std::string data, coco, via, label_attribute = "character", images, out;

  // The annotation file, whichever option named it.
  const std::string& annotations() const { return !data.empty() ? data : coco.empty() ? via : coco; }
};

struct DetectorEvaluation {
  std::vector<std::string> classes;
  std::size_t images = 0, objects = 0;
  metrics::CocoSummary bbox, segm;
};

// COCO's ground truth and detections from the annotations and the detector's results (one per
// annotated image, same order), then both evaluations.
inline DetectorEvaluation evaluate_detections(const data::DetectionAnnotations& ann,
                                              const std::vector<DetectResult>& results) {
  ANIMA_CHECK(results.size() == ann.images.size(), "eval", results.size(), " results for ", ann.images.size(),
              " images");
  DetectorEvaluation e;
  e.classes = ann.classes;
  e.images = ann.images.size();
  std::vector<std::int64_t> image_ids, category_ids;
  for (std::size_t k = 1; k <= ann.classes.size(); ++k) category_ids.push_back(static_cast<std::int64_t>(k));
  // A detector label -> the annotations' label: by name, else by id when nothing is named.
  auto category_of = [&](const Detection& d) -> std::int64_t {
    for (std::size_t k = 0; k < ann.classes.size(); ++k)
      if (ann.classes[k] == d.label) return static_cast<std::int64_t>(k) + 1;
    if (d.label == "class_" + std::to_string(d.label_id)) return d.label_id;
    return 0;  // a class the annotations do not have: not evaluated
  };
  std::vector<metrics::CocoGroundTruth> gts;
  std::vector<metrics::CocoDetection> dts;
  for (std::size_t i = 0; i < ann.images.size(); ++i) {
    const auto& im = ann.images[i];
    const DetectResult& r = results[i];
    const std::int64_t id = static_cast<std::int64_t>(i) + 1, h = r.height, w = r.width;
    image_ids.push_back(id);
    for (const auto& inst : im.instances) {
      metrics::CocoGroundTruth g;
      g.image_id = id;
      g.category_id = inst.label;
      g.bbox = {inst.box[0], inst.box[1], inst.box[2] - inst.box[0], inst.box[3] - inst.box[1]};
      g.iscrowd = inst.iscrowd;
      g.mask.height = h, g.mask.width = w;
      g.mask.runs = io::coco_rle_runs(data::instance_mask(inst, h, w, im.file), h, w);
      g.area = inst.area ? *inst.area : metrics::detail::mask_area(g.mask);
      gts.push_back(std::move(g));
      ++e.objects;
    }
    for (const Detection& d : r.detections) {
      const std::int64_t category = category_of(d);
      if (category < 1 || category > static_cast<std::int64_t>(ann.classes.size())) continue;
      metrics::CocoDetection c;
      c.image_id = id;
      c.category_id = category;
      c.bbox = {d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]};
      c.score = d.score;
      c.mask = {d.mask.height, d.mask.width, io::coco_rle_runs_from_string(d.mask.counts)};
      dts.push_back(std::move(c));
    }
  }
  e.bbox = metrics::coco_evaluate(image_ids, category_ids, gts, dts, metrics::CocoIouType::Box);
  e.segm = metrics::coco_evaluate(image_ids, category_ids, gts, dts, metrics::CocoIouType::Mask);
  return e;
}

inline nlohmann::json coco_summary_json(const metrics::CocoSummary& s, const std::vector<std::string>& classes) {
  nlohmann::json j = {{"AP", s.ap},         {"AP50", s.ap50},    {"AP75", s.ap75},     {"APs", s.ap_small},
                      {"APm", s.ap_medium}, {"APl", s.ap_large}, {"AR1", s.ar1},       {"AR10", s.ar10},
                      {"AR100", s.ar100},   {"ARs", s.ar_small}, {"ARm", s.ar_medium}, {"ARl", s.ar_large}};
  for (std::size_t k = 0; k < classes.size() && k < s.ap_per_category.size(); ++k)
    j["per_class"][classes[k]] = s.ap_per_category[k];
  return j;
}

// pycocotools' summarize() lines.
inline std::string coco_summary_text(const metrics::CocoSummary& s) {
  const struct {
    const char* what;
    const char* iou;
    const char* area;
    int dets;
    double v;
  } rows[] = {{"Average Precision", "0.50:0.95", "all", 100, s.ap},
              {"Average Precision", "0.50", "all", 100, s.ap50},
              {"Average Precision", "0.75", "all", 100, s.ap75},
              {"Average Precision", "0.50:0.95", "small", 100, s.ap_small},
              {"Average Precision", "0.50:0.95", "medium", 100, s.ap_medium},
              {"Average Precision", "0.50:0.95", "large", 100, s.ap_large},
              {"Average Recall", "0.50:0.95", "all", 1, s.ar1},
              {"Average Recall", "0.50:0.95", "all", 10, s.ar10},
              {"Average Recall", "0.50:0.95", "all", 100, s.ar100},
              {"Average Recall", "0.50:0.95", "small", 100, s.ar_small},
              {"Average Recall", "0.50:0.95", "medium", 100, s.ar_medium},
              {"Average Recall", "0.50:0.95", "large", 100, s.ar_large}};
  std::string out;
  char line[160];
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %.3f\n", r.what,
                  r.what[8] == 'P' ? "(AP)" : "(AR)", r.iou, r.area, r.dets, r.v);
    out += line;
  }
  return out;
}

// The evaluation; `results` (optional) receives the detections of every annotated image.
inline void check_annotations_option(const EvalDetectorOptions& o) {
  ANIMA_CHECK(o.data.empty() + o.coco.empty() + o.via.empty() == 2, "eval",
              "give the annotations with --data FILE (VIA or COCO), --coco FILE or --via FILE (one)");
}

inline DetectorEvaluation evaluate_detector(EvalDetectorOptions o, std::vector<DetectResult>* results = nullptr) {
  check_annotations_option(o);
  const data::DetectionAnnotations ann = !o.data.empty()
                                             ? data::read_detection_annotations(o.data, o.images, o.label_attribute)
                                         : o.coco.empty() ? data::read_via(o.via, o.images, o.label_attribute)
                                                          : data::read_coco(o.coco, o.images);
  ANIMA_CHECK(!ann.images.empty(), "eval", "the annotations list no image");
  for (const std::string& note : ann.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  o.detect.images.clear();
  for (const auto& im : ann.images) o.detect.images.push_back(im.file.string());
  o.detect.score = 0.0;  // every detection the model keeps, as COCO's evaluation wants
  o.detect.mask_threshold = 0.5;
  std::vector<DetectResult> found = detect_images(o.detect);
  DetectorEvaluation e = evaluate_detections(ann, found);
  if (results != nullptr) *results = std::move(found);
  return e;
}

// The first `count` images with their detections of score >= 0.5 drawn (as `anima detect --overlay`),
// written to OUT/detections/; returns the files.
inline std::vector<std::string> write_detection_overlays(const std::vector<DetectResult>& results,
                                                         const std::string& out, std::size_t count = 12) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(out) / "detections";
  std::error_code ec;
  fs::create_directories(dir, ec);
  ANIMA_CHECK(fs::is_directory(dir), "eval", "cannot create the folder '", dir.string(), "'");
  std::vector<std::string> images;
  for (std::size_t i = 0; i < results.size() && i < count; ++i) images.push_back(results[i].file);
  const std::vector<fs::path> paths = overlay_paths(dir.string(), images);
  std::vector<std::string> written;
  for (std::size_t i = 0; i < images.size(); ++i) {
    DetectResult confident = results[i];
    confident.detections.clear();
    for (const Detection& d : results[i].detections)
      if (d.score >= 0.5) confident.detections.push_back(d);
    RgbImage im = load_detect_image(images[i]);
    draw_detections(im, confident);
    write_overlay(paths[i], im);
    written.push_back(paths[i].string());
  }
  return written;
}

inline void write_detector_evaluation(const DetectorEvaluation& e, const EvalDetectorOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(o.out, ec);
  ANIMA_CHECK(fs::is_directory(o.out, ec), "eval", "cannot create the output folder '", o.out, "'");
  const nlohmann::json j = {{"schema", "anima.eval.detector/1"},
                            {"weights", o.detect.weights},
                            {"annotations", o.annotations()},
                            {"resize", o.detect.square > 0 ? nlohmann::json{{"square", o.detect.square}}
                                                           : nlohmann::json{{"min_size", o.detect.min_size},
                                                                            {"max_size", o.detect.max_size}}},
                            {"classes", e.classes},
                            {"images", e.images},
                            {"objects", e.objects},
                            {"bbox", coco_summary_json(e.bbox, e.classes)},
                            {"segm", coco_summary_json(e.segm, e.classes)}};
  const std::string text = j.dump(1) + "\n";
  io::write_file_atomic((fs::path(o.out) / "metrics.json").string(), text.data(), text.size(), "eval");
}

// Writes the pictures and report.html (eval_detector_report.hpp) through the media plugin.
inline void media_eval_detector_report(const DetectorEvaluation& e, const EvalDetectorOptions& o,
                                       const std::vector<std::string>& overlays) {
  media_plugin().eval_detector_report(e, o, overlays);
}

using EvalDetectorReportWriter = void (*)(const DetectorEvaluation&, const EvalDetectorOptions&,
                                          const std::vector<std::string>&);

// Registers `detector` under `anima eval`; the exit status goes to `status`. The pictures and the page
// are written by `write_report` (the media plugin's, unless a test links cairo).
inline CLI::App* add_eval_detector_command(CLI::App& eval, int& status,
                                           EvalDetectorReportWriter write_report = media_eval_detector_report) {
  auto o = std::make_shared<EvalDetectorOptions>();
  CLI::App* cmd = eval.add_subcommand("detector", "COCO box and mask AP/AR of a Mask R-CNN on annotated images");
  cmd->add_option("--weights", o->detect.weights, "a Mask R-CNN checkpoint (R50-FPN or MobileNetV2-FPN)")->required();
  cmd->add_option("--data", o->data, "annotations: a VIA project or a COCO instances JSON (told apart by content)");
  cmd->add_option("--coco", o->coco, "COCO instances JSON");
  cmd->add_option("--via", o->via, "VIA project or annotation JSON");
  cmd->add_option("--label-attribute", o->label_attribute, "VIA: the region attribute naming the class (character)");
  cmd->add_option("--images", o->images, "the folder of the annotated images")->required();
  cmd->add_option("--out", o->out, "where metrics.json goes")->required();
  cmd->add_option("--min-size", o->detect.min_size, "shorter side after resizing (default 800)");
  cmd->add_option("--max-size", o->detect.max_size, "longest side after resizing (default 1333)");
  cmd->add_option("--square", o->detect.square,
                  "square mode: the longer side to S in an S x S canvas (default: the weights' training side, "
                  "when they were trained in square mode)");
  cmd->add_option("--labels", o->detect.labels, "the detector's class names, one per line");
  cmd->add_option("--batch", o->detect.batch, "images per forward (default 1)")->check(CLI::PositiveNumber);
  cmd->add_option("--device", o->detect.device, "cpu (default), cuda or cuda:N");
  cmd->callback([o, &status, write_report] {
    std::vector<DetectResult> results;
    check_annotations_option(*o);
    resolve_detector_size(o->detect, "eval");  // the report and metrics.json name the size used
    const DetectorEvaluation e = evaluate_detector(*o, &results);
    write_detector_evaluation(e, *o);
    write_report(e, *o, write_detection_overlays(results, o->out));
    std::printf("bbox (%zu images, %zu objects)\n%ssegm\n%s", e.images, e.objects, coco_summary_text(e.bbox).c_str(),
                coco_summary_text(e.segm).c_str());
    status = 0;
  });
  return cmd;
}

}  // namespace anima::cli
