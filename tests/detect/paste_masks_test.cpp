// paste_masks_in_image (anima/detection/paste_masks.hpp) against torchvision 0.14's
// roi_heads.paste_masks_in_image (tests/golden/data/detection_losses.safetensors, cases paste_*;
// regenerate: /usr/bin/python3 tools/golden/detection_losses.py), the two CPU kernel versions against
// each other, edge cases (boxes outside the image, no masks, padding 0) and bad inputs.
// Tolerance vs torchvision: torchvision resizes the padded mask with F.interpolate and copies the box
// part; we evaluate the same bilinear taps and weights per pixel (the weights match PyTorch's bit for bit,
// see paste_tap), but PyTorch's vectorised CPU loop adds the four products in its own order: measured
// worst 1.2e-7 (1 ulp, float32) and 9e-16 (float64); tolerances 1e-6 / 1e-12 relative to the scale (<= 1).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/detection/paste_masks.hpp>
#include <anima/kernels/cpu/paste_masks.hpp>
#include <anima/ops/factory.hpp>

#include "core/expect_error.hpp"
#include "golden/golden.hpp"

namespace anima {
namespace {

using testing::expect_error;

TEST(PasteMasksGolden, MatchesTorchvision) {
  int checked = 0;
  for (auto& c : golden::load_family("detection_losses")) {
    if (c.op != "paste_masks_in_image") continue;
    SCOPED_TRACE(c.name);
    const auto size = c.pair("image_size");
    const Tensor out =
        paste_masks_in_image(c.stored("in/masks"), c.stored("in/boxes"), size[0], size[1], c.integer("padding"));
    golden::expect_close(out, c.stored("out"), c.dtype == DType::Float32 ? 1e-6 : 1e-12, c.name);
    // not degenerate: every mask leaves something in the image, and the zero background is there too
    const std::vector<double> v = to_vector<double>(c.stored("out"));
    const std::size_t plane = static_cast<std::size_t>(size[0] * size[1]);
    for (std::size_t r = 0; r < v.size() / plane; ++r) {
      double mx = 0.0;
      for (std::size_t i = 0; i < plane; ++i) mx = std::max(mx, v[r * plane + i]);
      EXPECT_GT(mx, 0.1) << "mask " << r;
    }
    EXPECT_EQ(*std::min_element(v.begin(), v.end()), 0.0);
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

// Random soft masks and boxes (some partly or wholly outside, some tiny or inverted).
struct Problem {
  Tensor masks, boxes;
  std::int64_t h, w;
};

Problem problem(std::int64_t r, std::int64_t m, std::int64_t h, std::int64_t w, DType dtype, std::uint64_t seed) {
  Generator g(seed);
  Problem p{cast_copy(rand({r, 1, m, m}, TensorOptions(DType::Float64), g), dtype), Tensor(), h, w};
  std::vector<double> u = to_vector<double>(rand({r, 4}, TensorOptions(DType::Float64), g));
  std::vector<double> b(static_cast<std::size_t>(4 * r));
  for (std::int64_t i = 0; i < r; ++i) {
    const double x1 = (u[4 * i] * 1.6 - 0.4) * static_cast<double>(w),
                 y1 = (u[4 * i + 1] * 1.6 - 0.4) * static_cast<double>(h);
    b[4 * i] = x1;
    b[4 * i + 1] = y1;
    b[4 * i + 2] = x1 + u[4 * i + 2] * static_cast<double>(w) * 0.7 - (i % 7 == 3 ? 3.0 : 0.0);  // a few inverted
    b[4 * i + 3] = y1 + u[4 * i + 3] * static_cast<double>(h) * 0.7;
  }
  p.boxes = cast_copy(from_vector(b, {r, 4}, TensorOptions(DType::Float64)), dtype);
  return p;
}

template <class T>
void expect_versions_agree(const Problem& p, std::int64_t padding) {
  kernels::PasteMasksGeometry g;
  g.masks = p.masks.shape()[0];
  g.mask_size = p.masks.shape()[2];
  g.padding = padding;
  g.image_h = p.h;
  g.image_w = p.w;
  const std::vector<std::int64_t> boxes = detail::paste_integer_boxes(p.boxes, g);
  std::vector<T> ref(static_cast<std::size_t>(g.masks * p.h * p.w), T(-1)), rows(ref.size(), T(-1));
  kernels::cpu::paste_masks_reference(p.masks.data<T>(), boxes.data(), g, ref.data());
  kernels::cpu::paste_masks_rows(p.masks.data<T>(), boxes.data(), g, rows.data(), default_parallel());
  for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(ref[i], rows[i]) << "element " << i;
  const std::vector<T> op = to_vector<T>(paste_masks_in_image(p.masks, p.boxes, p.h, p.w, padding));
  for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(ref[i], op[i]) << "element " << i;
}

TEST(PasteMasks, ReferenceAndRowsVersionsAreBitwiseEqual) {
  expect_versions_agree<float>(problem(23, 28, 61, 47, DType::Float32, 5), 1);
  expect_versions_agree<double>(problem(17, 7, 30, 38, DType::Float64, 6), 1);
  expect_versions_agree<float>(problem(9, 14, 25, 25, DType::Float32, 7), 0);
  expect_versions_agree<float>(problem(9, 5, 20, 31, DType::Float32, 8), 3);
}

TEST(PasteMasks, BoxOutsideTheImagePastesNothing) {
  const Tensor masks = ones({3, 1, 4, 4});
  const Tensor boxes = from_vector<float>({-30.f, 2.f, -12.f, 8.f,  // left of the image
                                           3.f, 25.f, 9.f, 40.f,    // below it
                                           2.f, 3.f, 10.f, 12.f},   // inside
                                          {3, 4});
  const std::vector<float> out = to_vector<float>(paste_masks_in_image(masks, boxes, 20, 16));
  for (std::size_t i = 0; i < 2 * 20 * 16; ++i) ASSERT_EQ(out[i], 0.f) << "element " << i;
  float inside = 0.f;
  for (std::size_t i = 2 * 20 * 16; i < out.size(); ++i) inside += out[i];
  EXPECT_GT(inside, 10.f);
}

TEST(PasteMasks, NoMasks) {
  const Tensor out = paste_masks_in_image(zeros({0, 1, 28, 28}), zeros({0, 4}), 10, 12);
  EXPECT_EQ(out.shape(), (Shape{0, 1, 10, 12}));
}

// A constant mask of 1 pasted with padding 0 fills its integer box exactly (bilinear of a constant).
TEST(PasteMasks, ConstantMaskFillsItsBox) {
  const Tensor out =
      paste_masks_in_image(ones({1, 1, 6, 6}), from_vector<float>({2.f, 3.f, 9.f, 7.f}, {1, 4}), 12, 14, 0);
  const std::vector<float> v = to_vector<float>(out);
  for (std::int64_t y = 0; y < 12; ++y)
    for (std::int64_t x = 0; x < 14; ++x)
      EXPECT_EQ(v[static_cast<std::size_t>(y * 14 + x)], (y >= 3 && y <= 7 && x >= 2 && x <= 9) ? 1.f : 0.f)
          << y << ", " << x;
}

TEST(PasteMasks, BadInputs) {
  const Tensor masks = ones({2, 1, 5, 5}), boxes = zeros({2, 4});
  expect_error([&] { paste_masks_in_image(ones({2, 5, 5}), boxes, 8, 8); }, {"paste_masks_in_image", "[R, 1, M, M]"});
  expect_error(
      [&] {
        paste_masks_in_image(ones({2, 1, 5, 4}), boxes, 8, 8);
      },
      {"paste_masks_in_image", "[R, 1, M, M]"});
  expect_error(
      [&] {
        paste_masks_in_image(masks, zeros({3, 4}), 8, 8);
      },
      {"paste_masks_in_image", "boxes must be [R, 4]"});
  expect_error([&] { paste_masks_in_image(masks, boxes, 0, 8); }, {"paste_masks_in_image", "image size"});
  expect_error([&] { paste_masks_in_image(masks, boxes, 8, 8, -1); }, {"paste_masks_in_image", "padding"});
  expect_error(
      [&] {
        paste_masks_in_image(masks, zeros({2, 4}, TensorOptions(DType::Int64)), 8, 8);
      },
      {"paste_masks_in_image", "boxes", "float32 or float64"});
  expect_error(
      [&] {
        paste_masks_in_image(masks, from_vector<float>({0, 0, 1, 1, 0, NAN, 2, 2}, {2, 4}), 8, 8);
      },
      {"paste_masks_in_image", "box 1 coordinate 1", "finite"});
}

}  // namespace
}  // namespace anima
