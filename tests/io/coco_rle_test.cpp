// anima/io/coco_rle.hpp: COCO compressed RLE. pycocotools is not installed for /usr/bin/python3 here,
// so the known vectors are derived by hand from pycocotools' maskApi.c (rleEncode, rleToString), step
// by step in the comments; random masks of many shapes round-trip through encode and decode.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <anima/io/coco_rle.hpp>

namespace {

using anima::io::coco_rle_counts_string;
using anima::io::coco_rle_decode;
using anima::io::coco_rle_encode;
using anima::io::coco_rle_runs;
using anima::io::coco_rle_runs_from_string;
using anima::io::CocoRle;

TEST(CocoRle, KnownVectorsDerivedFromMaskApi) {
  // 2x2 all zeros: runs [4]; 4 -> group 4, x >> 5 = 0, no bit 0x10 -> stop: '0' + 4 = "4".
  EXPECT_EQ(coco_rle_encode({0, 0, 0, 0}, 2, 2).counts, "4");
  // 2x2 all ones: runs [0, 4] -> "0" "4".
  EXPECT_EQ(coco_rle_encode({1, 1, 1, 1}, 2, 2).counts, "04");
  // The column 0 1 1 0 0 0 1 (7x1): runs [1, 2, 3, 1]; the fourth is a delta, 1 - runs[1] = -1: group
  // -1 & 31 = 31 (bit 0x10 set), x >> 5 = -1 -> stop: '0' + 31 = 'O'. "123O".
  EXPECT_EQ(coco_rle_encode({0, 1, 1, 0, 0, 0, 1}, 7, 1).counts, "123O");
  // 100 zeros (10x10): 100 = 4 + 3 * 32: group 4 with 0x20 (more) -> '0' + 36 = 'T', then '3'.
  EXPECT_EQ(coco_rle_encode(std::vector<std::uint8_t>(100, 0), 10, 10).counts, "T3");
  // Deltas: runs [1, 1, 1, 17]: 17 - 1 = 16 has bit 0x10 but x >> 5 = 0 != -1 -> more: '0' + 48 = '`',
  // then '0'. "111`0".
  EXPECT_EQ(coco_rle_counts_string({1, 1, 1, 17}), "111`0");
  EXPECT_EQ(coco_rle_runs_from_string("111`0"), (std::vector<std::int64_t>{1, 1, 1, 17}));
  // Runs [0, 1000, 1, 3]. 0 -> '0'. 1000 = 8 + 31 * 32: group 8, x = 31 != 0 -> more: '0' + (8 | 32) = 'X';
  // group 31, x = 0, bit 0x10 set and 0 != -1 -> more: '0' + 63 = 'o'; group 0, x = 0 -> stop: '0'.
  // 1 -> '1'. The delta 3 - 1000 = -997 = -32 * 32 + 27: group 27, x = -32, bit 0x10 set and -32 != -1 ->
  // more: '0' + 59 = 'k'; group 0, x = -1, bit 0x10 clear and -1 != 0 -> more: '0' + 32 = 'P'; group 31,
  // x = -1, bit 0x10 set -> stop: '0' + 31 = 'O'. "0Xo01kPO".
  EXPECT_EQ(coco_rle_counts_string({0, 1000, 1, 3}), "0Xo01kPO");
  EXPECT_EQ(coco_rle_runs_from_string("0Xo01kPO"), (std::vector<std::int64_t>{0, 1000, 1, 3}));
}

TEST(CocoRle, ColumnMajorOrder) {
  // Row-major 2x3 mask
  //   1 0 0
  //   1 0 1
  // column-major: 1 1 | 0 0 | 0 1  -> runs [0, 2, 3, 1].
  const std::vector<std::uint8_t> m{1, 0, 0, 1, 0, 1};
  EXPECT_EQ(coco_rle_runs(m, 2, 3), (std::vector<std::int64_t>{0, 2, 3, 1}));
  const CocoRle r = coco_rle_encode(m, 2, 3);
  EXPECT_EQ(r.height, 2);
  EXPECT_EQ(r.width, 3);
  EXPECT_EQ(coco_rle_decode(r), m);
}

TEST(CocoRle, RandomMasksRoundTrip) {
  std::mt19937 rng(12345);
  for (int trial = 0; trial < 300; ++trial) {
    const std::int64_t h = 1 + static_cast<std::int64_t>(rng() % 70), w = 1 + static_cast<std::int64_t>(rng() % 90);
    // Blobs, stripes or noise, with a random density, so long and short runs and big deltas all occur.
    const int kind = trial % 3;
    const double density = (rng() % 1000) / 1000.0;
    std::vector<std::uint8_t> m(static_cast<std::size_t>(h * w));
    const std::int64_t cx = static_cast<std::int64_t>(rng() % w), cy = static_cast<std::int64_t>(rng() % h);
    const std::int64_t r = 1 + static_cast<std::int64_t>(rng() % 40);
    std::uniform_real_distribution<double> u(0, 1);
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x) {
        bool v = false;
        if (kind == 0) v = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r;
        if (kind == 1) v = ((x + y) / (1 + r % 7)) % 2 == 0;
        if (kind == 2) v = u(rng) < density;
        m[static_cast<std::size_t>(y * w + x)] = v ? 1 : 0;
      }
    const CocoRle enc = coco_rle_encode(m, h, w);
    for (char c : enc.counts) ASSERT_TRUE(c >= 48 && c < 48 + 64) << "character " << int(c);
    EXPECT_EQ(coco_rle_runs_from_string(enc.counts), coco_rle_runs(m, h, w)) << "trial " << trial;
    ASSERT_EQ(coco_rle_decode(enc), m) << "trial " << trial << " (" << h << "x" << w << ")";
  }
}

TEST(CocoRle, MalformedInputIsAnError) {
  EXPECT_THROW(coco_rle_decode({2, 2, "5"}), anima::Error);   // 5 pixels in a 4-pixel mask
  EXPECT_THROW(coco_rle_decode({2, 2, "3"}), anima::Error);   // 3 of 4 pixels
  EXPECT_THROW(coco_rle_decode({2, 2, "T"}), anima::Error);   // ends inside a number
  EXPECT_THROW(coco_rle_decode({2, 2, "4 "}), anima::Error);  // not an RLE character
  EXPECT_THROW(coco_rle_encode({0, 1, 0}, 2, 2), anima::Error);
}

}  // namespace
