// tools/synth/dataset.hpp — `anima synth`'s job: N frames with their annotations, optionally the
// masked face crops and K videos, under one output folder:
//   OUT/frames/frame_000000.jpg ...      the frames (JPEG, quality drawn per frame)
//   OUT/via_region_data.json, OUT/coco_instances.json, OUT/labels.csv
//   OUT/faces/{train,val,test}/{emotion}_{character}/frame_000000_0.jpg   (with faces)
//   OUT/videos/video_000.mp4 + video_000.timeline.json                  (with videos > 0)
//   OUT/frames/video_000_frame_000000.jpg ...   every k-th video frame decoded back, annotated with the
//                                               others (with video_stills = k > 0; video_stills.hpp)
// Same seed, same bytes (frames, annotations, crops; videos on the same OpenCV/FFmpeg build).
#pragma once

#include <unistd.h>

#include <cairo.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include <anima/core/error.hpp>

#include "annotations.hpp"
#include "faces.hpp"
#include "image_io.hpp"
#include "scene.hpp"
#include "video.hpp"
#include "video_stills.hpp"

namespace anima::synth {

struct SynthOptions {
  std::filesystem::path out;
  std::uint64_t seed = 1;
  int frames = 100;
  int width = 640, height = 360;
  int videos = 0;
  double seconds = 10;
  double fps = 24;
  int video_stills = 0;  // k > 0: every k-th frame of each video joins the annotated frames
  bool faces = false;
  bool quiet = false;
};

struct SynthReport {
  int frames = 0, faces = 0, videos = 0;
  int video_stills = 0;      // frames taken from the videos (counted apart from `frames`)
  double frame_seconds = 0;  // sampling + drawing + JPEG encoding of the frames (no file writes)
  double total_seconds = 0;
};

inline std::string frame_file_name(std::uint64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "frame_%06llu.jpg", static_cast<unsigned long long>(index));
  return buf;
}

inline SynthReport generate_dataset(const SynthOptions& o) {
  ANIMA_CHECK(!o.out.empty(), "synth", "no output folder given");
  ANIMA_CHECK(o.width >= 16 && o.height >= 16 && o.width <= 8192 && o.height <= 8192, "synth",
              "frame size must be between 16x16 and 8192x8192 (got ", o.width, "x", o.height, ")");
  ANIMA_CHECK(o.frames >= 0 && o.videos >= 0 && o.video_stills >= 0, "synth", "negative count");
  ANIMA_CHECK(o.video_stills == 0 || o.videos > 0, "synth", "video stills (every ", o.video_stills,
              "th frame) need videos to take them from (--videos K)");
  ANIMA_CHECK(o.videos == 0 || (o.width % 2 == 0 && o.height % 2 == 0), "synth",
              "videos need an even width and height (got ", o.width, "x", o.height, ")");
  const auto t_start = std::chrono::steady_clock::now();
  SynthReport report;
  const std::filesystem::path frames_dir = o.out / "frames", faces_dir = o.out / "faces";
  make_directories(frames_dir);
  if (o.faces) make_face_folders(faces_dir);

  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, o.width, o.height);
  cairo_t* cr = cairo_create(surface);
  OutlineContext scratch;
  AnnotationSet annotations;
  RgbImage rgb;
  const bool live_progress = isatty(fileno(stderr)) != 0;
  try {
    for (int i = 0; i < o.frames; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      const FrameSpec spec = sample_frame(o.seed, static_cast<std::uint64_t>(i), o.width, o.height, scratch.get());
      render_frame(cr, spec);
      surface_to_rgb(surface, rgb);
      const std::vector<std::uint8_t> jpeg = encode_jpeg(rgb, spec.jpeg_quality);
      report.frame_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const std::string name = frame_file_name(static_cast<std::uint64_t>(i));
      write_file_atomic(frames_dir / name, jpeg);
      annotations.add(name, jpeg.size(), spec);
      if (o.faces) {
        for (std::size_t k = 0; k < spec.faces.size(); ++k) {
          const FaceInstance& f = spec.faces[k];
          const RgbImage crop = masked_face_crop(surface, f.polygon, f.box);
          const std::string file = name.substr(0, name.size() - 4) + "_" + std::to_string(k) + ".jpg";
          write_file_atomic(faces_dir / face_split(o.seed, static_cast<std::uint64_t>(i), k) /
                                face_class_name(f.style.who, f.style.emotion) / file,
                            encode_jpeg(crop, 95));
        }
      }
      report.faces += static_cast<int>(spec.faces.size());
      ++report.frames;
      if (!o.quiet && ((i + 1) % 100 == 0 || i + 1 == o.frames)) {
        if (live_progress) {  // one line rewritten in place on a terminal, plain lines in a log
          std::fprintf(stderr, "\rframes %d/%d", i + 1, o.frames);
          if (i + 1 == o.frames) std::fprintf(stderr, "\n");
        } else {
          std::fprintf(stderr, "frames %d/%d\n", i + 1, o.frames);
        }
      }
    }
  } catch (...) {
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
    throw;
  }
  cairo_destroy(cr);
  cairo_surface_destroy(surface);

  if (o.videos > 0) {
    const std::filesystem::path videos_dir = o.out / "videos";
    make_directories(videos_dir);
    for (int k = 0; k < o.videos; ++k) {
      char stem[32];
      std::snprintf(stem, sizeof stem, "video_%03d", k);
      const VideoSpec v = sample_video(o.seed, static_cast<std::uint64_t>(k), o.width, o.height, o.fps, o.seconds);
      const std::filesystem::path video_path = videos_dir / (std::string(stem) + ".mp4");
      write_video(v, video_path, videos_dir / (std::string(stem) + ".timeline.json"));
      ++report.videos;
      int stills = 0;
      if (o.video_stills > 0) {
        const std::size_t before = annotations.frames().size();
        stills = add_video_stills(v, video_path, stem, o.video_stills, frames_dir,
                                  o.faces ? faces_dir : std::filesystem::path(), annotations, scratch.get());
        for (std::size_t i = before; i < annotations.frames().size(); ++i)
          report.faces += static_cast<int>(annotations.frames()[i].faces.size());
        report.video_stills += stills;
      }
      if (!o.quiet) {
        std::fprintf(stderr, "video %d/%d (%d frames", k + 1, o.videos, v.frames);
        if (o.video_stills > 0) std::fprintf(stderr, ", %d annotated stills", stills);
        std::fprintf(stderr, ")\n");
      }
    }
  }
  annotations.write(o.out);
  report.total_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return report;
}

}  // namespace anima::synth
