// tools/anima/frames_command.hpp — `anima frames`: the paper's frame extraction.
//
//   anima frames VIDEO --every 15 --out DIR [--format jpg|png]
//
// Reads the video with OpenCV's VideoCapture (in the media plugin: frames_extract.hpp), keeps one frame
// in every N (frame index % N == 0; the paper takes 1 in 15), converts BGR to RGB and writes it as
//   DIR/frame_<index, 6 digits>_<timestamp, 9 digits>ms.<jpg|png>
// plus DIR/frames.csv (file, frame, time_s). The timestamp is index / fps (the container's frame
// rate; the decoder's position when the container has none). A progress bar goes to stderr.
// A missing, unreadable or truncated video is an anima::Error naming the file; frames that fail to
// decode in the middle of a stream are skipped with a warning and counted, and frames the container
// announced past the last decodable one are reported as missing.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include <anima/core/error.hpp>

#include "media.hpp"

namespace anima::cli {

struct FramesOptions {
  std::string video;
  std::string out;
  int every = 15;
  std::string format = "jpg";
  int quality = 95;
  bool quiet = false;
};

struct FramesReport {
  int written = 0;        // frames written
  long long seen = 0;     // frames decoded
  long long skipped = 0;  // frames that failed to decode between decodable ones
  long long missing = 0;  // frames the container announced beyond the last decodable one
  double fps = 0;
};

// Registers `anima frames`; its exit status goes to `status`.
inline CLI::App* add_frames_command(CLI::App& app, int& status) {
  auto opts = std::make_shared<FramesOptions>();
  CLI::App* cmd = app.add_subcommand("frames", "extract one frame in every N from a video (OpenCV), as RGB images");
  cmd->add_option("video", opts->video, "the video file")->required();
  cmd->add_option("--every", opts->every, "keep one frame in every N (default 15, as in the paper)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", opts->out, "output folder")->required();
  cmd->add_option("--format", opts->format, "jpg or png")->check(CLI::IsMember({"jpg", "png"}));
  cmd->add_option("--quality", opts->quality, "JPEG quality (default 95)")->check(CLI::Range(1, 100));
  cmd->add_flag("--quiet", opts->quiet, "no progress bar");
  cmd->callback([opts, &status] {
    FramesReport r;
    media_plugin().frames(*opts, r);
    std::printf("anima frames: %d frames written to %s (1 in %d of %lld decoded, %.3f fps", r.written,
                opts->out.c_str(), opts->every, r.seen, r.fps);
    if (r.skipped > 0) std::printf(", %lld undecodable skipped", r.skipped);
    if (r.missing > 0) std::printf(", %lld missing at the end", r.missing);
    std::printf(")\n");
    status = 0;
  });
  return cmd;
}

}  // namespace anima::cli
