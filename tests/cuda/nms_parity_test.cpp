// CPU vs CUDA: nms / batched_nms keep the same indices in the same order (exact: the CUDA radix sort
// visits boxes in the CPU's order, anima/kernels/nms_math.hpp, and both compute each IoU with the same
// rounding, anima/kernels/box_math.hpp), on random boxes of 10..20000 with and without tied scores,
// identical boxes, NaN coordinates and scores, -0.0 / +0.0 scores (the pieces one by one:
// nms_device_test.cu); the box kernels (IoU, clip: exact; decode/encode: a few ulp of
// exp/log).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/ops/box_ops.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/nms.hpp>

#include "parity.hpp"

namespace anima {
namespace {

const Device kCuda = Device::cuda(0);

// n boxes in a 300x300 square, sides 1..60; scores from `levels` values (ties) or continuous; every
// 10th box a copy of its predecessor (IoU 1).
void random_case(std::int64_t n, int levels, std::uint64_t seed, DType dtype, Tensor& boxes, Tensor& scores) {
  Generator g(seed);
  const auto u = to_vector<double>(rand({n, 5}, TensorOptions(DType::Float64), g));
  std::vector<double> b(4 * n), s(n);
  for (std::int64_t i = 0; i < n; ++i) {
    const double x = 300 * u[5 * i], y = 300 * u[5 * i + 1];
    b[4 * i] = x;
    b[4 * i + 1] = y;
    b[4 * i + 2] = x + 1 + 59 * u[5 * i + 2];
    b[4 * i + 3] = y + 1 + 59 * u[5 * i + 3];
    if (i % 10 == 9)
      for (int k = 0; k < 4; ++k) b[4 * i + k] = b[4 * (i - 1) + k];
    s[i] = levels > 0 ? static_cast<double>(static_cast<int>(u[5 * i + 4] * levels)) / levels : u[5 * i + 4];
  }
  boxes = cast_copy(from_vector(b, {n, 4}), dtype);
  scores = cast_copy(from_vector(s, {n}), dtype);
}

void expect_same_keep(const Tensor& cpu, const Tensor& cuda) {
  ASSERT_TRUE(cuda.device().is_cuda());
  EXPECT_EQ(cuda.dtype(), DType::Int64);
  EXPECT_EQ(to_vector<std::int64_t>(cpu), to_vector<std::int64_t>(cuda));
}

TEST(NmsParity, RandomBoxesWithTies) {
  ANIMA_REQUIRE_CUDA();
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (std::int64_t n : {10, 63, 64, 65, 129, 200, 1000, 5000, 20000}) {
      for (int levels : {0, 5}) {
        SCOPED_TRACE(::testing::Message() << dtype_name(dtype) << " n " << n << " levels " << levels);
        Tensor b, s;
        random_case(n, levels, 77 + static_cast<std::uint64_t>(n), dtype, b, s);
        for (double thr : {0.3, 0.5, 0.7}) {
          const Tensor cpu = nms(b, s, thr);
          expect_same_keep(cpu, nms(device_copy(b, kCuda), device_copy(s, kCuda), thr));
          if (n >= 1000) {
            EXPECT_LT(cpu.numel(), n);
          }
        }
      }
    }
  }
}

TEST(NmsParity, NanAndEmpty) {
  ANIMA_REQUIRE_CUDA();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor b = from_vector<float>({0, 0, 10, 10, nan, 0, 10, 10, 0, 0, 10, 9.5f, 1, 1, 9, 9}, {4, 4});
  const Tensor s = from_vector<float>({0.5f, 0.9f, nan, 0.4f}, {4});
  expect_same_keep(nms(b, s, 0.5), nms(device_copy(b, kCuda), device_copy(s, kCuda), 0.5));
  // -0.0 and +0.0 tie (lowest index first), -NaN sorts first like NaN.
  const Tensor s2 = from_vector<float>({-0.0f, 0.0f, -nan, 0.0f}, {4});
  expect_same_keep(nms(b, s2, 0.5), nms(device_copy(b, kCuda), device_copy(s2, kCuda), 0.5));
  const Tensor s3 = from_vector<float>({0.0f, -0.0f, 0.0f, -0.0f}, {4});
  expect_same_keep(nms(b, s3, 0.3), nms(device_copy(b, kCuda), device_copy(s3, kCuda), 0.3));
  const Tensor e = nms(Tensor::empty({0, 4}, TensorOptions(DType::Float32).with_device(kCuda)),
                       Tensor::empty({0}, TensorOptions(DType::Float32).with_device(kCuda)), 0.5);
  EXPECT_EQ(e.numel(), 0);
  EXPECT_TRUE(e.device().is_cuda());
}

TEST(NmsParity, Batched) {
  ANIMA_REQUIRE_CUDA();
  for (std::int64_t n : {50, 3000}) {
    Tensor b, s;
    random_case(n, 4, 5 + static_cast<std::uint64_t>(n), DType::Float32, b, s);
    Generator g(n);
    const auto u = to_vector<double>(rand({n}, TensorOptions(DType::Float64), g));
    std::vector<std::int64_t> idx(n);
    for (std::int64_t i = 0; i < n; ++i) idx[i] = static_cast<std::int64_t>(u[i] * 6);
    const Tensor ix = from_vector(idx, {n});
    expect_same_keep(batched_nms(b, s, ix, 0.5),
                     batched_nms(device_copy(b, kCuda), device_copy(s, kCuda), device_copy(ix, kCuda), 0.5));
  }
}

TEST(BoxOpsParity, IouDecodeEncodeClip) {
  ANIMA_REQUIRE_CUDA();
  Tensor a, b, s;
  random_case(300, 0, 1, DType::Float32, a, s);
  random_case(200, 0, 2, DType::Float32, b, s);
  // IoU and clip: same formula and rounding (products rounded on their own on the device): exact.
  testing::expect_close("box_iou", box_iou(a, b), box_iou(device_copy(a, kCuda), device_copy(b, kCuda)), {0.0, 0.0});
  testing::expect_close("clip", clip_boxes_to_image(a, {200, 150}),
                        clip_boxes_to_image(device_copy(a, kCuda), {200, 150}), {0.0, 0.0});
  // decode / encode: the device's expf/logf are within 2 ulp of glibc's: 1e-5 relative on box
  // coordinates of ~100 (plus 1e-4 absolute for coordinates near 0).
  const kernels::BoxCoderWeights w{10, 10, 5, 5};
  Generator g(3);
  const Tensor deltas = mul(randn({300, 8}, TensorOptions(DType::Float32), g), 2.0);
  testing::expect_close("decode", box_decode(deltas, a, w),
                        box_decode(device_copy(deltas, kCuda), device_copy(a, kCuda), w), {1e-5, 1e-4});
  const Tensor a2 = slice(a, 0, 0, 200);
  testing::expect_close("encode", box_encode(b, a2, w), box_encode(device_copy(b, kCuda), device_copy(a2, kCuda), w),
                        {1e-5, 1e-5});
}

}  // namespace
}  // namespace anima
