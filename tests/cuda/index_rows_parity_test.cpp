// tests/cuda/index_rows_parity_test.cpp — CPU-vs-CUDA parity of index_select_rows (anima/ops/index_rows.hpp)
// forward and input gradient (duplicates, unselected rows, float32 and float64), and of the
// MultiScaleRoIAlign row bookkeeping built on it with a gap level (zero rows). Skipped without a GPU.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/detection/multiscale_roi_align.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/index_rows.hpp>

#include "core/expect_error.hpp"
#include "parity.hpp"

namespace anima {
namespace {

using testing::expect_parity;
using testing::Tolerance;

// Copies, and a backward that sums the same values in the same (increasing j) order on both backends:
// exact.
constexpr Tolerance kExact{0, 0};

Tensor input(const Shape& s, std::uint64_t seed, DType dtype) {
  Generator g(seed);
  return rand(s, TensorOptions(dtype).with_requires_grad(true), g, -1.0, 1.0);
}

TEST(IndexSelectRowsParity, PermutationsDuplicatesAndGaps) {
  ANIMA_REQUIRE_CUDA();
  struct Case {
    Shape shape;
    std::vector<std::int64_t> idx;
  };
  std::vector<std::int64_t> reverse(300);
  for (std::int64_t j = 0; j < 300; ++j) reverse[static_cast<std::size_t>(j)] = 299 - j;
  const std::vector<Case> cases = {{{5, 3}, {4, 0, 0, 2, 4, 4, 1}},  // duplicates, row 3 unselected
                                   {{300, 8, 7, 7}, reverse},        // a permutation, big rows
                                   {{7, 1}, {6}},                    // one row of one element
                                   {{4, 2, 2}, {}}};                 // empty selection
  for (DType dtype : {DType::Float32, DType::Float64})
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      expect_parity(
          "index_select_rows case " + std::to_string(i) + " " + dtype_name(dtype),
          [&](const std::vector<Tensor>& in) { return index_select_rows(in[0], c.idx); },
          {input(c.shape, 31 + i, dtype)}, kExact);
    }
}

TEST(IndexSelectRowsParity, ScatterRows) {
  ANIMA_REQUIRE_CUDA();
  for (DType dtype : {DType::Float32, DType::Float64}) {
    // Three parts (one empty), rows 6 and 1 unfilled (zeros); then a full permutation of 300 big rows.
    expect_parity(
        std::string("scatter_rows gaps ") + dtype_name(dtype),
        [](const std::vector<Tensor>& in) {
          return scatter_rows(in, {5, 0, 2, 7, 3, 4}, 8);
        },
        {input({2, 3, 2}, 51, dtype), input({0, 3, 2}, 52, dtype), input({4, 3, 2}, 53, dtype)}, kExact);
    std::vector<std::int64_t> perm(300);
    for (std::int64_t j = 0; j < 300; ++j) perm[static_cast<std::size_t>(j)] = (j * 7) % 300;
    expect_parity(
        std::string("scatter_rows permutation ") + dtype_name(dtype),
        [&](const std::vector<Tensor>& in) { return scatter_rows(in, perm, 300); },
        {input({100, 8, 7, 7}, 54, dtype), input({200, 8, 7, 7}, 55, dtype)}, kExact);
  }
}

TEST(IndexSelectRowsParity, MultiScaleRoIAlignGapLevel) {
  ANIMA_REQUIRE_CUDA();
  // Maps "1" (1/8) and "3" (1/32) of a 256 x 256 image: boxes of level 5 have no map (zero rows).
  const std::vector<double> b0 = {0, 0, 500, 500, 10, 10, 60, 70, 0, 0, 250, 250};
  const std::vector<double> b1 = {20, 20, 600, 600, 5, 5, 20, 30};
  detection::MultiScaleRoIAlign pooler({"1", "3"}, {7, 7}, 2);
  // roi_align's own CPU/CUDA tolerance (tests/cuda/roi_align_parity_test.cpp): float32 bilinear sums in a
  // different order; the row moves add nothing.
  expect_parity(
      "MultiScaleRoIAlign gap level",
      [&](const std::vector<Tensor>& in) {
        std::vector<Tensor> boxes = {from_vector<float>(std::vector<float>(b0.begin(), b0.end()), {3, 4}),
                                     from_vector<float>(std::vector<float>(b1.begin(), b1.end()), {2, 4})};
        if (!in[0].device().is_cpu())
          for (auto& b : boxes) b = device_copy(b, in[0].device());
        return pooler.forward({{"1", in[0]}, {"3", in[1]}}, boxes, {{256, 256}, {256, 256}});
      },
      {input({2, 16, 32, 32}, 41, DType::Float32), input({2, 16, 8, 8}, 42, DType::Float32)}, Tolerance{1e-5, 1e-5});
}

TEST(IndexSelectRowsParity, CudaInputHostIndicesErrors) {
  ANIMA_REQUIRE_CUDA();
  const Tensor x = device_copy(zeros({3, 2}), Device::cuda(0));
  testing::expect_error([&] { index_select_rows(x, std::vector<std::int64_t>{3}); },
                        {"index_select_rows", "out of range"});
  testing::expect_error(
      [&] { index_select_rows(x, device_copy(from_vector<std::int64_t>({0}, {1}), Device::cuda(0))); },
      {"index_select_rows", "on the CPU"});
}

}  // namespace
}  // namespace anima
