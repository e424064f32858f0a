// anima/ops/reduce.hpp on every backend: sum, mean, max, min, argmax, argmin, sum_to.
//
// Reference: a plain loop over every element in double, accumulating each output from the input's
// row-major index (no permutes, no kernels). Tolerances:
//   float64 sums: |got - ref| <= 1e-12 * (1 + Σ|x|) — both sides sum in double; the orders differ,
//                 so the results may differ by a few ulps of the partial sums (n <= 105 terms here,
//                 ~105 * 2^-53 ≈ 1.2e-14 relative; 1e-12 leaves room without hiding a missing term,
//                 which changes the sum by O(1)).
//   float32 sums: the kernel accumulates in double and rounds once, so the result is the reference
//                 rounded to float: |got - ref| <= 2^-24 * |ref| + 1e-12 * Σ|x|.
//   max/min/argmax/argmin: exact (no arithmetic).
//   float32 against the float64 reference (tests/ops/backend_harness.hpp, with gradients): stated at
//                 the tests.
// Gradients: gradcheck (float64 central differences, atol 1e-5 + rtol 1e-3; anima/autograd/gradcheck.hpp)
// on inputs without ties for max/min; the tie rules are checked with explicit values.
#include <anima/autograd/engine.hpp>
#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/core/tensor.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ops/backend_harness.hpp"

namespace {

using namespace anima;
using namespace anima::testing;  // tests/ops/backend_harness.hpp and the helpers it includes

ANIMA_BACKEND_SUITE(Sum);
ANIMA_BACKEND_SUITE(MaxMin);
ANIMA_BACKEND_SUITE(SumTo);
ANIMA_BACKEND_SUITE(ReduceGrad);

enum class RefOp { Sum, Mean, Max, Min };

struct RefResult {
  Shape shape;
  std::vector<double> values;
  std::vector<std::int64_t> indices;  // position along the (single) reduced dim, for Max/Min
  std::vector<double> abs_sum;        // Σ|x| per output, for tolerances
};

// Reduces x (values row-major, `shape`) over `dims` (non-negative) with a plain loop.
RefResult reference(const std::vector<double>& x, const Shape& shape, std::vector<int> dims, bool keepdim, RefOp op) {
  const int nd = static_cast<int>(shape.size());
  if (dims.empty())
    for (int d = 0; d < nd; ++d) dims.push_back(d);
  std::vector<bool> reduced(nd, false);
  for (int d : dims) reduced[d] = true;
  RefResult r;
  Shape kept;  // output shape with reduced dims as 1
  for (int d = 0; d < nd; ++d) {
    kept.push_back(reduced[d] ? 1 : shape[d]);
    if (!reduced[d])
      r.shape.push_back(shape[d]);
    else if (keepdim)
      r.shape.push_back(1);
  }
  const std::int64_t n_out = numel_of(kept);
  const double init = op == RefOp::Max   ? -std::numeric_limits<double>::infinity()
                      : op == RefOp::Min ? std::numeric_limits<double>::infinity()
                                         : 0.0;
  r.values.assign(n_out, init);
  r.indices.assign(n_out, -1);
  r.abs_sum.assign(n_out, 0.0);
  std::vector<std::int64_t> count(n_out, 0);
  std::vector<std::int64_t> idx(nd, 0);
  for (std::int64_t lin = 0; lin < numel_of(shape); ++lin) {
    // idx = the multi-index of lin; o = the output position.
    std::int64_t rem = lin;
    for (int d = nd - 1; d >= 0; --d) {
      idx[d] = rem % shape[d];
      rem /= shape[d];
    }
    std::int64_t o = 0, reduced_pos = 0;
    for (int d = 0; d < nd; ++d) {
      o = o * kept[d] + (reduced[d] ? 0 : idx[d]);
      if (reduced[d]) reduced_pos = reduced_pos * shape[d] + idx[d];
    }
    const double v = x[lin];
    r.abs_sum[o] += std::fabs(v);
    ++count[o];
    if (op == RefOp::Sum || op == RefOp::Mean) {
      r.values[o] += v;
    } else if ((op == RefOp::Max && v > r.values[o]) || (op == RefOp::Min && v < r.values[o])) {
      r.values[o] = v;  // strict comparison: the first index wins ties
      r.indices[o] = reduced_pos;
    }
  }
  if (op == RefOp::Mean)
    for (std::int64_t o = 0; o < n_out; ++o) r.values[o] /= static_cast<double>(count[o]);
  return r;
}

void expect_close_to_reference(const Tensor& got, const RefResult& ref, double rel_tol, const std::string& what) {
  ASSERT_EQ(got.shape(), ref.shape) << what;
  const std::vector<double> v = to_vector<double>(got);
  ASSERT_EQ(v.size(), ref.values.size()) << what;
  for (std::size_t i = 0; i < v.size(); ++i)
    EXPECT_NEAR(v[i], ref.values[i], rel_tol * std::fabs(ref.values[i]) + 1e-12 * (1.0 + ref.abs_sum[i]))
        << what << " at " << i;
}

// The subsets of {0, .., nd-1} as dim lists (non-empty).
std::vector<std::vector<int>> all_dim_subsets(int nd) {
  std::vector<std::vector<int>> out;
  for (int mask = 1; mask < (1 << nd); ++mask) {
    std::vector<int> dims;
    for (int d = 0; d < nd; ++d)
      if (mask & (1 << d)) dims.push_back(d);
    out.push_back(dims);
  }
  return out;
}

std::string dims_str(const std::vector<int>& dims) {
  std::string s = "{";
  for (int d : dims) s += std::to_string(d) + ",";
  return s + "}";
}

// ---------------------------------------------------------------------------------------------
// sum / mean

TEST_P(Sum, AllElements) {
  Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}, options(DType::Float64));
  Tensor s = sum(x);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(item<double>(s), 21.0);
  EXPECT_EQ(item<double>(mean(x)), 3.5);
  Tensor k = sum(x, {}, true);  // empty dims = all dims (as PyTorch), kept as size 1
  EXPECT_EQ(k.shape(), (Shape{1, 1}));
  EXPECT_EQ(item<double>(k), 21.0);
  EXPECT_EQ(sum(x, {0, 1}, true).shape(), (Shape{1, 1}));
  EXPECT_EQ(item<double>(sum(x, {0, 1}, true)), 21.0);
}

TEST_P(Sum, OneDimNegativeDimsKeepdim) {
  Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}, options(DType::Float64));
  EXPECT_EQ(to_vector<double>(sum(x, {0})), (std::vector<double>{5, 7, 9}));
  EXPECT_EQ(to_vector<double>(sum(x, {1})), (std::vector<double>{6, 15}));
  EXPECT_EQ(to_vector<double>(sum(x, {-1})), (std::vector<double>{6, 15}));
  EXPECT_EQ(sum(x, {-2}).shape(), (Shape{3}));
  EXPECT_EQ(sum(x, {1}, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(to_vector<double>(mean(x, {1}, true)), (std::vector<double>{2, 5}));
  EXPECT_EQ(to_vector<double>(mean(x, {-2})), (std::vector<double>{2.5, 3.5, 4.5}));
  // Dims in any order and sign name the same set.
  Tensor y = reshape(arange(0.0, 24.0, 1.0, options(DType::Float64)), {2, 3, 4});
  EXPECT_EQ(to_vector<double>(sum(y, {2, 0})), to_vector<double>(sum(y, {-1, -3})));
  EXPECT_EQ(to_vector<double>(sum(y, {0, 2})), (std::vector<double>{60, 92, 124}));
}

TEST_P(Sum, NonContiguousInput) {
  Tensor x = reshape(arange(0.0, 12.0, 1.0, options(DType::Float64)), {3, 4});
  Tensor t = transpose(x, 0, 1);  // [4, 3]
  EXPECT_EQ(to_vector<double>(sum(t, {1})), (std::vector<double>{12, 15, 18, 21}));
  Tensor s = slice(x, 1, 1, 4, 2);  // columns 1, 3
  EXPECT_EQ(to_vector<double>(sum(s, {0})), (std::vector<double>{15, 21}));
  Tensor e = expand(from_vector<double>({1, 2}, {2, 1}, options(DType::Float64)), {2, 5});
  EXPECT_EQ(to_vector<double>(sum(e, {1})), (std::vector<double>{5, 10}));
}

TEST_P(Sum, EmptyDimSumsToZero) {
  Tensor x = zeros({3, 0, 2}, options(DType::Float64));
  Tensor s = sum(x, {1});
  EXPECT_EQ(s.shape(), (Shape{3, 2}));
  EXPECT_EQ(to_vector<double>(s), std::vector<double>(6, 0.0));
  EXPECT_EQ(item<double>(sum(x)), 0.0);
  EXPECT_EQ(item<float>(sum(zeros({0}, options()))), 0.0f);
  // Reducing a non-empty dim of an empty tensor gives an empty result.
  EXPECT_EQ(sum(x, {0}).shape(), (Shape{0, 2}));
  // The mean of nothing is an error (0/0).
  expect_error([&] { mean(x, {1}); }, {"anima::mean"});
}

TEST_P(Sum, ZeroDimTensor) {
  Tensor s = full({}, 4.5, options(DType::Float64));
  EXPECT_EQ(item<double>(sum(s)), 4.5);
  EXPECT_EQ(item<double>(sum(s, {0})), 4.5);
  EXPECT_EQ(item<double>(max(s)), 4.5);
  EXPECT_EQ(item<std::int64_t>(argmax(s)), 0);
}

TEST_P(Sum, Float32MillionOnesIsExact) {
  // Every partial sum of ones is an integer below 2^24, so the exact answer is required.
  EXPECT_EQ(item<float>(sum(ones({1000000}, options()))), 1e6f);
  EXPECT_EQ(item<float>(sum(ones({1000, 1000}, options()), {0, 1})), 1e6f);
  // 1e6 * 0.1f summed naively in float drifts by ~1e-3 relative (~ n * 2^-24 per step); accumulated
  // in double it is 1e6 * double(0.1f) rounded once to float.
  const float expected = static_cast<float>(1e6 * static_cast<double>(0.1f));
  EXPECT_EQ(item<float>(sum(full({1000000}, 0.1, options()))), expected);
}

TEST_P(Sum, MatchesLoopReferenceOnRandomShapes) {
  Generator gen(2024);
  for (const Shape& shape : {Shape{3, 5, 7}, Shape{4, 1, 6}, Shape{2, 3, 4, 5}, Shape{11}}) {
    for (DType dt : {DType::Float64, DType::Float32}) {
      Tensor x = to_backend(randn(shape, dt, gen));
      const std::vector<double> xv = to_vector<double>(x);
      // float32: the result is the double sum rounded once (plus the mean's division): 2 roundings.
      const double rel = dt == DType::Float32 ? 2.0 * std::ldexp(1.0, -24) : 1e-15;
      for (const auto& dims : all_dim_subsets(static_cast<int>(shape.size()))) {
        std::vector<std::int64_t> d64(dims.begin(), dims.end());
        for (bool keepdim : {false, true}) {
          const std::string what =
              shape_str(shape) + " " + dtype_name(dt) + " dims " + dims_str(dims) + (keepdim ? " keepdim" : "");
          expect_close_to_reference(sum(x, d64, keepdim), reference(xv, shape, dims, keepdim, RefOp::Sum), rel,
                                    "sum " + what);
          expect_close_to_reference(mean(x, d64, keepdim), reference(xv, shape, dims, keepdim, RefOp::Mean), rel,
                                    "mean " + what);
        }
      }
    }
  }
}

// float32 against the float64 reference: every backend sums float in double and rounds once (the mean
// divides once more): within 2 ulps (1.2e-7) of each output, held to 2.5e-7 of the scale; the
// backward broadcasts g (one division for the mean).
TEST_P(Sum, Float32MatchesFloat64Reference) {
  constexpr Tolerance kSum{2.5e-7};
  const Tensor x = anima::testing::uniform({31, 47, 5}, 9), big = anima::testing::uniform({100003}, 10);
  expect_matches_reference(
      "sum_all", [](auto& in) { return sum(in[0]); }, {x}, kSum);
  expect_matches_reference(
      "sum_long", [](auto& in) { return sum(in[0]); }, {big}, kSum);
  expect_matches_reference(
      "sum_dim1", [](auto& in) { return sum(in[0], {1}); }, {x}, kSum);
  expect_matches_reference(
      "sum_dims02_keep",
      [](auto& in) {
        return sum(in[0], {0, 2}, true);
      },
      {x}, kSum);
  expect_matches_reference(
      "mean_dim", [](auto& in) { return mean(in[0], {-1}); }, {x}, kSum);
  expect_matches_reference(
      "mean_all", [](auto& in) { return mean(in[0]); }, {x}, kSum);
}

TEST_P(Sum, BadDimsAreErrors) {
  Tensor x = zeros({2, 3}, options());
  expect_error([&] { sum(x, {2}); }, {"anima::sum", "out of range"});
  expect_error([&] { sum(x, {0, -2}); }, {"anima::sum", "repeated"});
  expect_error([&] { mean(x, {-3}); }, {"anima::mean"});
  expect_error([&] { sum(zeros({2}, options(DType::Int64))); }, {"anima::sum"});
}

// ---------------------------------------------------------------------------------------------
// max / min / argmax / argmin

TEST_P(MaxMin, ValuesAndIndicesAlongDim) {
  Tensor x = from_vector<double>({3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8}, {3, 4}, options(DType::Float64));
  auto mx = max(x, 1);
  EXPECT_EQ(mx.values.shape(), (Shape{3}));
  EXPECT_EQ(mx.indices.dtype(), DType::Int64);
  EXPECT_EQ(to_vector<double>(mx.values), (std::vector<double>{4, 9, 8}));
  EXPECT_EQ(to_vector<std::int64_t>(mx.indices), (std::vector<std::int64_t>{2, 1, 3}));
  auto mn = min(x, 0, true);
  EXPECT_EQ(mn.values.shape(), (Shape{1, 4}));
  EXPECT_EQ(to_vector<double>(mn.values), (std::vector<double>{3, 1, 2, 1}));
  EXPECT_EQ(to_vector<std::int64_t>(mn.indices), (std::vector<std::int64_t>{0, 0, 1, 0}));
  EXPECT_EQ(to_vector<std::int64_t>(argmax(x, -1)), (std::vector<std::int64_t>{2, 1, 3}));
  EXPECT_EQ(to_vector<std::int64_t>(argmin(x, 1)), (std::vector<std::int64_t>{1, 2, 1}));  // 1 at 1 before 1 at 3
  EXPECT_EQ(argmax(x, 0, true).shape(), (Shape{1, 4}));
  EXPECT_EQ(item<double>(max(x)), 9.0);
  EXPECT_EQ(item<double>(min(x)), 1.0);
  EXPECT_EQ(item<std::int64_t>(argmax(x)), 5);  // flattened index
}

TEST_P(MaxMin, FirstIndexOnTies) {
  Tensor x = from_vector<double>({2, 7, 7, 1, 7, 0, 0, 0}, {2, 4}, options(DType::Float64));
  EXPECT_EQ(to_vector<std::int64_t>(max(x, 1).indices), (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(to_vector<std::int64_t>(min(x, 1).indices), (std::vector<std::int64_t>{3, 1}));
  EXPECT_EQ(to_vector<std::int64_t>(argmax(x, 1)), (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(to_vector<std::int64_t>(argmin(x, 1)), (std::vector<std::int64_t>{3, 1}));
  EXPECT_EQ(item<std::int64_t>(argmax(x)), 1);
  EXPECT_EQ(item<std::int64_t>(argmin(x)), 5);
}

TEST_P(MaxMin, NonContiguousAndNegativeValues) {
  Tensor x = from_vector<double>({-5, -2, -9, -1, -7, -3}, {2, 3}, options(DType::Float64));
  Tensor t = transpose(x, 0, 1);  // [3, 2]: -5 -1 / -2 -7 / -9 -3
  EXPECT_EQ(to_vector<double>(max(t, 1).values), (std::vector<double>{-1, -2, -3}));
  EXPECT_EQ(to_vector<std::int64_t>(max(t, 1).indices), (std::vector<std::int64_t>{1, 0, 1}));
  EXPECT_EQ(to_vector<std::int64_t>(argmin(t, 0)), (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(item<double>(max(x)), -1.0);  // not 0: the initial value must not leak in
}

TEST_P(MaxMin, MatchesLoopReference) {
  Generator gen(7);
  const Shape shape = {3, 5, 7};
  Tensor x = to_backend(randn(shape, DType::Float32, gen));
  const std::vector<double> xv = to_vector<double>(x);
  for (int d = 0; d < 3; ++d) {
    for (bool keepdim : {false, true}) {
      for (RefOp op : {RefOp::Max, RefOp::Min}) {
        const RefResult ref = reference(xv, shape, {d}, keepdim, op);
        ValuesIndices got = op == RefOp::Max ? max(x, d, keepdim) : min(x, d, keepdim);
        EXPECT_EQ(got.values.shape(), ref.shape);
        EXPECT_EQ(to_vector<double>(got.values), ref.values) << "dim " << d;
        EXPECT_EQ(to_vector<std::int64_t>(got.indices), ref.indices) << "dim " << d;
        Tensor arg = op == RefOp::Max ? argmax(x, d - 3, keepdim) : argmin(x, d - 3, keepdim);
        EXPECT_EQ(to_vector<std::int64_t>(arg), ref.indices) << "dim " << d;
      }
    }
  }
  const RefResult all_max = reference(xv, shape, {}, false, RefOp::Max);
  EXPECT_EQ(item<double>(max(x)), all_max.values[0]);
  EXPECT_EQ(item<std::int64_t>(argmax(x)), all_max.indices[0]);
  const RefResult all_min = reference(xv, shape, {}, false, RefOp::Min);
  EXPECT_EQ(item<double>(min(x)), all_min.values[0]);
  EXPECT_EQ(item<std::int64_t>(argmin(x)), all_min.indices[0]);
}

// max/min/argmax/argmin pick an element: exact against the float64 reference, values, indices and the
// gradient (routed to the picked element).
TEST_P(MaxMin, Float32MatchesFloat64Reference) {
  const Tensor x = anima::testing::uniform({31, 47, 5}, 9), big = anima::testing::uniform({100003}, 10);
  expect_matches_reference(
      "max_all", [](auto& in) { return max(in[0]); }, {x}, kExact);
  expect_matches_reference(
      "min_all", [](auto& in) { return min(in[0]); }, {x}, kExact);
  expect_matches_reference(
      "max_dim", [](auto& in) { return max(in[0], 1).values; }, {x}, kExact);
  expect_matches_reference(
      "min_dim", [](auto& in) { return min(in[0], 0, true).values; }, {x}, kExact);
  expect_matches_reference(
      "max_dim_indices", [](auto& in) { return max(in[0], 1).indices; }, {x}, kExact);
  expect_matches_reference(
      "argmax", [](auto& in) { return argmax(in[0], 2); }, {x}, kExact);
  expect_matches_reference(
      "argmin", [](auto& in) { return argmin(in[0], 0); }, {x}, kExact);
  expect_matches_reference(
      "argmax_all", [](auto& in) { return argmax(in[0]); }, {big}, kExact);
}

TEST_P(MaxMin, NaNWins) {
  Tensor x = from_vector<double>({1, std::numeric_limits<double>::quiet_NaN(), 3}, {3}, options(DType::Float64));
  EXPECT_TRUE(std::isnan(item<double>(max(x))));
  EXPECT_TRUE(std::isnan(item<double>(min(x))));
  EXPECT_EQ(item<std::int64_t>(argmax(x)), 1);
}

TEST_P(MaxMin, EmptyIsAnError) {
  Tensor x = zeros({2, 0}, options(DType::Float64));
  expect_error([&] { max(x); }, {"anima::max", "[2, 0]"});
  expect_error([&] { max(x, 1); }, {"anima::max"});
  expect_error([&] { min(x, -1); }, {"anima::min"});
  expect_error([&] { argmax(x, 1); }, {"anima::argmax"});
  expect_error([&] { argmin(zeros({0}, options())); }, {"anima::argmin"});
  expect_error([&] { max(zeros({3}, options()), 1); }, {"anima::max", "out of range"});
  // Reducing the non-empty dim of [0, 3]-shaped data is fine: there are no rows.
  EXPECT_EQ(max(zeros({0, 3}, options()), 1).values.shape(), (Shape{0}));
}

// ---------------------------------------------------------------------------------------------
// sum_to

TEST_P(SumTo, SumsBroadcastDims) {
  Tensor g = reshape(arange(0.0, 24.0, 1.0, options(DType::Float64)), {2, 3, 4});
  Tensor a = sum_to(g, {3, 1});  // over dim 0 (added) and dim 2 (expanded)
  EXPECT_EQ(a.shape(), (Shape{3, 1}));
  // g[i, b, c] = 12 i + 4 b + c; expected[b] = Σ_{i,c} g[i, b, c].
  std::vector<double> expected(3, 0.0);
  for (int i = 0; i < 2; ++i)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 4; ++c) expected[b] += 12 * i + 4 * b + c;
  EXPECT_EQ(to_vector<double>(a), expected);
  EXPECT_EQ(to_vector<double>(sum_to(g, {4})), to_vector<double>(sum(g, {0, 1})));
  EXPECT_EQ(to_vector<double>(sum_to(g, {1, 3, 1})), expected);
  EXPECT_EQ(item<double>(sum_to(g, {})), 276.0);
  EXPECT_TRUE(sum_to(g, {2, 3, 4}).same(g));  // nothing to sum
}

TEST_P(SumTo, IncompatibleShapesAreErrors) {
  Tensor g = zeros({2, 3}, options(DType::Float64));
  expect_error([&] { sum_to(g, {4}); }, {"anima::sum_to", "[2, 3]"});
  expect_error([&] { sum_to(g, {1, 2, 3}); }, {"anima::sum_to"});
}

// ---------------------------------------------------------------------------------------------
// Gradients

Tensor randn64(const Shape& shape, Generator& gen) {
  return randn(shape, TensorOptions(DType::Float64).with_requires_grad(), gen);
}

TEST_P(ReduceGrad, Sum) {
  Generator gen(1);
  Tensor x = randn64({3, 4, 5}, gen);
  // pow(., 2) inside so the gradient depends on x; sum outputs are projected on a random direction.
  expect_gradcheck("sum all", [](const std::vector<Tensor>& in) { return sum(pow(in[0], 2.0)); }, {x});
  expect_gradcheck("sum dim 1", [](const std::vector<Tensor>& in) { return sum(pow(in[0], 2.0), {1}); }, {x});
  expect_gradcheck("sum dims 0,-1 keepdim",
                   [](const std::vector<Tensor>& in) {
                     return sum(pow(in[0], 2.0), {0, -1}, true);
                   },
                   {x});
  // The sum's output feeds a non-linear op, so dL/dy is not constant.
  expect_gradcheck("exp(sum)", [](const std::vector<Tensor>& in) { return exp(sum(in[0], {2})); }, {x});
  expect_gradcheck("sum of a transposed view",
                   [](const std::vector<Tensor>& in) { return sum(transpose(in[0], 0, 2), {0}); }, {x});
}

TEST_P(ReduceGrad, Mean) {
  Generator gen(2);
  Tensor x = randn64({3, 4, 5}, gen);
  expect_gradcheck("mean all", [](const std::vector<Tensor>& in) { return mean(pow(in[0], 2.0)); }, {x});
  expect_gradcheck("mean dim 1", [](const std::vector<Tensor>& in) { return exp(mean(in[0], {1}, true)); }, {x});
  expect_gradcheck("mean dims -1,0", [](const std::vector<Tensor>& in) { return mean(in[0], {-1, 0}); }, {x});
}

TEST_P(ReduceGrad, MaxMinAlongDim) {
  Generator gen(3);
  Tensor x = randn64({4, 5, 3}, gen);  // continuous draws: no ties
  for (int d : {0, 1, 2, -1}) {
    expect_gradcheck("max dim " + std::to_string(d),
                     [d](const std::vector<Tensor>& in) { return pow(max(in[0], d).values, 2.0); }, {x});
    expect_gradcheck("min dim " + std::to_string(d) + " keepdim",
                     [d](const std::vector<Tensor>& in) { return exp(min(in[0], d, true).values); }, {x});
  }
}

TEST_P(ReduceGrad, MaxMinAll) {
  Generator gen(4);
  Tensor x = randn64({3, 4}, gen);
  // The distance between the max and the runner-up is >> eps = 1e-6, so finite differences do not
  // cross a kink.
  expect_gradcheck("max all", [](const std::vector<Tensor>& in) { return pow(max(in[0]), 3.0); }, {x});
  expect_gradcheck("min all", [](const std::vector<Tensor>& in) { return exp(min(in[0])); }, {x});
}

TEST_P(ReduceGrad, MaxAllTiesShareEvenly) {
  Tensor x = from_vector<double>({1, 3, 3, 2, 3, 0}, {2, 3}, options(DType::Float64).with_requires_grad());
  backward(max(x));
  // Three maxima share dL/dy = 1.
  const std::vector<double> g = to_vector<double>(x.grad());
  const std::vector<double> expected = {0, 1.0 / 3, 1.0 / 3, 0, 1.0 / 3, 0};
  for (std::size_t i = 0; i < g.size(); ++i) EXPECT_DOUBLE_EQ(g[i], expected[i]) << i;

  Tensor y = from_vector<double>({-1, 5, -1, -1}, {4}, options(DType::Float64).with_requires_grad());
  backward(mul(min(y), full({}, 4.0, options(DType::Float64))));  // dL/dy = 4, split over 3 minima
  const std::vector<double> gy = to_vector<double>(y.grad());
  for (double v : {gy[0], gy[2], gy[3]}) EXPECT_DOUBLE_EQ(v, 4.0 / 3);
  EXPECT_EQ(gy[1], 0.0);
}

TEST_P(ReduceGrad, MaxDimTieGoesToTheReturnedIndex) {
  Tensor x = from_vector<double>({2, 7, 7, 7, 1, 1}, {2, 3}, options(DType::Float64).with_requires_grad());
  auto r = max(x, 1);
  EXPECT_EQ(to_vector<std::int64_t>(r.indices), (std::vector<std::int64_t>{1, 0}));
  backward(sum(r.values));
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{0, 1, 0, 1, 0, 0}));
}

TEST_P(ReduceGrad, ArgmaxIsNotDifferentiable) {
  Tensor x = from_vector<double>({1, 2}, {2}, options(DType::Float64).with_requires_grad());
  Tensor a = argmax(x, 0);
  EXPECT_EQ(a.dtype(), DType::Int64);
  EXPECT_FALSE(a.requires_grad());
  EXPECT_FALSE(max(x, 0).indices.requires_grad());
}

}  // namespace
