// tools/anima/figures_output.hpp — how the commands that measure something (`agreement`, `eval
// analyze`) print their figures: the JSON document with --json, else their text form.
#pragma once

#include <cstdio>

#include <nlohmann/json.hpp>

namespace anima::cli {

using FiguresText = void (*)(const nlohmann::ordered_json& figures);

inline void print_figures(const nlohmann::ordered_json& figures, bool json, FiguresText text) {
  if (json)
    std::printf("%s\n", figures.dump(2).c_str());
  else
    text(figures);
}

}  // namespace anima::cli
