// tools/anima/train_report.hpp — the pictures and the page of a training run, rebuilt from its
// config.json and metrics.jsonl after every epoch (each file written to a temporary file, renamed):
//   loss.png       the loss of every step, and per epoch the training and validation loss
//   accuracy.png   per epoch the training and validation accuracy
//   lr.png         the learning rate of every step
//   report.html    self-contained: the settings, a table of the epochs (the best marked) and the
//                  pictures above
// Drawn with cairo (tools/report/plots.hpp), so this runs inside the media plugin.
#pragma once

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
  ANIMA_CHECK(!config.is_discarded(), "train report", "cannot read '", (dir / "config.json").string(), "'");
  report::Series step_loss{"training loss per step", {}, {}}, lr{"learning rate", {}, {}};
  report::Series train_loss{"training loss per epoch", {}, {}}, val_loss{"validation loss", {}, {}};
  report::Series train_acc{"training accuracy", {}, {}}, val_acc{"validation accuracy", {}, {}};
  std::vector<nlohmann::json> epochs;
  std::ifstream metrics(dir / "metrics.jsonl");
  double steps_per_epoch = 0;
  for (std::string line; std::getline(metrics, line);) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    if (j.value("type", "") == "step") {
      const double step = j.value("step", 0.0), epoch = j.value("epoch", 0.0);
      step_loss.x.push_back(step);
      step_loss.y.push_back(j.value("loss", 0.0));
      lr.x.push_back(step);
      lr.y.push_back(j.value("lr", 0.0));
      if (epoch == 1) steps_per_epoch = step;
    } else {
      epochs.push_back(j);
    }
  }
  for (const nlohmann::json& e : epochs) {
    const double at = e.value("epoch", 0.0) * steps_per_epoch;  // the step that ends the epoch
    train_loss.x.push_back(at), train_loss.y.push_back(e.value("train_loss", 0.0));
    val_loss.x.push_back(at), val_loss.y.push_back(e.value("val_loss", 0.0));
    train_acc.x.push_back(e.value("epoch", 0.0)), train_acc.y.push_back(e.value("train_accuracy", 0.0));
    val_acc.x.push_back(e.value("epoch", 0.0)), val_acc.y.push_back(e.value("val_accuracy", 0.0));
  }
  auto write_png = [&](const char* name, const std::vector<unsigned char>& png) {
    io::write_file_atomic((dir / name).string(), png.data(), png.size(), "train report");
    return png;
  };
  const auto loss_png =
      write_png("loss.png", report::line_plot_png({step_loss, train_loss, val_loss},
                                                  report::PlotAxes{"Loss", "step", "cross-entropy", false, false}));
  const auto acc_png = write_png(
      "accuracy.png",
      report::line_plot_png({train_acc, val_acc}, report::PlotAxes{"Accuracy", "epoch", "accuracy", false, false}));
  const auto lr_png =
      write_png("lr.png", report::line_plot_png({lr}, report::PlotAxes{"Learning rate", "step", "lr", false, false}));

  const nlohmann::json& s = config.at("settings");
  report::HtmlReport page("anima train classifier: " + s.value("net", std::string()));
  page.heading("Settings");
  std::vector<std::vector<std::string>> settings;
  for (auto it = s.begin(); it != s.end(); ++it)
    settings.push_back({it.key(), it->is_string() ? it->get<std::string>() : it->dump()});
  settings.push_back({"classes", config.at("classes").dump()});
  settings.push_back({"data fingerprint", config.at("data_fingerprint").dump()});
  page.table({"setting", "value"}, settings);
  page.heading("Epochs");
  std::size_t best = 0;  // the first epoch with the highest validation accuracy, as the run chose it
  for (std::size_t i = 1; i < epochs.size(); ++i)
    if (epochs[i].value("val_accuracy", 0.0) > epochs[best].value("val_accuracy", 0.0)) best = i;
  std::vector<std::vector<std::string>> rows;
  char buf[32];
  auto num = [&](const nlohmann::json& e, const char* key, const char* format) {
    std::snprintf(buf, sizeof buf, format, e.value(key, 0.0));
    return std::string(buf);
  };
  for (std::size_t i = 0; i < epochs.size(); ++i) {
    const nlohmann::json& e = epochs[i];
    rows.push_back({std::to_string(e.value("epoch", 0)) + (i == best ? " (best)" : ""), num(e, "train_loss", "%.4f"),
                    num(e, "train_accuracy", "%.4f"), num(e, "val_loss", "%.4f"), num(e, "val_accuracy", "%.4f"),
                    num(e, "lr", "%.3g"), num(e, "seconds", "%.1f")});
  }
  page.table({"epoch", "train loss", "train accuracy", "val loss", "val accuracy", "lr", "seconds"}, rows);
  page.heading("Curves");
  page.png(loss_png, "loss");
  page.png(acc_png, "accuracy");
  page.png(lr_png, "learning rate");
  const std::string html = page.html();
  io::write_file_atomic((dir / "report.html").string(), html.data(), html.size(), "train report");
}

}  // namespace anima::cli
