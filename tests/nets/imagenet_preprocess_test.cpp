// Pillow's antialiased bilinear resize (anima/data/pil_resize.hpp) and torchvision's ImageNet eval
// transform (anima/data/imagenet_transforms.hpp) against tests/golden/data/imagenet_preprocess.safetensors
// (tools/golden/imagenet_preprocess.py: Pillow 9.4, torchvision 0.14).
//
// Tolerance: none. The resize is Pillow's integer arithmetic, so every byte must be equal; the
// transform's float steps are the same single float32 operations torch does (v / 255, then
// (v − mean) / std), so its output must be bitwise equal as well.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/data/imagenet_transforms.hpp>
#include <anima/data/pil_resize.hpp>
#include <anima/io/json_reader.hpp>
#include <anima/io/safetensors.hpp>

#include "../core/expect_error.hpp"

namespace {

using anima::Tensor;
using anima::data::ImageU8;

const anima::io::SafetensorsFile& fixture() {
  static const anima::io::SafetensorsFile f =
      anima::io::load_safetensors(std::string(ANIMA_GOLDEN_DIR) + "/imagenet_preprocess.safetensors");
  return f;
}

// A U8 tensor [H, W, 3] (loaded as int64) -> ImageU8.
ImageU8 to_image(const Tensor& t) {
  EXPECT_EQ(t.dim(), 3);
  ImageU8 im(static_cast<int>(t.size(1)), static_cast<int>(t.size(0)), static_cast<int>(t.size(2)));
  const std::vector<std::int64_t> v = anima::to_vector<std::int64_t>(t);
  for (std::size_t i = 0; i < v.size(); ++i) im.pixels[i] = static_cast<std::uint8_t>(v[i]);
  return im;
}

std::vector<std::string> case_names() {
  const anima::io::JsonValue cases = anima::io::parse_json(fixture().metadata.at("cases"), "test", "cases");
  std::vector<std::string> names;
  for (const auto& c : cases.items) names.push_back(c.text);
  return names;
}

long long arg(const anima::io::JsonValue& j, const char* key) { return std::stoll(j.find(key)->text); }

TEST(ImagenetPreprocess, MatchesPillowAndTorchvisionExactly) {
  int resize_cases = 0, transform_cases = 0;
  for (const std::string& name : case_names()) {
    SCOPED_TRACE(name);
    const anima::io::JsonValue meta = anima::io::parse_json(fixture().metadata.at(name), "test", name);
    const ImageU8 in = to_image(fixture().tensors.at(name + "/in"));
    const Tensor& expected = fixture().tensors.at(name + "/out");
    if (meta.find("op")->text == "resize") {
      ++resize_cases;
      const ImageU8 out = anima::data::resize_bilinear_antialias(in, static_cast<int>(arg(meta, "width")),
                                                                 static_cast<int>(arg(meta, "height")));
      const ImageU8 want = to_image(expected);
      ASSERT_EQ(out.width, want.width);
      ASSERT_EQ(out.height, want.height);
      std::size_t differ = 0, first = 0;
      for (std::size_t i = 0; i < want.pixels.size(); ++i)
        if (out.pixels[i] != want.pixels[i] && differ++ == 0) first = i;
      EXPECT_EQ(differ, 0u) << "first difference at byte " << first << ": got " << int(out.pixels[first]) << ", Pillow "
                            << int(want.pixels[first]);
    } else {
      ++transform_cases;
      const Tensor out = anima::data::imagenet_eval_transform(in, static_cast<int>(arg(meta, "resize")),
                                                              static_cast<int>(arg(meta, "crop")));
      ASSERT_EQ(anima::shape_str(out.shape()), anima::shape_str(expected.shape()));
      const std::vector<float> a = anima::to_vector<float>(out), e = anima::to_vector<float>(expected);
      std::size_t differ = 0, first = 0;
      for (std::size_t i = 0; i < e.size(); ++i)
        if (std::memcmp(&a[i], &e[i], sizeof(float)) != 0 && differ++ == 0) first = i;
      EXPECT_EQ(differ, 0u) << "first difference at " << first << ": got " << a[first] << ", torchvision " << e[first];
    }
  }
  EXPECT_GE(resize_cases, 6);
  EXPECT_GE(transform_cases, 5);
}

TEST(ImagenetPreprocess, ShorterSideSizeAsTorchvision) {
  // int(size * long / short) truncates: 256 * 500 / 375 = 341.33 -> 341; 342 * 640 / 480 = 456.
  EXPECT_EQ((anima::data::resized_shorter_side(500, 375, 256)), (std::array<int, 2>{341, 256}));
  EXPECT_EQ((anima::data::resized_shorter_side(480, 640, 342)), (std::array<int, 2>{342, 456}));
  EXPECT_EQ((anima::data::resized_shorter_side(300, 300, 224)), (std::array<int, 2>{224, 224}));
}

TEST(ImagenetPreprocess, BadInputIsAnError) {
  ImageU8 empty;
  anima::testing::expect_error([&] { anima::data::resize_bilinear_antialias(empty, 4, 4); },
                               {"resize_bilinear_antialias"});
  ImageU8 im(4, 4, 3);
  anima::testing::expect_error([&] { anima::data::resize_bilinear_antialias(im, 0, 4); }, {"positive output size"});
  anima::testing::expect_error([&] { anima::data::center_crop(im, 0, 2); }, {"center_crop"});
  ImageU8 grey(4, 4, 1);
  anima::testing::expect_error([&] { anima::data::to_normalized_tensor(grey); }, {"3 channels"});
}

}  // namespace
