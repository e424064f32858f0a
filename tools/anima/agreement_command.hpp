// tools/anima/agreement_command.hpp — `anima agreement`: how far two annotators agree who drew and
// labelled the same frames in the VGG Image Annotator (VIA).
//
//   anima agreement A.json B.json [--attribute emotion --attribute character] [--iou 0.5] [--json]
//
// A.json and B.json are VIA files (any form data::read_via reads). Images are paired by their
// "filename"; on each image the two annotators' regions are rasterised (data::instance_mask, as
// pycocotools does) and paired one to one by mask IoU >= --iou, greedily by decreasing IoU
// (metrics::match_by_iou). For each attribute (region_attributes.<name>, every region must have it):
//   kappa               Cohen's kappa of the two labels of the matched regions (scikit-learn's
//                       cohen_kappa_score; null when undefined)
//   observed_agreement  the share of matched regions given the same label
//   hooper, rolling     inter-indexer consistency with A and B the regions each annotator drew and C
//                       the matched regions given the same label, so unmatched regions count against it
//   per_class           the same consistency per label, with its A, B and C
//   confusion           counts of matched regions, rows A's label, columns B's (the labels in order)
// Regions and images only one annotator has are counted. Text goes to stdout; --json prints
//   {"schema": "anima.agreement/1", "a", "b", "iou_threshold", "images": {"both", "only_a", "only_b"},
//    "regions": {"a", "b", "matched", "unmatched_a", "unmatched_b"},
//    "attributes": {"<name>": {"labels", "kappa", "observed_agreement", "agreed", "hooper", "rolling",
//                              "per_class": [{"label", "a", "b", "agreed", "hooper", "rolling"}],
//                              "confusion"}},
//    "pairs": [{"image", "a", "b", "iou"}]}        (region indices in each file's order per image)
// Errors (missing or malformed files, a region without the attribute, an image listed twice) are
// anima::Errors naming the file: exit status 2.
#pragma once

#include <algorithm>
#include <cmath>
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
#include <anima/metrics/agreement.hpp>
#include <anima/metrics/region_matching.hpp>

#include "figures_output.hpp"

namespace anima::cli {

struct AgreementOptions {
  std::string a, b;
  std::vector<std::string> attributes{"emotion", "character"};
  double iou = 0.5;
  bool json = false;
};

// One annotator's regions of one image: the region's box and polygons, and its label per attribute.
struct AnnotatorImage {
  std::vector<data::AnnotatedInstance> regions;
  std::vector<std::vector<std::string>> labels;  // [attribute][region]
};

// The regions of `file` per image file name, with each attribute's labels.
inline std::map<std::string, AnnotatorImage> read_annotator(const std::string& file,
                                                            const std::vector<std::string>& attributes) {
  std::map<std::string, AnnotatorImage> out;
  for (std::size_t a = 0; a < attributes.size(); ++a) {
    const data::DetectionAnnotations via = data::read_via(file, "", attributes[a]);
    std::map<std::string, bool> seen;
    for (const data::AnnotatedImage& image : via.images) {
      const std::string name = image.file.string();
      ANIMA_CHECK(!seen[name], "agreement", "'", file, "' lists the image '", name,
                  "' twice; expected one entry per image");
      seen[name] = true;
      AnnotatorImage& entry = out[name];
      if (a == 0) {
        entry.regions = image.instances;
        entry.labels.assign(attributes.size(), {});
      }
      for (const data::AnnotatedInstance& inst : image.instances)
        entry.labels[a].push_back(via.classes[static_cast<std::size_t>(inst.label - 1)]);
    }
  }
  return out;
}

// The mask IoU of every pair of regions of one image (rasterised on a canvas holding both).
inline std::vector<std::vector<double>> region_ious(const AnnotatorImage& a, const AnnotatorImage& b,
                                                    const std::string& image) {
  double right = 1, bottom = 1;
  for (const auto* side : {&a, &b})
    for (const data::AnnotatedInstance& r : side->regions) right = std::max(right, r.box[2]), bottom = std::max(bottom, r.box[3]);
  const auto w = static_cast<std::int64_t>(std::ceil(right)) + 1, h = static_cast<std::int64_t>(std::ceil(bottom)) + 1;
  std::vector<std::vector<std::uint8_t>> masks_b;
  for (const data::AnnotatedInstance& r : b.regions) masks_b.push_back(data::instance_mask(r, h, w, image));
  std::vector<std::vector<double>> iou;
  for (const data::AnnotatedInstance& r : a.regions) {
    const std::vector<std::uint8_t> mask_a = data::instance_mask(r, h, w, image);
    std::vector<double> row;
    for (const auto& mask_b : masks_b) row.push_back(metrics::mask_iou(mask_a, mask_b));
    iou.push_back(std::move(row));
  }
  return iou;
}

inline nlohmann::ordered_json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

inline nlohmann::ordered_json measure_agreement(const AgreementOptions& o) {
  ANIMA_CHECK(!o.attributes.empty(), "agreement", "give at least one --attribute");
  ANIMA_CHECK(o.iou > 0 && o.iou <= 1, "agreement", "--iou must be in (0, 1], got ", o.iou);
  const auto a = read_annotator(o.a, o.attributes), b = read_annotator(o.b, o.attributes);
  nlohmann::ordered_json only_a = nlohmann::ordered_json::array(), only_b = nlohmann::ordered_json::array();
  std::int64_t regions_a = 0, regions_b = 0, both_images = 0;
  const std::size_t n_attr = o.attributes.size();
  std::vector<std::vector<std::string>> matched_a(n_attr), matched_b(n_attr);  // labels of matched regions
  std::vector<std::map<std::string, std::int64_t>> count_a(n_attr), count_b(n_attr);
  nlohmann::ordered_json pairs = nlohmann::ordered_json::array();
  for (const auto& [name, image] : a) {
    regions_a += static_cast<std::int64_t>(image.regions.size());
    for (std::size_t t = 0; t < n_attr; ++t)
      for (const std::string& l : image.labels[t]) ++count_a[t][l];
    if (b.count(name) == 0) only_a.push_back(name);
  }
  for (const auto& [name, image] : b) {
    regions_b += static_cast<std::int64_t>(image.regions.size());
    for (std::size_t t = 0; t < n_attr; ++t)
      for (const std::string& l : image.labels[t]) ++count_b[t][l];
    auto it = a.find(name);
    if (it == a.end()) {
      only_b.push_back(name);
      continue;
    }
    ++both_images;
    const std::vector<metrics::RegionMatch> matches =
        metrics::match_by_iou(region_ious(it->second, image, name), o.iou);
    for (const metrics::RegionMatch& m : matches) {
      pairs.push_back({{"image", name}, {"a", m.a}, {"b", m.b}, {"iou", m.iou}});
      for (std::size_t t = 0; t < n_attr; ++t) {
        matched_a[t].push_back(it->second.labels[t][m.a]);
        matched_b[t].push_back(image.labels[t][m.b]);
      }
    }
  }
  const auto matched = static_cast<std::int64_t>(pairs.size());
  nlohmann::ordered_json out;
  out["schema"] = "anima.agreement/1";
  out["a"] = o.a;
  out["b"] = o.b;
  out["iou_threshold"] = o.iou;
  out["images"] = {{"both", both_images}, {"only_a", only_a}, {"only_b", only_b}};
  out["regions"] = {{"a", regions_a},
                    {"b", regions_b},
                    {"matched", matched},
                    {"unmatched_a", regions_a - matched},
                    {"unmatched_b", regions_b - matched}};
  nlohmann::ordered_json attributes = nlohmann::ordered_json::object();
  for (std::size_t t = 0; t < n_attr; ++t) {
    std::vector<std::string> names;
    for (const auto& [l, n] : count_a[t]) names.push_back(l);
    for (const auto& [l, n] : count_b[t]) names.push_back(l);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    auto index = [&](const std::string& l) {
      return static_cast<int>(std::lower_bound(names.begin(), names.end(), l) - names.begin());
    };
    std::vector<int> y1, y2;
    for (std::size_t i = 0; i < matched_a[t].size(); ++i) y1.push_back(index(matched_a[t][i])), y2.push_back(index(matched_b[t][i]));
    std::vector<int> all_labels(names.size());
    for (std::size_t k = 0; k < names.size(); ++k) all_labels[k] = static_cast<int>(k);
    const std::vector<std::int64_t> confusion = metrics::agreement_confusion(y1, y2, all_labels);
    std::int64_t agreed = 0;
    nlohmann::ordered_json per_class = nlohmann::ordered_json::array(), rows = nlohmann::ordered_json::array();
    for (std::size_t k = 0; k < names.size(); ++k) {
      const std::int64_t c = confusion[k * names.size() + k];
      agreed += c;
      const std::int64_t ak = count_a[t][names[k]], bk = count_b[t][names[k]];
      per_class.push_back({{"label", names[k]},
                           {"a", ak},
                           {"b", bk},
                           {"agreed", c},
                           {"hooper", number_or_null(metrics::hooper_consistency(ak, bk, c))},
                           {"rolling", number_or_null(metrics::rolling_consistency(ak, bk, c))}});
      rows.push_back(std::vector<std::int64_t>(confusion.begin() + static_cast<std::ptrdiff_t>(k * names.size()),
                                               confusion.begin() + static_cast<std::ptrdiff_t>((k + 1) * names.size())));
    }
    attributes[o.attributes[t]] = {
        {"labels", names},
        {"kappa", number_or_null(metrics::cohen_kappa(y1, y2, all_labels))},
        {"observed_agreement",
         number_or_null(matched > 0 ? static_cast<double>(agreed) / static_cast<double>(matched) : std::nan(""))},
        {"agreed", agreed},
        {"hooper", number_or_null(metrics::hooper_consistency(regions_a, regions_b, agreed))},
        {"rolling", number_or_null(metrics::rolling_consistency(regions_a, regions_b, agreed))},
        {"per_class", per_class},
        {"confusion", rows}};
  }
  out["attributes"] = attributes;
  out["pairs"] = pairs;
  return out;
}

inline std::string fixed3(const nlohmann::ordered_json& v) {
  if (v.is_null()) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", v.get<double>());
  return text;
}

inline void print_agreement_text(const nlohmann::ordered_json& r) {
  const auto& images = r["images"];
  const auto& regions = r["regions"];
  std::printf("images: %lld in both, %zu only in A, %zu only in B\n", images["both"].get<long long>(),
              images["only_a"].size(), images["only_b"].size());
  std::printf("regions: A %lld, B %lld, matched %lld (mask IoU >= %.2f), unmatched A %lld, B %lld\n",
              regions["a"].get<long long>(), regions["b"].get<long long>(), regions["matched"].get<long long>(),
              r["iou_threshold"].get<double>(), regions["unmatched_a"].get<long long>(),
              regions["unmatched_b"].get<long long>());
  for (const auto& [name, t] : r["attributes"].items()) {
    std::printf("\n%s: kappa %s, observed agreement %s, Hooper %s, Rolling %s (%lld agreed)\n", name.c_str(),
                fixed3(t["kappa"]).c_str(), fixed3(t["observed_agreement"]).c_str(), fixed3(t["hooper"]).c_str(),
                fixed3(t["rolling"]).c_str(), t["agreed"].get<long long>());
    std::printf("  %-16s %6s %6s %7s %7s %7s\n", "label", "A", "B", "agreed", "Hooper", "Rolling");
    for (const auto& c : t["per_class"])
      std::printf("  %-16s %6lld %6lld %7lld %7s %7s\n", c["label"].get<std::string>().c_str(),
                  c["a"].get<long long>(), c["b"].get<long long>(), c["agreed"].get<long long>(),
                  fixed3(c["hooper"]).c_str(), fixed3(c["rolling"]).c_str());
    std::printf("  confusion of matched regions (rows A, columns B):\n  %-16s", "");
    for (const auto& l : t["labels"]) std::printf(" %9.9s", l.get<std::string>().c_str());
    std::printf("\n");
    for (std::size_t k = 0; k < t["labels"].size(); ++k) {
      std::printf("  %-16s", t["labels"][k].get<std::string>().c_str());
      for (const auto& v : t["confusion"][k]) std::printf(" %9lld", v.get<long long>());
      std::printf("\n");
    }
  }
}

// Registers `anima agreement`; its exit status goes to `status`.
inline CLI::App* add_agreement_command(CLI::App& app, int& status) {
  auto opts = std::make_shared<AgreementOptions>();
  CLI::App* cmd = app.add_subcommand(
      "agreement", "inter-annotator agreement of two VIA files: Cohen's kappa, Hooper's and Rolling's consistency");
  cmd->add_option("a", opts->a, "the first annotator's VIA JSON")->required();
  cmd->add_option("b", opts->b, "the second annotator's VIA JSON")->required();
  cmd->add_option("--attribute", opts->attributes,
                  "a region attribute to compare (repeatable; default emotion and character)");
  cmd->add_option("--iou", opts->iou, "mask IoU at which two regions are the same (default 0.5)");
  cmd->add_flag("--json", opts->json, "print the figures as JSON");
  cmd->callback([opts, &status] {
    print_figures(measure_agreement(*opts), opts->json, print_agreement_text);
    status = 0;
  });
  return cmd;
}

}  // namespace anima::cli
