// tests/synth/test_images.hpp — small PNG files for the command tests: write_png(path, seed) writes a
// w x h RGB gradient whose colours depend on `seed` (parent folders created).
#pragma once

#include <cstddef>
#include <filesystem>
#include <vector>

#include <stb/stb_image_write.h>

#include <anima/core/error.hpp>

namespace anima::cli::testing {

inline void write_png(const std::filesystem::path& path, int seed, int w = 48, int h = 40) {
  std::filesystem::create_directories(path.parent_path());
  std::vector<unsigned char> rgb(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      unsigned char* p = &rgb[(static_cast<std::size_t>(y) * w + x) * 3];
      p[0] = static_cast<unsigned char>((x * (seed + 3) + y) % 256);
      p[1] = static_cast<unsigned char>((y * (seed + 5)) % 256);
      p[2] = static_cast<unsigned char>((seed * 40 + x + y) % 256);
    }
  if (!stbi_write_png(path.c_str(), w, h, 3, rgb.data(), w * 3)) fail("write_png", "cannot write ", path.string());
}

}  // namespace anima::cli::testing
