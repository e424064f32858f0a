// tools/synth/image_io.hpp — images to bytes and bytes to files: RGB from a cairo surface, JPEG and
// PNG encoding with stb_image_write into memory, and the atomic file write every output goes
// through (anima/io/atomic_file.hpp: a temporary name in the same folder, then rename, so no reader
// sees half a file).
//
// The stb implementation is compiled once, in tools/anima/stb_impl.cpp.
#pragma once

#include <cairo.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>

#include <anima/core/error.hpp>
#include <anima/io/atomic_file.hpp>

namespace anima::synth {

// An 8-bit RGB image, row-major, 3 bytes a pixel.
struct RgbImage {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;
};

// Copies an opaque ARGB32 / RGB24 cairo surface to RGB bytes.
inline void surface_to_rgb(cairo_surface_t* surface, RgbImage& out) {
  cairo_surface_flush(surface);
  out.width = cairo_image_surface_get_width(surface);
  out.height = cairo_image_surface_get_height(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  const unsigned char* data = cairo_image_surface_get_data(surface);
  out.pixels.resize(static_cast<std::size_t>(out.width) * out.height * 3);
  std::uint8_t* dst = out.pixels.data();
  for (int y = 0; y < out.height; ++y) {
    const auto* row = reinterpret_cast<const std::uint32_t*>(data + static_cast<std::ptrdiff_t>(y) * stride);
    for (int x = 0; x < out.width; ++x) {
      const std::uint32_t p = row[x];  // 0xAARRGGBB in native endianness; opaque, so not premultiplied in effect
      *dst++ = static_cast<std::uint8_t>(p >> 16);
      *dst++ = static_cast<std::uint8_t>(p >> 8);
      *dst++ = static_cast<std::uint8_t>(p);
    }
  }
}

namespace detail {
inline void append_to_vector(void* context, void* data, int size) {
  auto* v = static_cast<std::vector<std::uint8_t>*>(context);
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  v->insert(v->end(), bytes, bytes + size);
}
}  // namespace detail

// JPEG bytes of an RGB image (quality 1..100).
inline std::vector<std::uint8_t> encode_jpeg(const std::uint8_t* rgb, int width, int height, int quality) {
  std::vector<std::uint8_t> out;
  out.reserve(static_cast<std::size_t>(width) * height / 4);
  if (!stbi_write_jpg_to_func(detail::append_to_vector, &out, width, height, 3, rgb, quality))
    fail("synth", "JPEG encoding failed for a ", width, "x", height, " image");
  return out;
}
inline std::vector<std::uint8_t> encode_jpeg(const RgbImage& im, int quality) {
  return encode_jpeg(im.pixels.data(), im.width, im.height, quality);
}

// PNG bytes of an RGB image.
inline std::vector<std::uint8_t> encode_png(const std::uint8_t* rgb, int width, int height) {
  std::vector<std::uint8_t> out;
  if (!stbi_write_png_to_func(detail::append_to_vector, &out, width, height, 3, rgb, width * 3))
    fail("synth", "PNG encoding failed for a ", width, "x", height, " image");
  return out;
}
inline std::vector<std::uint8_t> encode_png(const RgbImage& im) {
  return encode_png(im.pixels.data(), im.width, im.height);
}

// Writes bytes to `path` atomically (anima/io/atomic_file.hpp); errors name the op "synth".
inline void write_file_atomic(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  io::write_file_atomic(path, bytes.data(), bytes.size(), "synth");
}
inline void write_file_atomic(const std::filesystem::path& path, const std::string& text) {
  io::write_file_atomic(path, text.data(), text.size(), "synth");
}

// Creates a folder (and its parents); an Error naming it when that fails.
inline void make_directories(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir))
    fail("synth", "cannot create folder '", dir.string(), "': ", ec ? ec.message() : "not a folder");
}

}  // namespace anima::synth
