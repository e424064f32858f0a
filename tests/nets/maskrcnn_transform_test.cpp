// Mask R-CNN's input transform (anima/nets/maskrcnn/transform.hpp) against torchvision 0.14's
// GeneralizedRCNNTransform and the "square" mode's PyTorch reference, from the fixtures written by
// tools/golden/maskrcnn.py (regenerate: /usr/bin/python3 tools/golden/maskrcnn.py transform eval train):
//   maskrcnn_transform.safetensors  every case (torchvision mode, square top-left / centred, training
//                                   targets, postprocess's resize_boxes)
//   maskrcnn_eval_c91.safetensors   transform/* : the model's two-image batch
//   maskrcnn_train.safetensors      train/target/* -> train/transformed/* (float64 targets)
// The images are not stored: both sides build them with the generator's formula (formula_image, nets/maskrcnn_golden.hpp).
//
// Tolerances:
//  - sizes, scales, offsets, batch shapes, masks: exact (integer / float32 scalar arithmetic that both
//    sides do identically; a one-off here is a real bug, e.g. the float32 floor of 77x103 -> 127).
//  - normalised, resized pixels: exact. Both sides normalise with the same float32 division and resize
//    with the same arithmetic: anima's bilinear interpolate reproduces PyTorch 1.13's CPU kernel bit for
//    bit (source coordinate in double, fused multiply-adds; anima/kernels/interpolate_math.hpp). The
//    largest difference is printed as INFO.
//  - boxes: exact. Each coordinate is one IEEE multiplication by the same float32 ratio on both sides
//    (float64 boxes: by that float32 ratio widened to double, as PyTorch's type promotion does).
//  - per-channel batch means: 1e-5 absolute. PyTorch sums ~24k float32 values in its own cascaded order
//    (8e-9 from the float64 mean on this batch); we sum in float64, from the same pixels.
#include <array>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <anima/io/safetensors.hpp>
#include <anima/ops/concat.hpp>
#include <anima/nets/maskrcnn/transform.hpp>

#include "golden/golden.hpp"
#include "nets/maskrcnn_golden.hpp"

namespace anima::nets::maskrcnn {
namespace maskrcnn_transform_test {

constexpr double kPixelAbs = 0.0;
constexpr double kBoxRel = 0.0;
constexpr double kMeanAbs = 1e-5;

using fixture::formula_image;

// The largest pixel error seen by the running test (printed at its end: how far the float32 resize
// actually is from PyTorch's, next to the tolerance).
double g_worst_pixel_error = 0.0;

void report_worst_pixel_error(const char* what) {
  std::cout << "[   INFO   ] " << what << ": largest |pixel - PyTorch| = " << g_worst_pixel_error << " (tolerance "
            << kPixelAbs << ")" << std::endl;
  ::testing::Test::RecordProperty("worst_pixel_error", std::to_string(g_worst_pixel_error));
  g_worst_pixel_error = 0.0;
}

// Expects |actual - expected| <= abs_tol everywhere (same shape); reports the worst element.
void expect_abs_close(const Tensor& actual, const Tensor& expected, double abs_tol, const std::string& what) {
  ASSERT_EQ(shape_str(actual.shape()), shape_str(expected.shape())) << what << ": shape differs";
  const std::vector<double> a = to_vector<double>(actual), e = to_vector<double>(expected);
  std::size_t bad = 0, worst = 0;
  double worst_err = 0.0;
  for (std::size_t i = 0; i < e.size(); ++i) {
    const double err = std::fabs(a[i] - e[i]);
    if (!(err <= abs_tol)) ++bad;
    if (!(err <= worst_err)) {
      worst_err = err;
      worst = i;
    }
  }
  if (abs_tol == kPixelAbs) g_worst_pixel_error = std::max(g_worst_pixel_error, worst_err);
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << e.size() << " elements differ by more than " << abs_tol
                     << "; worst at flat index " << worst << ": got " << a[worst] << ", expected " << e[worst]
                     << " (error " << worst_err << ")";
}

void expect_equal_ints(const Tensor& actual, const Tensor& expected, const std::string& what) {
  ASSERT_EQ(shape_str(actual.shape()), shape_str(expected.shape())) << what << ": shape differs";
  EXPECT_EQ(to_vector<std::int64_t>(actual), to_vector<std::int64_t>(expected)) << what;
}

Tensor sizes_tensor(const std::vector<ImageSize>& sizes) {
  std::vector<std::int64_t> v;
  for (const auto& s : sizes) v.insert(v.end(), {s[0], s[1]});
  return from_vector<std::int64_t>(v, {static_cast<std::int64_t>(sizes.size()), 2});
}

std::vector<Tensor> case_images(const golden::Case& c) {
  std::vector<Tensor> images;
  for (const auto& item : c.arg("images").items) {
    std::vector<std::int64_t> nhw;
    for (const auto& v : item.items) nhw.push_back(std::stoll(v.text));
    EXPECT_EQ(nhw.size(), 3u) << c.name << ": images entries are [n, h, w]";
    images.push_back(formula_image(nhw[0], nhw[1], nhw[2]));
  }
  return images;
}

std::array<double, 3> triple(const golden::Case& c, const std::string& key) {
  const auto& items = c.arg(key).items;
  EXPECT_EQ(items.size(), 3u) << c.name << " " << key;
  return {std::stod(items.at(0).text), std::stod(items.at(1).text), std::stod(items.at(2).text)};
}

TransformOptions options_of(const golden::Case& c) {
  TransformOptions o;
  o.image_mean = triple(c, "image_mean");
  o.image_std = triple(c, "image_std");
  o.size_divisible = c.integer("size_divisible");
  if (c.text("mode") == "square") {
    o.mode = ResizeMode::Square;
    o.square_side = c.integer("side");
    o.square_centered = c.flag("centered");
  } else {
    o.mode = ResizeMode::Torchvision;
    o.min_size = c.integer("min_size");
    o.max_size = c.integer("max_size");
  }
  return o;
}

// Per-channel means of [N, 3, H, W] in float64 -> [N, 3].
Tensor channel_means(const Tensor& batch) {
  const Shape& s = batch.shape();
  const std::vector<double> v = to_vector<double>(batch);
  const std::int64_t plane = s[2] * s[3];
  std::vector<double> m(static_cast<std::size_t>(s[0] * s[1]), 0.0);
  for (std::size_t p = 0; p < m.size(); ++p) {
    for (std::int64_t k = 0; k < plane; ++k)
      m[p] += v[p * static_cast<std::size_t>(plane) + static_cast<std::size_t>(k)];
    m[p] /= static_cast<double>(plane);
  }
  return from_vector<double>(m, {s[0], s[1]});
}

void run_rcnn_transform(golden::Case& c) {
  const TransformOptions opts = options_of(c);
  const GeneralizedRCNNTransform transform(opts);
  const std::vector<Tensor> images = case_images(c);
  const TransformedBatch out = transform.forward(images);
  std::vector<ImageSize> resized;
  for (const auto& r : out.resizes) resized.push_back(r.resized);
  expect_equal_ints(sizes_tensor(resized), c.stored("out/image_sizes"), c.name + " image_sizes");
  if (opts.mode == ResizeMode::Torchvision) {
    // ImageList::image_sizes is torchvision's: the resized sizes.
    expect_equal_ints(sizes_tensor(out.images.image_sizes), c.stored("out/image_sizes"), c.name + " ImageList sizes");
    const std::vector<double> scales = to_vector<double>(c.stored("out/scale"));
    ASSERT_EQ(scales.size(), images.size());
    for (std::size_t i = 0; i < images.size(); ++i) {
      const ImageSize orig{images[i].shape()[1], images[i].shape()[2]};
      EXPECT_EQ(static_cast<double>(torchvision_resize_scale(orig, opts.min_size, opts.max_size)), scales[i])
          << c.name << " image " << i << ": the float32 scale";
    }
  } else {
    std::vector<ImageSize> offsets;
    for (const auto& r : out.resizes) offsets.push_back(r.offset);
    expect_equal_ints(sizes_tensor(offsets), c.stored("out/offsets"), c.name + " offsets");
  }
  if (c.has("out/images")) {
    expect_abs_close(out.images.tensors, c.stored("out/images"), kPixelAbs, c.name + " batch");
  } else {  // tv_model_sizes: a summary of the 2x3x128x192 batch
    const Shape& s = out.images.tensors.shape();
    expect_equal_ints(from_vector<std::int64_t>({s[0], s[1], s[2], s[3]}, {4}), c.stored("out/batch_shape"),
                      c.name + " batch shape");
    expect_abs_close(channel_means(out.images.tensors), c.stored("out/mean"), kMeanAbs, c.name + " channel means");
    std::vector<Tensor> rows;
    for (std::int64_t r : {0, 1, 63, 126, 127}) rows.push_back(view_meta::narrow(out.images.tensors, 2, r, 1));
    expect_abs_close(concat(rows, 2), c.stored("out/rows"), kPixelAbs, c.name + " rows 0, 1, 63, 126, 127");
  }
}

void expect_boxes_close(const Tensor& actual, const Tensor& expected, const std::string& what) {
  EXPECT_EQ(dtype_name(actual.dtype()), std::string(dtype_name(expected.dtype()))) << what;
  golden::expect_close(actual, expected, kBoxRel, what);
}

void run_target_resize(golden::Case& c) {
  const GeneralizedRCNNTransform transform(options_of(c));
  const std::vector<Tensor> images = case_images(c);
  ASSERT_EQ(images.size(), 1u);
  DetectionTarget target{c.stored("in/boxes"), from_vector<std::int64_t>({1, 2}, {2}), c.stored("in/masks")};
  const TransformedBatch out = transform.forward(images, {target});
  expect_equal_ints(sizes_tensor(out.images.image_sizes), c.stored("out/image_sizes"), c.name + " image_sizes");
  expect_abs_close(out.images.tensors, c.stored("out/images"), kPixelAbs, c.name + " batch");
  ASSERT_EQ(out.targets.size(), 1u);
  expect_boxes_close(out.targets[0].boxes, c.stored("out/boxes"), c.name + " boxes");
  // The fixture's uint8 masks load as int64 (safetensors reader); ours keep the input's dtype.
  EXPECT_EQ(out.targets[0].masks.dtype(), c.stored("in/masks").dtype());
  expect_equal_ints(out.targets[0].masks, c.stored("out/masks"), c.name + " masks (nearest)");
  EXPECT_EQ(to_vector<std::int64_t>(out.targets[0].labels), (std::vector<std::int64_t>{1, 2}));
}

void run_resize_boxes(golden::Case& c) {
  const Tensor got = resize_boxes(c.stored("in/boxes"), c.pair("from"), c.pair("to"));
  expect_boxes_close(got, c.stored("out/boxes"), c.name + " boxes");
  // The same through postprocess (torchvision mode): resized size `from`, original size `to`.
  const GeneralizedRCNNTransform transform;
  ImageResize r;
  r.resized = c.pair("from");
  r.original = c.pair("to");
  expect_boxes_close(transform.postprocess_boxes(c.stored("in/boxes"), r), c.stored("out/boxes"),
                     c.name + " postprocess_boxes");
}

TEST(MaskRcnnTransformGolden, EveryCase) {
  golden::run_family("maskrcnn_transform", {
                                               {"rcnn_transform", {6, run_rcnn_transform}},
                                               {"rcnn_transform_target", {1, run_target_resize}},
                                               {"resize_boxes", {1, run_resize_boxes}},
                                           });
  report_worst_pixel_error("maskrcnn_transform.safetensors");
}

// The model's batch in the eval fixture: image 0 = img_0 3x90x120, image 1 = img_1 3x77x103, min/max
// 128/200, ImageNet mean/std, size_divisible 32.
TEST(MaskRcnnTransformGolden, EvalBatch) {
  const io::SafetensorsFile f = fixture::load_fixture("maskrcnn_eval_c91");
  auto at = [&](const std::string& key) -> const Tensor& { return fixture::fixture_tensor(f, key); };
  const std::vector<std::int64_t> sizes = to_vector<std::int64_t>(at("input/sizes"));
  const std::vector<std::int64_t> ns = to_vector<std::int64_t>(at("input/n"));
  ASSERT_EQ(sizes, (std::vector<std::int64_t>{90, 120, 77, 103}));
  ASSERT_EQ(ns, (std::vector<std::int64_t>{0, 1}));
  TransformOptions o;
  o.min_size = 128;
  o.max_size = 200;
  const GeneralizedRCNNTransform transform(o);
  const TransformedBatch out = transform.forward(fixture::formula_batch());

  const std::vector<double> scales = to_vector<double>(at("transform/scale"));
  for (std::size_t i = 0; i < 2; ++i)
    EXPECT_EQ(static_cast<double>(torchvision_resize_scale({sizes[2 * i], sizes[2 * i + 1]}, 128, 200)), scales[i])
        << "image " << i;
  expect_equal_ints(sizes_tensor(out.images.image_sizes), at("transform/image_sizes"), "image_sizes");
  EXPECT_EQ(out.images.image_sizes[1], (ImageSize{127, 171}));  // float32(128/77) * 77 = 127.99999988
  const Shape& s = out.images.tensors.shape();
  expect_equal_ints(from_vector<std::int64_t>({s[0], s[1], s[2], s[3]}, {4}), at("transform/batch_shape"),
                    "batch_shape");
  expect_abs_close(channel_means(out.images.tensors), at("transform/mean"), kMeanAbs, "channel means");
  const Tensor corner = view_meta::narrow(view_meta::narrow(out.images.tensors, 2, 0, 8), 3, 0, 8);
  expect_abs_close(corner, at("transform/slice"), kPixelAbs, "batch[:, :, :8, :8]");
  for (std::int64_t i = 0; i < 2; ++i) {
    // batch[i, :, h-3:h+3, w-3:w+3], clipped to the batch like Python's slicing.
    const ImageSize hw = out.images.image_sizes[static_cast<std::size_t>(i)];
    const std::int64_t y0 = hw[0] - 3, y1 = std::min(hw[0] + 3, s[2]);
    const std::int64_t x0 = hw[1] - 3, x1 = std::min(hw[1] + 3, s[3]);
    const Tensor edge = view_meta::narrow(
        view_meta::narrow(view_meta::squeeze(view_meta::narrow(out.images.tensors, 0, i, 1), 0), 1, y0, y1 - y0), 2, x0,
        x1 - x0);
    expect_abs_close(edge, at("transform/edge/" + std::to_string(i)), kPixelAbs,
                     "edge of image " + std::to_string(i) + " (last rows/columns and padding)");
  }
  report_worst_pixel_error("maskrcnn_eval_c91.safetensors transform/*");
}

// The training targets of the train fixture (float64 boxes and images, uint8 masks), transformed as
// torchvision does in training mode (one min_size: the same resize as eval).
TEST(MaskRcnnTransformGolden, TrainTargets) {
  const io::SafetensorsFile f = fixture::load_fixture("maskrcnn_train");
  auto at = [&](const std::string& key) -> const Tensor& { return fixture::fixture_tensor(f, key); };
  TransformOptions o;
  o.min_size = 128;
  o.max_size = 200;
  const GeneralizedRCNNTransform transform(o);
  std::vector<DetectionTarget> targets;
  for (int i = 0; i < 2; ++i) {
    const std::string p = "train/target/" + std::to_string(i) + "/";
    targets.push_back({at(p + "boxes"), at(p + "labels"), at(p + "masks")});
  }
  const TransformedBatch out = transform.forward(
      {formula_image(0, 90, 120, DType::Float64), formula_image(1, 77, 103, DType::Float64)}, targets);
  ASSERT_EQ(out.targets.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const std::string p = "train/transformed/" + std::to_string(i) + "/";
    expect_boxes_close(out.targets[i].boxes, at(p + "boxes"), p + "boxes");
    expect_equal_ints(out.targets[i].masks, at(p + "masks"), p + "masks");
  }
}

TEST(MaskRcnnTransform, SizesAndScales) {
  EXPECT_EQ(torchvision_resized_size({77, 103}, 128, 200), (ImageSize{127, 171}));
  EXPECT_EQ(torchvision_resized_size({90, 120}, 128, 200), (ImageSize{128, 170}));
  EXPECT_EQ(torchvision_resize_scale({90, 120}, 128, 200), 128.0f / 90.0f);
  EXPECT_EQ(torchvision_resized_size({100, 1000}, 800, 1333), (ImageSize{133, 1333}));  // max_size binds
  // Square: long side -> S, short side rounded half up: 27x37 -> 32 x round(27*32/37 = 23.35) = 23;
  // 16x32 -> S 24: exactly 12; 10x4 -> S 5: 4*5/10 = 2 exactly; 3x2 -> S 3: 2*3/3 = 2; 4x2 -> S 3: 1.5 -> 2.
  EXPECT_EQ(square_resized_size({27, 37}, 32), (ImageSize{23, 32}));
  EXPECT_EQ(square_resized_size({16, 32}, 24), (ImageSize{12, 24}));
  EXPECT_EQ(square_resized_size({10, 4}, 5), (ImageSize{5, 2}));
  EXPECT_EQ(square_resized_size({4, 2}, 3), (ImageSize{3, 2}));
  EXPECT_EQ(square_resized_size({1, 1000}, 32), (ImageSize{1, 32}));  // at least one pixel
}

// Square-centred mode: the network sees an S x S canvas; targets move with the image, and postprocess
// maps detections back (offset removed, scaled, clipped to the original image).
TEST(MaskRcnnTransform, SquareCenteredTargetsAndPostprocessInvert) {
  TransformOptions o;
  o.mode = ResizeMode::Square;
  o.square_side = 40;
  o.square_centered = true;
  const GeneralizedRCNNTransform transform(o);
  std::vector<std::uint8_t> m(2 * 20 * 10, 0);
  for (int y = 4; y < 12; ++y)
    for (int x = 2; x < 8; ++x) m[static_cast<std::size_t>(y * 10 + x)] = 1;  // mask 0: rows 4..11, cols 2..7
  std::vector<std::int64_t> mv(m.begin(), m.end());
  const DetectionTarget target{from_vector<float>({2, 4, 8, 12, 0, 0, 10, 20}, {2, 4}),
                               from_vector<std::int64_t>({1, 1}, {2}), from_vector<std::int64_t>(mv, {2, 20, 10})};
  const TransformedBatch out = transform.forward({formula_image(0, 20, 10)}, {target});
  ASSERT_EQ(out.resizes.size(), 1u);
  const ImageResize& r = out.resizes[0];
  EXPECT_EQ(r.resized, (ImageSize{40, 20}));
  EXPECT_EQ(r.offset, (ImageSize{0, 10}));
  EXPECT_EQ(out.images.image_sizes[0], (ImageSize{40, 40}));
  EXPECT_EQ(out.images.tensors.shape(), (Shape{1, 3, 64, 64}));
  // Boxes: x * 2 + 10, y * 2.
  EXPECT_EQ(to_vector<float>(out.targets[0].boxes), (std::vector<float>{14, 8, 26, 24, 10, 0, 30, 40}));
  // Masks: nearest 2x upscale, placed at column 10 of a 40x40 canvas.
  const Tensor masks = out.targets[0].masks;
  ASSERT_EQ(masks.shape(), (Shape{2, 40, 40}));
  const std::vector<std::int64_t> mm = to_vector<std::int64_t>(masks);
  for (int y = 0; y < 40; ++y)
    for (int x = 0; x < 40; ++x) {
      const bool in0 = y >= 8 && y < 24 && x >= 14 && x < 26;
      ASSERT_EQ(mm[static_cast<std::size_t>(y * 40 + x)], in0 ? 1 : 0) << "mask 0 at " << y << "," << x;
      ASSERT_EQ(mm[static_cast<std::size_t>(1600 + y * 40 + x)], 0) << "mask 1 at " << y << "," << x;
    }
  // Padding left of the image is zero; the image itself is not.
  const std::vector<float> px = to_vector<float>(out.images.tensors);
  EXPECT_EQ(px[static_cast<std::size_t>(5 * 64 + 3)], 0.0f);
  EXPECT_NE(px[static_cast<std::size_t>(5 * 64 + 12)], 0.0f);
  // Postprocess inverts the target mapping, and clips what lies in the padding.
  const Tensor back = transform.postprocess_boxes(out.targets[0].boxes, r);
  golden::expect_close(back, target.boxes, 1e-6, "postprocess of the resized targets");
  const Tensor spill = transform.postprocess_boxes(from_vector<float>({0, -2, 40, 44}, {1, 4}), r);
  EXPECT_EQ(to_vector<float>(spill), (std::vector<float>{0, 0, 10, 20}));
}

TEST(MaskRcnnTransform, BadInputThrowsNamingTheTransform) {
  const GeneralizedRCNNTransform transform;
  auto message_of = [&](const std::vector<Tensor>& images) -> std::string {
    try {
      transform.forward(images);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  const std::string rank = message_of({zeros({1, 3, 8, 8})});
  EXPECT_NE(rank.find("maskrcnn transform"), std::string::npos) << rank;
  EXPECT_NE(rank.find("[3, H, W]"), std::string::npos) << rank;
  const std::string channels = message_of({zeros({1, 8, 8})});
  EXPECT_NE(channels.find("3 channels"), std::string::npos) << channels;
  const std::string empty = message_of({zeros({3, 0, 8})});
  EXPECT_NE(empty.find("non-zero height and width"), std::string::npos) << empty;
  EXPECT_NE(message_of({}).find("at least one image"), std::string::npos);
  EXPECT_NE(message_of({zeros({3, 8, 8}, TensorOptions(DType::Int64))}).find("float32 or float64"), std::string::npos);
  EXPECT_NE(message_of({zeros({3, 8, 8}), zeros({3, 8, 8}, TensorOptions(DType::Float64))}).find("dtype"),
            std::string::npos);
  TransformOptions bad;
  bad.min_size = 0;
  try {
    GeneralizedRCNNTransform t(bad);
    ADD_FAILURE() << "min_size 0 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("maskrcnn transform"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("min_size"), std::string::npos) << e.what();
  }
  TransformOptions sq;
  sq.mode = ResizeMode::Square;
  sq.square_side = -1;
  EXPECT_THROW(GeneralizedRCNNTransform{sq}, Error);
  // One target per image; masks must have the image's size.
  const DetectionTarget t{zeros({1, 4}), from_vector<std::int64_t>({1}, {1}), zeros({1, 5, 5})};
  EXPECT_THROW(transform.forward({zeros({3, 8, 8})}, {t, t}), Error);
  EXPECT_THROW(transform.forward({zeros({3, 8, 8})}, {t}), Error);
}

}  // namespace maskrcnn_transform_test
}  // namespace anima::nets::maskrcnn
