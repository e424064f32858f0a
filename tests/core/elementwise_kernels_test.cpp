// Tests for anima/kernels/cpu/elementwise.hpp, activation.hpp, copy.hpp and strided_rows.hpp: the
// fast elementwise, activation-backward and copy kernels against their per-element reference loops,
// on random layouts (broadcast dims of stride 0, permuted and stepped strides, size-1 dims with
// arbitrary strides, zero-dimensional outputs, outputs long enough to be split into several parallel
// chunks), float32 and float64, every operation, serial and on a 3-thread pool. Both versions evaluate the same formula on the
// same elements, so the outputs must be equal bit for bit (NaN inputs included; a NaN result only has
// to be a NaN, see bit_equal).
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/activation.hpp>
#include <anima/kernels/cpu/copy.hpp>
#include <anima/kernels/cpu/elementwise.hpp>
#include <anima/kernels/cpu/strided_rows.hpp>
#include <anima/kernels/parallel.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace {

namespace cpu = anima::kernels::cpu;
using anima::kernels::BinaryOp;
using anima::kernels::CompareOp;
using anima::kernels::Layout;
using anima::kernels::UnaryOp;

std::vector<std::int64_t> random_shape(std::mt19937& rng, bool large) {
  std::uniform_int_distribution<int> ndim_dist(0, 5), size_dist(1, 6);
  std::vector<std::int64_t> shape(static_cast<std::size_t>(ndim_dist(rng)));
  for (auto& s : shape) s = size_dist(rng);
  if (large) shape = {2, 3, 97, 131};  // 76k elements: several chunks of kElementwiseGrain
  return shape;
}

std::int64_t numel(const std::vector<std::int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
}

// A layout over `shape` as anima's views make them: each dim broadcast (stride 0), or a stride from a
// random permutation of a larger row-major buffer with a random step; returns the buffer length.
std::int64_t random_layout(std::mt19937& rng, const std::vector<std::int64_t>& shape, Layout& l) {
  const int nd = static_cast<int>(shape.size());
  l.ndim = nd;
  std::vector<int> order(static_cast<std::size_t>(nd));
  std::iota(order.begin(), order.end(), 0);
  if (rng() % 2) std::shuffle(order.begin(), order.end(), rng);
  std::int64_t stride = 1 + static_cast<std::int64_t>(rng() % 2);
  for (int k = nd - 1; k >= 0; --k) {
    const int d = order[static_cast<std::size_t>(k)];
    l.sizes[d] = shape[static_cast<std::size_t>(d)];
    const bool broadcast = rng() % 4 == 0;
    l.strides[d] = broadcast ? 0 : stride;
    if (!broadcast) stride *= shape[static_cast<std::size_t>(d)] + static_cast<std::int64_t>(rng() % 2);
    if (shape[static_cast<std::size_t>(d)] == 1 && rng() % 2) l.strides[d] = 1000;  // never stepped on
  }
  std::int64_t expected = 1;
  bool contiguous = true;
  std::int64_t extent = 1;
  for (int d = nd - 1; d >= 0; --d) {
    if (l.sizes[d] != 1 && l.strides[d] != expected) contiguous = false;
    expected *= l.sizes[d];
    extent += (l.sizes[d] - 1) * l.strides[d];
  }
  l.contiguous = contiguous;
  return extent;
}

// A plain row-major layout, the case the kernels should turn into one row.
Layout contiguous_layout(const std::vector<std::int64_t>& shape) {
  Layout l;
  l.ndim = static_cast<int>(shape.size());
  std::int64_t stride = 1;
  for (int d = l.ndim - 1; d >= 0; --d) {
    l.sizes[d] = shape[static_cast<std::size_t>(d)];
    l.strides[d] = stride;
    stride *= l.sizes[d];
  }
  return l;
}

template <class T>
std::vector<T> random_values(std::mt19937& rng, std::int64_t n, bool with_nan, T low = T(-3), T high = T(3)) {
  std::uniform_real_distribution<T> dist(low, high);
  std::vector<T> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = with_nan && rng() % 7 == 0 ? std::numeric_limits<T>::quiet_NaN() : dist(rng);
  return v;
}

// Equal bit for bit, except that any NaN equals any NaN: which operand's NaN a product of two NaNs
// carries depends on the order the compiler puts the operands in, which IEEE 754 leaves open.
template <class T>
bool bit_equal(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0) return false;
  }
  return true;
}

struct Pools {
  anima::ThreadPool pool{3};
  std::vector<anima::kernels::ParallelFor> all() { return {anima::kernels::ParallelFor{}, pool.parallel()}; }
};

template <class T>
void check_binary_and_compare(std::uint32_t seed) {
  std::mt19937 rng(seed);
  Pools pools;
  for (int trial = 0; trial < 300; ++trial) {
    const auto shape = random_shape(rng, trial % 50 == 0);
    const std::int64_t n = numel(shape);
    Layout la, lb;
    const std::int64_t na = trial % 5 == 1 ? (la = contiguous_layout(shape), n) : random_layout(rng, shape, la);
    const std::int64_t nb = random_layout(rng, shape, lb);
    const bool nan = trial % 3 == 0;
    for (int o = 0; o <= static_cast<int>(BinaryOp::Minimum); ++o) {
      const auto op = static_cast<BinaryOp>(o);
      const bool positive = op == BinaryOp::Pow;  // pow of a negative base is NaN: keep it meaningful
      const auto a = random_values<T>(rng, na, nan, positive ? T(0.1) : T(-3), T(3));
      const auto b = random_values<T>(rng, nb, nan);
      std::vector<T> want(static_cast<std::size_t>(n));
      cpu::binary_reference(op, a.data(), la, b.data(), lb, want.data(), n);
      for (const auto& parallel : pools.all()) {
        std::vector<T> got(static_cast<std::size_t>(n), T(-7));
        cpu::binary(op, a.data(), la, b.data(), lb, got.data(), n, parallel);
        ASSERT_TRUE(bit_equal(got, want)) << "binary op " << o << " trial " << trial << " threads " << parallel.size();
      }
    }
    for (int o = 0; o <= static_cast<int>(CompareOp::Ge); ++o) {
      const auto op = static_cast<CompareOp>(o);
      auto a = random_values<T>(rng, na, nan);
      const auto b = random_values<T>(rng, nb, nan);
      for (std::size_t i = 0; i < a.size() && i < b.size(); i += 3) a[i] = b[i];  // some equal pairs
      std::unique_ptr<bool[]> want(new bool[static_cast<std::size_t>(n)]), got(new bool[static_cast<std::size_t>(n)]);
      cpu::compare_reference(op, a.data(), la, b.data(), lb, want.get(), n);
      for (const auto& parallel : pools.all()) {
        std::fill(got.get(), got.get() + n, false);
        cpu::compare(op, a.data(), la, b.data(), lb, got.get(), n, parallel);
        ASSERT_TRUE(std::equal(got.get(), got.get() + n, want.get())) << "compare op " << o << " trial " << trial;
      }
    }
  }
}

TEST(ElementwiseKernels, BinaryAndCompareEqualTheReferenceFloat) { check_binary_and_compare<float>(1); }
TEST(ElementwiseKernels, BinaryAndCompareEqualTheReferenceDouble) { check_binary_and_compare<double>(2); }

template <class T>
void check_unary_where_and_copies(std::uint32_t seed) {
  std::mt19937 rng(seed);
  Pools pools;
  for (int trial = 0; trial < 200; ++trial) {
    const auto shape = random_shape(rng, trial % 50 == 0);
    const std::int64_t n = numel(shape);
    Layout lx, lc, la, lb;
    const std::int64_t nx = random_layout(rng, shape, lx);
    const bool nan = trial % 3 == 0;
    for (int o = 0; o <= static_cast<int>(UnaryOp::TanhGradOfOutput); ++o) {
      const auto op = static_cast<UnaryOp>(o);
      const auto x = random_values<T>(rng, nx, nan);
      const T p0 = T(0.5), p1 = T(1.5);  // PowScalar exponent / Clamp bounds / slopes
      std::vector<T> want(static_cast<std::size_t>(n));
      cpu::unary_reference(op, p0, p1, x.data(), lx, want.data(), n);
      for (const auto& parallel : pools.all()) {
        std::vector<T> got(static_cast<std::size_t>(n), T(-7));
        cpu::unary(op, p0, p1, x.data(), lx, got.data(), n, parallel);
        ASSERT_TRUE(bit_equal(got, want)) << "unary op " << o << " trial " << trial;
      }
    }
    for (int o = 0; o <= static_cast<int>(UnaryOp::TanhGradOfOutput); ++o) {  // the fused activation backward
      const auto op = static_cast<UnaryOp>(o);
      const std::int64_t ng = random_layout(rng, shape, lb);
      const auto saved = random_values<T>(rng, nx, nan), g = random_values<T>(rng, ng, nan);
      std::vector<T> want(static_cast<std::size_t>(n));
      cpu::activation_backward_reference(op, T(0.25), saved.data(), lx, g.data(), lb, want.data(), n);
      for (const auto& parallel : pools.all()) {
        std::vector<T> got(static_cast<std::size_t>(n), T(-7));
        cpu::activation_backward(op, T(0.25), saved.data(), lx, g.data(), lb, got.data(), n, parallel);
        ASSERT_TRUE(bit_equal(got, want)) << "activation_backward op " << o << " trial " << trial;
      }
    }
    {
      const std::int64_t nc = random_layout(rng, shape, lc), na = random_layout(rng, shape, la),
                         nb = random_layout(rng, shape, lb);
      std::unique_ptr<bool[]> c(new bool[static_cast<std::size_t>(nc)]);
      for (std::int64_t i = 0; i < nc; ++i) c[static_cast<std::size_t>(i)] = rng() % 2;
      const auto a = random_values<T>(rng, na, nan), b = random_values<T>(rng, nb, nan);
      std::vector<T> want(static_cast<std::size_t>(n));
      cpu::where_reference(c.get(), lc, a.data(), la, b.data(), lb, want.data(), n);
      for (const auto& parallel : pools.all()) {
        std::vector<T> got(static_cast<std::size_t>(n), T(-7));
        cpu::where(c.get(), lc, a.data(), la, b.data(), lb, got.data(), n, parallel);
        ASSERT_TRUE(bit_equal(got, want)) << "where trial " << trial;
      }
    }
    {
      const auto x = random_values<T>(rng, nx, false);
      std::vector<T> want(static_cast<std::size_t>(n)), got(static_cast<std::size_t>(n), T(-7));
      cpu::strided_copy_reference(x.data(), lx, want.data(), n);
      cpu::strided_copy(sizeof(T), x.data(), lx, got.data(), n);
      ASSERT_TRUE(bit_equal(got, want)) << "strided_copy trial " << trial;
      std::vector<float> cast_want(static_cast<std::size_t>(n)), cast_got(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) cast_want[static_cast<std::size_t>(i)] = static_cast<float>(want[static_cast<std::size_t>(i)]);
      cpu::cast(x.data(), lx, cast_got.data(), n);
      ASSERT_TRUE(bit_equal(cast_got, cast_want)) << "cast trial " << trial;
      // copy_into: a destination without broadcast dims (each element written once), e.g. a permuted
      // or stepped view into a larger buffer.
      Layout ly;
      std::int64_t ny = 0;
      do {
        ny = random_layout(rng, shape, ly);
      } while ([&] {
        for (int d = 0; d < ly.ndim; ++d)
          if (ly.sizes[d] > 1 && ly.strides[d] == 0) return true;
        return false;
      }());
      std::vector<T> into_want(static_cast<std::size_t>(ny), T(9)), into_got(static_cast<std::size_t>(ny), T(9));
      cpu::copy_into_reference(x.data(), lx, into_want.data(), ly, n);
      cpu::copy_into(sizeof(T), x.data(), lx, into_got.data(), ly, n);
      ASSERT_TRUE(bit_equal(into_got, into_want)) << "copy_into trial " << trial;
    }
  }
}

TEST(ElementwiseKernels, UnaryActivationWhereAndCopiesEqualTheReferenceFloat) { check_unary_where_and_copies<float>(3); }
TEST(ElementwiseKernels, UnaryActivationWhereAndCopiesEqualTheReferenceDouble) { check_unary_where_and_copies<double>(4); }

// The merging itself: what a per-channel operand beside an NCHW one, and a transposed one, become.
TEST(StridedRows, MergesWhatEveryOperandAllows) {
  Layout x = contiguous_layout({2, 8, 5, 6});
  Layout scale = x;
  scale.strides[0] = 0, scale.strides[1] = 1, scale.strides[2] = 0, scale.strides[3] = 0;
  const Layout* both[2] = {&x, &scale};
  const cpu::StridedRows<2> rows(both);
  EXPECT_EQ(rows.ndim(), 3);  // [2, 8, 30]: N and C do not merge (scale repeats over N)
  EXPECT_EQ(rows.row_length(), 30);
  EXPECT_EQ(rows.inner_stride(0), 1);
  EXPECT_EQ(rows.inner_stride(1), 0);
  std::vector<std::int64_t> starts, scale_offsets, lengths;
  rows.for_each_row(25, 95, [&](std::int64_t i, const std::int64_t* off, std::int64_t length) {
    starts.push_back(i);
    EXPECT_EQ(off[0], i);
    scale_offsets.push_back(off[1]);
    lengths.push_back(length);
  });
  EXPECT_EQ(starts, (std::vector<std::int64_t>{25, 30, 60, 90}));
  EXPECT_EQ(scale_offsets, (std::vector<std::int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(lengths, (std::vector<std::int64_t>{5, 30, 30, 5}));

  const Layout* alone[1] = {&x};
  EXPECT_EQ(cpu::StridedRows<1>(alone).ndim(), 1);  // contiguous: one row of 480
  EXPECT_EQ(cpu::StridedRows<1>(alone).row_length(), 480);

  Layout transposed = contiguous_layout({4, 3});
  transposed.strides[0] = 1, transposed.strides[1] = 4;
  const Layout* t[1] = {&transposed};
  EXPECT_EQ(cpu::StridedRows<1>(t).ndim(), 2);
  EXPECT_EQ(cpu::StridedRows<1>(t).inner_stride(0), 4);
}

}  // namespace
