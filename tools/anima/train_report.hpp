// tools/anima/train_report.hpp — the pictures and the page of a training run (any task), rebuilt
// from its config.json and metrics.jsonl after every epoch (each file written to a temporary file,
// renamed):
//   loss.png       the loss of every step, and per epoch the training (and validation) loss
//   <quality>.png  per epoch the fields that measure quality (config.json "quality": file and title;
//                  accuracy.png for classifiers, ap.png for detectors): every train_* or val_* field
//                  that is not a loss
//   lr.png         the learning rate of every step
//   report.html    self-contained: the settings, a table of the epochs with every numeric field (the
//                  best by config.json "best_metric" marked) and the pictures above
// Drawn with cairo (tools/report/plots.hpp), so this runs inside the media plugin.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <anima/core/error.hpp>
#include <anima/io/atomic_file.hpp>

#include "report/html_report.hpp"
#include "report/plots.hpp"

namespace anima::cli {

inline void write_train_report(const std::string& run_dir) {
  namespace fs = std::filesystem;
  const fs::path dir(run_dir);
  std::ifstream config_in(dir / "config.json");
  const nlohmann::json config = nlohmann::json::parse(config_in, nullptr, false);
  ANIMA_CHECK(!config.is_discarded() && config.is_object(), "train report", "cannot read '",
              (dir / "config.json").string(), "'");
  const std::string task = config.value("task", std::string("classifier"));
  const std::string best_metric = config.value("best_metric", std::string("val_accuracy"));
  const nlohmann::json quality =
      config.value("quality", nlohmann::json{{"file", "accuracy.png"}, {"title", "Accuracy"}, {"unit", "accuracy"}});
  report::Series step_loss{"training loss per step", {}, {}}, lr{"learning rate", {}, {}};
  report::Series train_loss{"training loss per epoch", {}, {}}, val_loss{"validation loss", {}, {}};
  std::vector<nlohmann::json> epochs;
  std::vector<std::string> columns;  // the epochs' numeric fields, in order of appearance
  std::ifstream metrics(dir / "metrics.jsonl");
  double steps_per_epoch = 0;
  for (std::string line; std::getline(metrics, line);) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    if (j.value("type", "") == "step") {
      const double step = j.value("step", 0.0), epoch = j.value("epoch", 0.0);
      step_loss.x.push_back(step);
      step_loss.y.push_back(j.value("loss", 0.0));
      lr.x.push_back(step);
      lr.y.push_back(j.value("lr", 0.0));
      if (epoch == 1) steps_per_epoch = step;
    } else {
      epochs.push_back(j);
      for (auto it = j.begin(); it != j.end(); ++it)
        if (it->is_number() && it.key() != "epoch" &&
            std::find(columns.begin(), columns.end(), it.key()) == columns.end())
          columns.push_back(it.key());
    }
  }
  // Quality curves: the fields that are neither losses nor bookkeeping (accuracy, AP, ...).
  std::vector<report::Series> quality_series;
  for (const std::string& c : columns)
    if ((c.rfind("train_", 0) == 0 || c.rfind("val_", 0) == 0) && c.find("loss") == std::string::npos)
      quality_series.push_back({c, {}, {}});
  for (const nlohmann::json& e : epochs) {
    const double at = e.value("epoch", 0.0) * steps_per_epoch;  // the step that ends the epoch
    train_loss.x.push_back(at), train_loss.y.push_back(e.value("train_loss", 0.0));
    if (e.contains("val_loss")) val_loss.x.push_back(at), val_loss.y.push_back(e.value("val_loss", 0.0));
    for (report::Series& q : quality_series)
      if (e.contains(q.name)) q.x.push_back(e.value("epoch", 0.0)), q.y.push_back(e.value(q.name, 0.0));
  }
  auto write_png = [&](const std::string& name, const std::vector<unsigned char>& png) {
    io::write_file_atomic((dir / name).string(), png.data(), png.size(), "train report");
    return png;
  };
  std::vector<report::Series> losses = {step_loss, train_loss};
  if (!val_loss.x.empty()) losses.push_back(val_loss);
  const auto loss_png = write_png(
      "loss.png",
      report::line_plot_png(
          losses, report::PlotAxes{"Loss", "step", task == "classifier" ? "cross-entropy" : "loss", false, false}));
  const std::string quality_title = quality.value("title", "Quality"), quality_unit = quality.value("unit", "");
  const auto quality_png = write_png(
      quality.value("file", "quality.png"),
      report::line_plot_png(quality_series, report::PlotAxes{quality_title, "epoch", quality_unit, false, false}));
  const auto lr_png =
      write_png("lr.png", report::line_plot_png({lr}, report::PlotAxes{"Learning rate", "step", "lr", false, false}));

  const nlohmann::json& s = config.at("settings");
  // The subject: the classifier's net, else the detector and its annotation file.
  std::string subject = s.value("net", std::string());
  if (subject.empty())
    for (const char* key : {"data", "coco", "via"})
      if (subject.empty() && !s.value(key, std::string()).empty())
        subject =
            std::string(s.value("backbone", std::string("resnet50")) == "mobilenet_v2" ? "Mask R-CNN MobileNetV2-FPN"
                                                                                       : "Mask R-CNN R50-FPN") +
            " on " + std::filesystem::path(s.value(key, std::string())).filename().string();
  report::HtmlReport page("anima train " + task + ": " + subject);
  page.heading("Settings");
  std::vector<std::vector<std::string>> settings;
  for (auto it = s.begin(); it != s.end(); ++it)
    settings.push_back({it.key(), it->is_string() ? it->get<std::string>() : it->dump()});
  settings.push_back({"classes", config.at("classes").dump()});
  settings.push_back({"data fingerprint", config.at("data_fingerprint").dump()});
  page.table({"setting", "value"}, settings);
  page.heading("Epochs");
  std::size_t best = 0;  // the first epoch with the highest best_metric, as the run chose it
  for (std::size_t i = 1; i < epochs.size(); ++i)
    if (epochs[i].value(best_metric, -1.0) > epochs[best].value(best_metric, -1.0)) best = i;
  std::vector<std::string> header = {"epoch"};
  for (const std::string& c : columns) header.push_back(c);
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < epochs.size(); ++i) {
    const nlohmann::json& e = epochs[i];
    std::vector<std::string> row = {std::to_string(e.value("epoch", 0)) + (i == best ? " (best)" : "")};
    for (const std::string& c : columns) {
      char buf[32] = "";
      if (e.contains(c) && e.at(c).is_number_integer())
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(e.at(c).get<std::int64_t>()));
      else if (e.contains(c))
        std::snprintf(buf, sizeof buf, c == "lr" ? "%.3g" : c == "seconds" ? "%.1f" : "%.4f", e.value(c, 0.0));
      row.push_back(buf);
    }
    rows.push_back(std::move(row));
  }
  page.table(header, rows);
  page.heading("Curves");
  page.png(loss_png, "loss");
  page.png(quality_png, quality_title);
  page.png(lr_png, "learning rate");
  const std::string html = page.html();
  io::write_file_atomic((dir / "report.html").string(), html.data(), html.size(), "train report");
}

}  // namespace anima::cli
