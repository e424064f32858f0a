// tools/anima/frames_extract.hpp — the work of `anima frames` (tools/anima/frames_command.hpp), inside
// the media plugin: the video read by OpenCvVideoFrames (video_source.hpp), each kept frame written
// with stb_image_write, frames.csv at the end, a progress bar on stderr.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>

#include <anima/core/error.hpp>

#include "frames_command.hpp"
#include "synth/image_io.hpp"
#include "video_source.hpp"

namespace anima::cli {

namespace detail {
inline void progress_bar(long long done, long long total, int written) {
  if (total <= 0) {
    std::fprintf(stderr, "\r  frame %lld, %d written", done, written);
    return;
  }
  const int width = 30;
  const double f = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  const int filled = static_cast<int>(f * width);
  std::fprintf(stderr, "\r  [%s%s] %3d%%  frame %lld/%lld, %d written", std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), static_cast<int>(f * 100), done, total, written);
}
}  // namespace detail

inline FramesReport extract_frames(const FramesOptions& o) {
  namespace fs = std::filesystem;
  ANIMA_CHECK(o.format == "jpg" || o.format == "png", "frames", "--format must be jpg or png (got '", o.format, "')");
  OpenCvVideoFrames video(o.video, o.every, "frames");
  synth::make_directories(o.out);
  const VideoStreamStats& stats = video.stats();
  std::ostringstream csv;
  csv << "file,frame,time_s\n";
  FramesReport r;
  SampledFrame frame;
  synth::RgbImage rgb;
  while (video.next(frame)) {
    rgb.width = frame.rgb.width;
    rgb.height = frame.rgb.height;
    rgb.pixels = std::move(frame.rgb.pixels);
    char name[64];
    std::snprintf(name, sizeof name, "frame_%06lld_%09lldms.%s", frame.index, std::llround(frame.time * 1000.0),
                  o.format.c_str());
    const auto bytes = o.format == "png" ? synth::encode_png(rgb) : synth::encode_jpeg(rgb, o.quality);
    synth::write_file_atomic(fs::path(o.out) / name, bytes);
    char time_text[32];
    std::snprintf(time_text, sizeof time_text, "%.6f", frame.time);
    csv << name << ',' << frame.index << ',' << time_text << '\n';
    ++r.written;
    if (!o.quiet) detail::progress_bar(video.position(), stats.announced, r.written);
  }
  r.seen = stats.seen;
  r.skipped = stats.skipped;
  r.missing = stats.missing;
  r.fps = stats.fps;
  if (!o.quiet) {
    const long long last_good = stats.seen + stats.skipped;
    detail::progress_bar(last_good, stats.announced > 0 ? std::max(stats.announced, last_good) : 0, r.written);
    std::fprintf(stderr, "\n");
  }
  if (r.seen == 0) fail("frames", "no frame of video '", o.video, "' could be decoded (corrupt or truncated?)");
  synth::write_file_atomic(fs::path(o.out) / "frames.csv", csv.str());
  return r;
}

}  // namespace anima::cli
