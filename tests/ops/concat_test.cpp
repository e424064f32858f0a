// concat / split (anima/ops/concat.hpp) on every backend: values, views, float32 against the float64
// reference (exact copies), gradients (gradcheck float64), errors.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include <anima/ops/concat.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/view.hpp>

#include "ops/backend_harness.hpp"

namespace anima {
namespace {

using namespace testing;  // tests/ops/backend_harness.hpp and the helpers it includes

ANIMA_BACKEND_SUITE(Concat);
ANIMA_BACKEND_SUITE(Split);
ANIMA_BACKEND_SUITE(ConcatSplit);

// start, start + 1, ... as float64 in shape s, with options o (the device).
Tensor iota(const Shape& s, double start, TensorOptions o) {
  std::vector<double> v(static_cast<std::size_t>(numel_of(s)));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = start + static_cast<double>(i);
  return from_vector(v, s, o);
}

TEST_P(Concat, Values) {
  Tensor a = iota({2, 2}, 0, options()), b = iota({2, 3}, 10, options()), c = iota({1, 2}, 20, options());
  EXPECT_EQ(to_vector<double>(concat({a, b}, 1)), (std::vector<double>{0, 1, 10, 11, 12, 2, 3, 13, 14, 15}));
  EXPECT_EQ(to_vector<double>(concat({a, c}, 0)), (std::vector<double>{0, 1, 2, 3, 20, 21}));
  EXPECT_EQ(concat({a, b}, -1).shape(), (Shape{2, 5}));
  // A non-contiguous input (transposed) and an empty piece.
  Tensor t = transpose(iota({2, 2}, 0, options()), 0, 1);
  EXPECT_EQ(to_vector<double>(concat({t, iota({0, 2}, 0, options()), a}, 0)),
            (std::vector<double>{0, 2, 1, 3, 0, 1, 2, 3}));
  EXPECT_EQ(to_vector<double>(concat({a}, 0)), to_vector<double>(a));
  // Other dtypes are copied as bytes.
  Tensor i = from_vector(std::vector<std::int64_t>{1, 2}, {2}, options());
  EXPECT_EQ(to_vector<std::int64_t>(concat({i, i}, 0)), (std::vector<std::int64_t>{1, 2, 1, 2}));
}

TEST_P(Concat, Gradcheck) {
  Tensor a = uniform64({2, 3, 4}, 1), b = uniform64({2, 1, 4}, 2), c = uniform64({2, 2, 4}, 3);
  expect_gradcheck("dim 1", [](const std::vector<Tensor>& in) { return concat(in, 1); }, {a, b, c});
  Tensor d = uniform64({3, 3, 4}, 4);
  expect_gradcheck("dim 0", [](const std::vector<Tensor>& in) { return concat({in[0], in[1]}, 0); }, {a, d});
  // One input without grad.
  Tensor e = uniform64({2, 3, 5}, 5, -1, 1, false);
  expect_gradcheck("dim 2, one input without grad",
                   [](const std::vector<Tensor>& in) {
                     return concat({in[0], in[1]}, 2);
                   },
                   {a, e});
}

TEST_P(Concat, Float32MatchesFloat64Reference) {
  // Copies: exact, forward and backward (each gradient element is one slice of g).
  const Tensor a = uniform({2, 3, 5}, 5), b = uniform({2, 4, 5}, 6), c = uniform({2, 1, 5}, 7);
  expect_matches_reference(
      "concat dim 1", [](auto& in) { return concat(in, 1); }, {a, b, c}, testing::kExact);
  const Tensor d = uniform({3, 3, 5}, 8);
  expect_matches_reference(
      "concat dim 0",
      [](auto& in) {
        return concat({in[0], in[1]}, 0);
      },
      {a, d}, testing::kExact);
  // split's pieces, one multiplied by another: one float rounding forward, and p[0]'s gradient adds two
  // rounded terms: 3e-7 of the scale.
  const Tensor e = uniform({2, 5, 5}, 9);
  expect_matches_reference(
      "split",
      [](auto& in) {
        auto p = split(in[0], 2, 1);  // [2,2,5] [2,2,5] [2,1,5] of e
        return concat({p[2], p[0], mul(p[1], p[0])}, 1);
      },
      {e}, Tolerance{3e-7});
}

TEST_P(Split, ByIntAndListAreViews) {
  Tensor x = iota({7, 2}, 0, options());
  auto parts = split(x, 3, 0);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(parts[2].shape(), (Shape{1, 2}));
  EXPECT_EQ(to_vector<double>(parts[1]), (std::vector<double>{6, 7, 8, 9, 10, 11}));
  for (const auto& p : parts) EXPECT_EQ(p.storage(), x.storage());
  auto listed = split(x, std::vector<std::int64_t>{1, 0, 6}, 0);
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[1].shape(), (Shape{0, 2}));
  EXPECT_EQ(to_vector<double>(listed[0]), (std::vector<double>{0, 1}));
  auto cols = split(x, 1, -1);
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(to_vector<double>(cols[1]), (std::vector<double>{1, 3, 5, 7, 9, 11, 13}));
  EXPECT_EQ(split(x, 10, 0).size(), 1u);
  EXPECT_EQ(to_vector<double>(concat(split(x, 2, 0), 0)), to_vector<double>(x));
}

TEST_P(Split, Gradcheck) {
  Tensor x = uniform64({5, 3}, 6);
  expect_gradcheck("by size",
                   [](const std::vector<Tensor>& in) {
                     auto p = split(in[0], 2, 0);  // [2, 3] [2, 3] [1, 3]
                     return concat({mul(p[0], p[1]), p[2], p[0]}, 0);
                   },
                   {x});
  expect_gradcheck("by sizes",
                   [](const std::vector<Tensor>& in) {
                     auto p = split(in[0], std::vector<std::int64_t>{1, 2}, 1);  // [5, 1] [5, 2]
                     return mul(p[1], p[0]);
                   },
                   {x});
}

TEST_P(ConcatSplit, Errors) {
  expect_error([&] { concat({}, 0); }, {"anima::concat", "non-empty"});
  expect_error(
      [&] {
        concat({zeros({2, 3}, options()), zeros({3, 3}, options())}, 1);
      },
      {"anima::concat", "[2, 3]", "[3, 3]", "dim 1"});
  expect_error(
      [&] {
        concat({zeros({2, 3}, options()), zeros({2, 3, 1}, options())}, 0);
      },
      {"anima::concat", "[2, 3, 1]"});
  expect_error(
      [&] {
        concat({zeros({2}, options()), zeros({2}, options(DType::Float64))}, 0);
      },
      {"anima::concat", "float64"});
  expect_error([&] { concat({zeros({2}, options())}, 1); }, {"anima::concat", "dim 1", "[2]"});
  const Tensor elsewhere = foreign({2});
  expect_error([&] { concat({zeros({2}, options()), elsewhere}, 0); }, {"anima::concat", "cuda"});
  expect_error(
      [&] {
        split(zeros({5, 2}, options()), std::vector<std::int64_t>{2, 2}, 0);
      },
      {"anima::split", "4", "[5, 2]"});
  expect_error(
      [&] {
        split(zeros({5, 2}, options()), std::vector<std::int64_t>{6, -1}, 0);
      },
      {"anima::split", "negative"});
  expect_error([&] { split(zeros({5, 2}, options()), 0, 0); }, {"anima::split", "positive", "[5, 2]"});
  expect_error([&] { split(zeros({5, 2}, options()), 2, 2); }, {"anima::split", "dim 2"});
}

}  // namespace
}  // namespace anima
