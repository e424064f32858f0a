// tools/anima/media.hpp — the commands and reports that draw or read video (cairo, OpenCV videoio) run
// inside the plugin libanima_media.so (tools/anima/media_plugin.cpp), opened when one of them first runs, so that
// every other command starts without loading those libraries.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plugin.hpp"
#include "video_frames.hpp"

namespace anima::cli {

struct SynthCommandOptions;
struct FramesOptions;
struct FramesReport;
struct ClassifierEvaluation;
struct EvalClassifierOptions;
struct DetectorEvaluation;
struct EvalDetectorOptions;
struct AnalyzeResult;

// The plugin's entry points (extern "C" in media_plugin.cpp).
struct MediaPlugin {
  int (*synth)(SynthCommandOptions& options) = nullptr;
  void (*frames)(const FramesOptions& options, FramesReport& report) = nullptr;
  void (*eval_report)(const ClassifierEvaluation& evaluation, const EvalClassifierOptions& options) = nullptr;
  void (*train_report)(const std::string& run_dir) = nullptr;
  void (*eval_detector_report)(const DetectorEvaluation& evaluation, const EvalDetectorOptions& options,
                               const std::vector<std::string>& overlays) = nullptr;
  std::unique_ptr<VideoFrames> (*open_video_frames)(const std::string& path, int every, const char* op) = nullptr;
  std::unique_ptr<VideoFrameSink> (*open_video_sink)(const std::string& path, double fps, int width, int height,
                                                     const char* op) = nullptr;
  void (*analyze_report)(const AnalyzeResult& result, const std::string& out_dir) = nullptr;
};

inline const MediaPlugin& media_plugin() {
  static const MediaPlugin media = [] {
    const Plugin plugin =
        Plugin::open("libanima_media.so", "anima synth, frames, analyze and the reports (cairo, OpenCV)");
    MediaPlugin m;
    m.synth = plugin.symbol<int(SynthCommandOptions&)>("anima_media_synth");
    m.frames = plugin.symbol<void(const FramesOptions&, FramesReport&)>("anima_media_frames");
    m.eval_report =
        plugin.symbol<void(const ClassifierEvaluation&, const EvalClassifierOptions&)>("anima_media_eval_report");
    m.train_report = plugin.symbol<void(const std::string&)>("anima_media_train_report");
    m.eval_detector_report =
        plugin.symbol<void(const DetectorEvaluation&, const EvalDetectorOptions&, const std::vector<std::string>&)>(
            "anima_media_eval_detector_report");
    m.open_video_frames =
        plugin.symbol<std::unique_ptr<VideoFrames>(const std::string&, int, const char*)>("anima_media_open_video_frames");
    m.open_video_sink =
        plugin.symbol<std::unique_ptr<VideoFrameSink>(const std::string&, double, int, int, const char*)>(
            "anima_media_open_video_sink");
    m.analyze_report =
        plugin.symbol<void(const AnalyzeResult&, const std::string&)>("anima_media_analyze_report");
    return m;
  }();
  return media;
}

}  // namespace anima::cli
