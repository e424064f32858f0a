// anima/ops/matmul.hpp on every backend: matmul (2-D, 1-D operands, batched, broadcast batch dims,
// transposed and sliced operands, K = 0) and bmm, against a triple loop in long double.
//
// Tolerance, per element of C (the classic bound for a K-term dot product, gamma_K in Higham,
// "Accuracy and Stability of Numerical Algorithms", 3.1, valid for any summation order and with FMA):
//     |C - ref| <= (K + 2) * u * scale,   scale = Σ_k |A_ik| |B_kj|,   u = 2^-24 (float32), 2^-53 (float64)
// The reference is accumulated in long double, so its own error is negligible next to the bound. A
// missing, doubled or misplaced term changes C by ~ scale / K, orders of magnitude above it.
// float32 against the float64 reference with gradients (tests/ops/backend_harness.hpp): the same bound
// with K <= 257 and Σ|a||b| <= ~4 max|C| for these uniform operands: 6e-5 of the scale; 1e-4.
// Gradients: gradcheck (float64 central differences, atol 1e-5 + rtol 1e-3; anima/autograd/gradcheck.hpp).
#include <anima/autograd/engine.hpp>
#include <anima/autograd/gradcheck.hpp>
#include <anima/core/allocator.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/generator.hpp>
#include <anima/core/tensor.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/matmul.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ops/backend_harness.hpp"

namespace {

using namespace anima;
using namespace anima::testing;  // tests/ops/backend_harness.hpp and the helpers it includes

ANIMA_BACKEND_SUITE(MatmulErrors);

double unit_roundoff(DType dt) { return dt == DType::Float32 ? std::ldexp(1.0, -24) : std::ldexp(1.0, -53); }

// Reference product with torch.matmul semantics, computed from the operands' logical values.
// Returns C (row-major over c_shape) and the per-element scale Σ|a||b|.
struct Ref {
  Shape shape;
  std::vector<long double> c;
  std::vector<long double> scale;
  std::int64_t K = 0;
};

Ref reference_matmul(const Tensor& a, const Tensor& b) {
  const std::vector<double> av = to_vector<double>(a), bv = to_vector<double>(b);
  // Promote 1-D operands as torch.matmul does.
  Shape as = a.shape(), bs = b.shape();
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const std::int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  const Shape ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  const std::size_t nb = std::max(ab.size(), bb.size());
  Shape batch(nb);
  for (std::size_t i = 0; i < nb; ++i) {
    const std::int64_t da = i < nb - ab.size() ? 1 : ab[i - (nb - ab.size())];
    const std::int64_t db = i < nb - bb.size() ? 1 : bb[i - (nb - bb.size())];
    batch[i] = da == 1 ? db : da;
  }
  Ref r;
  r.K = K;
  const std::int64_t nbatch = numel_of(batch);
  r.c.assign(nbatch * M * N, 0.0L);
  r.scale.assign(nbatch * M * N, 0.0L);
  // Offset of batch index `bi` (of `batch`) into an operand with batch shape `ob`.
  auto batch_offset = [&](std::int64_t bi, const Shape& ob) {
    std::int64_t off = 0, stride = 1;
    for (std::size_t i = nb; i-- > 0;) {
      const std::int64_t idx = bi % batch[i];
      bi /= batch[i];
      const std::size_t lead = nb - ob.size();
      if (i >= lead) {
        const std::int64_t size = ob[i - lead];
        off += (size == 1 ? 0 : idx) * stride;
        stride *= size;
      }
    }
    return off;
  };
  for (std::int64_t bi = 0; bi < nbatch; ++bi) {
    const std::int64_t ao = batch_offset(bi, ab) * M * K, bo = batch_offset(bi, bb) * K * N;
    for (std::int64_t i = 0; i < M; ++i)
      for (std::int64_t j = 0; j < N; ++j) {
        long double acc = 0, sc = 0;
        for (std::int64_t k = 0; k < K; ++k) {
          const long double x = av[ao + i * K + k], y = bv[bo + k * N + j];
          acc += x * y;
          sc += std::fabs(x * y);
        }
        r.c[(bi * M + i) * N + j] = acc;
        r.scale[(bi * M + i) * N + j] = sc;
      }
  }
  r.shape = batch;
  if (a.dim() > 1) r.shape.push_back(M);
  if (b.dim() > 1) r.shape.push_back(N);
  return r;
}

void expect_matches_long_double(const Tensor& a, const Tensor& b, const std::string& what) {
  const Tensor c = matmul(a, b);
  const Ref ref = reference_matmul(a, b);
  ASSERT_EQ(c.shape(), ref.shape) << what;
  EXPECT_EQ(c.dtype(), a.dtype()) << what;
  const std::vector<double> cv = to_vector<double>(c);
  ASSERT_EQ(cv.size(), ref.c.size()) << what;
  const double u = unit_roundoff(a.dtype());
  for (std::size_t i = 0; i < cv.size(); ++i) {
    const double tol = static_cast<double>((ref.K + 2) * u * ref.scale[i]);
    EXPECT_NEAR(cv[i], static_cast<double>(ref.c[i]), tol) << what << " element " << i;
  }
}

// Matmul's suite: its operands are Philox normals drawn on the CPU and copied to the backend.
class Matmul : public anima::testing::BackendTest {
 protected:
  Tensor rnd(const Shape& shape, DType dt, Generator& gen) const { return to_backend(randn(shape, dt, gen)); }
};
ANIMA_INSTANTIATE_BACKENDS(Matmul);

// ---------------------------------------------------------------------------------------------
// Values

TEST_P(Matmul, TwoDimensionalAgainstReference) {
  Generator gen(1);
  struct MKN {
    std::int64_t m, k, n;
  };
  for (DType dt : {DType::Float64, DType::Float32})
    for (MKN s : {MKN{1, 1, 1}, MKN{7, 13, 5}, MKN{64, 33, 17}, MKN{3, 1, 4}, MKN{1, 40, 1}}) {
      Tensor a = rnd({s.m, s.k}, dt, gen), b = rnd({s.k, s.n}, dt, gen);
      expect_matches_long_double(a, b,
                                 std::string(dtype_name(dt)) + " " + std::to_string(s.m) + "x" + std::to_string(s.k) +
                                     "x" + std::to_string(s.n));
    }
}

TEST_P(Matmul, SmallExactValues) {
  Tensor a = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}, options(DType::Float64));
  Tensor b = from_vector<double>({7, 8, 9, 10, 11, 12}, {3, 2}, options(DType::Float64));
  EXPECT_EQ(to_vector<double>(matmul(a, b)), (std::vector<double>{58, 64, 139, 154}));
  EXPECT_EQ(matmul(a, b).shape(), (Shape{2, 2}));
}

TEST_P(Matmul, VectorOperands) {
  Generator gen(2);
  for (DType dt : {DType::Float64, DType::Float32}) {
    Tensor v = rnd({6}, dt, gen), w = rnd({6}, dt, gen);
    Tensor m = rnd({6, 4}, dt, gen), n = rnd({5, 6}, dt, gen);
    EXPECT_EQ(matmul(v, m).shape(), (Shape{4}));
    expect_matches_long_double(v, m, "1-D x 2-D");
    EXPECT_EQ(matmul(n, v).shape(), (Shape{5}));
    expect_matches_long_double(n, v, "2-D x 1-D");
    Tensor dot = matmul(v, w);
    EXPECT_EQ(dot.dim(), 0);
    expect_matches_long_double(v, w, "1-D x 1-D");
    // 1-D with batched: [6] x [3, 6, 4] -> [3, 4]; [3, 5, 6] x [6] -> [3, 5].
    Tensor bm = rnd({3, 6, 4}, dt, gen), bn = rnd({3, 5, 6}, dt, gen);
    EXPECT_EQ(matmul(v, bm).shape(), (Shape{3, 4}));
    expect_matches_long_double(v, bm, "1-D x 3-D");
    EXPECT_EQ(matmul(bn, v).shape(), (Shape{3, 5}));
    expect_matches_long_double(bn, v, "3-D x 1-D");
  }
  Tensor x = from_vector<double>({1, 2, 3}, {3}, options(DType::Float64));
  Tensor y = from_vector<double>({4, -5, 6}, {3}, options(DType::Float64));
  EXPECT_EQ(item<double>(matmul(x, y)), 12.0);
}

TEST_P(Matmul, BatchedAndBmm) {
  Generator gen(3);
  for (DType dt : {DType::Float64, DType::Float32}) {
    Tensor a = rnd({4, 7, 9}, dt, gen), b = rnd({4, 9, 3}, dt, gen);
    expect_matches_long_double(a, b, "batched 3-D");
    EXPECT_EQ(to_vector<double>(bmm(a, b)), to_vector<double>(matmul(a, b)));
    // Batch dims broadcast: [2, 1, 3, 4] x [5, 4, 2] -> [2, 5, 3, 2].
    Tensor c = rnd({2, 1, 3, 4}, dt, gen), d = rnd({5, 4, 2}, dt, gen);
    EXPECT_EQ(matmul(c, d).shape(), (Shape{2, 5, 3, 2}));
    expect_matches_long_double(c, d, "broadcast batch");
    // A 2-D operand against a batch: [3, 4] x [6, 4, 5] -> [6, 3, 5].
    Tensor e = rnd({3, 4}, dt, gen), f = rnd({6, 4, 5}, dt, gen);
    expect_matches_long_double(e, f, "2-D x 3-D");
    expect_matches_long_double(f, rnd({5, 2}, dt, gen), "3-D x 2-D");
  }
}

// Peak CPU bytes allocated while computing matmul(a, b), above what was live before.
std::size_t matmul_peak_bytes(const Tensor& a, const Tensor& b) {
  cpu_allocator().reset_peak();
  const std::size_t before = memory_stats(Device::cpu()).current_bytes;
  { Tensor c = matmul(a, b); }
  return memory_stats(Device::cpu()).peak_bytes - before;
}

// CPU only: it measures the CPU allocator's peak to show that a transposed operand is not copied.
TEST(MatmulCpu, TransposedOperandsNeedNoCopy) {
  Generator gen(4);
  auto rnd = [](const Shape& shape, DType dt, Generator& g) { return randn(shape, dt, g); };
  for (DType dt : {DType::Float64, DType::Float32}) {
    Tensor x = rnd({8, 16}, dt, gen);
    Tensor W = rnd({12, 16}, dt, gen);  // [out, in], as a Linear layer stores it
    Tensor Wt = transpose(W, 0, 1);     // [16, 12], strides [1, 16]
    EXPECT_FALSE(Wt.is_contiguous());
    expect_matches_long_double(x, Wt, "x . W^T");
    // Both operands transposed: (16x8)^T . (12x16)^T.
    Tensor xt = transpose(rnd({16, 8}, dt, gen), 0, 1);
    expect_matches_long_double(xt, Wt, "A^T . B^T");
    // Batched transposes: [3, 5, 4]^T(-1,-2) . [3, 5, 6].
    expect_matches_long_double(transpose(rnd({3, 5, 4}, dt, gen), 1, 2), rnd({3, 5, 6}, dt, gen), "batched A^T");

    // No copy: the product with Wᵀ as a view allocates exactly what the product with a contiguous
    // copy of Wᵀ does (the output and the GEMM workspace, same M, N, K); a copy would add 16*12 elements.
    Tensor Wt_contiguous = contiguous(Wt);
    EXPECT_EQ(matmul_peak_bytes(x, Wt), matmul_peak_bytes(x, Wt_contiguous)) << dtype_name(dt);
    EXPECT_EQ(to_vector<double>(matmul(x, Wt)), to_vector<double>(matmul(x, Wt_contiguous))) << dtype_name(dt);
    // The measurement does see a copy: a column stride of 2 cannot be passed to the GEMM as is.
    Tensor strided = slice(rnd({16, 24}, dt, gen), 1, 0, 24, 2);  // [16, 12]
    EXPECT_GT(matmul_peak_bytes(x, strided), matmul_peak_bytes(x, contiguous(strided))) << dtype_name(dt);
  }
}

TEST_P(Matmul, NonContiguousSlices) {
  Generator gen(5);
  for (DType dt : {DType::Float64, DType::Float32}) {
    Tensor big = rnd({10, 20}, dt, gen);
    Tensor cols = slice(big, 1, 3, 12);            // [10, 9], row stride 20: usable without a copy
    Tensor every_other = slice(big, 1, 0, 20, 2);  // [10, 10], column stride 2: needs a copy
    Tensor rows = slice(big, 0, 1, 10, 2);         // [5, 20], row stride 40
    Tensor b = rnd({9, 7}, dt, gen);
    expect_matches_long_double(cols, b, "column slice");
    expect_matches_long_double(every_other, rnd({10, 3}, dt, gen), "step-2 column slice");
    expect_matches_long_double(rows, rnd({20, 4}, dt, gen), "step-2 row slice");
    expect_matches_long_double(rnd({4, 10}, dt, gen), every_other, "step-2 slice as B");
    expect_matches_long_double(rnd({2, 9}, dt, gen), transpose(slice(big, 1, 1, 19, 2), 0, 1), "transposed strided B");
    // Batch slices: every other matrix of a batch.
    Tensor batch = rnd({6, 4, 5}, dt, gen);
    expect_matches_long_double(slice(batch, 0, 0, 6, 2), rnd({3, 5, 2}, dt, gen), "batch slice");
    // Expanded (stride 0) operands.
    Tensor row = rnd({1, 8}, dt, gen);
    expect_matches_long_double(expand(row, {5, 8}), rnd({8, 3}, dt, gen), "expanded rows");
    expect_matches_long_double(expand(rnd({4, 3}, dt, gen), {2, 4, 3}), rnd({2, 3, 5}, dt, gen), "expanded batch");
  }
}

TEST_P(Matmul, EmptyInnerDimGivesZeros) {
  for (DType dt : {DType::Float64, DType::Float32}) {
    Tensor c = matmul(zeros({3, 0}, options(dt)), zeros({0, 4}, options(dt)));
    EXPECT_EQ(c.shape(), (Shape{3, 4}));
    EXPECT_EQ(to_vector<double>(c), std::vector<double>(12, 0.0));
    // Uninitialised inputs of no elements.
    Tensor b = matmul(empty({2, 3, 0}, options(dt)), empty({2, 0, 5}, options(dt)));
    EXPECT_EQ(b.shape(), (Shape{2, 3, 5}));
    EXPECT_EQ(to_vector<double>(b), std::vector<double>(30, 0.0));
    EXPECT_EQ(item<double>(matmul(zeros({0}, options(dt)), zeros({0}, options(dt)))), 0.0);
  }
  EXPECT_EQ(matmul(zeros({0, 3}, options()), zeros({3, 4}, options())).shape(), (Shape{0, 4}));
  EXPECT_EQ(matmul(zeros({2, 3}, options()), zeros({3, 0}, options())).shape(), (Shape{2, 0}));
}

TEST_P(Matmul, LargerFloat32WithinBound) {
  // K = 300: a blocked kernel sums in several panels; the bound still holds element by element.
  Generator gen(6);
  expect_matches_long_double(rnd({37, 300}, DType::Float32, gen), rnd({300, 29}, DType::Float32, gen), "37x300x29");
  expect_matches_long_double(rnd({37, 300}, DType::Float64, gen), rnd({300, 29}, DType::Float64, gen), "37x300x29");
}

// Forward and both gradients, float32 against the float64 reference (bound at the top of the file).
TEST_P(Matmul, Float32MatchesFloat64Reference) {
  constexpr Tolerance kGemm{1e-4};
  const Tensor a = uniform({65, 257}, 11), b = uniform({257, 33}, 12);
  auto mm = [](auto& in) { return matmul(in[0], in[1]); };
  expect_matches_reference("matmul_2d", mm, {a, b}, kGemm);
  expect_matches_reference(
      "matmul_transposed", [](auto& in) { return matmul(in[0], transpose(in[1], 0, 1)); }, {a, uniform({33, 257}, 13)},
      kGemm);
  expect_matches_reference("matmul_batched_broadcast", mm, {uniform({2, 1, 7, 19}, 14), uniform({3, 19, 5}, 15)},
                           kGemm);
  expect_matches_reference("matmul_vec", mm, {uniform({19}, 16), uniform({19, 4}, 17)}, kGemm);
  expect_matches_reference("dot", mm, {uniform({19}, 18), uniform({19}, 19)}, kGemm);
  expect_matches_reference(
      "bmm", [](auto& in) { return bmm(in[0], in[1]); }, {uniform({4, 9, 8}, 20), uniform({4, 8, 3}, 21)}, kGemm);
}

// ---------------------------------------------------------------------------------------------
// Gradients

Tensor leaf(const Shape& shape, Generator& gen) {
  return randn(shape, TensorOptions(DType::Float64).with_requires_grad(), gen);
}

// MatmulGrad's suite: gradcheck of matmul(a, b) (output projected on a random direction by gradcheck)
// and of a non-linear use of it, for the given operand shapes, with optional views applied to the inputs.
class MatmulGrad : public anima::testing::BackendTest {
 protected:
  void check_matmul_grad(const Shape& sa, const Shape& sb, const std::string& what, std::uint64_t seed,
                         Tensor (*view_a)(const Tensor&) = nullptr, Tensor (*view_b)(const Tensor&) = nullptr) const {
    Generator gen(seed);
    Tensor a = leaf(sa, gen), b = leaf(sb, gen);
    auto apply = [&](const std::vector<Tensor>& in) {
      Tensor x = view_a ? view_a(in[0]) : in[0];
      Tensor y = view_b ? view_b(in[1]) : in[1];
      return matmul(x, y);
    };
    expect_gradcheck(what, apply, {a, b});
    expect_gradcheck(what + " squared", [&](const std::vector<Tensor>& in) { return pow(apply(in), 2.0); }, {a, b});
  }
};
ANIMA_INSTANTIATE_BACKENDS(MatmulGrad);

TEST_P(MatmulGrad, TwoDimensional) {
  check_matmul_grad({1, 1}, {1, 1}, "1x1x1", 1);
  check_matmul_grad({7, 13}, {13, 5}, "7x13x5", 2);
  check_matmul_grad({6, 9}, {9, 4}, "6x9x4", 3);
}

TEST_P(MatmulGrad, Vectors) {
  check_matmul_grad({5}, {5, 3}, "1-D x 2-D", 4);
  check_matmul_grad({4, 5}, {5}, "2-D x 1-D", 5);
  check_matmul_grad({6}, {6}, "1-D x 1-D", 6);
  check_matmul_grad({4}, {2, 4, 3}, "1-D x 3-D", 7);
}

TEST_P(MatmulGrad, BatchedAndBroadcast) {
  check_matmul_grad({3, 4, 5}, {3, 5, 2}, "batched", 8);
  check_matmul_grad({2, 1, 3, 4}, {5, 4, 2}, "broadcast [2,1,3,4] x [5,4,2]", 9);
  check_matmul_grad({3, 4}, {2, 4, 5}, "2-D x batched", 10);
  check_matmul_grad({2, 3, 4}, {4, 5}, "batched x 2-D", 11);
}

TEST_P(MatmulGrad, TransposedAndSlicedOperands) {
  // x [4, 6] . transpose(W [5, 6]) and A^T . B^T.
  check_matmul_grad({4, 6}, {5, 6}, "x . W^T", 12, nullptr, [](const Tensor& w) { return transpose(w, 0, 1); });
  check_matmul_grad(
      {6, 4}, {5, 6}, "A^T . B^T", 13, [](const Tensor& a) { return transpose(a, 0, 1); },
      [](const Tensor& b) { return transpose(b, 0, 1); });
  check_matmul_grad({5, 8}, {4, 3}, "column-slice step 2 . B", 14,
                    [](const Tensor& a) { return slice(a, 1, 0, 8, 2); });
  check_matmul_grad(
      {3, 10}, {10, 2}, "column slice . row slice", 15, [](const Tensor& a) { return slice(a, 1, 2, 7); },
      [](const Tensor& b) { return slice(b, 0, 1, 10, 2); });
  check_matmul_grad({1, 4}, {4, 3}, "expanded rows", 16, [](const Tensor& a) { return expand(a, {5, 4}); });
}

TEST_P(MatmulGrad, ExplicitSmallCase) {
  // C = A B with L = Σ C: dL/dA = 1 Bᵀ (row sums of B), dL/dB = Aᵀ 1 (column sums of A).
  Tensor a = from_vector<double>({1, 2, 3, 4}, {2, 2}, options(DType::Float64).with_requires_grad());
  Tensor b = from_vector<double>({5, 6, 7, 8}, {2, 2}, options(DType::Float64).with_requires_grad());
  backward(sum(matmul(a, b)));
  EXPECT_EQ(to_vector<double>(a.grad()), (std::vector<double>{11, 15, 11, 15}));
  EXPECT_EQ(to_vector<double>(b.grad()), (std::vector<double>{4, 4, 6, 6}));
}

TEST_P(MatmulGrad, EmptyInnerDim) {
  Tensor a = zeros({3, 0}, options(DType::Float64).with_requires_grad());
  Tensor b = zeros({0, 4}, options(DType::Float64).with_requires_grad());
  backward(sum(matmul(a, b)));
  EXPECT_EQ(a.grad().shape(), (Shape{3, 0}));
  EXPECT_EQ(b.grad().shape(), (Shape{0, 4}));
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST_P(MatmulErrors, InnerDimMismatchNamesBothShapes) {
  expect_error(
      [&] {
        matmul(zeros({2, 3}, options()), zeros({4, 5}, options()));
      },
      {"anima::matmul", "[2, 3]", "[4, 5]"});
  expect_error([&] { matmul(zeros({3}, options()), zeros({4}, options())); }, {"[3]", "[4]"});
  expect_error([&] { matmul(zeros({2, 2, 3}, options()), zeros({2}, options())); }, {"[2, 2, 3]"});
  // Batch dims that do not broadcast.
  expect_error([&] { matmul(zeros({2, 3, 4}, options()), zeros({3, 4, 5}, options())); }, {"anima::matmul"});
}

TEST_P(MatmulErrors, DtypeMismatch) {
  expect_error(
      [&] {
        matmul(zeros({2, 3}, options()), zeros({3, 2}, options(DType::Float64)));
      },
      {"anima::matmul", "float32", "float64"});
  expect_error(
      [&] {
        matmul(zeros({2, 3}, options(DType::Int64)), zeros({3, 2}, options(DType::Int64)));
      },
      {"anima::matmul", "int64"});
}

TEST_P(MatmulErrors, ZeroDimOperand) {
  expect_error([&] { matmul(full({}, 2.0, options()), zeros({3}, options())); }, {"anima::matmul", "[]"});
  expect_error([&] { matmul(zeros({2, 3}, options()), full({}, 1.0, options())); }, {"anima::matmul"});
}

TEST_P(MatmulErrors, BmmShapes) {
  expect_error(
      [&] {
        bmm(zeros({2, 3, 4}, options()), zeros({3, 4, 5}, options()));
      },
      {"anima::bmm", "[2, 3, 4]", "[3, 4, 5]"});
  EXPECT_THROW(bmm(zeros({3, 4}, options()), zeros({4, 5}, options())), Error);
  EXPECT_THROW(bmm(zeros({2, 3, 4}, options()), zeros({2, 5, 6}, options())), Error);
}

}  // namespace
