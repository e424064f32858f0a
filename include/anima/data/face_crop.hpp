// anima/data/face_crop.hpp — the classifiers' input made from an annotated (or detected) face, as the
// paper makes it from Mask R-CNN's output: the frame multiplied by the face's binary mask (everything
// outside black), cropped to the face's box and resized to size x size (256; Pillow's bilinear,
// pil_resize.hpp). The classifier's transform follows (evaluation: resize 256, centre crop 224;
// training: RandomResizedCrop). `anima synth --faces` writes the same crops of its frames.
// Box [x1, y1, x2, y2] in pixels: the crop covers columns floor(x1) .. ceil(x2) − 1 and rows
// floor(y1) .. ceil(y2) − 1, clipped to the frame (at least one pixel).
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

inline ImageU8 masked_face_crop(const ImageU8& frame, const std::vector<std::uint8_t>& mask,
                                const std::array<double, 4>& box, int size = 256) {
  ANIMA_CHECK(frame.channels == 3, "masked_face_crop", "expected an RGB frame, got ", frame.channels, " channels");
  ANIMA_CHECK(mask.size() == static_cast<std::size_t>(frame.width) * frame.height, "masked_face_crop", "the mask has ",
              mask.size(), " pixels, the frame ", frame.width, "x", frame.height);
  ANIMA_CHECK(
      size > 0 && std::isfinite(box[0]) && std::isfinite(box[1]) && std::isfinite(box[2]) && std::isfinite(box[3]),
      "masked_face_crop", "expected a finite box and a positive size");
  const int left = std::clamp(static_cast<int>(std::floor(box[0])), 0, frame.width - 1);
  const int top = std::clamp(static_cast<int>(std::floor(box[1])), 0, frame.height - 1);
  const int right = std::clamp(static_cast<int>(std::ceil(box[2])), left + 1, frame.width);
  const int bottom = std::clamp(static_cast<int>(std::ceil(box[3])), top + 1, frame.height);
  ImageU8 face = crop(frame, top, left, bottom - top, right - left);
  for (int y = 0; y < face.height; ++y)
    for (int x = 0; x < face.width; ++x)
      if (mask[static_cast<std::size_t>(top + y) * frame.width + (left + x)] == 0)
        for (int c = 0; c < 3; ++c) face.at(y, x, c) = 0;
  return resize_bilinear_antialias(face, size, size);
}

}  // namespace anima::data
