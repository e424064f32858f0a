// anima/data/face_crop.hpp — the classifiers' input made from an annotated (or detected) face, as the
// paper makes it from Mask R-CNN's output: the frame multiplied by the face's binary mask (everything
// outside black), cropped to the face's box and resized to size x size (256; Pillow's bilinear,
// pil_resize.hpp). The classifier's transform follows (evaluation: resize 256, centre crop 224;
// training: RandomResizedCrop). `anima synth --faces` writes the same crops of its frames.
// Box [x1, y1, x2, y2] in pixels: the crop covers columns floor(x1) .. ceil(x2) − 1 and rows
// floor(y1) .. ceil(y2) − 1, clipped to the frame (at least one pixel). box_face_crop and
// letterboxed_frame give the paper's two ablations: the box without the mask, the whole frame.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/data/image_transforms.hpp>
#include <anima/data/pil_resize.hpp>

namespace anima::data {

namespace detail {

// The pixels the box covers, clipped to the frame (at least one): left, top, right, bottom (exclusive).
inline std::array<int, 4> face_crop_window(const ImageU8& frame, const std::array<double, 4>& box, int size,
                                           const char* op) {
  ANIMA_CHECK(frame.channels == 3, op, "expected an RGB frame, got ", frame.channels, " channels");
  ANIMA_CHECK(
      size > 0 && std::isfinite(box[0]) && std::isfinite(box[1]) && std::isfinite(box[2]) && std::isfinite(box[3]),
      op, "expected a finite box and a positive size");
  const int left = std::clamp(static_cast<int>(std::floor(box[0])), 0, frame.width - 1);
  const int top = std::clamp(static_cast<int>(std::floor(box[1])), 0, frame.height - 1);
  const int right = std::clamp(static_cast<int>(std::ceil(box[2])), left + 1, frame.width);
  const int bottom = std::clamp(static_cast<int>(std::ceil(box[3])), top + 1, frame.height);
  return {left, top, right, bottom};
}

}  // namespace detail

inline ImageU8 masked_face_crop(const ImageU8& frame, const std::vector<std::uint8_t>& mask,
                                const std::array<double, 4>& box, int size = 256) {
  const auto [left, top, right, bottom] = detail::face_crop_window(frame, box, size, "masked_face_crop");
  ANIMA_CHECK(mask.size() == static_cast<std::size_t>(frame.width) * frame.height, "masked_face_crop", "the mask has ",
              mask.size(), " pixels, the frame ", frame.width, "x", frame.height);
  ImageU8 face = crop(frame, top, left, bottom - top, right - left);
  for (int y = 0; y < face.height; ++y)
    for (int x = 0; x < face.width; ++x)
      if (mask[static_cast<std::size_t>(top + y) * frame.width + (left + x)] == 0)
        for (int c = 0; c < 3; ++c) face.at(y, x, c) = 0;
  return resize_bilinear_antialias(face, size, size);
}

// The same crop without the mask: the box's pixels as they are (the paper's "box only" ablation).
inline ImageU8 box_face_crop(const ImageU8& frame, const std::array<double, 4>& box, int size = 256) {
  const auto [left, top, right, bottom] = detail::face_crop_window(frame, box, size, "box_face_crop");
  return resize_bilinear_antialias(crop(frame, top, left, bottom - top, right - left), size, size);
}

// The whole frame, its longer side scaled to `size` and the rest padded black at the right or bottom
// (the paper's letterbox; its "unsegmented frame" ablation gives the classifier this).
inline ImageU8 letterboxed_frame(const ImageU8& frame, int size = 256) {
  ANIMA_CHECK(frame.channels == 3 && frame.width > 0 && frame.height > 0 && size > 0, "letterboxed_frame",
              "expected a non-empty RGB frame and a positive size");
  const double scale = static_cast<double>(size) / std::max(frame.width, frame.height);
  const int w = std::clamp(static_cast<int>(std::lround(frame.width * scale)), 1, size);
  const int h = std::clamp(static_cast<int>(std::lround(frame.height * scale)), 1, size);
  const ImageU8 scaled = resize_bilinear_antialias(frame, w, h);
  ImageU8 out(size, size, 3);
  for (int y = 0; y < h; ++y)
    std::copy_n(scaled.pixels.begin() + static_cast<std::ptrdiff_t>(y) * w * 3, w * 3,
                out.pixels.begin() + static_cast<std::ptrdiff_t>(y) * size * 3);
  return out;
}

}  // namespace anima::data
