// dropout (anima/ops/dropout.hpp) on every backend: mask statistics, scaling, eval/p == 0 identity,
// reproducibility from the seed (across dtypes, and the same mask as the CPU's), float32 against the
// float64 reference, gradient = the scaled mask, and argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <anima/ops/dropout.hpp>
#include <anima/ops/reduce.hpp>

#include "ops/backend_harness.hpp"

namespace anima {
namespace {

using namespace testing;  // tests/ops/backend_harness.hpp and the helpers it includes

ANIMA_BACKEND_SUITE(Dropout);

TEST_P(Dropout, FractionDroppedAndScale) {
  const std::int64_t n = 200000;
  for (double p : {0.1, 0.3, 0.5, 0.9}) {
    Generator g(11);
    Tensor x = ones({n}, options());
    const auto y = to_vector<float>(dropout(x, p, true, g));
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    std::int64_t zeros_seen = 0;
    for (float v : y) {
      if (v == 0.0f) {
        ++zeros_seen;
      } else {
        ASSERT_EQ(v, scale) << "p " << p;
      }
    }
    // Binomial(n, p): within 6 standard deviations (a false failure has probability ~2e-9).
    const double sigma = std::sqrt(p * (1 - p) / static_cast<double>(n));
    EXPECT_NEAR(static_cast<double>(zeros_seen) / static_cast<double>(n), p, 6 * sigma) << "p " << p;
  }
}

TEST_P(Dropout, IdentityInEvalAndForZeroP) {
  Tensor x = ones({10}, options());
  EXPECT_TRUE(dropout(x, 0.5, false).same(x));
  EXPECT_TRUE(dropout(x, 0.0, true).same(x));
  Generator g(1);
  const std::uint64_t before = g.offset();
  dropout(x, 0.5, false, g);
  EXPECT_EQ(g.offset(), before);  // no draw in eval
  dropout(x, 0.5, true, g);
  EXPECT_EQ(g.offset(), before + 10);  // one counter per element
}

TEST_P(Dropout, SameSeedSameMaskAcrossCallsAndDtypes) {
  Generator a(42), b(42), c(42);
  const auto ya = to_vector<double>(dropout(ones({1000}, options()), 0.4, true, a));
  const auto yb = to_vector<double>(dropout(ones({1000}, options()), 0.4, true, b));
  const auto yc = to_vector<double>(dropout(ones({1000}, options(DType::Float64)), 0.4, true, c));
  EXPECT_EQ(ya, yb);
  for (std::size_t i = 0; i < ya.size(); ++i) EXPECT_EQ(ya[i] == 0.0, yc[i] == 0.0) << i;
  // The generator advanced: the next mask differs.
  const auto ya2 = to_vector<double>(dropout(ones({1000}, options()), 0.4, true, a));
  EXPECT_NE(ya, ya2);
}

TEST_P(Dropout, MaskRuleKeepsWhereUniformAtLeastP) {
  // keep = [u >= p] with u = rand() of the same generator state (float32 draws).
  Generator a(7), b(7);
  const auto u = to_vector<float>(rand({4096}, options(DType::Float32), a));
  const auto y = to_vector<float>(dropout(ones({4096}, options()), 0.25, true, b));
  for (std::size_t i = 0; i < u.size(); ++i) EXPECT_EQ(y[i] != 0.0f, u[i] >= 0.25f) << i;
}

TEST_P(Dropout, GradientIsScaledMask) {
  const Tensor x0 = uniform({6, 7}, 3, -1, 1, DType::Float64);
  const Tensor x = to_backend(x0);
  Generator m(5);
  Tensor y = dropout(x, 0.3, true, m);
  backward(sum(y));
  const auto gv = to_vector<double>(x.grad()), yv = to_vector<double>(y);
  for (std::size_t i = 0; i < gv.size(); ++i) EXPECT_DOUBLE_EQ(gv[i], yv[i] == 0.0 ? 0.0 : 1.0 / 0.7);
  expect_gradcheck("dropout",
                   [](const std::vector<Tensor>& in) {
                     Generator fixed(9);  // the same mask on every evaluation
                     return dropout(in[0], 0.3, true, fixed);
                   },
                   {x0});
}

TEST_P(Dropout, SameMaskAsTheCpu) {
  // Same seed: the same Philox uniforms on every backend, so the same mask; the kept values are
  // x · (1/(1-p)), two float roundings (the scale, the product) away from the float64 reference; the
  // backward is the same product with g.
  const Tensor x = uniform({8, 3, 31, 17}, 4);
  expect_matches_reference(
      "dropout",
      [](auto& in) {
        Generator g(1234);
        return dropout(in[0], 0.35, true, g);
      },
      {x}, Tolerance{2.5e-7});
  // The masks themselves, element by element.
  Generator a(77), b(77);
  const auto cpu = to_vector<float>(dropout(ones({100003}), 0.5, true, a));
  const auto here = to_vector<float>(dropout(ones({100003}, options()), 0.5, true, b));
  ASSERT_EQ(cpu.size(), here.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < cpu.size(); ++i) differing += cpu[i] != here[i];
  EXPECT_EQ(differing, 0u);
}

TEST_P(Dropout, Errors) {
  expect_error([&] { dropout(ones({3}, options()), 1.0, true); }, {"anima::dropout", "[0, 1)", "1"});
  expect_error([&] { dropout(ones({3}, options()), -0.1, true); }, {"anima::dropout", "-0.1"});
  expect_error([&] { dropout(zeros({3}, options(DType::Int64)), 0.5, true); }, {"anima::dropout", "int64"});
}

}  // namespace
}  // namespace anima
