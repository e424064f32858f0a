// CPU-vs-CUDA parity of the losses (anima/ops/loss.hpp), every variant, forward and gradients
// (skipped without a CUDA device).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <anima/ops/factory.hpp>
#include <anima/ops/loss.hpp>

#include "parity.hpp"

namespace anima {
namespace {

using testing::expect_parity;
using testing::Tolerance;

Tensor input(const Shape& s, std::uint64_t seed, double lo = -1, double hi = 1, bool grad = true) {
  Generator g(seed);
  return rand(s, TensorOptions().with_requires_grad(grad), g, lo, hi);
}

// The losses are composites of log_softmax, elementwise ops and sums; the sums (over up to 37·11
// elements) are ordered differently on the two backends (both accumulate float in double, rounding
// once), and exp/log differ by <= 2 ulps: 1e-5 relative, 1e-6 absolute.
constexpr Tolerance kLoss{1e-5, 1e-6};

TEST(CudaParity, CrossEntropy) {
  ANIMA_REQUIRE_CUDA();
  Tensor x = input({37, 11}, 1, -4, 4);
  std::vector<std::int64_t> t(37);
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<std::int64_t>((i * 7) % 11);
  t[3] = -100;
  t[20] = -100;
  Tensor w = input({11}, 2, 0.5, 2, false);
  for (Reduction red : {Reduction::None, Reduction::Mean, Reduction::Sum})
    for (bool weighted : {false, true})
      for (double eps : {0.0, 0.1}) {
        const std::string name = "cross_entropy " + std::to_string(static_cast<int>(red)) + (weighted ? " w" : "") +
                                 " eps " + std::to_string(eps);
        expect_parity(name, [&](auto& in) {
          CrossEntropyOptions o;
          o.reduction = red;
          o.label_smoothing = eps;
          if (weighted) o.weight = in[1];
          Tensor tgt = from_vector(t, {37}, TensorOptions().with_device(in[0].device()));
          return cross_entropy(in[0], tgt, o);
        }, {x, w}, kLoss);
      }
}

TEST(CudaParity, BinaryCrossEntropyWithLogits) {
  ANIMA_REQUIRE_CUDA();
  Tensor x = input({9, 13}, 3, -6, 6), t = input({9, 13}, 4, 0, 1), w = input({9, 1}, 5, 0.5, 2),
         pw = input({13}, 6, 0.5, 3);
  for (Reduction red : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
    expect_parity("bce", [red](auto& in) { return binary_cross_entropy_with_logits(in[0], in[1], Tensor(), red); },
                  {x, t}, kLoss);
    expect_parity("bce weight pos_weight", [red](auto& in) {
      return binary_cross_entropy_with_logits(in[0], in[1], in[2], red, in[3]);
    }, {x, t, w, pw}, kLoss);
  }
}

TEST(CudaParity, SmoothL1AndMse) {
  ANIMA_REQUIRE_CUDA();
  Tensor x = input({9, 13}, 7, -2, 2), t = input({9, 13}, 8, -2, 2);
  for (Reduction red : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
    for (double beta : {0.0, 0.5, 1.0})
      expect_parity("smooth_l1", [red, beta](auto& in) { return smooth_l1_loss(in[0], in[1], beta, red); }, {x, t}, kLoss);
    expect_parity("mse", [red](auto& in) { return mse_loss(in[0], in[1], red); }, {x, t}, kLoss);
  }
}

}  // namespace
}  // namespace anima
