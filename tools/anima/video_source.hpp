// tools/anima/video_source.hpp — one frame in every N of a video, decoded by OpenCV's VideoCapture
// (FFmpeg) and converted BGR -> RGB: what `anima frames` writes out and `anima analyze` reads.
//
// Frame k is kept when k % every == 0; its time is k / fps (the container's frame rate; the decoder's
// position when the container has none). Frames that fail to decode between decodable ones are
// skipped and counted (a warning each); up to 16 failures in a row are tolerated before the stream
// counts as ended. Frames the container announced beyond the last decodable one are counted as
// missing (a truncated file). A missing file, or one OpenCV cannot open, is an anima::Error naming it
// (`op` names the command).
// This is the implementation of VideoFrames (video_frames.hpp) inside the media plugin, which links
// OpenCV; the anima tool reaches it through MediaPlugin::open_video_frames.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/io/atomic_file.hpp>
#include <anima/data/pil_resize.hpp>

#include "video_frames.hpp"

namespace anima::cli {

class OpenCvVideoFrames final : public VideoFrames {
 public:
  OpenCvVideoFrames(const std::string& path, int every, const char* op) : path_(path), every_(every), op_(op) {
    namespace fs = std::filesystem;
    ANIMA_CHECK(every >= 1, op, "--every must be at least 1 (got ", every, ")");
    std::error_code ec;
    if (!fs::exists(path, ec)) fail(op, "video '", path, "' does not exist");
    if (!fs::is_regular_file(path, ec)) fail(op, "video '", path, "' is not a file");
    try {
      cap_.open(path, cv::CAP_FFMPEG);
    } catch (const cv::Exception& e) {
      fail(op, "cannot read video '", path, "': ", e.what());
    }
    if (!cap_.isOpened())
      fail(op, "cannot open video '", path, "': not a video, truncated, or an unsupported codec");
    stats_.fps = cap_.get(cv::CAP_PROP_FPS);
    if (!(stats_.fps > 0 && std::isfinite(stats_.fps))) stats_.fps = 0;
    const double announced = cap_.get(cv::CAP_PROP_FRAME_COUNT);
    stats_.announced = announced > 0 && std::isfinite(announced) ? static_cast<long long>(announced) : 0;
    stats_.width = static_cast<int>(cap_.get(cv::CAP_PROP_FRAME_WIDTH));
    stats_.height = static_cast<int>(cap_.get(cv::CAP_PROP_FRAME_HEIGHT));
  }

  bool next(SampledFrame& frame) override {
    constexpr long long kMaxConsecutiveFailures = 16;
    while (!ended_) {
      bool ok = false;
      try {
        ok = cap_.grab();
      } catch (const cv::Exception&) {
        ok = false;
      }
      if (!ok) {
        ++pending_failures_;
        ++index_;
        if (stats_.announced <= 0 || index_ >= stats_.announced || pending_failures_ >= kMaxConsecutiveFailures)
          finish();
        continue;
      }
      if (pending_failures_ > 0) {
        warn(std::to_string(pending_failures_) + " undecodable frame(s) before frame " + std::to_string(index_) +
             " skipped");
        stats_.skipped += pending_failures_;
        pending_failures_ = 0;
      }
      ++stats_.seen;
      const long long index = index_++;
      if (index % every_ != 0) continue;
      if (!cap_.retrieve(bgr_) || bgr_.empty() || bgr_.type() != CV_8UC3) {
        warn("frame " + std::to_string(index) + " could not be decoded; skipped");
        ++stats_.skipped;
        continue;
      }
      frame.index = index;
      frame.time = stats_.fps > 0 ? static_cast<double>(index) / stats_.fps : cap_.get(cv::CAP_PROP_POS_MSEC) / 1000.0;
      frame.rgb = data::ImageU8(bgr_.cols, bgr_.rows, 3);
      for (int y = 0; y < bgr_.rows; ++y) {
        const std::uint8_t* src = bgr_.ptr<std::uint8_t>(y);
        std::uint8_t* dst = frame.rgb.pixels.data() + static_cast<std::size_t>(y) * bgr_.cols * 3;
        for (int x = 0; x < bgr_.cols; ++x) {
          dst[3 * x] = src[3 * x + 2];
          dst[3 * x + 1] = src[3 * x + 1];
          dst[3 * x + 2] = src[3 * x];
        }
      }
      return true;
    }
    return false;
  }

  const VideoStreamStats& stats() const override { return stats_; }

  long long position() const override { return index_; }

 private:
  void finish() {
    ended_ = true;
    const long long last_good = index_ - pending_failures_;
    if (stats_.announced > last_good) {
      stats_.missing = stats_.announced - last_good;
      warn("announced " + std::to_string(stats_.announced) + " frames but ended after " + std::to_string(last_good) +
           " (truncated?)");
    }
  }

  void warn(const std::string& text) {
    stats_.warnings.push_back(text);
    std::fprintf(stderr, "\nanima %s: warning: '%s': %s\n", op_, path_.c_str(), text.c_str());
  }

  std::string path_;
  int every_;
  const char* op_;
  cv::VideoCapture cap_;
  cv::Mat bgr_;
  VideoStreamStats stats_;
  long long index_ = 0;
  long long pending_failures_ = 0;
  bool ended_ = false;
};

// An MP4 of frames of width x height at `fps`: H.264 ('avc1') when OpenCV's FFmpeg has an encoder for
// it, else MPEG-4 Part 2 ('mp4v'); written to a temporary name in the destination's folder.
class OpenCvVideoSink final : public VideoFrameSink {
 public:
  OpenCvVideoSink(const std::filesystem::path& path, double fps, int width, int height, const char* op)
      : file_(path, op), width_(width), height_(height), op_(op), path_(path.string()) {
    ANIMA_CHECK(width > 0 && height > 0 && fps > 0 && std::isfinite(fps), op, "cannot write the video '", path_,
                "' of ", width, "x", height, " at ", fps, " frames/s");
    const std::string tmp = file_.temp_path().string();
    const cv::Size size(width, height);
    writer_.open(tmp, cv::VideoWriter::fourcc('a', 'v', 'c', '1'), fps, size);
    if (!writer_.isOpened()) writer_.open(tmp, cv::VideoWriter::fourcc('m', 'p', '4', 'v'), fps, size);
    if (!writer_.isOpened()) fail(op, "cannot open a video writer for '", path_, "' (no H.264 or MPEG-4 encoder?)");
  }
  ~OpenCvVideoSink() override { writer_.release(); }  // before file_ removes the temporary file

  void write(const data::ImageU8& rgb) override {
    ANIMA_CHECK(rgb.width == width_ && rgb.height == height_ && rgb.channels == 3, op_, "a frame of ", rgb.width, "x",
                rgb.height, "x", rgb.channels, " for the video '", path_, "' of ", width_, "x", height_, "x3");
    bgr_.create(height_, width_, CV_8UC3);
    for (int y = 0; y < height_; ++y) {
      const std::uint8_t* src = rgb.pixels.data() + static_cast<std::size_t>(y) * width_ * 3;
      std::uint8_t* dst = bgr_.ptr<std::uint8_t>(y);
      for (int x = 0; x < width_; ++x) {
        dst[3 * x] = src[3 * x + 2];
        dst[3 * x + 1] = src[3 * x + 1];
        dst[3 * x + 2] = src[3 * x];
      }
    }
    writer_.write(bgr_);
  }

  void finish() override {
    writer_.release();
    file_.commit();
  }

 private:
  io::AtomicFile file_;  // declared first: destroyed after the writer has closed the file
  cv::VideoWriter writer_;
  cv::Mat bgr_;
  int width_, height_;
  const char* op_;
  std::string path_;
};

inline std::unique_ptr<VideoFrames> open_video_frames(const std::string& path, int every, const char* op) {
  return std::make_unique<OpenCvVideoFrames>(path, every, op);
}

inline std::unique_ptr<VideoFrameSink> open_video_sink(const std::string& path, double fps, int width, int height,
                                                       const char* op) {
  return std::make_unique<OpenCvVideoSink>(path, fps, width, height, op);
}

}  // namespace anima::cli
