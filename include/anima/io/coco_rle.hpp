// anima/io/coco_rle.hpp — COCO's run-length encoding of binary masks, the "compressed RLE" that
// pycocotools writes (common/maskApi.c: rleEncode, rleToString, rleFrString, rleDecode) and that COCO
// results files carry as {"size": [h, w], "counts": "..."}.
//
// Runs: the mask [H, W] is read in COLUMN-MAJOR order (x outer, y inner: pixel (y, x) is element
//   x * H + y), and cut into alternating runs of 0s and 1s, starting with 0s (so the first count is 0
//   when the mask's first pixel is 1). The counts sum to H * W.
// String: each count cnts[i] becomes x = cnts[i] for i <= 2, x = cnts[i] - cnts[i - 2] for i > 2 (a
//   signed delta), written as a little-endian sequence of 5-bit groups, each one character
//   48 + (group | 0x20 if more groups follow):
//     do { c = x & 0x1f; x >>= 5 (arithmetic); more = (c & 0x10) ? x != -1 : x != 0;
//          emit 48 + (more ? c | 0x20 : c); } while (more);
//   Decoding reverses it: accumulate the groups, sign-extend when the last group has bit 0x10 set, and
//   add cnts[i - 2] back for i > 2.
// Examples (derived by hand from that algorithm; tests/io/coco_rle_test.cpp checks them): an all-zero
// 2x2 mask is "4", an all-one 2x2 mask "04", the 7x1 column 0 1 1 0 0 0 1 (runs 1 2 3 1) "123O",
// 100 zeros "T3".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <anima/core/error.hpp>

namespace anima::io {

struct CocoRle {
  std::int64_t height = 0, width = 0;  // "size": [height, width]
  std::string counts;                  // the compressed string
};

// The run lengths of a binary mask given row-major (mask[y * width + x], nonzero = 1), in COCO's
// column-major order, starting with a run of zeros.
inline std::vector<std::int64_t> coco_rle_runs(const std::vector<std::uint8_t>& mask, std::int64_t height,
                                               std::int64_t width) {
  ANIMA_CHECK(height >= 0 && width >= 0, "coco_rle", "negative mask size ", height, "x", width);
  ANIMA_CHECK(static_cast<std::int64_t>(mask.size()) == height * width, "coco_rle", "mask has ", mask.size(),
              " pixels, expected ", height, "x", width);
  std::vector<std::int64_t> runs;
  std::uint8_t current = 0;
  std::int64_t run = 0;
  for (std::int64_t x = 0; x < width; ++x)
    for (std::int64_t y = 0; y < height; ++y) {
      const std::uint8_t v = mask[static_cast<std::size_t>(y * width + x)] != 0 ? 1 : 0;
      if (v != current) {
        runs.push_back(run);
        run = 0;
        current = v;
      }
      ++run;
    }
  runs.push_back(run);
  return runs;
}

// Run lengths -> the compressed string (pycocotools' rleToString).
inline std::string coco_rle_counts_string(const std::vector<std::int64_t>& runs) {
  std::string s;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    std::int64_t x = runs[i];
    if (i > 2) x -= runs[i - 2];
    bool more = true;
    while (more) {
      std::int64_t c = x & 0x1f;
      x >>= 5;  // arithmetic shift: C++20 guarantees it, every C++17 compiler we build with does it
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      s.push_back(static_cast<char>(c + 48));
    }
  }
  return s;
}

// The compressed string -> run lengths (pycocotools' rleFrString). Malformed strings are Errors.
inline std::vector<std::int64_t> coco_rle_runs_from_string(const std::string& s) {
  std::vector<std::int64_t> runs;
  std::size_t p = 0;
  while (p < s.size()) {
    std::int64_t x = 0;
    int k = 0;
    bool more = true;
    while (more) {
      ANIMA_CHECK(p < s.size(), "coco_rle", "counts string ends inside a number: '", s, "'");
      const int c = static_cast<unsigned char>(s[p]) - 48;
      ANIMA_CHECK(c >= 0 && c < 64, "coco_rle", "invalid character '", s[p], "' in counts string");
      ANIMA_CHECK(k < 12, "coco_rle", "number too long in counts string");
      x |= static_cast<std::int64_t>(c & 0x1f) << (5 * k);
      more = (c & 0x20) != 0;
      ++p;
      ++k;
      if (!more && (c & 0x10)) x |= static_cast<std::int64_t>(-1) * (static_cast<std::int64_t>(1) << (5 * k));
    }
    if (runs.size() > 2) x += runs[runs.size() - 2];
    runs.push_back(x);
  }
  return runs;
}

// Binary mask [height, width] (row-major, nonzero = 1) -> COCO compressed RLE.
inline CocoRle coco_rle_encode(const std::vector<std::uint8_t>& mask, std::int64_t height, std::int64_t width) {
  return {height, width, coco_rle_counts_string(coco_rle_runs(mask, height, width))};
}

// COCO compressed RLE -> binary mask [height, width] (row-major, 0 or 1). The runs must sum to
// height * width.
inline std::vector<std::uint8_t> coco_rle_decode(const CocoRle& rle) {
  ANIMA_CHECK(rle.height >= 0 && rle.width >= 0, "coco_rle", "negative mask size ", rle.height, "x", rle.width);
  const std::vector<std::int64_t> runs = coco_rle_runs_from_string(rle.counts);
  const std::int64_t total = rle.height * rle.width;
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(total), 0);
  std::int64_t j = 0;  // column-major position
  std::uint8_t v = 0;
  for (std::int64_t run : runs) {
    ANIMA_CHECK(run >= 0 && j + run <= total, "coco_rle", "runs exceed the mask size ", rle.height, "x", rle.width);
    for (std::int64_t k = 0; k < run; ++k, ++j)
      if (v) mask[static_cast<std::size_t>((j % rle.height) * rle.width + j / rle.height)] = 1;
    v = static_cast<std::uint8_t>(1 - v);
  }
  ANIMA_CHECK(j == total, "coco_rle", "runs cover ", j, " pixels of the ", rle.height, "x", rle.width, " mask");
  return mask;
}

}  // namespace anima::io
