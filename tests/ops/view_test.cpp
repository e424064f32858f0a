// The differentiable views of anima/ops/view.hpp, on every backend (reshape, view, flatten, permute,
// transpose, slice, narrow, squeeze, unsqueeze, expand) and the copies of anima/ops/copy_ops.hpp
// (contiguous, clone, to(dtype)).
//
// Values are checked against index arithmetic written out in the test (row-major offsets of the
// source), storage sharing by comparing Storage pointers. Gradients: gradcheck (float64 central
// differences, its default tolerances atol 1e-5 + rtol 1e-3, see anima/autograd/gradcheck.hpp) of
// L = sum(pow(view(x), 2) * w) with a fixed random w, so dL/dx = 2 x w routed back through the view's
// inverse: a rule that drops, misplaces or duplicates an element changes it. float32 views and copies
// against the float64 reference (tests/ops/backend_harness.hpp) are exact: they move data only.
#include <anima/autograd/grad_mode.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ops/backend_harness.hpp"

namespace {

using namespace anima;
using namespace anima::testing;  // tests/ops/backend_harness.hpp and the helpers it includes

bool shares_storage(const Tensor& a, const Tensor& b) { return a.storage().get() == b.storage().get(); }

// The view suites: inputs on the backend, and the gradient check every view shares.
class ViewTest : public anima::testing::BackendTest {
 protected:
  // 0, 1, ..., numel-1 as float64 in `shape`.
  Tensor iota(const Shape& shape) const {
    return reshape(arange(0.0, static_cast<double>(numel_of(shape)), 1.0, options(DType::Float64)), shape);
  }

  // Writes v at flat position i of the contiguous tensor t (through a view: no host pointer).
  void set(const Tensor& t, std::int64_t i, double v) const {
    copy_into(narrow(reshape(t, {-1}), 0, i, 1), full({1}, v, options(t.dtype())));
  }

  // gradcheck of L = sum(pow(view_fn(x), 2) * w), w fixed (drawn for the view's output shape).
  void check_view_gradient(const std::function<Tensor(const Tensor&)>& view_fn, const Shape& x_shape,
                           std::uint64_t seed = 11) const {
    Generator gen(seed);
    const Tensor x = randn(x_shape, TensorOptions(DType::Float64).with_requires_grad(), gen);
    Tensor w;
    {
      NoGradGuard no_grad;
      w = to_backend(randn(view_fn(detach(x)).shape(), DType::Float64, gen));
    }
    expect_gradcheck(shape_str(x_shape),
                     [&](const std::vector<Tensor>& in) { return sum(mul(pow(view_fn(in[0]), 2.0), w)); }, {x});
  }
};

#define ANIMA_VIEW_SUITE(Suite)     \
  class Suite : public ViewTest {}; \
  ANIMA_INSTANTIATE_BACKENDS(Suite)

ANIMA_VIEW_SUITE(Reshape);
ANIMA_VIEW_SUITE(View);
ANIMA_VIEW_SUITE(Flatten);
ANIMA_VIEW_SUITE(Permute);
ANIMA_VIEW_SUITE(Transpose);
ANIMA_VIEW_SUITE(Slice);
ANIMA_VIEW_SUITE(Narrow);
ANIMA_VIEW_SUITE(Squeeze);
ANIMA_VIEW_SUITE(Unsqueeze);
ANIMA_VIEW_SUITE(Expand);
ANIMA_VIEW_SUITE(Contiguous);
ANIMA_VIEW_SUITE(Clone);
ANIMA_VIEW_SUITE(ToDType);
ANIMA_VIEW_SUITE(ViewGrad);
ANIMA_VIEW_SUITE(ViewErrors);
ANIMA_VIEW_SUITE(ViewsAndCopies);

// ---------------------------------------------------------------------------------------------
// reshape / view / flatten

TEST_P(Reshape, ContiguousIsAViewSharingStorage) {
  Tensor x = iota({2, 3, 4});
  Tensor y = reshape(x, {4, -1});
  EXPECT_EQ(y.shape(), (Shape{4, 6}));
  EXPECT_TRUE(shares_storage(x, y));
  EXPECT_EQ(to_vector<double>(y), to_vector<double>(x));  // row-major order is kept
  // Writing through the view is visible in x.
  set(y, 7, -1.0);
  EXPECT_EQ(to_vector<double>(x)[7], -1.0);
  EXPECT_EQ(reshape(x, {-1}).shape(), (Shape{24}));
  EXPECT_EQ(reshape(x, {2, -1, 2}).shape(), (Shape{2, 6, 2}));
  EXPECT_EQ(reshape(full({}, 3.0, options()), {1, 1}).shape(), (Shape{1, 1}));
  EXPECT_EQ(reshape(zeros({1}, options()), {}).dim(), 0);
}

TEST_P(Reshape, OfTransposedCopies) {
  Tensor x = iota({2, 3});
  Tensor t = transpose(x, 0, 1);  // [3, 2]: 0 3 / 1 4 / 2 5
  Tensor y = reshape(t, {6});
  EXPECT_FALSE(shares_storage(t, y));
  EXPECT_EQ(to_vector<double>(y), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  // A reshape that only splits a dim of the transposed tensor stays a view.
  Tensor z = reshape(t, {3, 2, 1});
  EXPECT_TRUE(shares_storage(t, z));
  EXPECT_EQ(to_vector<double>(z), (std::vector<double>{0, 3, 1, 4, 2, 5}));
}

TEST_P(Reshape, BadShapesAreErrors) {
  Tensor x = zeros({2, 3}, options());
  expect_error([&] { reshape(x, {4, 2}); }, {"anima::reshape", "[2, 3]", "[4, 2]"});
  EXPECT_THROW(reshape(x, {-1, -1}), Error);
  EXPECT_THROW(reshape(x, {-1, 4}), Error);
  EXPECT_THROW(reshape(x, {-2, -3}), Error);
}

TEST_P(View, FailsWhenACopyWouldBeNeeded) {
  Tensor x = iota({2, 3});
  Tensor ok = view(x, {3, 2});
  EXPECT_TRUE(shares_storage(x, ok));
  expect_error([&] { view(transpose(x, 0, 1), {6}); }, {"anima::view", "[3, 2]", "[6]"});
  // A column slice cannot be flattened without a copy either.
  EXPECT_THROW(view(slice(iota({4, 4}), 1, 0, 2), {8}), Error);
  // ... but a row slice can.
  Tensor rows = view(slice(iota({4, 4}), 0, 1, 3), {8});
  EXPECT_EQ(to_vector<double>(rows), (std::vector<double>{4, 5, 6, 7, 8, 9, 10, 11}));
}

TEST_P(Flatten, MergesTheRange) {
  Tensor x = iota({2, 3, 4, 5});
  EXPECT_EQ(flatten(x).shape(), (Shape{120}));
  EXPECT_EQ(flatten(x, 1).shape(), (Shape{2, 60}));
  EXPECT_EQ(flatten(x, 1, 2).shape(), (Shape{2, 12, 5}));
  EXPECT_EQ(flatten(x, -2, -1).shape(), (Shape{2, 3, 20}));
  EXPECT_EQ(flatten(full({}, 1.0, options())).shape(), (Shape{1}));
  EXPECT_EQ(to_vector<double>(flatten(x, 1, 2)), to_vector<double>(x));
  EXPECT_THROW(flatten(x, 2, 1), Error);
  expect_error([&] { flatten(x, 0, 4); }, {"anima::flatten"});
}

// ---------------------------------------------------------------------------------------------
// permute / transpose

TEST_P(Permute, ValuesFollowIndexMath) {
  const std::int64_t A = 2, B = 3, C = 4;
  Tensor x = iota({A, B, C});        // x[a, b, c] = a*B*C + b*C + c
  Tensor y = permute(x, {2, 0, 1});  // y[c, a, b] = x[a, b, c]
  EXPECT_EQ(y.shape(), (Shape{C, A, B}));
  EXPECT_TRUE(shares_storage(x, y));
  EXPECT_FALSE(y.is_contiguous());
  const std::vector<double> v = to_vector<double>(y);
  std::size_t i = 0;
  for (std::int64_t c = 0; c < C; ++c)
    for (std::int64_t a = 0; a < A; ++a)
      for (std::int64_t b = 0; b < B; ++b) EXPECT_EQ(v[i++], static_cast<double>(a * B * C + b * C + c));
  // Negative dims name the same permutation.
  EXPECT_EQ(to_vector<double>(permute(x, {-1, 0, -2})), v);
}

TEST_P(Permute, BadArgumentsAreErrors) {
  Tensor x = zeros({2, 3, 4}, options());
  expect_error([&] { permute(x, {0, 1}); }, {"anima::permute", "[2, 3, 4]"});
  expect_error([&] { permute(x, {0, 1, 1}); }, {"anima::permute"});
  expect_error([&] { permute(x, {0, 1, 3}); }, {"anima::permute", "dim 3"});
}

TEST_P(Transpose, SwapsTwoDims) {
  Tensor x = iota({2, 3, 4});
  Tensor y = transpose(x, 0, 2);  // y[c, b, a] = x[a, b, c]
  EXPECT_EQ(y.shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(y.strides(), (Shape{1, 4, 12}));
  const std::vector<double> v = to_vector<double>(y);
  std::size_t i = 0;
  for (int c = 0; c < 4; ++c)
    for (int b = 0; b < 3; ++b)
      for (int a = 0; a < 2; ++a) EXPECT_EQ(v[i++], a * 12 + b * 4 + c);
  EXPECT_EQ(to_vector<double>(transpose(x, -1, 0)), v);
  expect_error([&] { transpose(x, 0, 3); }, {"anima::transpose"});
}

// ---------------------------------------------------------------------------------------------
// slice / narrow

TEST_P(Slice, PythonSemantics) {
  Tensor x = iota({10});
  EXPECT_EQ(to_vector<double>(slice(x, 0, 2, 5)), (std::vector<double>{2, 3, 4}));
  EXPECT_EQ(to_vector<double>(slice(x, 0, 1, 8, 2)), (std::vector<double>{1, 3, 5, 7}));
  EXPECT_EQ(to_vector<double>(slice(x, 0, 0, 10, 3)), (std::vector<double>{0, 3, 6, 9}));
  // Negative start/end count from the end: x[-3:] and x[-4:-1].
  EXPECT_EQ(to_vector<double>(slice(x, 0, -3, 10)), (std::vector<double>{7, 8, 9}));
  EXPECT_EQ(to_vector<double>(slice(x, 0, -4, -1)), (std::vector<double>{6, 7, 8}));
  // Clamping: x[5:100], x[-100:2], x[8:3] (empty).
  EXPECT_EQ(to_vector<double>(slice(x, 0, 5, 100)), (std::vector<double>{5, 6, 7, 8, 9}));
  EXPECT_EQ(to_vector<double>(slice(x, 0, -100, 2)), (std::vector<double>{0, 1}));
  EXPECT_EQ(slice(x, 0, 8, 3).shape(), (Shape{0}));
  EXPECT_EQ(slice(x, 0, 20, 30).shape(), (Shape{0}));
  EXPECT_TRUE(shares_storage(x, slice(x, 0, 1, 8, 2)));
}

TEST_P(Slice, AlongAnInnerDim) {
  Tensor x = iota({3, 5});
  Tensor y = slice(x, -1, 1, 5, 2);  // columns 1 and 3
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(y.strides(), (Shape{5, 2}));
  EXPECT_EQ(to_vector<double>(y), (std::vector<double>{1, 3, 6, 8, 11, 13}));
}

TEST_P(Slice, BadArgumentsAreErrors) {
  Tensor x = zeros({3, 5}, options());
  expect_error([&] { slice(x, 2, 0, 1); }, {"anima::slice"});
  expect_error([&] { slice(x, 0, 0, 3, 0); }, {"anima::slice", "step"});
  EXPECT_THROW(slice(x, 0, 0, 3, -1), Error);
}

TEST_P(Narrow, ValuesAndRangeErrors) {
  Tensor x = iota({4, 3});
  Tensor y = narrow(x, 0, 1, 2);
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_TRUE(shares_storage(x, y));
  EXPECT_EQ(to_vector<double>(y), (std::vector<double>{3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(to_vector<double>(narrow(x, 1, 2, 1)), (std::vector<double>{2, 5, 8, 11}));
  EXPECT_EQ(narrow(x, 0, 4, 0).shape(), (Shape{0, 3}));

  expect_error([&] { narrow(x, 0, 3, 2); }, {"anima::narrow", "[4, 3]"});
  expect_error([&] { narrow(x, 1, -1, 1); }, {"anima::narrow", "[4, 3]"});
  expect_error([&] { narrow(x, 1, 0, 4); }, {"anima::narrow"});
  expect_error([&] { narrow(x, 2, 0, 1); }, {"anima::narrow"});
}

// ---------------------------------------------------------------------------------------------
// squeeze / unsqueeze / expand

TEST_P(Squeeze, RemovesSizeOneDims) {
  Tensor x = iota({1, 3, 1, 2});
  EXPECT_EQ(squeeze(x).shape(), (Shape{3, 2}));
  EXPECT_EQ(squeeze(x, 0).shape(), (Shape{3, 1, 2}));
  EXPECT_EQ(squeeze(x, -2).shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(squeeze(x, 1).shape(), (Shape{1, 3, 1, 2}));  // not size 1: unchanged
  EXPECT_EQ(to_vector<double>(squeeze(x)), to_vector<double>(x));
  EXPECT_TRUE(shares_storage(x, squeeze(x)));
  EXPECT_EQ(squeeze(ones({1, 1}, options())).dim(), 0);
  expect_error([&] { squeeze(x, 4); }, {"anima::squeeze"});
}

TEST_P(Unsqueeze, InsertsASizeOneDim) {
  Tensor x = iota({2, 3});
  EXPECT_EQ(unsqueeze(x, 0).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(unsqueeze(x, 1).shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(unsqueeze(x, 2).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(unsqueeze(x, -1).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(unsqueeze(x, -3).shape(), (Shape{1, 2, 3}));
  EXPECT_TRUE(unsqueeze(x, 1).is_contiguous());
  EXPECT_EQ(to_vector<double>(unsqueeze(transpose(x, 0, 1), 1)), to_vector<double>(transpose(x, 0, 1)));
  EXPECT_EQ(unsqueeze(full({}, 1.0, options()), 0).shape(), (Shape{1}));
  expect_error([&] { unsqueeze(x, 3); }, {"anima::unsqueeze"});
  EXPECT_THROW(unsqueeze(x, -4), Error);
}

TEST_P(Expand, BroadcastsWithStrideZero) {
  Tensor x = iota({3, 1});
  Tensor y = expand(x, {2, 3, 4});
  EXPECT_EQ(y.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(y.strides(), (Shape{0, 1, 0}));
  EXPECT_TRUE(shares_storage(x, y));
  const std::vector<double> v = to_vector<double>(y);
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 4; ++c) EXPECT_EQ(v[(a * 3 + b) * 4 + c], b);
  EXPECT_EQ(expand(x, {-1, 5}).shape(), (Shape{3, 5}));  // -1 keeps a size
  EXPECT_EQ(expand(x, {3, 1}).strides(), x.strides());
}

TEST_P(Expand, NonOneDimIsAnError) {
  Tensor x = zeros({3, 2}, options());
  expect_error([&] { expand(x, {3, 4}); }, {"anima::expand", "[3, 2]", "[3, 4]"});
  expect_error([&] { expand(x, {2}); }, {"anima::expand"});
  EXPECT_THROW(expand(x, {-1, 3, 2}), Error);  // -1 is not allowed for a new leading dim
  // A negative target size other than -1 is not a size.
  EXPECT_THROW(expand(zeros({1}, options()), {-5}), Error);
}

// ---------------------------------------------------------------------------------------------
// contiguous / clone / to(dtype)

TEST_P(Contiguous, ReturnsSelfOrACopy) {
  Tensor x = iota({2, 3});
  EXPECT_TRUE(contiguous(x).same(x));
  Tensor t = transpose(x, 0, 1);
  Tensor c = contiguous(t);
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(shares_storage(c, x));
  EXPECT_EQ(c.strides(), (Shape{2, 1}));
  EXPECT_EQ(to_vector<double>(c), to_vector<double>(t));
}

TEST_P(Clone, IsAnIndependentCopy) {
  Tensor x = iota({2, 3});
  Tensor c = clone(x);
  EXPECT_FALSE(shares_storage(c, x));
  EXPECT_EQ(to_vector<double>(c), to_vector<double>(x));
  set(c, 0, 42.0);
  EXPECT_EQ(to_vector<double>(x)[0], 0.0);
  set(x, 1, -5.0);
  EXPECT_EQ(to_vector<double>(c)[1], 1.0);
  Tensor s = clone(slice(x, 1, 0, 3, 2));
  EXPECT_TRUE(s.is_contiguous());
  EXPECT_EQ(to_vector<double>(s), (std::vector<double>{0, 2, 3, 5}));
}

TEST_P(ToDType, Conversions) {
  Tensor f = from_vector<double>({-1.75, -0.5, 0.0, 0.25, 2.9, 3.0}, {2, 3}, options());
  EXPECT_TRUE(to(f, DType::Float64).same(f));  // already that dtype: no copy

  Tensor i = to(f, DType::Int64);  // truncation toward zero, as static_cast / torch
  EXPECT_EQ(i.dtype(), DType::Int64);
  EXPECT_EQ(i.shape(), (Shape{2, 3}));
  EXPECT_EQ(to_vector<std::int64_t>(i), (std::vector<std::int64_t>{-1, 0, 0, 0, 2, 3}));

  Tensor b = to(f, DType::Bool);  // non-zero -> true
  EXPECT_EQ(b.dtype(), DType::Bool);
  EXPECT_EQ(to_vector<bool>(b), (std::vector<bool>{true, true, false, true, true, true}));

  Tensor back = to(b, DType::Float32);
  EXPECT_EQ(to_vector<float>(back), (std::vector<float>{1, 1, 0, 1, 1, 1}));
  Tensor from_int = to(from_vector<std::int64_t>({-3, 0, 7}, {3}, options()), DType::Float64);
  EXPECT_EQ(to_vector<double>(from_int), (std::vector<double>{-3, 0, 7}));
  EXPECT_EQ(to_vector<bool>(to(from_vector<std::int64_t>({-3, 0, 7}, {3}, options()), DType::Bool)),
            (std::vector<bool>{true, false, true}));

  // float64 -> float32 rounds to nearest.
  Tensor r = to(from_vector<double>({0.1, 1.0 / 3.0}, {2}, options()), DType::Float32);
  EXPECT_EQ(to_vector<float>(r), (std::vector<float>{0.1f, 1.0f / 3.0f}));

  // A strided source converts in logical order.
  Tensor t = to(transpose(f, 0, 1), DType::Int64);
  EXPECT_EQ(to_vector<std::int64_t>(t), (std::vector<std::int64_t>{-1, 0, 0, 2, 0, 3}));
}

TEST_P(ToDType, GradientFlowsBetweenFloatTypes) {
  Tensor x = from_vector<double>({1.0, -2.0, 0.5}, {3}, options(DType::Float64).with_requires_grad());
  Tensor y = to(x, DType::Float32);
  EXPECT_TRUE(y.requires_grad());
  backward(sum(mul(y, y)));  // d/dx sum(x^2) = 2x, exact in float32 for these values
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().dtype(), DType::Float64);
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{2.0, -4.0, 1.0}));
  // To an integer type the result is not differentiable.
  EXPECT_FALSE(to(x, DType::Int64).requires_grad());
}

// ---------------------------------------------------------------------------------------------
// Gradients

TEST_P(ViewGrad, Reshape) {
  check_view_gradient([](const Tensor& x) { return reshape(x, {4, -1}); }, {2, 3, 2});
  // Through a copy (reshape of a transposed tensor).
  check_view_gradient([](const Tensor& x) { return reshape(transpose(x, 0, 1), {-1}); }, {3, 4});
}

TEST_P(ViewGrad, View) {
  check_view_gradient([](const Tensor& x) { return view(x, {6, 2}); }, {3, 4});
}

TEST_P(ViewGrad, Flatten) {
  check_view_gradient([](const Tensor& x) { return flatten(x, 1); }, {2, 3, 2});
}

TEST_P(ViewGrad, Permute) {
  // {1, 2, 0} is not its own inverse, so a rule that applies the permutation instead of its
  // inverse produces the wrong shape or places.
  check_view_gradient([](const Tensor& x) { return permute(x, {1, 2, 0}); }, {2, 3, 4});
  check_view_gradient([](const Tensor& x) { return permute(x, {2, 0, 1}); }, {2, 3, 4});
}

TEST_P(ViewGrad, Transpose) {
  check_view_gradient([](const Tensor& x) { return transpose(x, 0, 2); }, {2, 3, 4});
  check_view_gradient([](const Tensor& x) { return transpose(x, -1, 0); }, {3, 5});
}

TEST_P(ViewGrad, Slice) {
  check_view_gradient([](const Tensor& x) { return slice(x, 1, 1, 6, 2); }, {3, 7});
  check_view_gradient([](const Tensor& x) { return slice(x, 0, -3, -1); }, {5, 2});
  check_view_gradient([](const Tensor& x) { return slice(x, -1, -100, 3); }, {2, 4});   // clamped start
  check_view_gradient([](const Tensor& x) { return slice(x, 0, 2, 100, 3); }, {9, 2});  // clamped end, step 3
  // Slice of a slice.
  check_view_gradient([](const Tensor& x) { return slice(slice(x, 0, 1, 7, 2), 0, 1, 3); }, {8, 2});
}

TEST_P(ViewGrad, SliceGradientLandsInTheSlicedPlaces) {
  Tensor x = zeros({6}, options(DType::Float64).with_requires_grad());
  backward(sum(slice(x, 0, -5, 6, 2)));  // elements 1, 3, 5
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{0, 1, 0, 1, 0, 1}));
}

TEST_P(ViewGrad, Narrow) {
  check_view_gradient([](const Tensor& x) { return narrow(x, 1, 1, 2); }, {3, 4});
}

TEST_P(ViewGrad, SqueezeUnsqueeze) {
  check_view_gradient([](const Tensor& x) { return squeeze(x); }, {1, 3, 1, 2});
  check_view_gradient([](const Tensor& x) { return squeeze(x, 2); }, {2, 3, 1});
  check_view_gradient([](const Tensor& x) { return unsqueeze(x, 1); }, {2, 3});
  // Unsqueeze of a non-contiguous view.
  check_view_gradient([](const Tensor& x) { return unsqueeze(transpose(x, 0, 1), 0); }, {2, 3});
}

TEST_P(ViewGrad, Expand) {
  // Each x element feeds several outputs: its gradient is a sum (sum_to).
  check_view_gradient([](const Tensor& x) { return expand(x, {2, 3, 4}); }, {3, 1});
  check_view_gradient([](const Tensor& x) { return expand(x, {4, 2, 3}); }, {1, 2, 3});
}

TEST_P(ViewGrad, CloneContiguous) {
  check_view_gradient([](const Tensor& x) { return clone(transpose(x, 0, 1)); }, {3, 4});
  check_view_gradient([](const Tensor& x) { return contiguous(permute(x, {2, 0, 1})); }, {2, 3, 2});
}

TEST_P(ViewGrad, ExpandGradientIsSummedExplicitly) {
  Tensor x = from_vector<double>({1.0, 2.0}, {2, 1}, options(DType::Float64).with_requires_grad());
  // L = sum(expand(x, [2, 3])^2) = 3 x0^2 + 3 x1^2; dL/dx = 6 x.
  backward(sum(pow(expand(x, {2, 3}), 2.0)));
  EXPECT_EQ(x.grad().shape(), (Shape{2, 1}));
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{6.0, 12.0}));
}

// ---------------------------------------------------------------------------------------------
// float32 against the float64 reference: pure data movement (the ·2 is exact in both types): exact,
// and so are the gradients, except where float rounds: expand's gradient sums 3 copies (two roundings,
// 1.2e-7 of the scale) and to(float64) hands its float64 gradient back rounded to float32 (6e-8).

TEST_P(ViewsAndCopies, Float32MatchesFloat64Reference) {
  using anima::testing::kExact;
  const Tensor x = anima::testing::uniform({4, 6, 5}, 22);
  auto check = [&](const char* what, const anima::testing::OpFn& f) { expect_matches_reference(what, f, {x}, kExact); };
  check("reshape", [](auto& in) { return reshape(in[0], {6, -1}) * 2.0; });
  check("reshape_of_transpose", [](auto& in) { return reshape(transpose(in[0], 0, 2), {-1}) * 2.0; });
  check("permute", [](auto& in) { return contiguous(permute(in[0], {2, 0, 1})) * 2.0; });
  check("slice", [](auto& in) { return slice(in[0], 1, 1, 6, 2) * 2.0; });
  check("narrow", [](auto& in) { return narrow(in[0], 2, 1, 3) * 2.0; });
  check("squeeze_unsqueeze", [](auto& in) { return squeeze(unsqueeze(in[0], 1), 1) * 2.0; });
  expect_matches_reference(
      "expand",
      [](auto& in) {
        return expand(narrow(in[0], 0, 0, 1), {3, 6, 5}) * 2.0;
      },
      {x}, anima::testing::Tolerance{0.0, 1.2e-7});
  check("flatten", [](auto& in) { return flatten(in[0], 1) * 2.0; });
  check("clone", [](auto& in) { return clone(in[0]) * 2.0; });
  expect_matches_reference(
      "to_float64", [](auto& in) { return to(in[0], DType::Float64); }, {x}, anima::testing::Tolerance{0.0, 6e-8});
  check("to_int64", [](auto& in) { return to(in[0] * 10.0, DType::Int64); });
  check("to_bool", [](auto& in) { return to(in[0], DType::Bool); });
}

// ---------------------------------------------------------------------------------------------
// Dim out of range: every view names itself

TEST_P(ViewErrors, DimOutOfRangeNamesTheOp) {
  Tensor x = zeros({2, 3}, options());
  struct Case {
    const char* op;
    std::function<void()> call;
  };
  const std::vector<Case> cases = {
      {"anima::transpose", [&] { transpose(x, 2, 0); }}, {"anima::transpose", [&] { transpose(x, 0, -3); }},
      {"anima::permute", [&] { permute(x, {0, 2}); }},   {"anima::slice", [&] { slice(x, -3, 0, 1); }},
      {"anima::narrow", [&] { narrow(x, 5, 0, 1); }},    {"anima::squeeze", [&] { squeeze(x, 2); }},
      {"anima::unsqueeze", [&] { unsqueeze(x, -4); }},   {"anima::flatten", [&] { flatten(x, 0, 2); }},
  };
  for (const auto& c : cases) {
    const std::string msg = error_of(c.call);
    EXPECT_TRUE(contains(msg, c.op)) << "expected " << c.op << ", got: " << msg;
    EXPECT_TRUE(contains(msg, "out of range")) << msg;
  }
}

}  // namespace
