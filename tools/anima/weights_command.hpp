// tools/anima/weights_command.hpp — `anima weights`: look inside weight files and convert them.
//
//   anima weights inspect FILE [--json] [--manifests DIR]
//       the file's format, every tensor (name, shape, dtype, in file order), element and parameter
//       counts, and which official checkpoint (weights/manifests/*.json) it matches: an exact match
//       names the net and the weights entries with those tensors (and the entry whose file name
//       equals FILE's, if one does); otherwise the closest manifest with its missing / unexpected /
//       mismatched tensors. --manifests defaults to weights/manifests when that folder exists here.
//       --json prints one object: {"file", "format", "num_tensors", "num_elements", "num_params",
//       "tensors": [{"name", "shape", "dtype"}], "match": {...} or null}.
//   anima weights convert IN OUT.safetensors
//       any readable weight file (.pth zip or legacy, safetensors) to safetensors, same names,
//       written atomically (temporary file + rename); metadata records the source file's name, and a
//       safetensors source's own metadata (labels, net, image sizes, square side) is kept.
//
// "num_params" counts the elements of every tensor except BatchNorm's running_mean, running_var and
// num_batches_tracked; a matched manifest's num_params (torchvision's count) is printed beside it.
// Errors (missing, corrupt or unsupported files) are anima::Errors naming the file: exit status 2.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <anima/core/error.hpp>
#include <anima/core/shape.hpp>
#include <anima/io/manifest.hpp>
#include <anima/io/safetensors.hpp>
#include <anima/io/weights_file.hpp>

namespace anima::cli {

struct WeightsOptions {
  std::string file;
  std::string manifests;
  bool json = false;
  std::string in, out;
};

inline bool weights_is_buffer_name(const std::string& name) {
  for (const char* suffix : {"running_mean", "running_var", "num_batches_tracked"})
    if (io::detail::ends_with(name, std::string(".") + suffix) || name == suffix) return true;
  return false;
}

inline std::string weights_join(const std::vector<std::string>& names, std::size_t max_shown) {
  std::string s;
  for (std::size_t i = 0; i < names.size() && i < max_shown; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > max_shown) s += ", ... (" + std::to_string(names.size() - max_shown) + " more)";
  return s;
}

inline int run_weights_inspect(const WeightsOptions& o) {
  const io::WeightsFormat format = io::detect_weights_format(o.file);
  const io::StateDict sd = io::load_weights(o.file);
  std::int64_t params = 0;
  for (const auto& item : sd.items())
    if (!weights_is_buffer_name(item.first)) params += item.second.numel();

  std::string manifest_dir = o.manifests;
  std::error_code ec;
  if (manifest_dir.empty() && std::filesystem::is_directory("weights/manifests", ec))
    manifest_dir = "weights/manifests";
  std::vector<io::Manifest> manifests;
  if (!manifest_dir.empty()) manifests = io::load_manifests(manifest_dir);
  const std::vector<io::ManifestMatch> ranked = io::rank_manifests(sd, manifests);
  const std::string base = std::filesystem::path(o.file).filename().string();
  // Every exact match (V1 and V2 of a net have the same tensors), and the one named like the file.
  std::vector<const io::ManifestMatch*> exact;
  for (const auto& m : ranked)
    if (m.exact()) exact.push_back(&m);
  const io::ManifestMatch* by_file_name = nullptr;
  for (const auto* m : exact)
    if (m->manifest->file == base) by_file_name = m;

  if (o.json) {
    nlohmann::json j;
    j["file"] = o.file;
    j["format"] = io::weights_format_name(format);
    j["num_tensors"] = sd.size();
    j["num_elements"] = sd.numel();
    j["num_params"] = params;
    j["tensors"] = nlohmann::json::array();
    for (const auto& item : sd.items())
      j["tensors"].push_back(
          {{"name", item.first}, {"shape", item.second.shape()}, {"dtype", dtype_name(item.second.dtype())}});
    if (ranked.empty()) {
      j["match"] = nullptr;
    } else {
      const io::ManifestMatch& best = exact.empty() ? ranked.front() : (by_file_name ? *by_file_name : *exact.front());
      nlohmann::json m;
      m["exact"] = best.exact();
      m["agreeing"] = best.agreeing;
      m["net"] = best.manifest->net;
      m["weights"] = nlohmann::json::array();
      if (best.exact()) {
        for (const auto* e : exact) m["weights"].push_back(e->manifest->weights);
      } else {
        m["weights"].push_back(best.manifest->weights);
      }
      m["num_params"] = best.manifest->num_params;
      m["file_name_matches"] = by_file_name != nullptr;
      m["missing"] = best.missing;
      m["missing_optional"] = best.missing_optional.size();
      m["unexpected"] = best.unexpected;
      m["mismatched"] = best.mismatched;
      j["match"] = m;
    }
    std::printf("%s\n", j.dump(1).c_str());
    return 0;
  }

  std::printf("%s: %s, %zu tensors, %lld elements, %lld parameters (without BatchNorm running statistics)\n",
              o.file.c_str(), io::weights_format_name(format), sd.size(), static_cast<long long>(sd.numel()),
              static_cast<long long>(params));
  for (const auto& item : sd.items())
    std::printf("  %-60s %-20s %s\n", item.first.c_str(), shape_str(item.second.shape()).c_str(),
                dtype_name(item.second.dtype()));
  if (manifest_dir.empty()) {
    std::printf("manifest: not checked (no weights/manifests here; pass --manifests DIR)\n");
  } else if (ranked.empty()) {
    std::printf("manifest: none in %s\n", manifest_dir.c_str());
  } else if (!exact.empty()) {
    std::vector<std::string> names;
    for (const auto* e : exact) names.push_back(e->manifest->weights);
    const io::ManifestMatch& m = by_file_name ? *by_file_name : *exact.front();
    std::printf("manifest: matches %s exactly (%s); torchvision counts %lld parameters\n", m.manifest->net.c_str(),
                weights_join(names, 8).c_str(), static_cast<long long>(m.manifest->num_params));
    if (by_file_name) std::printf("manifest: the file name is that of %s\n", by_file_name->manifest->weights.c_str());
    if (!m.missing_optional.empty())
      std::printf("manifest: the file lacks %zu optional tensors (%s)\n", m.missing_optional.size(),
                  weights_join(m.missing_optional, 3).c_str());
  } else if (ranked.front().agreeing == 0 && ranked.front().mismatched.empty()) {
    std::printf("manifest: no match; no manifest in %s shares a tensor name with this file\n", manifest_dir.c_str());
  } else {
    const io::ManifestMatch& m = ranked.front();
    std::printf(
        "manifest: no exact match; closest is %s (%s): %zu of its %zu tensors agree, %zu missing, %zu unexpected, "
        "%zu mismatched\n",
        m.manifest->net.c_str(), m.manifest->weights.c_str(), m.agreeing, m.manifest->tensors.size(), m.missing.size(),
        m.unexpected.size(), m.mismatched.size());
    if (!m.missing.empty()) std::printf("  missing: %s\n", weights_join(m.missing, 10).c_str());
    if (!m.unexpected.empty()) std::printf("  unexpected: %s\n", weights_join(m.unexpected, 10).c_str());
    if (!m.mismatched.empty()) std::printf("  mismatched: %s\n", weights_join(m.mismatched, 10).c_str());
  }
  return 0;
}

inline int run_weights_convert(const WeightsOptions& o) {
  const io::WeightsFormat format = io::detect_weights_format(o.in);
  const io::StateDict sd = io::load_weights(o.in);
  // A safetensors source keeps its metadata (class names, training sizes), which the commands read.
  std::map<std::string, std::string> metadata;
  if (format == io::WeightsFormat::Safetensors) metadata = io::load_safetensors(o.in).metadata;
  metadata["source"] = std::filesystem::path(o.in).filename().string();
  metadata["source_format"] = io::weights_format_name(format);
  metadata["converted_by"] = "anima weights convert";
  io::save_weights_safetensors(o.out, sd, metadata);
  std::printf("anima weights: wrote %zu tensors (%lld elements) from %s to %s\n", sd.size(),
              static_cast<long long>(sd.numel()), o.in.c_str(), o.out.c_str());
  return 0;
}

inline CLI::App* add_weights_command(CLI::App& app, int& status) {
  auto opts = std::make_shared<WeightsOptions>();
  CLI::App* cmd = app.add_subcommand("weights", "inspect and convert weight files (.pth, safetensors)");
  cmd->require_subcommand(1);
  CLI::App* inspect =
      cmd->add_subcommand("inspect", "list a weight file's tensors and the official checkpoint it matches");
  inspect->add_option("FILE", opts->file, "weight file (.pth zip or legacy, .safetensors)")->required();
  inspect->add_flag("--json", opts->json, "print one JSON object");
  inspect->add_option("--manifests", opts->manifests, "folder of manifests (default: weights/manifests if present)");
  inspect->callback([opts, &status] { status = run_weights_inspect(*opts); });
  CLI::App* convert = cmd->add_subcommand("convert", "convert a weight file to safetensors (atomic write)");
  convert->add_option("IN", opts->in, "weight file to read")->required();
  convert->add_option("OUT", opts->out, "safetensors file to write")->required();
  convert->callback([opts, &status] { status = run_weights_convert(*opts); });
  return cmd;
}

}  // namespace anima::cli
