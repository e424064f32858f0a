// tools/anima/analyze_state.hpp — what `anima analyze` keeps on disk while it runs, so that a run that
// was killed continues with `anima analyze --resume DIR` from the last frame it finished.
//
// DIR/analyze_state.jsonl: a first line {"schema": "anima.analyze.state/1", "options": {...},
// "video_bytes"} with the run's settings, then one line per finished sampled frame, in order, as
// timeline.json holds it (faces with their masks). A line is appended and flushed as soon as its
// frame's faces are all classified. A run killed while appending leaves a last line without its
// newline: it is dropped on resume, and that frame is analysed again. The file is removed once the
// outputs are written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include <anima/core/error.hpp>
#include <anima/io/atomic_file.hpp>

#include "analyze_timeline.hpp"

namespace anima::cli {

struct AnalyzeOptions {
  std::string video, out;
  int every = 15;
  std::string detector, classifier, net;
  int batch = 32;
  int square = 0;  // 0: the detector's training side (its "square" metadata), else 1280
  double score = 0.5;
  double mask_threshold = 0.5;
  std::string device = "cpu";
  bool no_video = false;
  bool quiet = false;
  std::string resume;         // DIR of a killed run: its settings and finished frames
  int kill_after_frames = 0;  // testing: SIGKILL after this many frames are finished
};

inline nlohmann::ordered_json analyze_options_json(const AnalyzeOptions& o) {
  return {{"video", o.video},       {"out", o.out},     {"every", o.every},
          {"detector", o.detector}, {"classifier", o.classifier}, {"net", o.net},
          {"batch", o.batch},       {"square", o.square},         {"score", o.score},
          {"mask_threshold", o.mask_threshold}, {"device", o.device}, {"no_video", o.no_video}};
}

inline std::filesystem::path analyze_state_path(const std::string& dir) {
  return std::filesystem::path(dir) / "analyze_state.jsonl";
}

inline std::uintmax_t file_bytes(const std::string& path) {
  std::error_code ec;
  const std::uintmax_t n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

struct AnalyzeState {
  AnalyzeOptions options;
  std::uintmax_t video_bytes = 0;
  std::vector<nlohmann::json> frames;  // finished frames, as frame_json wrote them
};

// The state of the run in `dir`; an error naming the file when there is none or it is not one.
inline AnalyzeState read_analyze_state(const std::string& dir) {
  const std::filesystem::path path = analyze_state_path(dir);
  std::ifstream in(path, std::ios::binary);
  ANIMA_CHECK(in.good(), "analyze", "--resume: '", path.string(),
              "' cannot be read: is it the output folder of an analysis that did not finish?");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  AnalyzeState state;
  std::size_t start = 0;
  bool header = true;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string::npos) break;  // a line cut by the kill: that frame runs again
    const nlohmann::json line = nlohmann::json::parse(text.begin() + static_cast<std::ptrdiff_t>(start),
                                                      text.begin() + static_cast<std::ptrdiff_t>(end), nullptr, false);
    ANIMA_CHECK(!line.is_discarded() && line.is_object(), "analyze", "'", path.string(), "' line ",
                header ? 1 : state.frames.size() + 2, " is not a JSON object: the state is corrupt");
    if (header) {
      try {
        ANIMA_CHECK(line.value("schema", "") == "anima.analyze.state/1", "analyze", "'", path.string(),
                    "' is not an analyze state (schema anima.analyze.state/1)");
        const auto& o = line.at("options");
        AnalyzeOptions& a = state.options;
        o.at("video").get_to(a.video);
        o.at("out").get_to(a.out);
        o.at("every").get_to(a.every);
        o.at("detector").get_to(a.detector);
        o.at("classifier").get_to(a.classifier);
        o.at("net").get_to(a.net);
        o.at("batch").get_to(a.batch);
        o.at("square").get_to(a.square);
        o.at("score").get_to(a.score);
        o.at("mask_threshold").get_to(a.mask_threshold);
        o.at("device").get_to(a.device);
        o.at("no_video").get_to(a.no_video);
        state.video_bytes = line.at("video_bytes").get<std::uintmax_t>();
      } catch (const nlohmann::json::exception& e) {
        fail("analyze", "'", path.string(), "': the first line does not hold the run's settings: ", e.what());
      }
      header = false;
    } else {
      state.frames.push_back(line);
    }
    start = end + 1;
  }
  ANIMA_CHECK(!header, "analyze", "'", path.string(), "' has no settings line: the state is corrupt");
  state.options.out = dir;
  return state;
}

// Appends finished frames to the state file.
class AnalyzeStateWriter {
 public:
  // Writes the settings line and `done` (the frames a resumed run starts with), atomically, then keeps
  // the file open for appending.
  AnalyzeStateWriter(const AnalyzeOptions& o, const std::vector<AnalyzedFrame>& done,
                     const std::vector<std::string>& classes)
      : path_(analyze_state_path(o.out)) {
    nlohmann::ordered_json header = {{"schema", "anima.analyze.state/1"},
                                     {"options", analyze_options_json(o)},
                                     {"video_bytes", file_bytes(o.video)}};
    std::string text = header.dump() + "\n";
    for (const AnalyzedFrame& f : done) text += frame_json(f, classes).dump() + "\n";
    io::write_file_atomic(path_, text.data(), text.size(), "analyze");
    out_.open(path_, std::ios::binary | std::ios::app);
    ANIMA_CHECK(out_.good(), "analyze", "cannot append to '", path_.string(), "'");
  }

  void append(const AnalyzedFrame& f, const std::vector<std::string>& classes) {
    out_ << frame_json(f, classes).dump() << '\n';
    out_.flush();
    ANIMA_CHECK(out_.good(), "analyze", "cannot append to '", path_.string(), "' (disk full?)");
  }

  // The run's outputs are written: the state goes.
  void remove() {
    out_.close();
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace anima::cli
