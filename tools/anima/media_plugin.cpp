// tools/anima/media_plugin.cpp — libanima_media.so: the commands that link cairo and OpenCV videoio
// (synth, frames, analyze's video in and out, the reports), opened by the anima tool through tools/anima/media.hpp.
#include "analyze_report.hpp"
#include "eval_detector_report.hpp"
#include "eval_report.hpp"
#include "train_report.hpp"
#include "frames_extract.hpp"
#include "synth_command.hpp"
#include "video_source.hpp"

extern "C" int anima_media_synth(anima::cli::SynthCommandOptions& options) { return anima::cli::run_synth(options); }

extern "C" void anima_media_frames(const anima::cli::FramesOptions& options, anima::cli::FramesReport& report) {
  report = anima::cli::extract_frames(options);
}

extern "C" void anima_media_eval_report(const anima::cli::ClassifierEvaluation& evaluation,
                                        const anima::cli::EvalClassifierOptions& options) {
  anima::cli::write_eval_report(evaluation, options);
}

extern "C" void anima_media_train_report(const std::string& run_dir) { anima::cli::write_train_report(run_dir); }

extern "C" void anima_media_eval_detector_report(const anima::cli::DetectorEvaluation& evaluation,
                                                 const anima::cli::EvalDetectorOptions& options,
                                                 const std::vector<std::string>& overlays) {
  anima::cli::write_eval_detector_report(evaluation, options, overlays);
}

extern "C" std::unique_ptr<anima::cli::VideoFrames> anima_media_open_video_frames(const std::string& path, int every,
                                                                                  const char* op) {
  return anima::cli::open_video_frames(path, every, op);
}

extern "C" std::unique_ptr<anima::cli::VideoFrameSink> anima_media_open_video_sink(const std::string& path, double fps,
                                                                                   int width, int height,
                                                                                   const char* op) {
  return anima::cli::open_video_sink(path, fps, width, height, op);
}

extern "C" void anima_media_analyze_report(const anima::cli::AnalyzeResult& result, const std::string& out_dir) {
  anima::cli::write_analyze_report(result, out_dir);
}
