// tools/anima/eval_command.hpp — `anima eval classifier`: a classifier's metrics on a labelled image
// folder, as scikit-learn reports them (include/anima/metrics). `anima eval detector` is in
// tools/anima/eval_detector.hpp, `anima eval analyze` in eval_analyze.hpp and `anima eval compare` in
// eval_compare.hpp; all register here.
//
//   anima eval classifier --net NET --weights FILE --data DIR --out OUT [--split NAME] [--resize N]
//                         [--crop N] [--batch 16] [--device cpu|cuda[:N]] [--no-transform-input] [--quiet]
//
// DIR holds split folders, each an ImageFolder (<split>/<class>/<image>: the layout `anima synth
// --faces` writes and the training folders). --split picks one (default: test/ if present, else val/);
// --split . takes DIR itself. Class i is the i-th class folder in sorted order, the order training
// uses, so the net's class count must equal the number of class folders. Images go through the
// ImageNet evaluation transform of `anima classify` (--resize/--crop as there); an image that cannot
// be decoded stops the run with an error naming it, or with --skip-unreadable is left out and listed;
// scores are the softmax probabilities, predictions their argmax (the lower class on a tie).
// OUT receives, each written to a temporary file and renamed:
//   metrics.json     {"schema": "anima.eval.classifier/1", "net", "weights", "data", "split",
//                     "classes": [...], "samples": N, "skipped": [unreadable images left out],
//                     "accuracy", "top_k_accuracy": {"1": ..., ...},
//                     "per_class": [{"class", "precision", "recall", "f1", "support",
//                                    "one_vs_rest_accuracy", "average_precision", "roc_auc"}, ...],
//                     "macro_avg" / "weighted_avg" / "micro_avg": {"precision", "recall", "f1", "support"},
//                     "average_precision": {"micro", "macro"}, "roc_auc": {"micro", "macro"},
//                     "confusion_matrix": {"counts", "normalized_true", "normalized_pred",
//                                          "normalized_all"} (rows: true class, columns: predicted),
//                     "curves": {"precision_recall": {"<class>"|"micro": {"precision", "recall",
//                                "thresholds"}}, "roc": {"<class>"|"micro": {"fpr", "tpr", "thresholds"}}}}
//                    (an undefined value, e.g. the AUC of a class with no sample, is null)
//   predictions.csv  file,true,predicted,p_<class>... one row per image, in dataset order
//   confusion_matrix.png, precision_recall.png, roc.png, report.html   (tools/anima/eval_report.hpp)
// and prints the classification report (sklearn's layout) on stdout. Progress goes to stderr.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <anima/core/error.hpp>
#include <anima/data/image_folder.hpp>
#include <anima/io/atomic_file.hpp>
#include <anima/metrics/classification_report.hpp>
#include <anima/metrics/confusion_matrix.hpp>
#include <anima/metrics/one_vs_rest.hpp>

#include "classify_command.hpp"
#include "eval_analyze.hpp"
#include "eval_compare.hpp"
#include "eval_detector.hpp"
#include "media.hpp"
#include "progress_line.hpp"

namespace anima::cli {

struct EvalClassifierOptions {
  EvalClassifierOptions() { classifier.batch = 16; }
  ClassifyOptions classifier;  // the net, its weights and how it runs (net, weights, resize, crop, batch, device)
  std::string data, split, out;
  bool skip_unreadable = false;  // leave out images that cannot be decoded (else stop with an error)
  bool quiet = false;
};

struct ClassifierEvaluation {
  std::string split;  // the split folder evaluated
  std::vector<std::string> classes;
  std::vector<std::string> files;
  std::vector<std::string> skipped;  // images left out by --skip-unreadable
  std::vector<int> y_true, y_pred;
  std::vector<double> scores;  // [N, K] softmax probabilities, row-major
  metrics::ConfusionMatrix confusion{1};
  metrics::ClassificationReport report;
  metrics::OneVsRestCurves curves;
  std::vector<double> top_k;  // top_k[k - 1]: top-k accuracy, k = 1 .. min(5, K)
};

// DIR/<split>, the default split (test, else val) or DIR itself for ".".
inline std::filesystem::path eval_split_folder(const std::string& data, const std::string& split) {
  namespace fs = std::filesystem;
  std::error_code ec;
  ANIMA_CHECK(fs::is_directory(data, ec), "eval", "--data '", data, "' is not a folder");
  if (!split.empty()) {
    const fs::path dir = split == "." ? fs::path(data) : fs::path(data) / split;
    ANIMA_CHECK(fs::is_directory(dir, ec), "eval", "no split folder '", dir.string(), "'");
    return dir;
  }
  for (const char* name : {"test", "val"})
    if (fs::is_directory(fs::path(data) / name, ec)) return fs::path(data) / name;
  fail("eval", "'", data, "' has neither test/ nor val/ (name the split with --split, or --split . for '", data,
       "' itself)");
}

inline ClassifierEvaluation evaluate_classifier(const EvalClassifierOptions& o) {
  const std::filesystem::path folder = eval_split_folder(o.data, o.split);
  const data::ImageFolder dataset(folder);
  ClassifierEvaluation e;
  e.split = folder.string();
  e.classes = dataset.classes();
  const int k = static_cast<int>(e.classes.size());
  ANIMA_CHECK(k >= 2, "eval", "'", folder.string(), "' has one class folder; a classifier needs at least two");

  const LoadedClassifier net = load_classifier(o.classifier, "eval");
  ANIMA_CHECK(net.classes == k, "eval", "the net in '", o.classifier.weights, "' has ", net.classes, " classes but '",
              folder.string(), "' has ", k, " class folders");

  std::vector<std::string> files;
  for (const auto& s : dataset.samples()) files.push_back(s.path.string());
  ProgressLine progress("eval", files.size(), "images", o.quiet);
  std::size_t seen = 0;
  run_classifier(
      net, files, o.classifier.batch,
      [&](std::size_t i, std::vector<float> logits) {
        const std::vector<double> p = softmax_probabilities(logits, files[i], o.classifier.weights);
        e.files.push_back(files[i]);
        e.y_true.push_back(dataset.samples()[i].label);
        e.scores.insert(e.scores.end(), p.begin(), p.end());
        e.y_pred.push_back(static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin()));
        progress.update(++seen);
      },
      o.skip_unreadable ? std::function<void(std::size_t, const Error&)>([&](std::size_t i, const Error& err) {
        e.skipped.push_back(files[i]);
        progress.update(++seen);
        if (!o.quiet) std::fprintf(stderr, "skipped: %s\n", err.what());
      })
                        : std::function<void(std::size_t, const Error&)>());
  ANIMA_CHECK(!e.files.empty(), "eval", "no image of '", folder.string(), "' could be read");
  e.confusion = metrics::ConfusionMatrix::of(e.y_true, e.y_pred, k);
  e.report = metrics::classification_report(e.confusion);
  e.curves = metrics::one_vs_rest_curves(e.y_true, e.scores, k);
  for (int top = 1; top <= std::min(5, k); ++top)
    e.top_k.push_back(metrics::top_k_accuracy(e.y_true, e.scores, k, top));
  return e;
}

// A number, or null when undefined (NaN).
inline nlohmann::json json_number(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

inline nlohmann::json json_numbers(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(json_number(x));
  return a;
}

inline nlohmann::json json_matrix(const std::vector<double>& v, int k) {
  nlohmann::json rows = nlohmann::json::array();
  for (int t = 0; t < k; ++t)
    rows.push_back(json_numbers(std::vector<double>(v.begin() + t * k, v.begin() + (t + 1) * k)));
  return rows;
}

inline nlohmann::json json_scores(const metrics::ClassScores& s) {
  return {{"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}, {"support", s.support}};
}

inline nlohmann::json evaluation_json(const ClassifierEvaluation& e, const EvalClassifierOptions& o) {
  const int k = static_cast<int>(e.classes.size());
  nlohmann::json j;
  j["schema"] = "anima.eval.classifier/1";
  j["net"] = o.classifier.net;
  j["weights"] = o.classifier.weights;
  j["data"] = o.data;
  j["split"] = e.split;
  j["classes"] = e.classes;
  j["samples"] = e.files.size();
  j["skipped"] = e.skipped;
  j["accuracy"] = e.report.accuracy;
  for (std::size_t i = 0; i < e.top_k.size(); ++i) j["top_k_accuracy"][std::to_string(i + 1)] = e.top_k[i];
  j["per_class"] = nlohmann::json::array();
  for (int c = 0; c < k; ++c) {
    nlohmann::json row = json_scores(e.report.per_class[c]);
    row["class"] = e.classes[c];
    row["one_vs_rest_accuracy"] = e.report.one_vs_rest_accuracy[c];
    row["average_precision"] = json_number(e.curves.average_precision[c]);
    row["roc_auc"] = json_number(e.curves.auc[c]);
    j["per_class"].push_back(row);
  }
  j["macro_avg"] = json_scores(e.report.macro);
  j["weighted_avg"] = json_scores(e.report.weighted);
  j["micro_avg"] = json_scores(e.report.micro);
  j["average_precision"] = {{"micro", json_number(e.curves.average_precision_micro)},
                            {"macro", json_number(e.curves.average_precision_macro)}};
  j["roc_auc"] = {{"micro", json_number(e.curves.auc_micro)}, {"macro", json_number(e.curves.auc_macro)}};
  nlohmann::json& cm = j["confusion_matrix"];
  cm["counts"] = nlohmann::json::array();
  for (int t = 0; t < k; ++t) {
    nlohmann::json row = nlohmann::json::array();
    for (int p = 0; p < k; ++p) row.push_back(e.confusion.count(t, p));
    cm["counts"].push_back(row);
  }
  cm["normalized_true"] = json_matrix(e.confusion.normalized(metrics::Normalize::True), k);
  cm["normalized_pred"] = json_matrix(e.confusion.normalized(metrics::Normalize::Pred), k);
  cm["normalized_all"] = json_matrix(e.confusion.normalized(metrics::Normalize::All), k);
  for (int c = 0; c <= k; ++c) {
    const std::string name = c == k ? "micro" : e.classes[c];
    const metrics::PrecisionRecallCurve& pr = c == k ? e.curves.pr_micro : e.curves.pr[c];
    const metrics::RocCurve& roc = c == k ? e.curves.roc_micro : e.curves.roc[c];
    j["curves"]["precision_recall"][name] = {{"precision", json_numbers(pr.precision)},
                                             {"recall", json_numbers(pr.recall)},
                                             {"thresholds", json_numbers(pr.thresholds)}};
    j["curves"]["roc"][name] = {
        {"fpr", json_numbers(roc.fpr)}, {"tpr", json_numbers(roc.tpr)}, {"thresholds", json_numbers(roc.thresholds)}};
  }
  return j;
}

// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

inline void write_predictions_csv(const ClassifierEvaluation& e, const std::filesystem::path& path) {
  const std::size_t k = e.classes.size();
  io::write_file_atomic(path.string(), "eval", [&](std::ostream& os) {
    os << "file,true,predicted";
    for (const auto& c : e.classes) os << "," << csv_field("p_" + c);
    os << "\n";
    char buf[32];
    for (std::size_t i = 0; i < e.files.size(); ++i) {
      os << csv_field(e.files[i]) << "," << csv_field(e.classes[e.y_true[i]]) << ","
         << csv_field(e.classes[e.y_pred[i]]);
      for (std::size_t c = 0; c < k; ++c) {
        std::snprintf(buf, sizeof buf, "%.17g", e.scores[i * k + c]);
        os << "," << buf;
      }
      os << "\n";
    }
  });
}

// sklearn's classification_report text (digits = 4).
inline std::string classification_report_text(const ClassifierEvaluation& e) {
  std::size_t width = std::string("weighted avg").size();
  for (const auto& c : e.classes) width = std::max(width, c.size());
  std::ostringstream os;
  char line[512];
  std::snprintf(line, sizeof line, "%*s %9s %9s %9s %9s\n\n", static_cast<int>(width), "", "precision", "recall",
                "f1-score", "support");
  os << line;
  auto row = [&](const std::string& name, const metrics::ClassScores& s) {
    std::snprintf(line, sizeof line, "%*s %9.4f %9.4f %9.4f %9lld\n", static_cast<int>(width), name.c_str(),
                  s.precision, s.recall, s.f1, static_cast<long long>(s.support));
    os << line;
  };
  for (std::size_t c = 0; c < e.classes.size(); ++c) row(e.classes[c], e.report.per_class[c]);
  std::snprintf(line, sizeof line, "\n%*s %9s %9s %9.4f %9lld\n", static_cast<int>(width), "accuracy", "", "",
                e.report.accuracy, static_cast<long long>(e.files.size()));
  os << line;
  row("macro avg", e.report.macro);
  row("weighted avg", e.report.weighted);
  return os.str();
}

inline void write_evaluation(const ClassifierEvaluation& e, const EvalClassifierOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(o.out, ec);
  ANIMA_CHECK(!ec && fs::is_directory(o.out, ec), "eval", "cannot create the output folder '", o.out, "'");
  const std::string json = evaluation_json(e, o).dump(1) + "\n";
  io::write_file_atomic((fs::path(o.out) / "metrics.json").string(), json.data(), json.size(), "eval");
  write_predictions_csv(e, fs::path(o.out) / "predictions.csv");
}

// Writes the pictures and report.html (eval_report.hpp) through the media plugin.
inline void media_eval_report(const ClassifierEvaluation& e, const EvalClassifierOptions& o) {
  media_plugin().eval_report(e, o);
}

using EvalReportWriter = void (*)(const ClassifierEvaluation&, const EvalClassifierOptions&);

// Registers `anima eval` with its `classifier` and `detector` subcommands; the exit status goes to
// `status`. The pictures and the pages are written by `write_report` and `write_detector_report` (the
// media plugin's, unless a test links cairo).
inline CLI::App* add_eval_command(CLI::App& app, int& status, EvalReportWriter write_report = media_eval_report,
                                  EvalDetectorReportWriter write_detector_report = media_eval_detector_report) {
  CLI::App* eval = app.add_subcommand("eval", "evaluate a trained model on labelled data (metrics.json)");
  eval->require_subcommand(1);
  add_eval_detector_command(*eval, status, write_detector_report);
  add_eval_analyze_command(*eval, status);
  add_eval_compare_command(*eval, status);
  auto opts = std::make_shared<EvalClassifierOptions>();
  CLI::App* cmd = eval->add_subcommand("classifier", "precision, recall, F1, confusion matrix, PR and ROC curves");
  cmd->add_option("--net", opts->classifier.net, "vgg16, vgg16_bn, resnet50, mobilenet_v2 or inception_v3")
      ->required()
      ->check(CLI::IsMember(nets::net_names()));
  cmd->add_option("--weights", opts->classifier.weights, "the trained weights (safetensors or .pth)")->required();
  cmd->add_option("--data", opts->data, "a folder of splits (test/, val/), each a folder per class")->required();
  cmd->add_option("--split", opts->split, "the split to evaluate (default test, else val; '.': --data itself)");
  cmd->add_option("--out", opts->out, "where metrics.json and predictions.csv go")->required();
  cmd->add_option(
         "--resize", opts->classifier.resize,
         "shorter side before the crop (default: the weights' training size, else 256, inception_v3 342; 0: none)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--crop", opts->classifier.crop,
                  "centre crop (default: the weights' training size, else 224, inception_v3 299; 0: none)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", opts->classifier.batch, "images per forward (default 16)")->check(CLI::PositiveNumber);
  cmd->add_option("--device", opts->classifier.device, "cpu (default), cuda or cuda:N");
  cmd->add_flag("--no-transform-input", opts->classifier.no_transform_input,
                "inception_v3: do not map ImageNet-normalised input to [-1, 1]");
  cmd->add_flag("--skip-unreadable", opts->skip_unreadable,
                "leave out images that cannot be decoded (listed in metrics.json) instead of stopping");
  cmd->add_flag("--quiet", opts->quiet, "no progress on stderr");
  cmd->callback([opts, &status, write_report] {
    const ClassifierEvaluation e = evaluate_classifier(*opts);
    write_evaluation(e, *opts);
    write_report(e, *opts);
    std::printf("%s\n%s", e.split.c_str(), classification_report_text(e).c_str());
    status = 0;
  });
  return cmd;
}

}  // namespace anima::cli
