// tools/synth/video.hpp — synthetic cartoon videos: 1 to 3 characters moving over a fixed
// background, turning, growing and shrinking, and changing emotion over time; written as MP4 with
// OpenCV's VideoWriter (H.264 'avc1', else MPEG-4 'mp4v'), plus a ground-truth timeline JSON:
//   { video, fps, width, height, frames, seed, timeline: [ { frame, time, faces: [ { track,
//     character, class_id, emotion, intensity, box: [x, y, w, h], visible } ] } ] }
//
// Motion: each track's centre follows slow sinusoids (0.05-0.25 Hz) around the frame centre; its
// height (15-45% of the frame) and rotation (up to 20 degrees) oscillate too. Emotions come in
// segments of 1-3 s, each a different emotion from the one before; the intensity ramps from 30% to
// the segment's level over the first quarter second (the label is the new emotion from its first
// frame). Everything comes from the stream (seed, video index, Purpose::Video).
#pragma once

#include <cairo.h>

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <anima/core/error.hpp>
#include <anima/io/atomic_file.hpp>

#include "annotations.hpp"
#include "image_io.hpp"
#include "scene.hpp"

namespace anima::synth {

struct EmotionSegment {
  int start_frame = 0;
  Emotion emotion = Emotion::Happy;
  double intensity = 1.0;
};

struct VideoTrack {
  FaceStyle base;
  double ax = 0, ay = 0, fx = 0, fy = 0, phx = 0, phy = 0;  // centre: 0.5 + a sin(2 pi f t + ph), in frame units
  double h0 = 0, h_amp = 0, h_freq = 0, h_phase = 0;        // height (pixels)
  double rot_amp = 0, rot_freq = 0, rot_phase = 0;          // rotation (radians)
  double turn_amp = 0, turn_freq = 0, turn_phase = 0;
  std::vector<EmotionSegment> segments;
};

struct VideoSpec {
  std::uint64_t seed = 0, index = 0;
  int width = 0, height = 0, frames = 0;
  double fps = 24;
  std::vector<VideoTrack> tracks;
};

// The background stream item of video k: apart from every frame index a data set would use.
inline std::uint64_t video_background_item(std::uint64_t video) { return (std::uint64_t{1} << 48) + video; }

inline VideoSpec sample_video(std::uint64_t seed, std::uint64_t index, int width, int height, double fps,
                              double seconds) {
  const int frames = std::max(1, static_cast<int>(std::lround(seconds * fps)));
  VideoSpec v{seed, index, width, height, frames, fps, {}};
  Rng rng(seed, index, Purpose::Video);
  const int tracks = rng.integer(1, 3);
  constexpr double kTwoPi = 2 * detail::kPi;
  for (int t = 0; t < tracks; ++t) {
    VideoTrack tr;
    const Character who = kCharacters[rng.integer(0, 1)];
    tr.base = sample_face_style(rng, who, Emotion::Happy);
    tr.ax = rng.uniform(0.1, 0.38);
    tr.ay = rng.uniform(0.05, 0.25);
    tr.fx = rng.uniform(0.05, 0.25);
    tr.fy = rng.uniform(0.05, 0.25);
    tr.phx = rng.uniform(0, kTwoPi);
    tr.phy = rng.uniform(0, kTwoPi);
    tr.h0 = height * rng.uniform(0.15, 0.45) / (tracks > 1 ? 1.3 : 1.0);
    tr.h_amp = tr.h0 * rng.uniform(0, 0.2);
    tr.h_freq = rng.uniform(0.05, 0.3);
    tr.h_phase = rng.uniform(0, kTwoPi);
    tr.rot_amp = rng.uniform(0, 20) * detail::kPi / 180;
    tr.rot_freq = rng.uniform(0.1, 0.5);
    tr.rot_phase = rng.uniform(0, kTwoPi);
    tr.turn_amp = rng.uniform(0, 0.8);
    tr.turn_freq = rng.uniform(0.05, 0.3);
    tr.turn_phase = rng.uniform(0, kTwoPi);
    int frame = 0;
    int previous = -1;
    while (frame < v.frames) {
      int e = rng.integer(0, 3);
      if (e == previous) e = (e + rng.integer(1, 3)) % 4;
      tr.segments.push_back({frame, kEmotions[e], rng.uniform(0.5, 1.0)});
      previous = e;
      frame += std::max(1, static_cast<int>(std::lround(rng.uniform(1.0, 3.0) * fps)));
    }
    v.tracks.push_back(std::move(tr));
  }
  return v;
}

// The faces of frame `frame` of the video.
inline FrameSpec video_frame_spec(const VideoSpec& v, int frame, cairo_t* scratch) {
  FrameSpec spec =
      blank_frame(v.seed, static_cast<std::uint64_t>(frame), video_background_item(v.index), v.width, v.height);
  const double t = frame / v.fps;
  constexpr double kTwoPi = 2 * detail::kPi;
  for (const VideoTrack& tr : v.tracks) {
    FaceInstance inst;
    inst.style = tr.base;
    inst.style.cx = v.width * (0.5 + tr.ax * std::sin(kTwoPi * tr.fx * t + tr.phx));
    inst.style.cy = v.height * (0.5 + tr.ay * std::sin(kTwoPi * tr.fy * t + tr.phy));
    inst.style.height = tr.h0 + tr.h_amp * std::sin(kTwoPi * tr.h_freq * t + tr.h_phase);
    inst.style.rotation = tr.rot_amp * std::sin(kTwoPi * tr.rot_freq * t + tr.rot_phase);
    inst.style.turn = tr.turn_amp * std::sin(kTwoPi * tr.turn_freq * t + tr.turn_phase);
    const EmotionSegment* seg = &tr.segments.front();
    for (const EmotionSegment& s : tr.segments)
      if (s.start_frame <= frame) seg = &s;
    const double ramp = std::min(1.0, 0.3 + 0.7 * (frame - seg->start_frame) / (0.25 * v.fps));
    inst.style.emotion = seg->emotion;
    inst.style.intensity = seg->intensity * ramp;
    compute_face_geometry(scratch, inst, v.width, v.height);
    spec.faces.push_back(std::move(inst));
  }
  // Track order is kept in the timeline; drawing is back to front by size.
  return spec;
}

// Renders the video to `path` (MP4) and its timeline to `timeline_path`, both atomically.
inline void write_video(const VideoSpec& v, const std::filesystem::path& path,
                        const std::filesystem::path& timeline_path) {
  ANIMA_CHECK(v.width % 2 == 0 && v.height % 2 == 0, "synth", "videos need an even width and height (got ", v.width,
              "x", v.height, ")");
  // OpenCV picks the container from the extension, which the temporary name keeps. The writer is
  // declared after `file`, so on an exception it closes before the temporary file is removed.
  io::AtomicFile file(path, "synth");
  const std::string tmp = file.temp_path().string();
  const cv::Size size(v.width, v.height);
  cv::VideoWriter writer(tmp, cv::VideoWriter::fourcc('a', 'v', 'c', '1'), v.fps, size);
  if (!writer.isOpened()) writer.open(tmp, cv::VideoWriter::fourcc('m', 'p', '4', 'v'), v.fps, size);
  if (!writer.isOpened()) fail("synth", "cannot open a video writer for '", tmp, "' (no H.264 or MPEG-4 encoder?)");

  cairo_surface_t* background = cairo_image_surface_create(CAIRO_FORMAT_RGB24, v.width, v.height);
  {
    cairo_t* bcr = cairo_create(background);
    Rng bg(v.seed, video_background_item(v.index), Purpose::Background);
    draw_background(bcr, v.width, v.height, bg);
    cairo_destroy(bcr);
  }
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, v.width, v.height);
  cairo_t* cr = cairo_create(surface);
  OutlineContext scratch;
  cv::Mat bgr(v.height, v.width, CV_8UC3);
  nlohmann::ordered_json timeline = nlohmann::ordered_json::array();
  for (int frame = 0; frame < v.frames; ++frame) {
    FrameSpec spec = video_frame_spec(v, frame, scratch.get());
    nlohmann::ordered_json faces = nlohmann::ordered_json::array();
    for (std::size_t k = 0; k < spec.faces.size(); ++k) {
      const FaceInstance& f = spec.faces[k];
      if (f.area <= 0) continue;
      faces.push_back({{"track", k},
                       {"character", character_label(f.style.who)},
                       {"class_id", class_id(f.style.who)},
                       {"emotion", emotion_name(f.style.emotion)},
                       {"intensity", round1(f.style.intensity * 100) / 100},
                       {"box", {round1(f.box.x), round1(f.box.y), round1(f.box.w), round1(f.box.h)}},
                       {"visible", round1(f.visible_fraction * 100) / 100}});
    }
    timeline.push_back({{"frame", frame}, {"time", round1(frame / v.fps * 10000) / 10000}, {"faces", faces}});
    std::stable_sort(spec.faces.begin(), spec.faces.end(),
                     [](const FaceInstance& a, const FaceInstance& b) { return a.style.height < b.style.height; });
    cairo_set_source_surface(cr, background, 0, 0);
    cairo_paint(cr);
    render_faces(cr, spec);
    cairo_surface_flush(surface);
    const int stride = cairo_image_surface_get_stride(surface);
    const unsigned char* data = cairo_image_surface_get_data(surface);
    for (int y = 0; y < v.height; ++y) {
      const auto* row = reinterpret_cast<const std::uint32_t*>(data + static_cast<std::ptrdiff_t>(y) * stride);
      auto* dst = bgr.ptr<std::uint8_t>(y);
      for (int x = 0; x < v.width; ++x) {
        dst[3 * x] = static_cast<std::uint8_t>(row[x]);
        dst[3 * x + 1] = static_cast<std::uint8_t>(row[x] >> 8);
        dst[3 * x + 2] = static_cast<std::uint8_t>(row[x] >> 16);
      }
    }
    writer.write(bgr);
  }
  writer.release();
  cairo_destroy(cr);
  cairo_surface_destroy(surface);
  cairo_surface_destroy(background);
  file.commit();
  nlohmann::ordered_json root;
  root["video"] = path.filename().string();
  root["fps"] = v.fps;
  root["width"] = v.width;
  root["height"] = v.height;
  root["frames"] = v.frames;
  root["seed"] = v.seed;
  root["timeline"] = timeline;
  write_file_atomic(timeline_path, root.dump() + "\n");
}

}  // namespace anima::synth
