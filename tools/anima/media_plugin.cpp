// tools/anima/media_plugin.cpp — libanima_media.so: the commands that link cairo and OpenCV videoio
// (synth, frames, demo, the train and eval reports), opened by the anima tool through tools/anima/media.hpp.
#include "demo_command.hpp"
#include "eval_detector_report.hpp"
#include "eval_report.hpp"
#include "train_report.hpp"
#include "frames_command.hpp"
#include "synth_command.hpp"

extern "C" int anima_media_synth(anima::cli::SynthCommandOptions& options) { return anima::cli::run_synth(options); }

extern "C" void anima_media_frames(const anima::cli::FramesOptions& options, anima::cli::FramesReport& report) {
  report = anima::cli::extract_frames(options);
}

extern "C" int anima_media_demo(const anima::cli::DemoOptions& options) { return anima::cli::run_demo(options); }

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
