// tools/anima/image_file.hpp — image files as 8-bit RGB, the one way every command decodes them.
//
// stb_image reads PNG, JPEG, BMP, GIF (first frame), TGA, PSD, PIC, PNM and HDR; the result is RGB
// (alpha dropped, grey replicated, as PIL's convert("RGB")). Before decoding, the header's size is
// checked: more than kMaxImagePixels pixels is refused without allocating (a 100000 x 100000 PNG is
// 70 bytes). A JPEG whose last scan has no end-of-image marker is truncated and refused, as PIL
// refuses it (stb_image would pad the missing data and return a partly grey picture). Every failure
// is an anima::Error naming the file and what is wrong with it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <stb/stb_image.h>

#include <anima/core/error.hpp>
#include <anima/data/pil_resize.hpp>

namespace anima::cli {

// 2^27 pixels (e.g. 16384 x 8192; 384 MiB as RGB): far above a video frame, far below what breaks.
constexpr std::int64_t kMaxImagePixels = std::int64_t{1} << 27;

// stb_image's terse reason in words a user can act on.
inline std::string image_failure_reason() {
  const char* r = stbi_failure_reason();
  const std::string reason = r ? r : "unknown error";
  if (reason == "unknown image type") return "not an image anima reads (PNG, JPEG, BMP, GIF, TGA, PSD, PNM, HDR)";
  if (reason == "outofdata" || reason == "expected marker" || reason == "bad huffman code")
    return "truncated or corrupt (" + reason + ")";
  return reason;
}

// True when `bytes` is a JPEG whose last start-of-scan marker (FF DA) is followed by an end-of-image
// marker (FF D9). Inside entropy-coded data FF is always followed by 00 or a restart marker, so an
// FF D9 after the last scan is the image's own end.
inline bool jpeg_has_end(const std::vector<unsigned char>& bytes) {
  std::size_t last_scan = 0;
  for (std::size_t i = 0; i + 1 < bytes.size(); ++i)
    if (bytes[i] == 0xFF && bytes[i + 1] == 0xDA) last_scan = i;
  for (std::size_t i = last_scan; i + 1 < bytes.size(); ++i)
    if (bytes[i] == 0xFF && bytes[i + 1] == 0xD9) return true;
  return false;
}

inline std::vector<unsigned char> read_image_bytes(const std::string& path, const char* op) {
  std::error_code ec;
  ANIMA_CHECK(std::filesystem::is_regular_file(path, ec), op, "no such image file '", path, "'");
  std::ifstream in(path, std::ios::binary);
  ANIMA_CHECK(in.good(), op, "cannot open image '", path, "'");
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void check_pixel_count(std::uint64_t w, std::uint64_t h, const std::string& path, const char* op) {
  ANIMA_CHECK(w * h <= static_cast<std::uint64_t>(kMaxImagePixels), op, "image '", path, "' is ", w, "x", h,
              " pixels, more than anima decodes (", kMaxImagePixels, " pixels at most)");
}

// Checks the header of the image in `bytes` (read from `path`): a format stb_image knows, a size it
// may decode. Returns the width and height.
inline std::pair<int, int> check_image_header(const std::vector<unsigned char>& bytes, const std::string& path,
                                              const char* op) {
  int w = 0, h = 0, channels = 0;
  ANIMA_CHECK(!bytes.empty(), op, "cannot decode image '", path, "': the file is empty");
  // A PNG's size is at bytes 16..23 (IHDR); read here because stb_image's own refusal of a huge one
  // is reported as an unknown format.
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (bytes.size() >= 24 && std::equal(kPng, kPng + 8, bytes.begin())) {
    auto be32 = [&](std::size_t at) {
      return std::uint32_t{bytes[at]} << 24 | std::uint32_t{bytes[at + 1]} << 16 | std::uint32_t{bytes[at + 2]} << 8 |
             std::uint32_t{bytes[at + 3]};
    };
    const std::uint64_t pw = be32(16), ph = be32(20);
    check_pixel_count(pw, ph, path, op);
  }
  ANIMA_CHECK(bytes.size() <= static_cast<std::size_t>(INT32_MAX), op, "image '", path, "' is larger than 2 GiB");
  ANIMA_CHECK(stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &channels) != 0, op,
              "cannot decode image '", path, "': ", image_failure_reason());
  ANIMA_CHECK(w > 0 && h > 0, op, "image '", path, "' has no pixels");
  check_pixel_count(static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(h), path, op);
  const bool jpeg = bytes.size() >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8;
  ANIMA_CHECK(!jpeg || jpeg_has_end(bytes), op, "cannot decode image '", path,
              "': truncated (the JPEG data ends before its end-of-image marker)");
  return {w, h};
}

// Checks that `path` is an image anima can decode, from its header alone (see check_image_header).
inline void check_image_file(const std::string& path, const char* op) {
  check_image_header(read_image_bytes(path, op), path, op);
}

// The image file `path` as 8-bit RGB.
inline data::ImageU8 load_rgb(const std::string& path, const char* op = "image") {
  const std::vector<unsigned char> bytes = read_image_bytes(path, op);
  check_image_header(bytes, path, op);
  int w = 0, h = 0, channels = 0;
  unsigned char* rgb = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &channels, 3);
  ANIMA_CHECK(rgb != nullptr, op, "cannot decode image '", path, "': ", image_failure_reason());
  data::ImageU8 im(w, h, 3);
  std::copy(rgb, rgb + static_cast<std::size_t>(w) * h * 3, im.pixels.begin());
  stbi_image_free(rgb);
  return im;
}

}  // namespace anima::cli
