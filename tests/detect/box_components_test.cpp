// Box ops and the detection components on the CPU: BoxCoder round trip and clip, box_area gradient,
// box op / Matcher / AnchorGenerator argument errors, Matcher by hand, and the invariants of the
// Philox-driven BalancedPositiveNegativeSampler. torchvision agreement: boxes_golden_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <vector>

#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/detection/anchor_generator.hpp>
#include <anima/detection/balanced_sampler.hpp>
#include <anima/detection/box_coder.hpp>
#include <anima/detection/matcher.hpp>
#include <anima/ops/box_ops.hpp>
#include <anima/ops/factory.hpp>

#include "core/expect_error.hpp"

namespace anima {
namespace {

using testing::expect_error;

std::vector<std::int64_t> ints(const Tensor& t) { return to_vector<std::int64_t>(t); }

Tensor random_boxes(std::int64_t n, std::uint64_t seed) {
  Generator g(seed);
  const auto u = to_vector<double>(rand({n, 4}, TensorOptions(DType::Float64), g));
  std::vector<double> b(4 * n);
  for (std::int64_t i = 0; i < n; ++i) {
    b[4 * i] = 50 * u[4 * i];
    b[4 * i + 1] = 50 * u[4 * i + 1];
    b[4 * i + 2] = b[4 * i] + 1 + 30 * u[4 * i + 2];
    b[4 * i + 3] = b[4 * i + 1] + 1 + 30 * u[4 * i + 3];
  }
  return from_vector(b, {n, 4});
}

TEST(BoxCoder, EncodeDecodeRoundTrip) {
  for (const auto& coder : {detection::BoxCoder::rpn(), detection::BoxCoder::roi_heads()}) {
    const Tensor proposals = random_boxes(40, 1), targets = random_boxes(40, 2);
    const Tensor codes = coder.encode_single(targets, proposals);  // [40, 4]
    const Tensor back = coder.decode(codes, {proposals});          // [40, 1, 4]
    ASSERT_EQ(back.shape(), (Shape{40, 1, 4}));
    const auto a = to_vector<double>(back), t = to_vector<double>(targets);
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], t[i], 1e-12) << i;
  }
}

TEST(BoxCoder, DecodeClipsLargeScales) {
  const detection::BoxCoder coder = detection::BoxCoder::rpn();
  const Tensor anchor = from_vector<double>({0, 0, 16, 16}, {1, 4});
  // dw = dh = 100 is clipped to log(1000/16): the box is 1000 wide, centred on the anchor's centre.
  const auto big = to_vector<double>(coder.decode_single(from_vector<double>({0, 0, 100, 100}, {1, 4}), anchor));
  EXPECT_NEAR(big[0], 8 - 500, 1e-9);
  EXPECT_NEAR(big[2], 8 + 500, 1e-9);
  EXPECT_NEAR(big[3] - big[1], 1000, 1e-9);
  // Below the clip nothing changes: dw = 1 -> width 16·e.
  const auto small = to_vector<double>(coder.decode_single(from_vector<double>({0, 0, 1, 0}, {1, 4}), anchor));
  EXPECT_NEAR(small[2] - small[0], 16 * std::exp(1.0), 1e-9);
  EXPECT_NEAR(small[3] - small[1], 16, 1e-12);
}

TEST(BoxCoder, BadArguments) {
  const detection::BoxCoder coder = detection::BoxCoder::roi_heads();
  const Tensor anchors = random_boxes(3, 3);
  expect_error(
      [&] {
        box_decode(from_vector<double>(std::vector<double>(15, 0.0), {3, 5}), anchors, coder.weights());
      },
      {"box_decode", "[3, K*4]", "[3, 5]"});
  expect_error(
      [&] {
        box_decode(Tensor::empty({2, 4}, TensorOptions(DType::Float64)), anchors, coder.weights());
      },
      {"box_decode", "[2, 4]"});
  expect_error([&] { coder.encode_single(random_boxes(3, 4), random_boxes(2, 5)); }, {"box_encode", "pair up"});
  expect_error([&] { coder.decode(from_vector<double>(std::vector<double>(10, 0.0), {10}), {anchors}); },
               {"BoxCoder.decode", "rows"});
}

TEST(BoxOps, AreaIsDifferentiable) {
  Tensor b = random_boxes(5, 6);
  b.set_requires_grad(true);
  const auto r = gradcheck([](const std::vector<Tensor>& in) { return box_area(in[0]); }, {b});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(BoxOps, IouClipRemoveSmall) {
  const Tensor a = from_vector<float>({0, 0, 10, 10, 5, 5, 15, 15}, {2, 4});
  const auto iou = to_vector<float>(box_iou(a, a));
  EXPECT_FLOAT_EQ(iou[0], 1.0f);
  EXPECT_FLOAT_EQ(iou[1], 25.0f / 175.0f);
  EXPECT_EQ(box_iou(a, Tensor::empty({0, 4}, TensorOptions(DType::Float32))).shape(), (Shape{2, 0}));
  // clip: [..., 4] of any rank, x to [0, width], y to [0, height]
  const Tensor c = clip_boxes_to_image(from_vector<float>({-5, 3, 120, 90, 1, -1, 2, 200}, {1, 2, 4}), {80, 100});
  EXPECT_EQ(c.shape(), (Shape{1, 2, 4}));
  EXPECT_EQ(to_vector<float>(c), (std::vector<float>{0, 3, 100, 80, 1, 0, 2, 80}));
  // remove_small_boxes: >= min_size on both sides; a NaN side fails the test
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor s = from_vector<float>({0, 0, 2, 2, 0, 0, 1.9f, 5, 0, 0, nan, 5, 1, 1, 4, 3}, {4, 4});
  EXPECT_EQ(ints(remove_small_boxes(s, 2.0)), (std::vector<std::int64_t>{0, 3}));
  expect_error([&] { box_iou(from_vector<float>({0, 0, 1}, {1, 3}), a); }, {"box_iou", "boxes1", "[K, 4]"});
  expect_error([&] { box_iou(a, cast_copy(a, DType::Float64)); }, {"box_iou", "one dtype"});
  expect_error(
      [&] {
        clip_boxes_to_image(from_vector<float>({0, 0, 1}, {3}), {4, 4});
      },
      {"clip_boxes_to_image", "[..., 4]"});
  expect_error(
      [&] {
        remove_small_boxes(from_vector<float>({0, 0, 1, 1, 2}, {5}), 1.0);
      },
      {"remove_small_boxes", "[K, 4]"});
}

TEST(Matcher, ByHand) {
  // 2 ground truths x 5 predictions
  const Tensor q = from_vector<float>({0.9f, 0.4f, 0.1f, 0.2f, 0.0f,  //
                                       0.1f, 0.6f, 0.2f, 0.25f, 0.0f},
                                      {2, 5});
  const detection::Matcher strict(0.7, 0.3, false), low_quality(0.7, 0.3, true);
  // p0 -> gt 0 (0.9); p1 best 0.6 -> between; p2 0.2 -> below; p3 0.25 -> below; p4 0 -> below
  EXPECT_EQ(ints(strict(q)), (std::vector<std::int64_t>{0, -2, -1, -1, -1}));
  // gt 1's best prediction is p1 (0.6): it gets its match back
  EXPECT_EQ(ints(low_quality(q)), (std::vector<std::int64_t>{0, 1, -1, -1, -1}));
  expect_error([&] { strict(Tensor::empty({0, 5}, TensorOptions(DType::Float32))); }, {"Matcher", "No ground-truth"});
  expect_error([&] { strict(Tensor::empty({2, 0}, TensorOptions(DType::Float32))); }, {"Matcher", "No proposal"});
  expect_error([&] { detection::Matcher(0.3, 0.7); }, {"Matcher", "low_threshold"});
  expect_error([&] { strict(from_vector<float>({1, 2}, {2})); }, {"Matcher", "[G, P]"});
}

TEST(BalancedSampler, CountsSubsetsAndReproducibility) {
  // 30 positives (labels 1..3), 200 negatives, 20 ignored.
  std::vector<std::int64_t> labels(250);
  for (std::size_t i = 0; i < labels.size(); ++i)
    labels[i] = i % 25 < 3 ? static_cast<std::int64_t>(1 + i % 3) : (i % 25 == 3 ? -1 : 0);
  const Tensor l = from_vector(labels, {250});
  const detection::BalancedPositiveNegativeSampler sampler(64, 0.25);  // 16 positives, 48 negatives
  auto draw = [&](std::uint64_t seed) {
    Generator g(seed);
    return sampler({l, l}, g);
  };
  const auto [pos, neg] = draw(11);
  ASSERT_EQ(pos.size(), 2u);
  for (std::size_t img = 0; img < 2; ++img) {
    EXPECT_EQ(pos[img].dtype(), DType::Bool);
    const auto p = to_vector<double>(pos[img]), n = to_vector<double>(neg[img]);
    std::int64_t np = 0, nn = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (p[i] != 0) {
        ++np;
        EXPECT_GE(labels[i], 1) << "a positive sample is not a positive";
      }
      if (n[i] != 0) {
        ++nn;
        EXPECT_EQ(labels[i], 0) << "a negative sample is not a negative";
      }
    }
    EXPECT_EQ(np, 16);
    EXPECT_EQ(nn, 48);
  }
  // the two images draw different subsets (the generator moves on)
  EXPECT_NE(to_vector<double>(pos[0]), to_vector<double>(pos[1]));
  // same seed -> same masks; another seed -> other masks
  const auto again = draw(11), other = draw(12);
  EXPECT_EQ(to_vector<double>(again.first[0]), to_vector<double>(pos[0]));
  EXPECT_EQ(to_vector<double>(again.second[1]), to_vector<double>(neg[1]));
  EXPECT_NE(to_vector<double>(other.first[0]), to_vector<double>(pos[0]));
  EXPECT_NE(to_vector<double>(other.second[0]), to_vector<double>(neg[0]));
}

TEST(BalancedSampler, FewPositivesAreFilledWithNegativesAndUniform) {
  // 3 positives < 16 wanted: all 3 taken, 61 negatives.
  std::vector<std::int64_t> labels(100, 0);
  labels[5] = labels[50] = labels[99] = 1;
  const detection::BalancedPositiveNegativeSampler sampler(64, 0.25);
  Generator g(5);
  const auto [pos, neg] = sampler({from_vector(labels, {100})}, g);
  const auto p = to_vector<double>(pos[0]), n = to_vector<double>(neg[0]);
  EXPECT_EQ(std::count(p.begin(), p.end(), 1.0), 3);
  EXPECT_EQ(std::count(n.begin(), n.end(), 1.0), 61);
  // Uniformity of choose_without_replacement: choosing 1 of 4, 4000 times, each item ~1000 times.
  Generator h(9);
  std::vector<int> hits(4, 0);
  for (int t = 0; t < 4000; ++t) {
    std::vector<std::int64_t> items{0, 1, 2, 3};
    detection::choose_without_replacement(items, 1, h);
    ++hits[items[0]];
  }
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(hits[k], 1000, 120) << k;  // > 4 sigma (sigma = 27)
  expect_error([&] { detection::BalancedPositiveNegativeSampler(8, 1.5); }, {"positive_fraction"});
  expect_error([&] { sampler({from_vector<float>({0, 1}, {2})}); }, {"BalancedPositiveNegativeSampler", "int64"});
}

TEST(AnchorGenerator, MaskRcnnConfigAndErrors) {
  const auto gen = detection::AnchorGenerator::mask_rcnn_config();
  EXPECT_EQ(gen.num_levels(), 5u);
  EXPECT_EQ(gen.num_anchors_per_location(0), 3);
  const std::vector<std::array<std::int64_t, 2>> fs{{200, 200}, {100, 100}, {50, 50}, {25, 25}, {13, 13}};
  const auto per_image = gen(2, {800, 800}, fs);
  ASSERT_EQ(per_image.size(), 2u);
  EXPECT_EQ(per_image[0].shape(), (Shape{3 * (40000 + 10000 + 2500 + 625 + 169), 4}));
  // level 0's first location: the 32-pixel anchors, ratio 0.5 (wide), 1, 2 (tall), centred on (0, 0)
  const auto a = to_vector<float>(slice(per_image[0], 0, 0, 3));
  EXPECT_EQ(a, (std::vector<float>{-23, -11, 23, 11, -16, -16, 16, 16, -11, -23, 11, 23}));
  expect_error(
      [&] {
        gen.anchors({800, 800}, {{200, 200}});
      },
      {"AnchorGenerator", "1 feature maps", "5 anchor levels"});
  expect_error([&] { detection::AnchorGenerator({{32}}, {{0.5}, {1.0}}); }, {"AnchorGenerator", "levels"});
  expect_error([&] { detection::AnchorGenerator({{32}}, {{-1.0}}); }, {"AnchorGenerator", "aspect ratio"});
}

}  // namespace
}  // namespace anima
