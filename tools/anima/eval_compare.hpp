// tools/anima/eval_compare.hpp — `anima eval compare`: the metrics of several classifier evaluations
// side by side, as the paper's tables put its nets and its ablation.
//
//   anima eval compare --out DIR NAME=METRICS.json...      e.g. vgg16/mask=eval/vgg16_mask/metrics.json
//
// Each METRICS.json is what `anima eval classifier` wrote (schema anima.eval.classifier/1). DIR
// receives comparison.md and comparison.html (self-contained), each written to a temporary name and
// renamed, with:
//   the summary: per run accuracy, the weighted and micro averages of precision, recall and F1, the
//   macro F1, the micro-averaged AP and ROC AUC, the samples;
//   F1 per class: a row per class, a column per run;
//   per run, precision, recall, F1 and support per class (scikit-learn's report).
// The Markdown goes to stdout too. Runs whose classes differ are an error (they cannot share a table).
#pragma once

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <anima/core/error.hpp>
#include <anima/io/atomic_file.hpp>

#include "report/html_report.hpp"

namespace anima::cli {

struct EvalCompareOptions {
  std::vector<std::string> runs;  // NAME=METRICS.json
  std::string out;
};

struct ComparedRun {
  std::string name, file;
  nlohmann::json metrics;
};

inline std::vector<ComparedRun> read_compared_runs(const std::vector<std::string>& runs) {
  ANIMA_CHECK(!runs.empty(), "eval compare", "give at least one NAME=METRICS.json");
  std::vector<ComparedRun> out;
  for (const std::string& r : runs) {
    const auto eq = r.find('=');
    ComparedRun run;
    run.name = eq == std::string::npos ? std::filesystem::path(r).parent_path().filename().string() : r.substr(0, eq);
    run.file = eq == std::string::npos ? r : r.substr(eq + 1);
    std::ifstream in(run.file, std::ios::binary);
    ANIMA_CHECK(in.good(), "eval compare", "cannot read '", run.file, "'");
    run.metrics = nlohmann::json::parse(in, nullptr, false);
    ANIMA_CHECK(!run.metrics.is_discarded() && run.metrics.is_object() &&
                    run.metrics.value("schema", "") == "anima.eval.classifier/1",
                "eval compare", "'", run.file, "' is not the metrics.json of `anima eval classifier`");
    if (!out.empty())
      ANIMA_CHECK(run.metrics["classes"] == out.front().metrics["classes"], "eval compare", "'", run.file,
                  "' has other classes than '", out.front().file, "'");
    out.push_back(std::move(run));
  }
  return out;
}

inline std::string metric_text(const nlohmann::json& v) {
  if (!v.is_number()) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", v.get<double>());
  return text;
}

struct ComparisonTables {
  std::vector<std::string> summary_header, f1_header;
  std::vector<std::vector<std::string>> summary, f1;
  std::vector<std::pair<std::string, std::vector<std::vector<std::string>>>> per_run;  // name, rows
};

inline ComparisonTables comparison_tables(const std::vector<ComparedRun>& runs) {
  ComparisonTables t;
  t.summary_header = {"run",         "accuracy",   "weighted P", "weighted R", "weighted F1", "micro P",
                      "micro R",     "micro F1",   "macro F1",   "AP (micro)", "AUC (micro)", "samples"};
  for (const ComparedRun& r : runs) {
    const nlohmann::json& m = r.metrics;
    auto at = [&](const char* group, const char* key) {
      return m.contains(group) && m[group].contains(key) ? metric_text(m[group][key]) : std::string("n/a");
    };
    t.summary.push_back({r.name, metric_text(m.value("accuracy", nlohmann::json())), at("weighted_avg", "precision"),
                         at("weighted_avg", "recall"), at("weighted_avg", "f1"), at("micro_avg", "precision"),
                         at("micro_avg", "recall"), at("micro_avg", "f1"), at("macro_avg", "f1"),
                         at("average_precision", "micro"), at("roc_auc", "micro"),
                         std::to_string(m.value("samples", 0))});
  }
  t.f1_header = {"class"};
  for (const ComparedRun& r : runs) t.f1_header.push_back(r.name);
  const nlohmann::json& classes = runs.front().metrics["classes"];
  for (std::size_t c = 0; c < classes.size(); ++c) {
    std::vector<std::string> row{classes[c].get<std::string>()};
    for (const ComparedRun& r : runs) row.push_back(metric_text(r.metrics["per_class"][c]["f1"]));
    t.f1.push_back(row);
  }
  for (const ComparedRun& r : runs) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : r.metrics["per_class"])
      rows.push_back({c["class"].get<std::string>(), metric_text(c["precision"]), metric_text(c["recall"]),
                      metric_text(c["f1"]), std::to_string(c["support"].get<long long>())});
    t.per_run.emplace_back(r.name, rows);
  }
  return t;
}

inline std::string markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string out = "|";
  for (const auto& h : header) out += " " + h + " |";
  out += "\n|";
  for (std::size_t i = 0; i < header.size(); ++i) out += i == 0 ? " --- |" : " ---: |";
  out += "\n";
  for (const auto& row : rows) {
    out += "|";
    for (const auto& cell : row) out += " " + cell + " |";
    out += "\n";
  }
  return out;
}

inline std::string compare_evaluations(const EvalCompareOptions& o) {
  namespace fs = std::filesystem;
  const std::vector<ComparedRun> runs = read_compared_runs(o.runs);
  const ComparisonTables t = comparison_tables(runs);
  std::string md = "# Classifier comparison\n\n" + markdown_table(t.summary_header, t.summary) + "\n## F1 per class\n\n" +
                   markdown_table(t.f1_header, t.f1);
  report::HtmlReport page("anima eval compare");
  page.heading("Summary");
  page.table(t.summary_header, t.summary);
  page.heading("F1 per class");
  page.table(t.f1_header, t.f1);
  for (const auto& [name, rows] : t.per_run) {
    md += "\n## " + name + "\n\n" + markdown_table({"class", "precision", "recall", "F1", "support"}, rows);
    page.heading(name);
    page.table({"class", "precision", "recall", "F1", "support"}, rows);
  }
  if (!o.out.empty()) {
    std::error_code ec;
    fs::create_directories(o.out, ec);
    ANIMA_CHECK(fs::is_directory(o.out), "eval compare", "cannot create '", o.out, "'");
    const std::string html = page.html();
    io::write_file_atomic(fs::path(o.out) / "comparison.md", md.data(), md.size(), "eval compare");
    io::write_file_atomic(fs::path(o.out) / "comparison.html", html.data(), html.size(), "eval compare");
  }
  return md;
}

// Registers `anima eval compare` under `eval`.
inline CLI::App* add_eval_compare_command(CLI::App& eval, int& status) {
  auto opts = std::make_shared<EvalCompareOptions>();
  CLI::App* cmd = eval.add_subcommand("compare", "several classifier evaluations side by side (Markdown and HTML)");
  cmd->add_option("runs", opts->runs, "NAME=METRICS.json (the metrics.json of `anima eval classifier`)")->required();
  cmd->add_option("--out", opts->out, "where comparison.md and comparison.html go");
  cmd->callback([opts, &status] {
    std::printf("%s", compare_evaluations(*opts).c_str());
    status = 0;
  });
  return cmd;
}

}  // namespace anima::cli
