// concat / split (anima/ops/concat.hpp): values, views, gradients (gradcheck float64), errors.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/ops/concat.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/view.hpp>

#include "expect_error.hpp"

namespace anima {
namespace {

using anima::testing::expect_error;

Tensor f64(const Shape& s, std::uint64_t seed, bool grad = true) {
  Generator g(seed);
  return rand(s, TensorOptions(DType::Float64).with_requires_grad(grad), g, -1, 1);
}

Tensor iota(const Shape& s, double start) {
  std::vector<double> v(static_cast<std::size_t>(numel_of(s)));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = start + static_cast<double>(i);
  return from_vector(v, s, TensorOptions(DType::Float64));
}

TEST(Concat, Values) {
  Tensor a = iota({2, 2}, 0), b = iota({2, 3}, 10), c = iota({1, 2}, 20);
  EXPECT_EQ(to_vector<double>(concat({a, b}, 1)), (std::vector<double>{0, 1, 10, 11, 12, 2, 3, 13, 14, 15}));
  EXPECT_EQ(to_vector<double>(concat({a, c}, 0)), (std::vector<double>{0, 1, 2, 3, 20, 21}));
  EXPECT_EQ(concat({a, b}, -1).shape(), (Shape{2, 5}));
  // A non-contiguous input (transposed) and an empty piece.
  Tensor t = transpose(iota({2, 2}, 0), 0, 1);
  EXPECT_EQ(to_vector<double>(concat({t, iota({0, 2}, 0), a}, 0)), (std::vector<double>{0, 2, 1, 3, 0, 1, 2, 3}));
  EXPECT_EQ(to_vector<double>(concat({a}, 0)), to_vector<double>(a));
  // Other dtypes are copied as bytes.
  Tensor i = from_vector(std::vector<std::int64_t>{1, 2}, {2});
  EXPECT_EQ(to_vector<std::int64_t>(concat({i, i}, 0)), (std::vector<std::int64_t>{1, 2, 1, 2}));
}

TEST(Concat, Gradcheck) {
  Tensor a = f64({2, 3, 4}, 1), b = f64({2, 1, 4}, 2), c = f64({2, 2, 4}, 3);
  auto r = gradcheck([](const std::vector<Tensor>& in) { return concat(in, 1); }, {a, b, c});
  EXPECT_TRUE(r.ok) << r.report;
  Tensor d = f64({3, 3, 4}, 4);
  r = gradcheck([](const std::vector<Tensor>& in) { return concat({in[0], in[1]}, 0); }, {a, d});
  EXPECT_TRUE(r.ok) << r.report;
  // One input without grad.
  Tensor e = f64({2, 3, 5}, 5, false);
  r = gradcheck([](const std::vector<Tensor>& in) { return concat({in[0], in[1]}, 2); }, {a, e});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(Split, ByIntAndListAreViews) {
  Tensor x = iota({7, 2}, 0);
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

TEST(Split, Gradcheck) {
  Tensor x = f64({5, 3}, 6);
  auto r = gradcheck([](const std::vector<Tensor>& in) {
    auto p = split(in[0], 2, 0);  // [2, 3] [2, 3] [1, 3]
    return concat({mul(p[0], p[1]), p[2], p[0]}, 0);
  }, {x});
  EXPECT_TRUE(r.ok) << r.report;
  r = gradcheck([](const std::vector<Tensor>& in) {
    auto p = split(in[0], std::vector<std::int64_t>{1, 2}, 1);  // [5, 1] [5, 2]
    return mul(p[1], p[0]);
  }, {x});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(ConcatSplit, Errors) {
  expect_error([] { concat({}, 0); }, {"anima::concat", "non-empty"});
  expect_error([] { concat({zeros({2, 3}), zeros({3, 3})}, 1); }, {"anima::concat", "[2, 3]", "[3, 3]", "dim 1"});
  expect_error([] { concat({zeros({2, 3}), zeros({2, 3, 1})}, 0); }, {"anima::concat", "[2, 3, 1]"});
  expect_error([] { concat({zeros({2}), zeros({2}, DType::Float64)}, 0); }, {"anima::concat", "float64"});
  expect_error([] { concat({zeros({2})}, 1); }, {"anima::concat", "dim 1", "[2]"});
  float buf[2] = {};
  Tensor fake = view_of_buffer(buf, {2}, Device::cuda(0));
  expect_error([&] { concat({zeros({2}), fake}, 0); }, {"anima::concat", "cuda"});
  expect_error([] { split(zeros({5, 2}), std::vector<std::int64_t>{2, 2}, 0); }, {"anima::split", "4", "[5, 2]"});
  expect_error([] { split(zeros({5, 2}), std::vector<std::int64_t>{6, -1}, 0); }, {"anima::split", "negative"});
  expect_error([] { split(zeros({5, 2}), 0, 0); }, {"anima::split", "positive", "[5, 2]"});
  expect_error([] { split(zeros({5, 2}), 2, 2); }, {"anima::split", "dim 2"});
}

}  // namespace
}  // namespace anima
