// tests/detect/index_rows_test.cpp — index_select_rows and scatter_rows (anima/ops/index_rows.hpp):
// forward against plain loops, the CSR inverse, gradcheck in float64 (duplicate and unselected rows;
// several parts and unfilled rows), the index_add backward against a sequential loop (bitwise), bad input.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/index_rows.hpp>
#include <anima/ops/view.hpp>
#include "core/expect_error.hpp"

namespace anima {
namespace {

using testing::contains;
using testing::error_of;

TEST(IndexSelectRows, MatchesLoop) {
  Generator gen(3);
  const Tensor x = randn({5, 2, 3}, TensorOptions(DType::Float32), gen);
  const std::vector<std::int64_t> idx = {4, 0, 0, 2, 4, 1};
  const Tensor y = index_select_rows(x, idx);
  ASSERT_EQ(y.shape(), (Shape{6, 2, 3}));
  const auto xv = to_vector<float>(x), yv = to_vector<float>(y);
  for (std::size_t j = 0; j < idx.size(); ++j)
    for (std::size_t c = 0; c < 6; ++c)
      EXPECT_EQ(yv[j * 6 + c], xv[static_cast<std::size_t>(idx[j]) * 6 + c]) << j << " " << c;
  // The tensor-index overload and a non-contiguous input give the same rows.
  const Tensor y2 = index_select_rows(x, from_vector<std::int64_t>(idx, {6}));
  EXPECT_EQ(to_vector<float>(y2), yv);
  const Tensor xt = transpose(x, 1, 2);  // [5, 3, 2], not contiguous
  const Tensor y3 = index_select_rows(xt, idx);
  const auto xtv = to_vector<float>(contiguous_copy(xt)), y3v = to_vector<float>(y3);
  for (std::size_t j = 0; j < idx.size(); ++j)
    for (std::size_t c = 0; c < 6; ++c) EXPECT_EQ(y3v[j * 6 + c], xtv[static_cast<std::size_t>(idx[j]) * 6 + c]);
  // Empty selection.
  EXPECT_EQ(index_select_rows(x, std::vector<std::int64_t>{}).shape(), (Shape{0, 2, 3}));
}

TEST(IndexSelectRows, InverseCsr) {
  std::vector<std::int64_t> out = {99};  // appended after what is there
  detail::invert_rows_csr({2, 0, 2, 3, 0}, 5, out);
  // ptr [6]: row 0 <- j {1, 4}, row 1 <- {}, row 2 <- {0, 2}, row 3 <- {3}, row 4 <- {}
  EXPECT_EQ(out, (std::vector<std::int64_t>{99, 0, 2, 2, 4, 5, 5, 1, 4, 0, 2, 3}));
}

TEST(IndexSelectRows, Gradcheck) {
  Generator gen(5);
  Tensor x = randn({4, 3}, TensorOptions(DType::Float64), gen);
  x.set_requires_grad(true);
  const std::vector<std::int64_t> idx = {3, 1, 3, 3, 0};  // duplicates; row 2 unselected
  auto r = gradcheck([&](const std::vector<Tensor>& in) { return index_select_rows(in[0], idx); }, {x});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(IndexSelectRows, BackwardIsSequentialIndexAdd) {
  Generator gen(7);
  Tensor x = randn({6, 5}, TensorOptions(DType::Float32), gen);
  x.set_requires_grad(true);
  const std::vector<std::int64_t> idx = {5, 2, 5, 0, 5, 2, 1};
  const Tensor g = randn({7, 5}, TensorOptions(DType::Float32), gen);
  backward(index_select_rows(x, idx), g);
  ASSERT_TRUE(x.grad().defined());
  const auto gv = to_vector<float>(g);
  std::vector<float> want(30, 0.0f);
  for (std::size_t j = 0; j < idx.size(); ++j)
    for (std::size_t c = 0; c < 5; ++c) want[static_cast<std::size_t>(idx[j]) * 5 + c] += gv[j * 5 + c];
  EXPECT_EQ(to_vector<float>(x.grad()), want);  // same summation order: bitwise
}

TEST(IndexSelectRows, Errors) {
  const Tensor x = zeros({3, 2});
  EXPECT_TRUE(contains(error_of([&] { index_select_rows(x, std::vector<std::int64_t>{0, 3}); }), "out of range"));
  EXPECT_TRUE(contains(error_of([&] { index_select_rows(x, std::vector<std::int64_t>{-1}); }), "[0, 3)"));
  EXPECT_TRUE(contains(error_of([&] { index_select_rows(x, from_vector<float>({0, 1}, {2})); }), "int64"));
  EXPECT_TRUE(contains(error_of([&] { index_select_rows(x, from_vector<std::int64_t>({0, 1}, {1, 2})); }), "[M]"));
  EXPECT_TRUE(contains(error_of([&] {
                         index_select_rows(from_vector<std::int64_t>({1, 2}, {2}), std::vector<std::int64_t>{0});
                       }),
                       "float32 or float64"));
  EXPECT_TRUE(contains(error_of([&] {
                         index_select_rows(zeros({0, 2}), std::vector<std::int64_t>{0});
                       }),
                       "out of range"));
}

TEST(ScatterRows, MatchesLoop) {
  Generator gen(11);
  const Tensor a = randn({2, 3}, TensorOptions(DType::Float32), gen);
  const Tensor b = randn({0, 3}, TensorOptions(DType::Float32), gen);
  const Tensor c = randn({3, 3}, TensorOptions(DType::Float32), gen);
  const std::vector<std::int64_t> idx = {5, 0, /* b: none */ 2, 1, 3};  // row 4 not named: 0
  const Tensor y = scatter_rows({a, b, c}, idx, 6);
  ASSERT_EQ(y.shape(), (Shape{6, 3}));
  std::vector<float> src = to_vector<float>(a);
  const auto cv = to_vector<float>(c);
  src.insert(src.end(), cv.begin(), cv.end());
  std::vector<float> want(18, 0.0f);
  for (std::size_t j = 0; j < idx.size(); ++j)
    for (std::size_t e = 0; e < 3; ++e) want[static_cast<std::size_t>(idx[j]) * 3 + e] = src[j * 3 + e];
  EXPECT_EQ(to_vector<float>(y), want);
  // Every row named: no zero fill, the same result as the loop.
  const Tensor full = scatter_rows({a, c}, {4, 0, 2, 1, 3}, 5);
  const auto fv = to_vector<float>(full);
  for (std::size_t e = 0; e < 3; ++e) EXPECT_EQ(fv[4 * 3 + e], src[e]);
  for (std::size_t e = 0; e < 3; ++e) EXPECT_EQ(fv[3 * 3 + e], src[4 * 3 + e]);
}

TEST(ScatterRows, Gradcheck) {
  Generator gen(13);
  Tensor a = randn({2, 2, 2}, TensorOptions(DType::Float64), gen);
  Tensor b = randn({1, 2, 2}, TensorOptions(DType::Float64), gen);
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  auto r = gradcheck([](const std::vector<Tensor>& in) { return scatter_rows(in, {3, 0, 1}, 5); }, {a, b});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(ScatterRows, Errors) {
  const Tensor a = zeros({2, 3}), b = zeros({1, 3});
  EXPECT_TRUE(contains(error_of([&] { scatter_rows({a, b}, {0, 1, 1}, 4); }), "more than once"));
  EXPECT_TRUE(contains(error_of([&] { scatter_rows({a, b}, {0, 1, 4}, 4); }), "out of range"));
  EXPECT_TRUE(contains(error_of([&] { scatter_rows({a, b}, {0, 1}, 4); }), "2 indices for 3 source rows"));
  EXPECT_TRUE(contains(error_of([&] { scatter_rows({a, zeros({1, 2})}, {0, 1, 2}, 4); }), "must match source 0"));
  EXPECT_TRUE(contains(error_of([&] {
                         scatter_rows({a, zeros({1, 3}, TensorOptions(DType::Float64))}, {0, 1, 2}, 4);
                       }),
                       "must match source 0"));
  EXPECT_TRUE(contains(error_of([&] { scatter_rows({}, {}, 4); }), "at least one"));
}

}  // namespace
}  // namespace anima
