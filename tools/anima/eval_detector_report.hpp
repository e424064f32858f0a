// tools/anima/eval_detector_report.hpp — the pictures and the page of `anima eval detector`, written
// into its output folder (each to a temporary file, then renamed):
//   precision_recall_mask.png   per class, the interpolated precision at COCO's 101 recall points for
//                               masks at IoU 0.50 (solid) and 0.75 (dashed), the AP at that IoU (the
//                               curve's mean) in the legend
//   precision_recall_box.png    the same for boxes
//   report.html                 self-contained: the settings, the COCO summary of boxes and masks, AP
//                               per class, the pictures above and the detection overlays the command
//                               drew (OUT/detections/, scores >= 0.5)
// Drawn with cairo (tools/report/plots.hpp), so this runs inside the media plugin.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <anima/io/atomic_file.hpp>

#include "eval_detector.hpp"
#include "report/html_report.hpp"
#include "report/plots.hpp"

namespace anima::cli {

// "0.512", or "n/a" for pycocotools' −1 (undefined).
inline std::string coco_number(double v) {
  if (v < 0) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

inline std::vector<unsigned char> coco_precision_plot(const metrics::CocoSummary& s,
                                                      const std::vector<std::string>& classes,
                                                      const std::string& title) {
  std::vector<report::Series> series;
  for (std::size_t k = 0; k < classes.size(); ++k)
    for (const bool at75 : {false, true}) {
      const std::vector<double>& p = at75 ? s.precision75_per_category[k] : s.precision50_per_category[k];
      if (p.empty()) continue;
      double ap = 0;  // the mean over the recall points: the class's AP at this IoU
      for (double v : p) ap += v;
      ap /= static_cast<double>(p.size());
      report::Series c{classes[k] + (at75 ? " (AP75 " : " (AP50 ") + coco_number(ap) + ")", {}, p};
      for (std::size_t r = 0; r < p.size(); ++r) c.x.push_back(static_cast<double>(r) / 100.0);
      c.dashed = at75;
      series.push_back(std::move(c));
    }
  return report::line_plot_png(series, report::PlotAxes{title, "recall", "precision", true, false});
}

inline void write_eval_detector_report(const DetectorEvaluation& e, const EvalDetectorOptions& o,
                                       const std::vector<std::string>& overlays) {
  namespace fs = std::filesystem;
  const fs::path out(o.out);
  auto write_png = [&](const char* name, const std::vector<unsigned char>& png) {
    io::write_file_atomic((out / name).string(), png.data(), png.size(), "eval");
    return png;
  };
  const auto mask_png =
      write_png("precision_recall_mask.png", coco_precision_plot(e.segm, e.classes, "Precision-recall, masks"));
  const auto box_png =
      write_png("precision_recall_box.png", coco_precision_plot(e.bbox, e.classes, "Precision-recall, boxes"));

  report::HtmlReport page("anima eval detector: " + fs::path(o.detect.weights).filename().string());
  page.heading("Settings");
  const std::string resize =
      o.detect.square > 0 ? "square " + std::to_string(o.detect.square)
                          : "min " + std::to_string(o.detect.min_size) + ", max " + std::to_string(o.detect.max_size);
  page.table({"setting", "value"}, {{"weights", o.detect.weights},
                                    {"annotations", o.annotations()},
                                    {"images", o.images},
                                    {"resizing", resize},
                                    {"classes", std::to_string(e.classes.size())},
                                    {"annotated images", std::to_string(e.images)},
                                    {"objects", std::to_string(e.objects)}});
  page.heading("COCO metrics");
  auto row = [](const char* what, const metrics::CocoSummary& s) {
    return std::vector<std::string>{what,
                                    coco_number(s.ap),
                                    coco_number(s.ap50),
                                    coco_number(s.ap75),
                                    coco_number(s.ap_small),
                                    coco_number(s.ap_medium),
                                    coco_number(s.ap_large),
                                    coco_number(s.ar1),
                                    coco_number(s.ar10),
                                    coco_number(s.ar100)};
  };
  page.table({"", "AP", "AP50", "AP75", "AP small", "AP medium", "AP large", "AR1", "AR10", "AR100"},
             {row("boxes", e.bbox), row("masks", e.segm)});
  page.paragraph(
      "AP: precision averaged over COCO's 101 recall points and the IoU thresholds 0.50:0.95; n/a where "
      "no object of that kind is annotated.");
  std::vector<std::vector<std::string>> per_class;
  for (std::size_t k = 0; k < e.classes.size(); ++k)
    per_class.push_back({e.classes[k], coco_number(e.bbox.ap_per_category[k]), coco_number(e.segm.ap_per_category[k])});
  page.table({"class", "box AP", "mask AP"}, per_class);
  page.heading("Curves");
  page.png(mask_png, "precision-recall curves of the masks");
  page.png(box_png, "precision-recall curves of the boxes");
  page.heading("Detections (score >= 0.5)");
  std::vector<report::GalleryItem> gallery;
  for (const std::string& f : overlays) gallery.push_back({f, fs::path(f).filename().string()});
  page.gallery(gallery, "None drawn.");
  const std::string html = page.html();
  io::write_file_atomic((out / "report.html").string(), html.data(), html.size(), "eval");
}

}  // namespace anima::cli
