// tools/synth/video_stills.hpp — annotated stills taken from the synthetic videos: every k-th frame
// of a written MP4, decoded back with OpenCV (so with the codec's artefacts), saved as a JPEG beside
// the data set's frames with the true polygons of its faces, and, when face crops are asked for, its
// masked faces. These are the frames `anima analyze` meets: moving characters that overlap (the still
// frames never place faces on top of each other) and video compression. A detector trained on them
// learns to separate overlapping faces instead of boxing two of them as one.
//
// Names: frames/<video stem>_frame_000015.jpg; the face split is drawn from the seed and an item apart
// from every still frame's index.
#pragma once

#include <cairo.h>

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <anima/core/error.hpp>

#include "annotations.hpp"
#include "faces.hpp"
#include "image_io.hpp"
#include "video.hpp"

namespace anima::synth {

// The face-split stream item of frame `frame` of video `video` (beyond any still frame's index).
inline std::uint64_t video_still_item(std::uint64_t video, int frame) {
  return (std::uint64_t{1} << 40) + (video << 20) + static_cast<std::uint64_t>(frame);
}

inline std::string video_still_name(const std::string& video_stem, int frame) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "_frame_%06d.jpg", frame);
  return video_stem + buf;
}

// Decodes `video_path` (the MP4 written from `v`) and adds every `every`-th frame to `annotations`,
// its JPEG (quality 95) in `frames_dir` and, with a non-empty `faces_dir`, its masked face crops.
// Faces entirely outside the frame are left out, as in the timeline. Returns the frames added.
inline int add_video_stills(const VideoSpec& v, const std::filesystem::path& video_path, const std::string& video_stem,
                            int every, const std::filesystem::path& frames_dir, const std::filesystem::path& faces_dir,
                            AnnotationSet& annotations, cairo_t* scratch) {
  ANIMA_CHECK(every > 0, "synth", "the video still interval must be positive (got ", every, ")");
  cv::VideoCapture capture(video_path.string());
  if (!capture.isOpened()) fail("synth", "cannot read back the video '", video_path.string(), "' it wrote");
  const std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> owner(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, v.width, v.height), cairo_surface_destroy);
  cairo_surface_t* surface = owner.get();
  const int stride = cairo_image_surface_get_stride(surface);
  cv::Mat bgr;
  RgbImage rgb;
  int added = 0;
  for (int frame = 0; frame < v.frames && capture.read(bgr); ++frame) {
    if (frame % every != 0) continue;
    if (bgr.cols != v.width || bgr.rows != v.height || bgr.type() != CV_8UC3)
      fail("synth", "the video '", video_path.string(), "' decodes to ", bgr.cols, "x", bgr.rows, ", expected ",
           v.width, "x", v.height);
    cairo_surface_flush(surface);
    unsigned char* data = cairo_image_surface_get_data(surface);
    for (int y = 0; y < v.height; ++y) {
      auto* row = reinterpret_cast<std::uint32_t*>(data + static_cast<std::ptrdiff_t>(y) * stride);
      const auto* src = bgr.ptr<std::uint8_t>(y);
      for (int x = 0; x < v.width; ++x)
        row[x] = std::uint32_t{src[3 * x]} | std::uint32_t{src[3 * x + 1]} << 8 | std::uint32_t{src[3 * x + 2]} << 16;
    }
    cairo_surface_mark_dirty(surface);
    FrameSpec spec = video_frame_spec(v, frame, scratch);
    std::vector<FaceInstance> inside;
    for (FaceInstance& f : spec.faces)
      if (f.area > 0) inside.push_back(std::move(f));
    spec.faces = std::move(inside);
    surface_to_rgb(surface, rgb);
    const std::vector<std::uint8_t> jpeg = encode_jpeg(rgb, 95);
    const std::string name = video_still_name(video_stem, frame);
    write_file_atomic(frames_dir / name, jpeg);
    annotations.add(name, jpeg.size(), spec);
    if (!faces_dir.empty()) {
      for (std::size_t k = 0; k < spec.faces.size(); ++k) {
        const FaceInstance& f = spec.faces[k];
        const std::string file = name.substr(0, name.size() - 4) + "_" + std::to_string(k) + ".jpg";
        write_file_atomic(faces_dir / face_split(v.seed, video_still_item(v.index, frame), k) /
                              face_class_name(f.style.who, f.style.emotion) / file,
                          encode_jpeg(masked_face_crop(surface, f.polygon, f.box), 95));
      }
    }
    ++added;
  }
  return added;
}

}  // namespace anima::synth
