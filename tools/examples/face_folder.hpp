// tools/examples/face_folder.hpp — reads an ImageFolder of face crops (<root>/<class>/<file>.jpg|png)
// into one float tensor, resized on the way in.
//
//   images: [N, 3, size, size] float32 in [0, 1] (area-average downscale: each output pixel is the
//           mean of the source pixels its square covers; exact for integer ratios like 256 -> 32)
//   labels: [N] int64, the index of the class folder in `classes`
// Files are visited in sorted order, so the same folder gives the same tensor. An unreadable image
// is an anima::Error naming the file.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/ops/factory.hpp>

#include "anima/image_file.hpp"

namespace anima::examples {

struct FaceSet {
  Tensor images;  // [N, 3, S, S] float32
  Tensor labels;  // [N] int64
};

// Area-average resize of an RGB8 image to size x size, channel-planar floats in [0, 1].
inline void resize_area_planar(const unsigned char* rgb, int w, int h, int size, float* out) {
  for (int oy = 0; oy < size; ++oy) {
    const int y0 = oy * h / size, y1 = std::max(y0 + 1, (oy + 1) * h / size);
    for (int ox = 0; ox < size; ++ox) {
      const int x0 = ox * w / size, x1 = std::max(x0 + 1, (ox + 1) * w / size);
      double acc[3] = {0, 0, 0};
      for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x)
          for (int c = 0; c < 3; ++c) acc[c] += rgb[(static_cast<std::size_t>(y) * w + x) * 3 + c];
      const double n = static_cast<double>((y1 - y0) * (x1 - x0)) * 255.0;
      for (int c = 0; c < 3; ++c)
        out[(static_cast<std::size_t>(c) * size + oy) * size + ox] = static_cast<float>(acc[c] / n);
    }
  }
}

inline FaceSet load_face_folder(const std::filesystem::path& root, const std::vector<std::string>& classes, int size) {
  namespace fs = std::filesystem;
  ANIMA_CHECK(fs::is_directory(root), "face_folder", "'", root.string(), "' is not a folder of class folders");
  std::vector<float> pixels;
  std::vector<std::int64_t> labels;
  const std::size_t per_image = static_cast<std::size_t>(3) * size * size;
  for (std::size_t k = 0; k < classes.size(); ++k) {
    const fs::path dir = root / classes[k];
    if (!fs::is_directory(dir)) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && (e.path().extension() == ".jpg" || e.path().extension() == ".png"))
        files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      const data::ImageU8 rgb = cli::load_rgb(f.string(), "face_folder");
      pixels.resize(pixels.size() + per_image);
      resize_area_planar(rgb.pixels.data(), rgb.width, rgb.height, size, pixels.data() + pixels.size() - per_image);
      labels.push_back(static_cast<std::int64_t>(k));
    }
  }
  const auto n = static_cast<std::int64_t>(labels.size());
  ANIMA_CHECK(n > 0, "face_folder", "no images under '", root.string(), "'");
  return {from_vector(pixels, {n, 3, size, size}), from_vector(labels, {n})};
}

}  // namespace anima::examples
