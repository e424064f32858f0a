// nms / batched_nms on the CPU: the bitmask algorithm (the CUDA path's, run on the CPU: mask, host
// reduction, and the device reduction emulated thread by thread with the shared step
// anima/kernels/nms_math.hpp nms_reduce_block_step) and the vectorised greedy kernel against the greedy
// reference; the radix keys of the CUDA sort against nms_score_order; the strict threshold, ties, NaN
// handling, bad arguments. torchvision agreement: boxes_golden_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/kernels/cpu/nms.hpp>
#include <anima/kernels/nms_math.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/nms.hpp>

#include "core/expect_error.hpp"

namespace anima {
namespace nms_test {

using testing::expect_error;

Tensor boxes_of(const std::vector<float>& v) {
  return from_vector(v, {static_cast<std::int64_t>(v.size() / 4), 4}, TensorOptions(DType::Float32));
}
Tensor scores_of(const std::vector<float>& v) {
  return from_vector(v, {static_cast<std::int64_t>(v.size())}, TensorOptions(DType::Float32));
}
std::vector<std::int64_t> ints(const Tensor& t) { return to_vector<std::int64_t>(t); }

// n random boxes in a 100x100 square (sides 1..40), scores from `levels` values (ties) or continuous.
void random_case(std::int64_t n, int levels, std::uint64_t seed, std::vector<float>& boxes,
                 std::vector<float>& scores) {
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

// The device reduction (anima/kernels/cuda/nms.cuh nms_reduce_mask_kernel) run on the CPU with
// `threads` emulated threads, one after another within each column block: the kernel's steps in the
// kernel's order (the barrier between blocks is where one emulated block ends). Garbage in `removed`
// and `keep` beforehand, as on the device. Every thread must return the same count.
std::int64_t reduce_mask_emulated(const std::vector<std::uint64_t>& mask, const std::vector<std::int64_t>& order,
                                  std::int64_t n, int threads, std::vector<std::int64_t>& keep) {
  const std::int64_t blocks = kernels::nms_blocks(n);
  std::vector<std::uint64_t> removed(static_cast<std::size_t>(blocks), 0x5a5a5a5a5a5a5a5aULL);
  keep.assign(static_cast<std::size_t>(n), -7);
  for (int t = 0; t < threads; ++t)
    for (std::int64_t k = t; k < blocks; k += threads) removed[k] = 0;
  std::int64_t count = 0;
  std::uint64_t diag[kernels::kNmsBlock];
  for (std::int64_t c = 0; c < blocks; ++c) {
    const std::int64_t start = c * kernels::kNmsBlock;
    for (int b = 0; b < kernels::kNmsBlock; ++b) diag[b] = start + b < n ? mask[(start + b) * blocks + c] : ~0ULL;
    const std::uint64_t word = removed[c];
    std::int64_t next = -1;
    for (int t = 0; t < threads; ++t) {
      EXPECT_EQ(removed[c], word) << "a thread wrote the current block's word";
      const std::int64_t ct = kernels::nms_reduce_block_step(mask.data(), n, blocks, c, diag, removed[c], t, threads,
                                                             removed.data(), order.data(), keep.data(), count);
      if (t == 0) next = ct;
      EXPECT_EQ(ct, next) << "threads disagree on the count at block " << c;
    }
    count = next;
  }
  keep.resize(static_cast<std::size_t>(count));
  return count;
}

// The visiting order the CUDA sort produces: a stable descending sort of (nms_score_key, index).
template <class T>
std::vector<std::int64_t> key_order(const std::vector<T>& scores) {
  using Key = decltype(kernels::nms_score_key(T(0)));
  std::vector<std::pair<Key, std::int64_t>> p(scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i)
    p[i] = {kernels::nms_score_key(scores[i]), static_cast<std::int64_t>(i)};
  std::stable_sort(p.begin(), p.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::int64_t> order(scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) order[i] = p[i].second;
  return order;
}

template <class T>
std::vector<std::int64_t> reference_order(const std::vector<T>& scores) {
  const auto n = static_cast<std::int64_t>(scores.size());
  std::vector<std::pair<T, std::int64_t>> pairs(scores.size());
  std::vector<std::int64_t> order(scores.size());
  kernels::cpu::nms_score_order(scores.data(), n, pairs.data(), order.data());
  return order;
}

TEST(Nms, MaskAndSortedAlgorithmsMatchGreedy) {
  // Block edges (63, 64, 65, 128, 129) and larger sizes, with and without ties.
  for (std::int64_t n : {1, 2, 63, 64, 65, 127, 128, 129, 500, 2000}) {
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
        const std::int64_t c2 =
            kernels::cpu::nms_reduce_mask(mask.data(), order.data(), n, removed.data(), keep2.data());
        std::vector<float> work(5 * n);
        std::vector<std::int64_t> keep3(n);
        const std::int64_t c3 = kernels::cpu::nms_greedy_sorted(b.data(), order.data(), n, thr, work.data(),
                                                                suppressed.data(), keep3.data());
        keep1.resize(c1);
        keep2.resize(c2);
        keep3.resize(c3);
        EXPECT_EQ(keep1, keep2) << "threshold " << thr;
        EXPECT_EQ(keep1, keep3) << "threshold " << thr;
        for (int threads : {1, 3, 32, 64, 96, 512}) {
          std::vector<std::int64_t> keep4;
          const std::int64_t c4 = reduce_mask_emulated(mask, order, n, threads, keep4);
          EXPECT_EQ(c4, c1) << "threshold " << thr << " threads " << threads;
          EXPECT_EQ(keep1, keep4) << "threshold " << thr << " threads " << threads;
        }
        if (n >= 64 && thr < 0.4) {
          EXPECT_LT(c1, n) << "the case should suppress something";
        }
      }
    }
  }
}

TEST(Nms, DeviceReductionEmulatedOnNanEmptyAndDuplicates) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // n = 0: nothing kept.
  std::vector<std::int64_t> keep;
  EXPECT_EQ(reduce_mask_emulated({}, {}, 0, 32, keep), 0);
  // NaN coordinates (kept, suppress nothing), NaN scores (first), identical boxes (IoU 1) across the
  // 64-box block edge, all in one list of 130 boxes.
  std::vector<float> b, s;
  random_case(130, 3, 99, b, s);
  for (int k = 0; k < 4; ++k) {
    b[4 * 64 + k] = b[4 * 63 + k];    // duplicate across the first block edge
    b[4 * 129 + k] = b[4 * 128 + k];  // and the second
  }
  b[4 * 5] = nan;
  b[4 * 70 + 3] = nan;
  s[7] = nan;
  s[100] = nan;
  s[64] = s[63];
  const std::int64_t n = 130;
  const std::vector<std::int64_t> order = reference_order(s);
  std::vector<float> sorted(4 * n);
  for (std::int64_t p = 0; p < n; ++p)
    for (int k = 0; k < 4; ++k) sorted[4 * p + k] = b[4 * order[p] + k];
  const std::int64_t blocks = kernels::nms_blocks(n);
  for (double thr : {0.0, 0.3, 0.7, 0.99}) {
    std::vector<std::uint64_t> mask(n * blocks, ~std::uint64_t(0));
    kernels::cpu::nms_mask_blocks(sorted.data(), n, thr, mask.data());
    std::vector<float> areas(n);
    std::vector<std::uint8_t> suppressed(n);
    std::vector<std::int64_t> ref(n);
    ref.resize(static_cast<std::size_t>(
        kernels::cpu::nms_greedy(b.data(), order.data(), n, thr, areas.data(), suppressed.data(), ref.data())));
    EXPECT_NE(std::find(ref.begin(), ref.end(), 5), ref.end()) << "a NaN box is kept";
    for (int threads : {1, 2, 32, 256}) {
      EXPECT_EQ(reduce_mask_emulated(mask, order, n, threads, keep), static_cast<std::int64_t>(ref.size()));
      EXPECT_EQ(keep, ref) << "threshold " << thr << " threads " << threads;
    }
  }
}

TEST(Nms, ScoreKeysSortLikeNmsScoreOrder) {
  // NaN of both signs and other payloads, +-0, +-inf, denormals, the extremes and ties, float and double.
  const float fnan = std::numeric_limits<float>::quiet_NaN();
  const float fden = std::numeric_limits<float>::denorm_min();
  const float fmax = std::numeric_limits<float>::max(), finf = std::numeric_limits<float>::infinity();
  std::vector<float> f = {0.5f, -0.0f, fnan, 0.0f,           -fnan, finf, -finf, fden, -fden, fmax, -fmax,
                          0.5f, -0.0f, 0.0f, std::nanf("7"), -1.0f, 1.0f, -1.0f, finf, -finf, fnan, 0.25f};
  EXPECT_EQ(key_order(f), reference_order(f));
  EXPECT_EQ(key_order(f)[0], 2) << "NaN first, lowest index first";
  std::vector<double> d(f.begin(), f.end());
  d.push_back(std::numeric_limits<double>::denorm_min());
  d.push_back(-std::nan("3"));
  d.push_back(1e300);
  EXPECT_EQ(key_order(d), reference_order(d));
  // Random scores with heavy ties and both zero signs.
  std::vector<float> b, s;
  random_case(3000, 7, 5, b, s);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i % 13 == 0) s[i] = -s[i];
    if (i % 17 == 0) s[i] = (i % 2) ? -0.0f : 0.0f;
    if (i % 101 == 0) s[i] = fnan;
  }
  EXPECT_EQ(key_order(s), reference_order(s));
  std::vector<double> sd(s.begin(), s.end());
  EXPECT_EQ(key_order(sd), reference_order(sd));
  // The keys themselves: NaN largest, +inf below it, -0 == +0, order preserved across signs.
  EXPECT_EQ(kernels::nms_score_key(fnan), 0xffffffffu);
  EXPECT_EQ(kernels::nms_score_key(-fnan), 0xffffffffu);
  EXPECT_LT(kernels::nms_score_key(finf), kernels::nms_score_key(fnan));
  EXPECT_EQ(kernels::nms_score_key(-0.0f), kernels::nms_score_key(0.0f));
  EXPECT_EQ(kernels::nms_score_key(-0.0), kernels::nms_score_key(0.0));
  EXPECT_LT(kernels::nms_score_key(-fden), kernels::nms_score_key(0.0f));
  EXPECT_LT(kernels::nms_score_key(0.0f), kernels::nms_score_key(fden));
  EXPECT_LT(kernels::nms_score_key(-2.0), kernels::nms_score_key(-1.0));
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
  const Tensor e =
      nms(Tensor::empty({0, 4}, TensorOptions(DType::Float32)), Tensor::empty({0}, TensorOptions(DType::Float32)), 0.5);
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
  EXPECT_EQ(batched_nms(Tensor::empty({0, 4}, TensorOptions(DType::Float32)),
                        Tensor::empty({0}, TensorOptions(DType::Float32)),
                        Tensor::empty({0}, TensorOptions(DType::Int64)), 0.5)
                .numel(),
            0);
}

// Above torchvision's switch-over (K > 1000 on the CPU) batched_nms runs one nms per category: the
// kept boxes of each category, ordered by decreasing score, equal scores by index (tied scores here).
TEST(Nms, BatchedAboveTheSwitchOverIsOneNmsPerCategory) {
  std::vector<float> b, s;
  random_case(2500, 7, 11, b, s);
  std::vector<std::int64_t> category(s.size());
  for (std::size_t k = 0; k < category.size(); ++k) category[k] = static_cast<std::int64_t>((k * 7919) % 5);
  std::vector<std::int64_t> want;
  for (std::int64_t c = 0; c < 5; ++c) {
    std::vector<float> cb, cs;
    std::vector<std::int64_t> rows;
    for (std::size_t k = 0; k < category.size(); ++k) {
      if (category[k] != c) continue;
      rows.push_back(static_cast<std::int64_t>(k));
      cb.insert(cb.end(), b.begin() + static_cast<std::ptrdiff_t>(4 * k), b.begin() + static_cast<std::ptrdiff_t>(4 * k + 4));
      cs.push_back(s[k]);
    }
    for (const std::int64_t k : ints(nms(boxes_of(cb), scores_of(cs), 0.5))) want.push_back(rows[static_cast<std::size_t>(k)]);
  }
  std::stable_sort(want.begin(), want.end(), [&](std::int64_t x, std::int64_t y) {
    return s[static_cast<std::size_t>(x)] > s[static_cast<std::size_t>(y)] ||
           (s[static_cast<std::size_t>(x)] == s[static_cast<std::size_t>(y)] && x < y);
  });
  const Tensor idx = from_vector<std::int64_t>(category, {static_cast<std::int64_t>(category.size())});
  EXPECT_EQ(ints(batched_nms(boxes_of(b), scores_of(s), idx, 0.5)), want);
  EXPECT_GT(want.size(), 100u);
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
  expect_error(
      [&] {
        batched_nms(boxes_of({0, 0, 10, 10, nan, 1, 5, 5}), s, from_vector<std::int64_t>({0, 1}, {2}), 0.5);
      },
      {"batched_nms", "NaN"});
}

}  // namespace nms_test
}  // namespace anima
