// CPU-vs-CUDA parity of linear, dropout, concat/split and softmax/log_softmax, forward and gradients
// (skipped without a CUDA device).
#include <gtest/gtest.h>

#include <vector>

#include <anima/core/copy.hpp>
#include <anima/ops/concat.hpp>
#include <anima/ops/dropout.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/linear.hpp>
#include <anima/ops/softmax.hpp>
#include <anima/ops/view.hpp>

#include "parity.hpp"

namespace anima {
namespace {

using testing::expect_parity;
using testing::Tolerance;

Tensor input(const Shape& s, std::uint64_t seed, double lo = -1, double hi = 1, bool grad = true) {
  Generator g(seed);
  return rand(s, TensorOptions().with_requires_grad(grad), g, lo, hi);
}

TEST(CudaParity, Linear) {
  ANIMA_REQUIRE_CUDA();
  Tensor x = input({3, 5, 37}, 1), w = input({19, 37}, 2), b = input({19}, 3);
  // cuBLAS vs the packed CPU GEMM over K = 37 (and the weight gradient over 15 rows): different
  // summation orders in float32: 1e-5 relative, 1e-5 absolute for sums that cancel.
  const Tolerance gemm{1e-5, 1e-5};
  expect_parity("linear", [](auto& in) { return linear(in[0], in[1], in[2]); }, {x, w, b}, gemm);
  expect_parity("linear no bias", [](auto& in) { return linear(in[0], in[1]); }, {x, w}, gemm);
}

TEST(CudaParity, DropoutMaskIsIdentical) {
  ANIMA_REQUIRE_CUDA();
  Tensor x = input({8, 3, 31, 17}, 4);
  // Same seed: the same Philox uniforms on both backends, so the same mask; the kept values are
  // x · (1/(1-p)) in float on both: exact.
  expect_parity("dropout", [](auto& in) {
    Generator g(1234);
    return dropout(in[0], 0.35, true, g);
  }, {x}, Tolerance{0, 0});
  // The masks themselves, element by element.
  Generator a(77), b(77);
  const auto cpu = to_vector<float>(dropout(ones({100003}), 0.5, true, a));
  const auto gpu = to_vector<float>(dropout(ones({100003}, TensorOptions().with_device(Device::cuda(0))), 0.5, true, b));
  ASSERT_EQ(cpu.size(), gpu.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < cpu.size(); ++i) differing += cpu[i] != gpu[i];
  EXPECT_EQ(differing, 0u);
}

TEST(CudaParity, ConcatSplit) {
  ANIMA_REQUIRE_CUDA();
  Tensor a = input({2, 3, 5}, 5), b = input({2, 4, 5}, 6), c = input({2, 1, 5}, 7);
  // Copies only: exact.
  expect_parity("concat dim 1", [](auto& in) { return concat(in, 1); }, {a, b, c}, Tolerance{0, 0});
  Tensor d = input({3, 3, 5}, 8);
  expect_parity("concat dim 0", [](auto& in) { return concat({in[0], in[1]}, 0); }, {a, d}, Tolerance{0, 0});
  Tensor e = input({2, 5, 5}, 9);
  expect_parity("split", [](auto& in) {
    auto p = split(in[0], 2, 1);  // [2,2,5] [2,2,5] [2,1,5] of e
    return concat({p[2], p[0], mul(p[1], p[0])}, 1);
  }, {e}, Tolerance{1e-7, 1e-7});
}

TEST(CudaParity, Softmax) {
  ANIMA_REQUIRE_CUDA();
  // Both backends: exp of the same float x − m (CUDA's expf within 2 ulps, the host's within 1), sums
  // in double; outputs and gradients within 1e-6 relative / 1e-7 absolute (tiny probabilities).
  const Tolerance tol{1e-6, 1e-7};
  Tensor x = input({4, 37, 53}, 9, -6, 6);
  for (std::int64_t d : {0, 1, 2}) {
    expect_parity("softmax", [d](auto& in) { return softmax(in[0], d); }, {x}, tol);
    expect_parity("log_softmax", [d](auto& in) { return log_softmax(in[0], d); }, {x}, Tolerance{1e-6, 1e-6});
  }
  Tensor rows = input({300, 1000}, 10, -10, 10);
  expect_parity("softmax rows", [](auto& in) { return softmax(in[0], -1); }, {rows}, tol);
  expect_parity("log_softmax rows", [](auto& in) { return log_softmax(in[0], -1); }, {rows}, Tolerance{1e-6, 1e-6});
  expect_parity("softmax transposed", [](auto& in) { return softmax(transpose(in[0], 0, 1), 1); }, {rows}, tol);
}

}  // namespace
}  // namespace anima
