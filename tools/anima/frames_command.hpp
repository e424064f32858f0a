// tools/anima/frames_command.hpp — `anima frames`: the paper's frame extraction.
//
//   anima frames VIDEO --every 15 --out DIR [--format jpg|png]
//
// Reads the video with OpenCV's VideoCapture, keeps one frame in every N (frame index % N == 0; the
// paper takes 1 in 15), converts BGR to RGB and writes it with stb_image_write as
//   DIR/frame_<index, 6 digits>_<timestamp, 9 digits>ms.<jpg|png>
// plus DIR/frames.csv (file, frame, time_s). The timestamp is index / fps (the container's frame
// rate; the decoder's position when the container has none). A progress bar goes to stderr.
// A missing, unreadable or truncated video is an anima::Error naming the file; frames that fail to
// decode in the middle of a stream are skipped with a warning and counted.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include <anima/core/error.hpp>

#include "media.hpp"
#include "synth/image_io.hpp"

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
  ANIMA_CHECK(o.every >= 1, "frames", "--every must be at least 1 (got ", o.every, ")");
  ANIMA_CHECK(o.format == "jpg" || o.format == "png", "frames", "--format must be jpg or png (got '", o.format, "')");
  std::error_code ec;
  if (!fs::exists(o.video, ec)) fail("frames", "video '", o.video, "' does not exist");
  if (!fs::is_regular_file(o.video, ec)) fail("frames", "video '", o.video, "' is not a file");
  cv::VideoCapture cap;
  try {
    cap.open(o.video, cv::CAP_FFMPEG);
  } catch (const cv::Exception& e) {
    fail("frames", "cannot read video '", o.video, "': ", e.what());
  }
  if (!cap.isOpened())
    fail("frames", "cannot open video '", o.video, "': not a video, truncated, or an unsupported codec");
  synth::make_directories(o.out);

  FramesReport r;
  r.fps = cap.get(cv::CAP_PROP_FPS);
  if (!(r.fps > 0 && std::isfinite(r.fps))) r.fps = 0;
  const double announced = cap.get(cv::CAP_PROP_FRAME_COUNT);
  const long long total = announced > 0 && std::isfinite(announced) ? static_cast<long long>(announced) : 0;

  std::ostringstream csv;
  csv << "file,frame,time_s\n";
  cv::Mat bgr;
  synth::RgbImage rgb;
  long long index = 0;
  long long pending_failures = 0;  // failures not yet followed by a good frame
  const int max_consecutive_failures = 16;
  while (true) {
    bool ok = false;
    try {
      ok = cap.grab();
    } catch (const cv::Exception&) {
      ok = false;
    }
    if (!ok) {
      ++pending_failures;
      ++index;
      if (total <= 0 || index >= total || pending_failures >= max_consecutive_failures) break;
      continue;
    }
    if (pending_failures > 0) {
      std::fprintf(stderr, "\nanima frames: warning: %lld undecodable frame(s) before frame %lld of '%s' skipped\n",
                   pending_failures, index, o.video.c_str());
      r.skipped += pending_failures;
      pending_failures = 0;
    }
    ++r.seen;
    if (index % o.every == 0) {
      double seconds = r.fps > 0 ? index / r.fps : cap.get(cv::CAP_PROP_POS_MSEC) / 1000.0;
      if (!cap.retrieve(bgr) || bgr.empty() || bgr.type() != CV_8UC3) {
        std::fprintf(stderr, "\nanima frames: warning: frame %lld of '%s' could not be decoded; skipped\n", index,
                     o.video.c_str());
        ++r.skipped;
      } else {
        rgb.width = bgr.cols;
        rgb.height = bgr.rows;
        rgb.pixels.resize(static_cast<std::size_t>(bgr.cols) * bgr.rows * 3);
        for (int y = 0; y < bgr.rows; ++y) {
          const std::uint8_t* src = bgr.ptr<std::uint8_t>(y);
          std::uint8_t* dst = rgb.pixels.data() + static_cast<std::size_t>(y) * bgr.cols * 3;
          for (int x = 0; x < bgr.cols; ++x) {
            dst[3 * x] = src[3 * x + 2];
            dst[3 * x + 1] = src[3 * x + 1];
            dst[3 * x + 2] = src[3 * x];
          }
        }
        char name[64];
        std::snprintf(name, sizeof name, "frame_%06lld_%09lldms.%s", index, std::llround(seconds * 1000.0),
                      o.format.c_str());
        const auto bytes = o.format == "png" ? synth::encode_png(rgb) : synth::encode_jpeg(rgb, o.quality);
        synth::write_file_atomic(fs::path(o.out) / name, bytes);
        char time_text[32];
        std::snprintf(time_text, sizeof time_text, "%.6f", seconds);
        csv << name << ',' << index << ',' << time_text << '\n';
        ++r.written;
      }
    }
    ++index;
    if (!o.quiet && (index % 25 == 0)) detail::progress_bar(index, total, r.written);
  }
  const long long last_good = index - pending_failures;
  if (total > last_good) r.missing = total - last_good;
  if (!o.quiet) {
    detail::progress_bar(last_good, total > 0 ? std::max(total, last_good) : 0, r.written);
    std::fprintf(stderr, "\n");
  }
  if (r.seen == 0) fail("frames", "no frame of video '", o.video, "' could be decoded (corrupt or truncated?)");
  if (r.missing > 0)
    std::fprintf(stderr, "anima frames: warning: '%s' announced %lld frames but ended after %lld (truncated?)\n",
                 o.video.c_str(), total, last_good);
  synth::write_file_atomic(fs::path(o.out) / "frames.csv", csv.str());
  return r;
}

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
