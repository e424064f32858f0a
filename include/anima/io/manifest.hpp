// anima/io/manifest.hpp — what an official weight file holds (weights/manifests/*.json, written by
// tools/weights/make_manifests.py from torchvision), and which manifest a StateDict matches.
//
// A manifest is a JSON object:
//   { "net": "resnet50", "weights": "ResNet50_Weights.IMAGENET1K_V1", "file": "resnet50-0676ba61.pth",
//     "url": "https://...", "sha256_prefix": "0676ba61", "num_params": 25557032, "num_classes": 1000,
//     "optional": ["num_batches_tracked"],
//     "tensors": [ {"name": "conv1.weight", "shape": [64, 3, 7, 7], "dtype": "float32"}, ... ] }
// (other keys are ignored). "optional" lists name suffixes a file may lack without being a different
// net: BatchNorm's num_batches_tracked, which files saved before torch 0.4.1 do not have.
//
// Matching compares names, shapes and dtypes (the dtype a tensor loads as: a float16 file matches a
// float32 manifest). A match is exact when nothing is missing (optional names aside), unexpected or
// mismatched; otherwise rank_manifests orders candidates by missing + unexpected + mismatched.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <anima/core/dtype.hpp>
#include <anima/core/error.hpp>
#include <anima/core/shape.hpp>
#include <anima/io/json_reader.hpp>
#include <anima/io/state_dict.hpp>

namespace anima::io {

struct ManifestTensor {
  std::string name;
  Shape shape;
  std::string dtype;  // "float32", "int64", ...
};

struct Manifest {
  std::string path;  // the manifest file
  std::string net, weights, file, url, sha256_prefix;
  std::int64_t num_params = 0, num_classes = 0;
  std::vector<std::string> optional;
  std::vector<ManifestTensor> tensors;
};

namespace detail {

inline const JsonValue& manifest_field(const JsonValue& root, const char* key, JsonValue::Kind kind,
                                       const std::string& path) {
  const JsonValue* v = root.find(key);
  if (!v) fail("load_manifest", path, ": missing the key \"", key, "\"");
  if (v->kind != kind)
    fail("load_manifest", path, ": expected \"", key, "\" to be ", json_kind_name(kind), ", found ",
         json_kind_name(v->kind));
  return *v;
}

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace detail

inline Manifest load_manifest(const std::string& path) {
  constexpr const char* op = "load_manifest";
  using K = JsonValue::Kind;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(op, path, ": cannot open the manifest for reading");
  std::ostringstream text;
  text << in.rdbuf();
  const JsonValue root = parse_json(text.str(), op, path);
  if (!root.is_object()) fail(op, path, ": expected a JSON object, found ", json_kind_name(root.kind));
  Manifest m;
  m.path = path;
  m.net = detail::manifest_field(root, "net", K::String, path).text;
  m.weights = detail::manifest_field(root, "weights", K::String, path).text;
  m.file = detail::manifest_field(root, "file", K::String, path).text;
  m.url = detail::manifest_field(root, "url", K::String, path).text;
  m.sha256_prefix = detail::manifest_field(root, "sha256_prefix", K::String, path).text;
  const std::uint64_t limit = static_cast<std::uint64_t>(INT64_MAX);
  m.num_params = static_cast<std::int64_t>(
      json_as_uint64(detail::manifest_field(root, "num_params", K::Number, path), limit, op, path, "num_params"));
  if (const JsonValue* c = root.find("num_classes"))
    m.num_classes = static_cast<std::int64_t>(json_as_uint64(*c, limit, op, path, "num_classes"));
  if (const JsonValue* o = root.find("optional")) {
    if (!o->is_array()) fail(op, path, ": expected \"optional\" to be an array of strings");
    for (const auto& s : o->items) {
      if (!s.is_string()) fail(op, path, ": expected \"optional\" to be an array of strings");
      m.optional.push_back(s.text);
    }
  }
  const JsonValue& tensors = detail::manifest_field(root, "tensors", K::Array, path);
  for (std::size_t i = 0; i < tensors.items.size(); ++i) {
    const JsonValue& t = tensors.items[i];
    const std::string where = "tensors[" + std::to_string(i) + "]";
    if (!t.is_object()) fail(op, path, ": expected ", where, " to be an object {name, shape, dtype}");
    ManifestTensor mt;
    mt.name = detail::manifest_field(t, "name", K::String, path + " " + where).text;
    mt.dtype = detail::manifest_field(t, "dtype", K::String, path + " " + where).text;
    for (const auto& d : detail::manifest_field(t, "shape", K::Array, path + " " + where).items)
      mt.shape.push_back(static_cast<std::int64_t>(json_as_uint64(d, limit, op, path, where + " shape")));
    m.tensors.push_back(std::move(mt));
  }
  return m;
}

// Every *.json manifest in `dir`, in file-name order.
inline std::vector<Manifest> load_manifests(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("load_manifests", dir, ": not a directory of manifests (weights/manifests)");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path().string());
  if (ec) fail("load_manifests", dir, ": cannot list the folder: ", ec.message());
  std::sort(files.begin(), files.end());
  std::vector<Manifest> out;
  for (const auto& f : files) out.push_back(load_manifest(f));
  return out;
}

struct ManifestMatch {
  const Manifest* manifest = nullptr;
  std::vector<std::string> missing;           // in the manifest, not in the file (optional ones excluded)
  std::vector<std::string> missing_optional;  // optional names the file lacks
  std::vector<std::string> unexpected;        // in the file, not in the manifest
  std::vector<std::string>
      mismatched;            // in both, with another shape or dtype: "name: file [..] float32, manifest [..] float32"
  std::size_t agreeing = 0;  // in both, same shape and dtype
  bool exact() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  std::size_t distance() const { return missing.size() + unexpected.size() + mismatched.size(); }
};

inline ManifestMatch match_manifest(const StateDict& sd, const Manifest& m) {
  ManifestMatch r;
  r.manifest = &m;
  std::unordered_map<std::string, const ManifestTensor*> by_name;
  for (const auto& t : m.tensors) by_name.emplace(t.name, &t);
  for (const auto& t : m.tensors) {
    const Tensor* got = sd.find(t.name);
    if (!got) {
      bool optional = false;
      for (const auto& suffix : m.optional) optional = optional || detail::ends_with(t.name, suffix);
      (optional ? r.missing_optional : r.missing).push_back(t.name);
    } else if (got->shape() != t.shape || t.dtype != dtype_name(got->dtype())) {
      r.mismatched.push_back(t.name + ": file " + shape_str(got->shape()) + " " + dtype_name(got->dtype()) +
                             ", manifest " + shape_str(t.shape) + " " + t.dtype);
    } else {
      ++r.agreeing;
    }
  }
  for (const auto& item : sd.items())
    if (by_name.find(item.first) == by_name.end()) r.unexpected.push_back(item.first);
  return r;
}

// Matches against every manifest, best first: exact matches, then by distance; ties keep the
// manifests' order.
inline std::vector<ManifestMatch> rank_manifests(const StateDict& sd, const std::vector<Manifest>& manifests) {
  std::vector<ManifestMatch> r;
  for (const auto& m : manifests) r.push_back(match_manifest(sd, m));
  std::stable_sort(r.begin(), r.end(), [](const ManifestMatch& a, const ManifestMatch& b) {
    if (a.exact() != b.exact()) return a.exact();
    return a.distance() < b.distance();
  });
  return r;
}

}  // namespace anima::io
