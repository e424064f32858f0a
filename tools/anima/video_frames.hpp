// tools/anima/video_frames.hpp — video in and out as the anima tool sees it: VideoFrames gives one
// frame in every N of a video (what `anima frames` and `anima analyze` read), VideoFrameSink writes
// RGB frames to a video file atomically (analyze's annotated video). The OpenCV implementations
// (video_source.hpp) live in the media plugin: MediaPlugin::open_video_frames / open_video_sink.
#pragma once

#include <string>
#include <vector>

#include <anima/data/pil_resize.hpp>

namespace anima::cli {

struct SampledFrame {
  long long index = 0;  // in the video, from 0
  double time = 0;      // seconds
  data::ImageU8 rgb;    // [height, width, 3]
};

struct VideoStreamStats {
  double fps = 0;           // the container's, 0 when unknown
  long long announced = 0;  // frames the container announced (0: unknown)
  int width = 0, height = 0;
  long long seen = 0;       // frames decoded
  long long skipped = 0;    // frames that failed to decode between decodable ones
  long long missing = 0;    // frames announced beyond the last decodable one (known at the end)
  std::vector<std::string> warnings;
};

class VideoFrames {
 public:
  virtual ~VideoFrames() = default;
  // The next kept frame; false at the end of the stream.
  virtual bool next(SampledFrame& frame) = 0;
  virtual const VideoStreamStats& stats() const = 0;
  // The index of the next frame the decoder will read (how far into the video it is).
  virtual long long position() const = 0;
};

// Frames of one size in, a video file out: written under a temporary name and renamed by finish();
// destroyed without finish(), the temporary file is removed and the destination left as it was.
class VideoFrameSink {
 public:
  virtual ~VideoFrameSink() = default;
  virtual void write(const data::ImageU8& rgb) = 0;  // [height, width, 3], the size given at opening
  virtual void finish() = 0;
};

}  // namespace anima::cli
