// CPU-vs-CUDA parity of paste_masks_in_image (anima/detection/paste_masks.hpp) and of the detection
// losses (anima/detection/losses.hpp: rpn_loss, fastrcnn_loss, mask_targets, maskrcnn_loss), forward and
// gradients (skipped without a CUDA device).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/detection/losses.hpp>
#include <anima/detection/paste_masks.hpp>
#include <anima/ops/factory.hpp>

#include "parity.hpp"

namespace anima {
namespace {

using testing::expect_parity;
using testing::Tolerance;

Tensor uniform(const Shape& s, std::uint64_t seed, double lo, double hi, DType dtype = DType::Float32,
               bool grad = false) {
  Generator g(seed);
  Tensor t = cast_copy(rand(s, TensorOptions(DType::Float64), g, lo, hi), dtype);
  if (grad) t.set_requires_grad(true);
  return t;
}

// Boxes (x1, y1, x2, y2) over a w x h image, some crossing its borders, some wholly outside, one inverted.
Tensor boxes_over(std::int64_t r, std::int64_t h, std::int64_t w, std::uint64_t seed, DType dtype) {
  const std::vector<double> u = to_vector<double>(uniform({r, 4}, seed, 0.0, 1.0, DType::Float64));
  std::vector<double> b(static_cast<std::size_t>(4 * r));
  for (std::int64_t i = 0; i < r; ++i) {
    const double x1 = (u[4 * i] * 1.5 - 0.3) * static_cast<double>(w),
                 y1 = (u[4 * i + 1] * 1.5 - 0.3) * static_cast<double>(h);
    b[4 * i] = x1;
    b[4 * i + 1] = y1;
    b[4 * i + 2] = x1 + 1.0 + u[4 * i + 2] * static_cast<double>(w) * 0.6 - (i == 2 ? 30.0 : 0.0);
    b[4 * i + 3] = y1 + 1.0 + u[4 * i + 3] * static_cast<double>(h) * 0.6;
  }
  return cast_copy(from_vector(b, {r, 4}, TensorOptions(DType::Float64)), dtype);
}

// Same integer boxes (computed on the host for both) and the same bilinear expressions; nvcc may fuse
// the products of a sample into FMAs (and the source coordinate (dst + 0.5)·ratio - 0.5), which moves a
// value by a few ulps of its magnitude (<= 1): float32 1e-5 absolute, float64 1e-12.
TEST(CudaParity, PasteMasksInImage) {
  ANIMA_REQUIRE_CUDA();
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const Tolerance tol = dtype == DType::Float32 ? Tolerance{1e-5, 1e-5} : Tolerance{1e-12, 1e-12};
    for (std::int64_t padding : {1, 0, 2}) {
      const std::string name = std::string("paste_masks ") + dtype_name(dtype) + " padding " + std::to_string(padding);
      const Tensor masks = uniform({37, 1, 28, 28}, 3, 0.0, 1.0, dtype), boxes = boxes_over(37, 120, 150, 4, dtype);
      expect_parity(
          name, [&](const std::vector<Tensor>& in) { return paste_masks_in_image(in[0], in[1], 120, 150, padding); },
          {masks, boxes}, tol);
    }
  }
  const Tensor none = paste_masks_in_image(device_copy(zeros({0, 1, 28, 28}), Device::cuda(0)),
                                           device_copy(zeros({0, 4}), Device::cuda(0)), 8, 9);
  EXPECT_EQ(none.shape(), (Shape{0, 1, 8, 9}));
  EXPECT_TRUE(none.device().is_cuda());
}

// The losses are composites of elementwise ops, log_softmax, reductions and (for the mask targets)
// roi_align; the sums (up to ~9000 terms) are ordered differently on the two backends, exp/log differ by
// <= 2 ulps: float32 1e-5 relative, 1e-6 absolute (as tests/cuda/loss_parity_test.cpp).
constexpr Tolerance kLoss{1e-5, 1e-6};

Tensor on(const Tensor& t, const Tensor& like) { return like.device().is_cpu() ? t : device_copy(t, like.device()); }

TEST(CudaParity, RpnLoss) {
  ANIMA_REQUIRE_CUDA();
  const std::int64_t a = 700;
  const Tensor obj = uniform({a, 1}, 11, -4, 4, DType::Float32, true);
  const Tensor deltas = uniform({a, 4}, 12, -1, 1, DType::Float32, true);
  const Tensor targets = uniform({a, 4}, 13, -1, 1);
  std::vector<float> labels(static_cast<std::size_t>(a));
  std::vector<std::int64_t> pos, neg;
  for (std::int64_t i = 0; i < a; ++i) {
    labels[i] = i % 9 == 0 ? 1.f : (i % 5 == 0 ? -1.f : 0.f);
    if (labels[i] == 1.f && i % 2 == 0) pos.push_back(i);
    if (labels[i] == 0.f && i % 3 == 0) neg.push_back(i);
  }
  const Tensor lab = from_vector(labels, {a});
  const std::int64_t np = static_cast<std::int64_t>(pos.size()), nn = static_cast<std::int64_t>(neg.size());
  for (int which = 0; which < 2; ++which)
    expect_parity(
        which == 0 ? "rpn_loss objectness" : "rpn_loss box",
        [&](const std::vector<Tensor>& in) {
          const TensorOptions i64 = TensorOptions(DType::Int64).with_device(in[0].device());
          const RpnLoss l = rpn_loss(in[0], in[1], on(lab, in[0]), on(targets, in[0]), from_vector(pos, {np}, i64),
                                     from_vector(neg, {nn}, i64));
          return which == 0 ? l.objectness : l.box_reg;
        },
        {obj, deltas}, kLoss);
}

TEST(CudaParity, FastRcnnLoss) {
  ANIMA_REQUIRE_CUDA();
  const std::int64_t n = 512, c = 5;
  const Tensor logits = uniform({n, c}, 21, -3, 3, DType::Float32, true);
  const Tensor box = uniform({n, 4 * c}, 22, -1, 1, DType::Float32, true);
  const Tensor targets = uniform({n, 4}, 23, -1, 1);
  std::vector<std::int64_t> labels(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) labels[i] = i % 4 == 0 ? (i / 4) % c : 0;
  for (int which = 0; which < 2; ++which)
    expect_parity(
        which == 0 ? "fastrcnn_loss classifier" : "fastrcnn_loss box",
        [&](const std::vector<Tensor>& in) {
          const FastRcnnLoss l = fastrcnn_loss(
              in[0], in[1], from_vector(labels, {n}, TensorOptions(DType::Int64).with_device(in[0].device())),
              on(targets, in[0]));
          return which == 0 ? l.classifier : l.box_reg;
        },
        {logits, box}, kLoss);
}

// Two images: rectangles as ground-truth masks, proposals crossing their edges.
TEST(CudaParity, MaskTargetsAndMaskLoss) {
  ANIMA_REQUIRE_CUDA();
  const std::int64_t g = 3, h = 64, w = 80, p0 = 7, p1 = 5, c = 3, m = 28;
  std::vector<float> gm(static_cast<std::size_t>(g * h * w), 0.f);
  for (std::int64_t k = 0; k < g; ++k)
    for (std::int64_t y = 5 + 7 * k; y < 40 + 6 * k; ++y)
      for (std::int64_t x = 10 + 9 * k; x < 50 + 5 * k; ++x) gm[static_cast<std::size_t>((k * h + y) * w + x)] = 1.f;
  const Tensor gt_masks = from_vector(gm, {g, h, w});
  const Tensor props0 = boxes_over(p0, h, w, 31, DType::Float32), props1 = boxes_over(p1, h, w, 32, DType::Float32);
  const std::vector<std::int64_t> idx0 = {0, 1, 2, 2, 1, 0, 1}, idx1 = {2, 0, 1, 1, 0};
  const std::vector<std::int64_t> labels = {1, 2, 1};
  expect_parity(
      "mask_targets",
      [&](const std::vector<Tensor>& in) {
        return mask_targets(in[0], in[1],
                            from_vector(idx0, {p0}, TensorOptions(DType::Int64).with_device(in[0].device())), m);
      },
      {gt_masks, props0}, kLoss);
  const Tensor logits = uniform({p0 + p1, c, m, m}, 33, -3, 3, DType::Float32, true);
  expect_parity(
      "maskrcnn_loss",
      [&](const std::vector<Tensor>& in) {
        const TensorOptions i64 = TensorOptions(DType::Int64).with_device(in[0].device());
        const Tensor gl = from_vector(labels, {g}, i64), gmk = on(gt_masks, in[0]);
        return maskrcnn_loss(in[0], {on(props0, in[0]), on(props1, in[0])}, {gmk, gmk}, {gl, gl},
                             {from_vector(idx0, {p0}, i64), from_vector(idx1, {p1}, i64)});
      },
      {logits}, kLoss);
}

}  // namespace
}  // namespace anima
