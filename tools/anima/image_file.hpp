// tools/anima/image_file.hpp — image files as 8-bit RGB, the one way every command decodes them.
//
// stb_image decodes PNG, JPEG and BMP (its other decoders are compiled out, stb_impl.cpp); the result
// is RGB (alpha dropped, grey replicated, as PIL's convert("RGB")). Before stb_image sees a file:
// - the header's size: more than kMaxImagePixels pixels is refused without allocating (a 100000 x
//   100000 PNG is 70 bytes);
// - a PNG's chunks must lie inside the file (check_png_chunks: stb_image allocates what they claim);
// - a JPEG's segments are walked (check_jpeg_segments): a truncated one is refused as Pillow refuses
//   it, and Huffman tables that would overflow stb_image 2.27's arrays never reach it.
// tests/fuzz/fuzz_image.cpp fuzzes all of it. Every failure is an anima::Error naming the file and
// what is wrong with it.
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
  if (reason == "unknown image type") return "not an image anima reads (PNG, JPEG or BMP)";
  if (reason == "outofdata" || reason == "expected marker" || reason == "bad huffman code")
    return "truncated or corrupt (" + reason + ")";
  return reason;
}

// Where the entropy-coded data starting at `i` (after an SOS segment) ends: the FF of the next marker,
// or the end of `b`. Read as stb_image's scan decoder reads it: an FF, any further FF fill bytes, then
// 00 is a stuffed FF data byte and a restart marker (D0-D7) is part of the scan; any other byte after
// the FFs ends the scan. (FF FF 00 is data: a walker that took it for a marker would skip, as a
// "segment", bytes stb_image goes on to parse.)
inline std::size_t end_of_entropy_coded_data(const std::vector<unsigned char>& b, std::size_t i) {
  while (i < b.size()) {
    if (b[i] != 0xFF) {
      ++i;
      continue;
    }
    std::size_t after = i + 1;
    while (after < b.size() && b[after] == 0xFF) ++after;
    if (after < b.size() && (b[after] == 0x00 || (b[after] >= 0xD0 && b[after] <= 0xD7))) {
      i = after + 1;
      continue;
    }
    return i;
  }
  return i;
}

// Walks a JPEG's marker segments from `after_soi` (segments with a 16-bit length; after each SOS the
// entropy-coded data, to the next marker as end_of_entropy_coded_data finds it) and checks what
// stb_image 2.27 trusts without checking: every Huffman table (DHT) holds at most 256 codes (more
// overflow its tables), and the segments end with EOI (otherwise the file is truncated: stb_image would
// pad it and return a partly grey picture, Pillow refuses it). Bytes between segments are skipped, as
// libjpeg skips them.
inline void check_jpeg_segments(const std::vector<unsigned char>& b, std::size_t after_soi, const std::string& path,
                                const char* op) {
  auto truncated = [&] {
    fail(op, "cannot decode image '", path, "': truncated (the JPEG data ends before its end-of-image marker)");
  };
  std::size_t i = after_soi;
  while (true) {
    while (i < b.size() && b[i] != 0xFF) ++i;  // extraneous bytes
    while (i < b.size() && b[i] == 0xFF) ++i;  // fill bytes
    if (i >= b.size()) truncated();
    const unsigned char marker = b[i++];
    if (marker == 0xD9) return;                                          // EOI
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // TEM, RSTn: no length
    if (i + 2 > b.size()) truncated();
    const std::size_t length = static_cast<std::size_t>(b[i]) << 8 | b[i + 1];
    if (length < 2 || i + length > b.size()) truncated();
    if (marker == 0xC4) {  // DHT: tables of a class/id byte, 16 code counts, the codes
      std::size_t p = i + 2;
      while (p < i + length) {
        std::size_t codes = 0;
        for (std::size_t k = 1; k <= 16 && p + k < b.size(); ++k) codes += b[p + k];
        ANIMA_CHECK(codes <= 256 && p + 17 + codes <= i + length, op, "cannot decode image '", path,
                    "': corrupt JPEG (a Huffman table of ", codes, " codes in a ", length,
                    "-byte segment; at most 256 fit)");
        p += 17 + codes;
      }
    }
    i += length;
    if (marker == 0xDA) i = end_of_entropy_coded_data(b, i);
  }
}

// Walks a PNG's chunks (a 4-byte length, a 4-byte type, the data, a CRC) from byte 8 to IEND and checks
// that each lies inside the file: stb_image allocates a chunk's stated length before reading it, so a
// 90-byte file claiming a 2 GB IDAT would cost 2 GB. A file that ends before IEND is truncated.
inline void check_png_chunks(const std::vector<unsigned char>& b, const std::string& path, const char* op) {
  std::size_t at = 8;
  while (true) {
    ANIMA_CHECK(at + 12 <= b.size(), op, "cannot decode image '", path,
                "': truncated or corrupt (the PNG ends before its IEND chunk)");
    const std::uint64_t length = std::uint64_t{b[at]} << 24 | std::uint64_t{b[at + 1]} << 16 |
                                 std::uint64_t{b[at + 2]} << 8 | std::uint64_t{b[at + 3]};
    const std::string type(b.begin() + static_cast<std::ptrdiff_t>(at + 4),
                           b.begin() + static_cast<std::ptrdiff_t>(at + 8));
    ANIMA_CHECK(at + 12 + length <= b.size(), op, "cannot decode image '", path,
                "': truncated or corrupt (its PNG chunk at byte ", at, " says ", length,
                " bytes, more than the file holds)");
    if (type == "IEND") return;
    at += 12 + static_cast<std::size_t>(length);
  }
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
    check_png_chunks(bytes, path, op);
  }
  // Before stb_image sees a JPEG at all: its header parser already builds the Huffman tables. It takes
  // any run of FF bytes before the SOI's D8.
  std::size_t soi = 0;
  while (soi < bytes.size() && bytes[soi] == 0xFF) ++soi;
  if (soi > 0 && soi < bytes.size() && bytes[soi] == 0xD8) check_jpeg_segments(bytes, soi + 1, path, op);
  ANIMA_CHECK(bytes.size() <= static_cast<std::size_t>(INT32_MAX), op, "image '", path, "' is larger than 2 GiB");
  ANIMA_CHECK(stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &channels) != 0, op,
              "cannot decode image '", path, "': ", image_failure_reason());
  ANIMA_CHECK(w > 0 && h > 0, op, "image '", path, "' has no pixels");
  check_pixel_count(static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(h), path, op);
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
