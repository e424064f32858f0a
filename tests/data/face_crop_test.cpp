// COCO polygon rasterisation (anima/io/coco_polygon.hpp) and the masked face crop
// (anima/data/face_crop.hpp): rectangles with integer corners give exactly their pixels (a pixel is in
// when its centre is), a triangle its area up to the boundary, polygons outside the image are clipped,
// an object's polygons unite; the crop is black outside the mask and size x size; the box crop keeps
// the background and the letterboxed frame pads below.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include <anima/data/face_crop.hpp>
#include <anima/io/coco_polygon.hpp>
#include <anima/io/coco_rle.hpp>

#include "../core/expect_error.hpp"

namespace anima {
namespace {

using testing::contains;
using testing::error_of;

std::size_t area(const std::vector<std::uint8_t>& m) {
  std::size_t n = 0;
  for (auto v : m) n += v != 0;
  return n;
}

TEST(CocoPolygon, RectanglesGiveTheirPixels) {
  const auto m = io::coco_polygons_mask({{2, 3, 7, 3, 7, 9, 2, 9}}, 12, 10);  // x 2..7, y 3..9
  for (int y = 0; y < 12; ++y)
    for (int x = 0; x < 10; ++x)
      EXPECT_EQ(m[static_cast<std::size_t>(y * 10 + x)], x >= 2 && x < 7 && y >= 3 && y < 9 ? 1 : 0) << x << "," << y;
  // The same rectangle listed the other way round, and its runs as pycocotools' RLE of that mask.
  EXPECT_EQ(io::coco_polygons_mask({{2, 9, 7, 9, 7, 3, 2, 3}}, 12, 10), m);
  EXPECT_EQ(io::coco_polygon_runs({2, 3, 7, 3, 7, 9, 2, 9}, 12, 10), io::coco_rle_runs(m, 12, 10));
}

TEST(CocoPolygon, TrianglesClippingAndUnion) {
  // Right triangle with legs 20: area 200, pixel count within the boundary's 20·sqrt(2) + 40 pixels.
  const auto t = io::coco_polygons_mask({{0, 0, 20, 0, 0, 20}}, 30, 30);
  EXPECT_NEAR(static_cast<double>(area(t)), 200.0, 30.0);
  EXPECT_EQ(t[0], 1);
  EXPECT_EQ(t[29 * 30 + 29], 0);
  // Half outside the image: the inside half only.
  EXPECT_EQ(area(io::coco_polygons_mask({{-5, 0, 5, 0, 5, 4, -5, 4}}, 10, 10)), 20u);
  // Two overlapping squares unite: 4x4 + 4x4 − 2x2.
  EXPECT_EQ(area(io::coco_polygons_mask({{0, 0, 4, 0, 4, 4, 0, 4}, {2, 2, 6, 2, 6, 6, 2, 6}}, 10, 10)), 28u);
  // A repeated vertex changes nothing.
  EXPECT_EQ(io::coco_polygons_mask({{2, 3, 7, 3, 7, 3, 7, 9, 2, 9}}, 12, 10),
            io::coco_polygons_mask({{2, 3, 7, 3, 7, 9, 2, 9}}, 12, 10));
  EXPECT_TRUE(contains(error_of([] { io::coco_polygon_runs({1, 2, 3, 4}, 5, 5); }), "at least 3 (x, y) points"));
}

TEST(FaceCrop, BlackOutsideTheMaskAndResized) {
  data::ImageU8 frame(40, 30, 3);
  for (auto& p : frame.pixels) p = 200;
  // The face: box [10, 5, 30, 25], mask its left half only.
  std::vector<std::uint8_t> mask(40 * 30, 0);
  for (int y = 5; y < 25; ++y)
    for (int x = 10; x < 20; ++x) mask[static_cast<std::size_t>(y * 40 + x)] = 1;
  const data::ImageU8 face = data::masked_face_crop(frame, mask, {10, 5, 30, 25}, 64);
  ASSERT_EQ(face.width, 64);
  ASSERT_EQ(face.height, 64);
  EXPECT_EQ(face.at(32, 5, 0), 200);  // inside the mask
  EXPECT_EQ(face.at(32, 60, 1), 0);   // outside: black
  EXPECT_EQ(face.at(10, 58, 2), 0);
  EXPECT_TRUE(contains(error_of([&] {
                         data::masked_face_crop(frame, std::vector<std::uint8_t>(5), {0, 0, 1, 1});
                       }),
                       "the mask has 5 pixels"));
}

TEST(FaceCrop, BoxCropKeepsTheBackgroundAndTheFrameIsLetterboxed) {
  // A 40x30 frame: left half 200, right half 50.
  data::ImageU8 frame(40, 30, 3);
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x)
      for (int c = 0; c < 3; ++c) frame.at(y, x, c) = x < 20 ? 200 : 50;
  const data::ImageU8 box = data::box_face_crop(frame, {10, 5, 30, 25}, 64);
  ASSERT_EQ(box.width, 64);
  ASSERT_EQ(box.height, 64);
  EXPECT_EQ(box.at(32, 5, 0), 200);  // the box's left half
  EXPECT_EQ(box.at(32, 60, 1), 50);  // its right half: kept, not black
  // Letterboxed to 80: scaled by 2 (80x60), black below row 60.
  const data::ImageU8 whole = data::letterboxed_frame(frame, 80);
  ASSERT_EQ(whole.width, 80);
  ASSERT_EQ(whole.height, 80);
  EXPECT_EQ(whole.at(30, 10, 0), 200);
  EXPECT_EQ(whole.at(30, 70, 0), 50);
  EXPECT_EQ(whole.at(59, 70, 2), 50);
  EXPECT_EQ(whole.at(60, 10, 0), 0);
  EXPECT_EQ(whole.at(79, 79, 1), 0);
  EXPECT_TRUE(contains(error_of([&] { data::box_face_crop(frame, {0, 0, 1, std::nan("")}); }), "finite box"));
}

}  // namespace
}  // namespace anima
