// nms / batched_nms on the CPU: the bitmask algorithm (the CUDA path's, run on the CPU) and the
// vectorised greedy kernel against the greedy reference, the strict threshold, ties, NaN handling, bad arguments. torchvision agreement:
// boxes_golden_test.cpp.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/kernels/cpu/nms.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/nms.hpp>

#include "core/expect_error.hpp"

namespace anima {
namespace {

using testing::expect_error;

Tensor boxes_of(const std::vector<float>& v) {
  return from_vector(v, {static_cast<std::int64_t>(v.size() / 4), 4}, TensorOptions(DType::Float32));
}
Tensor scores_of(const std::vector<float>& v) {
  return from_vector(v, {static_cast<std::int64_t>(v.size())}, TensorOptions(DType::Float32));
}
std::vector<std::int64_t> ints(const Tensor& t) { return to_vector<std::int64_t>(t); }

// n random boxes in a 100x100 square (sides 1..40), scores from `levels` values (ties) or continuous.
void random_case(std::int64_t n, int levels, std::uint64_t seed, std::vector<float>& boxes, std::vector<float>& scores) {
  Generator g(seed);
  const auto u = to_vector<float>(rand({n, 6}, TensorOptions(DType::Float32), g));
  boxes.resize(static_cast<std::size_t>(4 * n));
  scores.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const float x = 100 * u[6 * i], y = 100 * u[6 * i + 1], w = 1 + 39 * u[6 * i + 2], h = 1 + 39 * u[6 * i + 3];
    boxes[4 * i + 0] = x;
    boxes[4 * i + 1] = y;
    boxes[4 * i + 2] = x + w;
    boxes[4 * i + 3] = y + h;
    scores[i] = levels > 0 ? static_cast<float>(static_cast<int>(u[6 * i + 4] * levels)) / levels : u[6 * i + 4];
  }
}

TEST(Nms, MaskAndSortedAlgorithmsMatchGreedy) {
  // Block edges (63, 64, 65, 128, 129) and larger sizes, with and without ties.
  for (std::int64_t n : {1, 2, 63, 64, 65, 128, 129, 500, 2000}) {
    for (int levels : {0, 4}) {
      SCOPED_TRACE(::testing::Message() << "n " << n << " levels " << levels);
      std::vector<float> b, s;
      random_case(n, levels, 1000 + static_cast<std::uint64_t>(n), b, s);
      for (double thr : {0.3, 0.5, 0.7, 0.55}) {
        std::vector<std::int64_t> order(n), keep1(n), keep2(n);
        std::vector<std::pair<float, std::int64_t>> pairs(n);
        kernels::cpu::nms_score_order(s.data(), n, pairs.data(), order.data());
        std::vector<float> areas(n);
        std::vector<std::uint8_t> suppressed(n);
        const std::int64_t c1 =
            kernels::cpu::nms_greedy(b.data(), order.data(), n, thr, areas.data(), suppressed.data(), keep1.data());
        std::vector<float> sorted(4 * n);
        for (std::int64_t p = 0; p < n; ++p)
          for (int k = 0; k < 4; ++k) sorted[4 * p + k] = b[4 * order[p] + k];
        const std::int64_t blocks = kernels::nms_blocks(n);
        std::vector<std::uint64_t> mask(n * blocks, ~std::uint64_t(0)), removed(blocks);  // garbage in unwritten words
        kernels::cpu::nms_mask_blocks(sorted.data(), n, thr, mask.data());
        const std::int64_t c2 = kernels::cpu::nms_reduce_mask(mask.data(), order.data(), n, removed.data(), keep2.data());
        std::vector<float> work(5 * n);
        std::vector<std::int64_t> keep3(n);
        const std::int64_t c3 =
            kernels::cpu::nms_greedy_sorted(b.data(), order.data(), n, thr, work.data(), suppressed.data(), keep3.data());
        keep1.resize(c1);
        keep2.resize(c2);
        keep3.resize(c3);
        EXPECT_EQ(keep1, keep2) << "threshold " << thr;
        EXPECT_EQ(keep1, keep3) << "threshold " << thr;
        if (n >= 64 && thr < 0.4) {
          EXPECT_LT(c1, n) << "the case should suppress something";
        }
      }
    }
  }
}

TEST(Nms, StrictThresholdAndOrder) {
  // IoU of boxes 0 and 1 is exactly 50 / 100 = 0.5.
  const Tensor b = boxes_of({0, 0, 10, 10, 0, 0, 10, 5, 50, 50, 60, 60});
  const Tensor s = scores_of({0.5f, 0.9f, 0.7f});
  EXPECT_EQ(ints(nms(b, s, 0.5)), (std::vector<std::int64_t>{1, 2, 0}));  // IoU == threshold: both kept
  EXPECT_EQ(ints(nms(b, s, 0.49)), (std::vector<std::int64_t>{1, 2}));    // by decreasing score
  EXPECT_EQ(nms(b, s, 0.5).dtype(), DType::Int64);
}

TEST(Nms, TiesVisitLowestIndexFirstAndNanScoresFirst) {
  // Three identical boxes with equal scores: the lowest index survives.
  const Tensor b = boxes_of({0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 10, 20, 20, 30, 30});
  EXPECT_EQ(ints(nms(b, scores_of({0.5f, 0.5f, 0.5f, 0.1f}), 0.5)), (std::vector<std::int64_t>{0, 3}));
  EXPECT_EQ(ints(nms(b, scores_of({0.1f, 0.5f, 0.5f, 0.1f}), 0.5)), (std::vector<std::int64_t>{1, 3}));
  // A NaN score sorts first (torch.sort's rule) and so wins.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(ints(nms(b, scores_of({0.9f, 0.5f, nan, 0.1f}), 0.5)), (std::vector<std::int64_t>{2, 3}));
}

TEST(Nms, NanCoordinatesAreKeptAndSuppressNothing) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor b = boxes_of({0, 0, 10, 10, nan, 0, 10, 10, 0, 0, 10, 9.5f});
  EXPECT_EQ(ints(nms(b, scores_of({0.5f, 0.9f, 0.4f}), 0.5)), (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(ints(nms(b, scores_of({0.1f, 0.9f, 0.4f}), 0.5)), (std::vector<std::int64_t>{1, 2}));
}

TEST(Nms, EmptyAndDeterministic) {
  const Tensor e = nms(Tensor::empty({0, 4}, TensorOptions(DType::Float32)), Tensor::empty({0}, TensorOptions(DType::Float32)), 0.5);
  EXPECT_EQ(e.shape(), (Shape{0}));
  EXPECT_EQ(e.dtype(), DType::Int64);
  std::vector<float> b, s;
  random_case(3000, 5, 7, b, s);
  const Tensor bt = boxes_of(b), st = scores_of(s);
  EXPECT_EQ(ints(nms(bt, st, 0.5)), ints(nms(bt, st, 0.5)));
  // float64 boxes give the same decisions here (no IoU lies within float rounding of 0.5 in this case)
  EXPECT_EQ(ints(nms(cast_copy(bt, DType::Float64), cast_copy(st, DType::Float64), 0.5)), ints(nms(bt, st, 0.5)));
}

TEST(Nms, BatchedKeepsOtherCategories) {
  // Boxes 0 and 1 overlap (IoU 0.81) but are of different categories: both kept; box 2 (category 0)
  // is suppressed by box 0.
  const Tensor b = boxes_of({0, 0, 10, 10, 0, 0, 9, 9, 1, 1, 10, 10, 100, 100, 110, 110});
  const Tensor s = scores_of({0.9f, 0.8f, 0.7f, 0.6f});
  const Tensor idx = from_vector<std::int64_t>({0, 1, 0, 2}, {4});
  EXPECT_EQ(ints(batched_nms(b, s, idx, 0.5)), (std::vector<std::int64_t>{0, 1, 3}));
  EXPECT_EQ(ints(nms(b, s, 0.5)), (std::vector<std::int64_t>{0, 3}));
  // Same category everywhere: plain nms.
  EXPECT_EQ(ints(batched_nms(b, s, from_vector<std::int64_t>({4, 4, 4, 4}, {4}), 0.5)), ints(nms(b, s, 0.5)));
  EXPECT_EQ(batched_nms(Tensor::empty({0, 4}, TensorOptions(DType::Float32)), Tensor::empty({0}, TensorOptions(DType::Float32)),
                        Tensor::empty({0}, TensorOptions(DType::Int64)), 0.5)
                .numel(),
            0);
}

TEST(Nms, BadArguments) {
  const Tensor b = boxes_of({0, 0, 10, 10, 1, 1, 5, 5});
  const Tensor s = scores_of({0.5f, 0.4f});
  expect_error([&] { nms(from_vector<float>({0, 0, 1, 1, 2, 2}, {2, 3}), s, 0.5); }, {"nms", "[K, 4]", "[2, 3]"});
  expect_error([&] { nms(from_vector<float>({0, 0, 1, 1}, {4}), scores_of({1}), 0.5); }, {"nms", "[K, 4]"});
  expect_error([&] { nms(b, scores_of({0.5f, 0.4f, 0.3f}), 0.5); }, {"nms", "scores", "[2]", "[3]"});
  expect_error([&] { nms(b, cast_copy(s, DType::Float64), 0.5); }, {"nms", "dtype"});
  expect_error([&] { nms(cast_copy(b, DType::Int64), s, 0.5); }, {"nms", "float32 or float64"});
  expect_error([&] { nms(b, s, std::numeric_limits<double>::quiet_NaN()); }, {"nms", "iou_threshold is NaN"});
  expect_error([&] { batched_nms(b, s, from_vector<std::int64_t>({0}, {1}), 0.5); }, {"batched_nms", "idxs", "[2]"});
  expect_error([&] { batched_nms(b, s, from_vector<float>({0, 1}, {2}), 0.5); }, {"batched_nms", "int64"});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { batched_nms(boxes_of({0, 0, 10, 10, nan, 1, 5, 5}), s, from_vector<std::int64_t>({0, 1}, {2}), 0.5); },
               {"batched_nms", "NaN"});
}

}  // namespace
}  // namespace anima
