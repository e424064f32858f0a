// tools/anima/labels_file.hpp — class names read from a text file, one per line, as `anima classify`
// and `anima detect` take them with --labels.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <anima/core/error.hpp>

namespace anima::cli {

// One label per line: a trailing '\r' is removed (files written on Windows), empty lines inside the
// file are kept as empty labels (they hold a class id's place), trailing empty lines are dropped.
// `op` names the command in the error for a missing or unreadable file.
inline std::vector<std::string> read_labels_file(const std::filesystem::path& path, const char* op) {
  ANIMA_CHECK(std::filesystem::is_regular_file(path), op, "cannot read labels file '", path.string(), "'");
  std::ifstream f(path);
  ANIMA_CHECK(f.good(), op, "cannot read labels file '", path.string(), "'");
  std::vector<std::string> labels;
  for (std::string line; std::getline(f, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(line);
  }
  while (!labels.empty() && labels.back().empty()) labels.pop_back();
  return labels;
}

}  // namespace anima::cli
