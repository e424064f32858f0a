// tools/anima/eval_analyze.hpp — `anima eval analyze`: how far `anima analyze`'s timeline agrees with
// a ground-truth timeline (the one `anima synth --videos` writes beside each video).
//
//   anima eval analyze --truth TIMELINE.json --pred DIR|timeline.json [--iou 0.5] [--min-visible 0]
//                      [--json]
//
// Truth: {"timeline": [{"frame", "faces": [{"character", "emotion", "box": [x, y, w, h],
// "visible"}]}]} (anima synth's; "visible", the unoccluded share of the face, optional). Prediction:
// analyze's timeline.json (boxes [x1, y1, x2, y2]). On every frame the prediction sampled, the true
// faces with visible >= --min-visible are paired one to one with the predicted faces by box IoU >=
// --iou (metrics::match_by_iou). A true face agrees when it is paired with a face of the same character
// and emotion; a true face left unpaired counts as a disagreement (a face the system missed), and a
// predicted face left unpaired is a false detection (counted apart). Reported overall and per true
// character and emotion: faces, paired, agreed, agreement = agreed / faces; and the confusion of the
// paired faces' classes ("<emotion>_<character>", rows truth). Text on stdout, or --json:
//   {"schema": "anima.eval.analyze/1", "truth", "pred", "iou_threshold", "min_visible", "frames",
//    "faces", "paired", "agreed", "agreement", "false_detections", "complete",
//    "per_class": [{"character", "emotion", "faces", "paired", "agreed", "agreement"}],
//    "confusion": {"labels": [...], "counts": [[...]]}}
// A frame the prediction sampled that the truth lacks is an error (another video?), as are malformed
// files (anima::Error naming the file: exit status 2).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <anima/core/error.hpp>
#include <anima/metrics/region_matching.hpp>

#include "figures_output.hpp"

namespace anima::cli {

struct EvalAnalyzeOptions {
  std::string truth, pred;
  double iou = 0.5;
  double min_visible = 0.0;
  bool json = false;
};

struct TimelineFace {
  std::string character, emotion;
  std::array<double, 4> box{};  // x1, y1, x2, y2
  double visible = 1;
};

// frame index -> faces, from a timeline file; `corner_boxes`: boxes are [x1, y1, x2, y2] (analyze's)
// rather than [x, y, w, h] (synth's).
inline std::map<long long, std::vector<TimelineFace>> read_timeline_faces(const std::string& path,
                                                                         bool corner_boxes, bool* complete = nullptr) {
  std::ifstream in(path, std::ios::binary);
  ANIMA_CHECK(in.good(), "eval analyze", "cannot read the timeline '", path, "'");
  const nlohmann::json root = nlohmann::json::parse(in, nullptr, false);
  ANIMA_CHECK(!root.is_discarded(), "eval analyze", "'", path, "' is not valid JSON");
  std::map<long long, std::vector<TimelineFace>> out;
  try {
    ANIMA_CHECK(root.is_object() && root.contains("timeline") && root["timeline"].is_array(), "eval analyze", "'", path,
                "' has no \"timeline\" list");
    if (complete != nullptr) *complete = root.value("complete", true);
    for (const auto& entry : root["timeline"]) {
      const long long frame = entry.at("frame").get<long long>();
      std::vector<TimelineFace>& faces = out[frame];
      for (const auto& f : entry.at("faces")) {
        TimelineFace face;
        face.character = f.at("character").get<std::string>();
        face.emotion = f.at("emotion").get<std::string>();
        const std::vector<double> b = f.at("box").get<std::vector<double>>();
        ANIMA_CHECK(b.size() == 4 && std::all_of(b.begin(), b.end(), [](double v) { return std::isfinite(v); }),
                    "eval analyze", "'", path, "': a box of frame ", frame, " is not four finite numbers");
        face.box = corner_boxes ? std::array<double, 4>{b[0], b[1], b[2], b[3]}
                                : std::array<double, 4>{b[0], b[1], b[0] + b[2], b[1] + b[3]};
        if (f.contains("visible")) face.visible = f["visible"].get<double>();
        faces.push_back(face);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    fail("eval analyze", "'", path, "' is not a timeline: ", e.what());
  }
  return out;
}

inline nlohmann::ordered_json evaluate_timeline(const EvalAnalyzeOptions& o) {
  ANIMA_CHECK(o.iou > 0 && o.iou <= 1, "eval analyze", "--iou must be in (0, 1], got ", o.iou);
  std::string pred_file = o.pred;
  if (std::filesystem::is_directory(pred_file)) pred_file = (std::filesystem::path(o.pred) / "timeline.json").string();
  const auto truth = read_timeline_faces(o.truth, false);
  bool complete = true;
  const auto pred = read_timeline_faces(pred_file, true, &complete);
  struct Count {
    long long faces = 0, paired = 0, agreed = 0;
  };
  std::map<std::pair<std::string, std::string>, Count> per_class;  // (character, emotion)
  Count all;
  long long false_detections = 0;
  std::vector<std::string> labels;
  std::map<std::pair<std::string, std::string>, long long> confusion;  // (truth class, predicted class)
  auto class_of = [&](const TimelineFace& f) {
    std::string c = f.emotion + "_" + f.character;
    if (std::find(labels.begin(), labels.end(), c) == labels.end()) labels.push_back(c);
    return c;
  };
  for (const auto& [frame, predicted] : pred) {
    const auto it = truth.find(frame);
    ANIMA_CHECK(it != truth.end(), "eval analyze", "'", pred_file, "' has frame ", frame, " which '", o.truth,
                "' does not: are they of the same video?");
    std::vector<const TimelineFace*> counted;
    for (const TimelineFace& t : it->second)
      if (t.visible >= o.min_visible) counted.push_back(&t);
    std::vector<std::vector<double>> iou;
    for (const TimelineFace* t : counted) {
      std::vector<double> row;
      for (const TimelineFace& p : predicted) row.push_back(metrics::box_iou(t->box, p.box));
      iou.push_back(row);
    }
    const std::vector<metrics::RegionMatch> pairs = metrics::match_by_iou(iou, o.iou);
    std::vector<const TimelineFace*> partner(counted.size(), nullptr);
    for (const metrics::RegionMatch& m : pairs) partner[m.a] = &predicted[m.b];
    false_detections += static_cast<long long>(predicted.size() - pairs.size());
    for (std::size_t i = 0; i < counted.size(); ++i) {
      Count& c = per_class[{counted[i]->character, counted[i]->emotion}];
      const std::string truth_class = class_of(*counted[i]);
      ++c.faces, ++all.faces;
      if (partner[i] == nullptr) continue;
      ++c.paired, ++all.paired;
      ++confusion[{truth_class, class_of(*partner[i])}];
      if (partner[i]->character == counted[i]->character && partner[i]->emotion == counted[i]->emotion)
        ++c.agreed, ++all.agreed;
    }
  }
  auto share = [](long long a, long long n) {
    return n > 0 ? nlohmann::ordered_json(static_cast<double>(a) / static_cast<double>(n))
                 : nlohmann::ordered_json(nullptr);
  };
  nlohmann::ordered_json out;
  out["schema"] = "anima.eval.analyze/1";
  out["truth"] = o.truth;
  out["pred"] = pred_file;
  out["iou_threshold"] = o.iou;
  out["min_visible"] = o.min_visible;
  out["frames"] = pred.size();
  out["faces"] = all.faces;
  out["paired"] = all.paired;
  out["agreed"] = all.agreed;
  out["agreement"] = share(all.agreed, all.faces);
  out["false_detections"] = false_detections;
  out["complete"] = complete;
  nlohmann::ordered_json classes = nlohmann::ordered_json::array();
  for (const auto& [key, c] : per_class)
    classes.push_back({{"character", key.first},
                       {"emotion", key.second},
                       {"faces", c.faces},
                       {"paired", c.paired},
                       {"agreed", c.agreed},
                       {"agreement", share(c.agreed, c.faces)}});
  out["per_class"] = classes;
  std::sort(labels.begin(), labels.end());
  nlohmann::ordered_json counts = nlohmann::ordered_json::array();
  for (const std::string& t : labels) {
    std::vector<long long> row;
    for (const std::string& p : labels) {
      const auto it = confusion.find({t, p});
      row.push_back(it == confusion.end() ? 0 : it->second);
    }
    counts.push_back(row);
  }
  out["confusion"] = {{"labels", labels}, {"counts", counts}};
  return out;
}

inline void print_timeline_evaluation(const nlohmann::ordered_json& r) {
  auto pct = [](const nlohmann::ordered_json& v) {
    char text[16];
    if (v.is_null()) return std::string("n/a");
    std::snprintf(text, sizeof text, "%.1f%%", 100 * v.get<double>());
    return std::string(text);
  };
  std::printf("%lld sampled frames, %lld true faces, %lld paired (box IoU >= %.2f), %lld agree: %s; %lld false "
              "detections%s\n",
              r["frames"].get<long long>(), r["faces"].get<long long>(), r["paired"].get<long long>(),
              r["iou_threshold"].get<double>(), r["agreed"].get<long long>(), pct(r["agreement"]).c_str(),
              r["false_detections"].get<long long>(), r["complete"].get<bool>() ? "" : " (the analysis is incomplete)");
  std::printf("%-10s %-10s %7s %7s %7s %9s\n", "character", "emotion", "faces", "paired", "agreed", "agreement");
  for (const auto& c : r["per_class"])
    std::printf("%-10s %-10s %7lld %7lld %7lld %9s\n", c["character"].get<std::string>().c_str(),
                c["emotion"].get<std::string>().c_str(), c["faces"].get<long long>(), c["paired"].get<long long>(),
                c["agreed"].get<long long>(), pct(c["agreement"]).c_str());
}

// Registers `anima eval analyze` under `eval`.
inline CLI::App* add_eval_analyze_command(CLI::App& eval, int& status) {
  auto opts = std::make_shared<EvalAnalyzeOptions>();
  CLI::App* cmd = eval.add_subcommand("analyze", "agreement of an `anima analyze` timeline with a true timeline");
  cmd->add_option("--truth", opts->truth, "the true timeline (anima synth's <video>.timeline.json)")->required();
  cmd->add_option("--pred", opts->pred, "analyze's output folder or its timeline.json")->required();
  cmd->add_option("--iou", opts->iou, "box IoU at which a predicted face is a true one (default 0.5)");
  cmd->add_option("--min-visible", opts->min_visible,
                  "count only true faces at least this visible (0..1; default 0: all)");
  cmd->add_flag("--json", opts->json, "print the figures as JSON");
  cmd->callback([opts, &status] {
    print_figures(evaluate_timeline(*opts), opts->json, print_timeline_evaluation);
    status = 0;
  });
  return cmd;
}

}  // namespace anima::cli
