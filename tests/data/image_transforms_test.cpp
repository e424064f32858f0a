// Training transforms (anima/data/image_transforms.hpp) against torchvision 0.14's functional
// transforms on PIL images (tools/golden/transforms.py -> tests/golden/data/transforms.safetensors):
// every output byte equal. Then the random parameters: crop boxes inside the image with the drawn area
// and aspect, the documented centre-crop fallback, the same draws for the same seed, boxes flipped
// with the image.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/data/image_transforms.hpp>

#include "../core/expect_error.hpp"
#include "../golden/golden_file.hpp"

namespace anima {
namespace {

using data::ImageU8;
using testing::contains;
using testing::error_of;

const testing::GoldenFile& fixture() { return testing::golden("transforms.safetensors"); }

ImageU8 stored(const std::string& name) {
  const Tensor& t = fixture().at(name);
  ImageU8 im(static_cast<int>(t.size(1)), static_cast<int>(t.size(0)), static_cast<int>(t.size(2)));
  const std::vector<std::int64_t> v = to_vector<std::int64_t>(t);
  im.pixels.assign(v.begin(), v.end());
  return im;
}

void expect_same_image(const ImageU8& actual, const ImageU8& expected, const std::string& what) {
  ASSERT_EQ(actual.width, expected.width) << what;
  ASSERT_EQ(actual.height, expected.height) << what;
  ASSERT_EQ(actual.channels, expected.channels) << what;
  std::size_t differ = 0, first = 0;
  for (std::size_t i = 0; i < actual.pixels.size(); ++i)
    if (actual.pixels[i] != expected.pixels[i] && differ++ == 0) first = i;
  EXPECT_EQ(differ, 0u) << what << ": first difference at byte " << first << " (" << int(actual.pixels[first]) << " vs "
                        << int(expected.pixels[first]) << ")";
}

const char* const kInputs[] = {"noise", "gradient"};

TEST(ImageTransformsGolden, GeometryEqualsTorchvision) {
  for (const char* in : kInputs) {
    const ImageU8 im = stored(in);
    const std::string p = std::string(in) + "/";
    expect_same_image(data::crop(im, 3, 5, 11, 13), stored(p + "crop_inside"), p + "crop_inside");
    expect_same_image(data::crop(im, -4, 20, 30, 25), stored(p + "crop_outside"), p + "crop_outside");
    expect_same_image(data::resized_crop(im, 3, 5, 20, 17, 12, 16), stored(p + "resized_crop"), p + "resized_crop");
    expect_same_image(data::hflip(im), stored(p + "hflip"), p + "hflip");
  }
}

TEST(ImageTransformsGolden, ColourEqualsPillow) {
  const std::vector<std::pair<const char*, std::vector<std::pair<const char*, double>>>> cases = {
      {"brightness", {{"0.0", 0.0}, {"0.5", 0.5}, {"1.3", 1.3}, {"2.5", 2.5}}},
      {"contrast", {{"0.0", 0.0}, {"0.4", 0.4}, {"1.7", 1.7}}},
      {"saturation", {{"0.0", 0.0}, {"0.6", 0.6}, {"1.8", 1.8}}},
      {"hue", {{"-0.5", -0.5}, {"-0.3", -0.3}, {"-0.05", -0.05}, {"0.1", 0.1}, {"0.45", 0.45}}}};
  for (const char* in : kInputs) {
    const ImageU8 im = stored(in);
    for (const auto& fn : cases)
      for (const auto& f : fn.second) {
        const std::string name = std::string(in) + "/" + fn.first + "_" + f.first;
        const std::string kind = fn.first;
        const ImageU8 got = kind == "brightness"   ? data::adjust_brightness(im, f.second)
                            : kind == "contrast"   ? data::adjust_contrast(im, f.second)
                            : kind == "saturation" ? data::adjust_saturation(im, f.second)
                                                   : data::adjust_hue(im, f.second);
        expect_same_image(got, stored(name), name);
      }
  }
}

TEST(ImageTransforms, RandomResizedCropBoxes) {
  const std::array<double, 2> scale = {0.08, 1.0}, ratio = {3.0 / 4.0, 4.0 / 3.0};
  int fallbacks = 0;
  for (std::uint64_t seed = 0; seed < 500; ++seed) {
    const data::CropBox b = data::random_resized_crop_box(120, 80, scale, ratio, seed);
    ASSERT_TRUE(b.top >= 0 && b.left >= 0 && b.height > 0 && b.width > 0 && b.top + b.height <= 80 &&
                b.left + b.width <= 120)
        << seed;
    const double area = static_cast<double>(b.width) * b.height / (120.0 * 80.0);
    const double aspect = static_cast<double>(b.width) / b.height;
    // Rounding w and h moves area and aspect a little off the drawn ranges on small crops.
    EXPECT_GE(area, 0.08 * 0.8) << seed;
    EXPECT_LE(area, 1.0) << seed;
    EXPECT_GE(aspect, 0.75 * 0.85) << seed;
    EXPECT_LE(aspect, 4.0 / 3.0 * 1.15) << seed;
    fallbacks += b.width == 107 && b.height == 80;  // the fallback: 120x80 clamped to ratio 4/3
    const data::CropBox again = data::random_resized_crop_box(120, 80, scale, ratio, seed);
    EXPECT_TRUE(again.top == b.top && again.left == b.left && again.height == b.height && again.width == b.width);
  }
  EXPECT_LT(fallbacks, 25) << "ten tries almost always find a box at these ranges";
  // Impossible areas: the centre crop clamped to the ratio range (torchvision's fallback).
  const data::CropBox f = data::random_resized_crop_box(120, 80, {2.0, 3.0}, ratio, 7);
  EXPECT_EQ(f.width, 107);  // round(80 · 4/3)
  EXPECT_EQ(f.height, 80);
  EXPECT_EQ(f.left, 6);  // (120 − 107) // 2
  EXPECT_EQ(f.top, 0);
  const data::CropBox tall = data::random_resized_crop_box(40, 100, {2.0, 3.0}, ratio, 7);
  EXPECT_EQ(tall.width, 40);
  EXPECT_EQ(tall.height, 53);  // round(40 / (3/4))
  EXPECT_EQ(tall.top, 23);
}

TEST(ImageTransforms, FlipsBoxesWithTheImageAndJitters) {
  EXPECT_EQ(data::hflip_boxes({10, 5, 30, 25, 0, 0, 100, 50}, 100),
            (std::vector<double>{70, 5, 90, 25, 0, 0, 100, 50}));
  const ImageU8 im = stored("noise");
  const data::ColorJitter j{0.4, 0.4, 0.4, 0.1};
  const ImageU8 a = data::color_jitter(im, j, 3), b = data::color_jitter(im, j, 3), c = data::color_jitter(im, j, 4);
  EXPECT_EQ(a.pixels, b.pixels) << "the same seed, the same jitter";
  EXPECT_NE(a.pixels, c.pixels);
  EXPECT_EQ(data::color_jitter(im, data::ColorJitter{}, 3).pixels, im.pixels) << "no jitter leaves the image";
  EXPECT_TRUE(contains(error_of([&] { data::adjust_hue(im, 0.7); }), "[-0.5, 0.5]"));
  EXPECT_TRUE(contains(error_of([&] { data::adjust_contrast(ImageU8(2, 2, 1), 1.0); }), "3 channels"));
  EXPECT_TRUE(contains(error_of([&] { data::hflip_boxes({1, 2, 3}, 10); }), "4 values per box"));
}

}  // namespace
}  // namespace anima
