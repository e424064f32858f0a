// tools/anima/eval_report.hpp — the pictures and the page of `anima eval classifier`, written into
// its output folder (each to a temporary file, then renamed):
//   confusion_matrix.png   counts and the row-normalised share (recall on the diagonal), shaded by it
//   precision_recall.png   per class and micro-averaged, with average precision in the legend
//   roc.png                per class and micro-averaged, with AUC in the legend, and the chance line
//   report.html            self-contained: the settings, the metrics table, the pictures above and a
//                          gallery of misclassified images (the most confident mistakes first, 24 at most)
// Drawn with cairo (tools/report/plots.hpp), so this runs inside the media plugin.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include <anima/io/atomic_file.hpp>

#include "eval_command.hpp"
#include "report/html_report.hpp"
#include "report/plots.hpp"

namespace anima::cli {

inline std::string format_number(double v, const char* format = "%.4f") {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

inline void write_eval_report(const ClassifierEvaluation& e, const EvalClassifierOptions& o) {
  namespace fs = std::filesystem;
  const int k = static_cast<int>(e.classes.size());
  const fs::path out(o.out);
  auto write_png = [&](const char* name, const std::vector<unsigned char>& png) {
    io::write_file_atomic((out / name).string(), png.data(), png.size(), "eval");
    return png;
  };

  const std::vector<double> recall_share = e.confusion.normalized(metrics::Normalize::True);
  std::vector<std::string> cells;
  for (int t = 0; t < k; ++t)
    for (int p = 0; p < k; ++p)
      cells.push_back(std::to_string(e.confusion.count(t, p)) + " (" +
                      format_number(recall_share[static_cast<std::size_t>(t * k + p)], "%.2f") + ")");
  const auto confusion_png =
      write_png("confusion_matrix.png",
                report::heatmap_png(recall_share, cells, e.classes, "Confusion matrix (share of each true class)",
                                    "true class", "predicted class"));

  std::vector<report::Series> pr, roc;
  for (int c = 0; c <= k; ++c) {
    const bool micro = c == k;
    const std::string name = micro ? "micro average" : e.classes[c];
    const metrics::PrecisionRecallCurve& p = micro ? e.curves.pr_micro : e.curves.pr[c];
    const metrics::RocCurve& r = micro ? e.curves.roc_micro : e.curves.roc[c];
    const double ap = micro ? e.curves.average_precision_micro : e.curves.average_precision[c];
    const double auc = micro ? e.curves.auc_micro : e.curves.auc[c];
    pr.push_back({name + " (AP " + format_number(ap, "%.3f") + ")", p.recall, p.precision, true, micro});
    roc.push_back({name + " (AUC " + format_number(auc, "%.3f") + ")", r.fpr, r.tpr, false, micro});
  }
  report::PlotAxes pr_axes{"Precision-recall, one class against the rest", "recall", "precision", true, false};
  report::PlotAxes roc_axes{"ROC, one class against the rest", "false positive rate", "true positive rate", true, true};
  const auto pr_png = write_png("precision_recall.png", report::line_plot_png(pr, pr_axes));
  const auto roc_png = write_png("roc.png", report::line_plot_png(roc, roc_axes));

  report::HtmlReport page("anima eval classifier: " + o.classifier.net);
  page.heading("Settings");
  page.table({"setting", "value"}, {{"net", o.classifier.net},
                                    {"weights", o.classifier.weights},
                                    {"data", e.split},
                                    {"images", std::to_string(e.files.size())},
                                    {"classes", std::to_string(k)}});
  page.heading("Metrics");
  std::vector<std::vector<std::string>> rows;
  for (int c = 0; c < k; ++c) {
    const metrics::ClassScores& s = e.report.per_class[c];
    rows.push_back({e.classes[c], format_number(s.precision), format_number(s.recall), format_number(s.f1),
                    std::to_string(s.support), format_number(e.report.one_vs_rest_accuracy[c]),
                    format_number(e.curves.average_precision[c]), format_number(e.curves.auc[c])});
  }
  rows.push_back({"macro avg", format_number(e.report.macro.precision), format_number(e.report.macro.recall),
                  format_number(e.report.macro.f1), std::to_string(e.report.macro.support), "",
                  format_number(e.curves.average_precision_macro), format_number(e.curves.auc_macro)});
  rows.push_back({"weighted avg", format_number(e.report.weighted.precision), format_number(e.report.weighted.recall),
                  format_number(e.report.weighted.f1), std::to_string(e.report.weighted.support), "", "", ""});
  rows.push_back({"micro avg", format_number(e.report.micro.precision), format_number(e.report.micro.recall),
                  format_number(e.report.micro.f1), std::to_string(e.report.micro.support), "",
                  format_number(e.curves.average_precision_micro), format_number(e.curves.auc_micro)});
  page.table({"class", "precision", "recall", "F1", "support", "one-vs-rest accuracy", "average precision", "ROC AUC"},
             rows);
  std::string topk = "accuracy " + format_number(e.report.accuracy);
  for (std::size_t i = 1; i < e.top_k.size(); ++i)
    topk += ", top-" + std::to_string(i + 1) + " accuracy " + format_number(e.top_k[i]);
  page.paragraph(topk);
  page.heading("Confusion matrix");
  page.png(confusion_png, "confusion matrix");
  page.heading("Curves");
  page.png(pr_png, "precision-recall curves");
  page.png(roc_png, "ROC curves");

  std::vector<std::size_t> wrong;
  for (std::size_t i = 0; i < e.files.size(); ++i)
    if (e.y_true[i] != e.y_pred[i]) wrong.push_back(i);
  const std::size_t kk = static_cast<std::size_t>(k);
  auto confidence = [&](std::size_t i) { return e.scores[i * kk + static_cast<std::size_t>(e.y_pred[i])]; };
  std::stable_sort(wrong.begin(), wrong.end(),
                   [&](std::size_t a, std::size_t b) { return confidence(a) > confidence(b); });
  page.heading("Misclassified images (" + std::to_string(wrong.size()) + ")");
  std::vector<report::GalleryItem> gallery;
  for (std::size_t n = 0; n < wrong.size() && n < 24; ++n) {
    const std::size_t i = wrong[n];
    gallery.push_back({e.files[i], e.classes[e.y_true[i]] + " taken for " + e.classes[e.y_pred[i]] + " (p " +
                                       format_number(confidence(i), "%.2f") + ")"});
  }
  page.gallery(gallery);
  const std::string html = page.html();
  io::write_file_atomic((out / "report.html").string(), html.data(), html.size(), "eval");
}

}  // namespace anima::cli
