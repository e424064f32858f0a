// tools/anima/synth_command.hpp — `anima synth`: the synthetic cartoon data set (tools/synth/).
//
//   anima synth --out DIR [--seed S] [--frames N] [--size WxH] [--videos K] [--seconds T] [--faces]
//               [--video-stills K]
//   anima synth --grid OUT.png            the 8 classes in a 4x2 picture (the README's figure)
//
// Prints how many frames and faces were made and the frame rate of drawing + JPEG encoding (one
// core; file writes excluded), the number the issue's >= 100 frames/s at 640x360 refers to.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include <anima/core/error.hpp>

#include "media.hpp"
#include "synth/dataset.hpp"
#include "synth/grid.hpp"

namespace anima::cli {

struct SynthCommandOptions {
  synth::SynthOptions synth;
  std::string out;
  std::string size = "640x360";
  std::string grid;
};

// "640x360" -> width, height.
inline void parse_frame_size(const std::string& text, int& width, int& height) {
  const auto x = text.find_first_of("xX");
  ANIMA_CHECK(x != std::string::npos, "synth", "--size must be WxH, e.g. 640x360 (got '", text, "')");
  try {
    std::size_t used_w = 0, used_h = 0;
    width = std::stoi(text.substr(0, x), &used_w);
    height = std::stoi(text.substr(x + 1), &used_h);
    ANIMA_CHECK(used_w == x && used_h == text.size() - x - 1, "synth", "--size must be WxH, e.g. 640x360 (got '", text,
                "')");
  } catch (const std::logic_error&) {
    fail("synth", "--size must be WxH, e.g. 640x360 (got '", text, "')");
  }
}

inline int run_synth(SynthCommandOptions& o) {
  if (!o.grid.empty()) {
    synth::write_class_grid(o.grid, o.synth.seed);
    std::printf("anima synth: wrote the class grid to %s\n", o.grid.c_str());
    if (o.out.empty()) return 0;
  }
  ANIMA_CHECK(!o.out.empty(), "synth", "--out DIR is required (or --grid OUT.png)");
  o.synth.out = o.out;
  parse_frame_size(o.size, o.synth.width, o.synth.height);
  const synth::SynthReport r = synth::generate_dataset(o.synth);
  std::printf("anima synth: %d frames (%dx%d, %d faces)%s in %s\n", r.frames, o.synth.width, o.synth.height, r.faces,
              o.synth.faces ? " with face crops" : "", o.out.c_str());
  if (r.videos > 0)
    std::printf("anima synth: %d video(s) of %.1f s in %s/videos\n", r.videos, o.synth.seconds, o.out.c_str());
  if (r.video_stills > 0)
    std::printf("anima synth: %d annotated stills decoded from the videos (every %d frames) in %s/frames\n",
                r.video_stills, o.synth.video_stills, o.out.c_str());
  if (r.frames > 0 && r.frame_seconds > 0)
    std::printf("anima synth: drawing + JPEG %.2f ms/frame = %.0f frames/s (one core); total %.2f s\n",
                1e3 * r.frame_seconds / r.frames, r.frames / r.frame_seconds, r.total_seconds);
  return 0;
}

// Registers `anima synth`; its exit status goes to `status`.
inline CLI::App* add_synth_command(CLI::App& app, int& status) {
  auto opts = std::make_shared<SynthCommandOptions>();
  CLI::App* cmd = app.add_subcommand("synth", "generate synthetic cartoon frames, annotations, face crops and videos");
  cmd->add_option("--out", opts->out, "output folder");
  cmd->add_option("--seed", opts->synth.seed, "random seed (same seed, same bytes)");
  cmd->add_option("--frames", opts->synth.frames, "number of frames")->check(CLI::NonNegativeNumber);
  cmd->add_option("--size", opts->size, "frame size WxH (default 640x360)");
  cmd->add_option("--videos", opts->synth.videos, "number of MP4 videos")->check(CLI::NonNegativeNumber);
  cmd->add_option("--seconds", opts->synth.seconds, "length of each video (seconds)")->check(CLI::PositiveNumber);
  cmd->add_option("--fps", opts->synth.fps, "video frame rate (default 24)")->check(CLI::PositiveNumber);
  cmd->add_option("--video-stills", opts->synth.video_stills,
                  "also annotate every K-th frame of each video, decoded from the MP4: overlapping, moving faces "
                  "with the codec's artefacts, as analyze sees them (frames/ and the annotation files; faces/ "
                  "with --faces)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--faces", opts->synth.faces,
                "also write masked 256x256 face crops in faces/{train,val,test}/{class}/");
  cmd->add_option("--grid", opts->grid, "write the 8 classes as a 4x2 PNG picture to this file");
  cmd->add_flag("--quiet", opts->synth.quiet, "no progress on stderr");
  cmd->callback([opts, &status] { status = media_plugin().synth(*opts); });
  return cmd;
}

}  // namespace anima::cli
