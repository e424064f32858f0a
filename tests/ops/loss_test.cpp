// Losses (anima/ops/loss.hpp) on every backend: values against double loops written from PyTorch 1.13's
// formulas for every variant (reductions, class weights, label smoothing with and without weights,
// ignore_index, pos_weight, beta), gradcheck of each, float32 against the float64 reference (outputs and
// gradients), the stable BCE form at large |x|, the gradients at the smooth-L1 boundaries, and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <anima/ops/loss.hpp>

#include "ops/backend_harness.hpp"

namespace anima {
namespace {

using namespace testing;  // tests/ops/backend_harness.hpp and the helpers it includes

// cross_entropy's suite: its targets are int64 tensors on the backend.
class CrossEntropy : public testing::BackendTest {
 protected:
  Tensor targets(const std::vector<std::int64_t>& t) const {
    return from_vector(t, {static_cast<std::int64_t>(t.size())}, options(DType::Int64));
  }
};
ANIMA_INSTANTIATE_BACKENDS(CrossEntropy);
ANIMA_BACKEND_SUITE(BinaryCrossEntropyWithLogits);
ANIMA_BACKEND_SUITE(SmoothL1AndMse);

const char* reduction_name(Reduction r) {
  return r == Reduction::None ? "none" : (r == Reduction::Sum ? "sum" : "mean");
}

// float32 against the float64 reference: the losses are composites of log_softmax, elementwise ops and
// sums (over up to 37·11 elements, accumulated in double and rounded once); exp/log add <= 2 ulps:
// 1e-5 of the scale.
constexpr Tolerance kLoss{1e-5};

// cross_entropy as PyTorch 1.13 defines it (nll_loss + cross_entropy_loss_label_smoothing), in double.
std::vector<double> cross_entropy_ref(const std::vector<double>& x, std::int64_t n, std::int64_t c,
                                      const std::vector<std::int64_t>& t, const std::vector<double>& w, double eps,
                                      std::int64_t ignore, Reduction red) {
  std::vector<double> nll(n, 0.0), smooth(n, 0.0);
  double wsum = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (t[i] == ignore) continue;
    double m = -INFINITY, s = 0;
    for (std::int64_t k = 0; k < c; ++k) m = std::max(m, x[i * c + k]);
    for (std::int64_t k = 0; k < c; ++k) s += std::exp(x[i * c + k] - m);
    auto logp = [&](std::int64_t k) { return x[i * c + k] - m - std::log(s); };
    const double wt = w.empty() ? 1.0 : w[t[i]];
    nll[i] = -wt * logp(t[i]);
    for (std::int64_t k = 0; k < c; ++k) smooth[i] -= (w.empty() ? 1.0 : w[k]) * logp(k);
    wsum += wt;
  }
  std::vector<double> out;
  if (red == Reduction::None) {
    for (std::int64_t i = 0; i < n; ++i) out.push_back((1 - eps) * nll[i] + eps / c * smooth[i]);
    return out;
  }
  double a = 0, b = 0;
  for (std::int64_t i = 0; i < n; ++i) a += nll[i], b += smooth[i];
  double v = (1 - eps) * a + eps / c * b;
  if (red == Reduction::Mean) v /= wsum;
  return {v};
}

TEST_P(CrossEntropy, AllVariantsMatchReferenceAndGradcheck) {
  const std::int64_t n = 6, c = 5;
  const Tensor x0 = uniform64({n, c}, 1, -3, 3);
  const Tensor x = to_backend(x0);
  const auto xv = to_vector<double>(x);
  const std::vector<double> wv = {0.5, 1.5, 2.0, 0.25, 1.0};
  const Tensor w = from_vector(wv, {c}, options(DType::Float64));
  const std::vector<std::int64_t> tv = {0, 4, 2, 1, 3, 2};
  const std::vector<std::int64_t> tv_ignored = {0, -100, 2, 1, -100, 2};
  const std::vector<std::int64_t> tv_ignore1 = {1, 4, 1, 0, 3, 2};  // ignore_index = 1 (a real class)
  int checked = 0;
  for (Reduction red : {Reduction::None, Reduction::Mean, Reduction::Sum})
    for (bool weighted : {false, true})
      for (double eps : {0.0, 0.2})
        for (int ig = 0; ig < 3; ++ig) {
          const auto& tt = ig == 0 ? tv : (ig == 1 ? tv_ignored : tv_ignore1);
          CrossEntropyOptions o;
          o.reduction = red;
          o.label_smoothing = eps;
          if (weighted) o.weight = w;
          if (ig == 2) o.ignore_index = 1;
          const std::string what = std::string(reduction_name(red)) + (weighted ? " weighted" : "") + " eps " +
                                   std::to_string(eps) + " ignore case " + std::to_string(ig);
          const Tensor tgt = targets(tt);
          const auto ref =
              cross_entropy_ref(xv, n, c, tt, weighted ? wv : std::vector<double>{}, eps, o.ignore_index, red);
          const auto y = to_vector<double>(cross_entropy(x, tgt, o));
          ASSERT_EQ(y.size(), ref.size()) << what;
          for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-13 * (1 + std::fabs(ref[i]))) << what;
          expect_gradcheck(what, [&](const std::vector<Tensor>& in) { return cross_entropy(in[0], tgt, o); }, {x0});
          ++checked;
        }
  EXPECT_EQ(checked, 36);
}

TEST_P(CrossEntropy, ReductionShapesAndAllIgnored) {
  const Tensor x = to_backend(uniform64({3, 4}, 2, -1, 1, false));
  CrossEntropyOptions o;
  o.reduction = Reduction::None;
  EXPECT_EQ(cross_entropy(x, targets({0, 1, 2}), o).shape(), (Shape{3}));
  EXPECT_EQ(cross_entropy(x, targets({0, 1, 2})).shape(), Shape{});
  // Every row ignored: the mean is 0/0 = NaN (as PyTorch); none gives zeros.
  EXPECT_TRUE(std::isnan(item<double>(cross_entropy(x, targets({-100, -100, -100})))));
  EXPECT_EQ(to_vector<double>(cross_entropy(x, targets({-100, -100, -100}), o)), (std::vector<double>{0, 0, 0}));
  // float32 agrees with float64 to float precision.
  const double l64 = item<double>(cross_entropy(x, targets({3, 1, 0})));
  const double l32 = item<double>(cross_entropy(cast_copy(x, DType::Float32), targets({3, 1, 0})));
  EXPECT_NEAR(l32, l64, 1e-6 * std::fabs(l64));
}

TEST_P(CrossEntropy, Float32MatchesFloat64Reference) {
  const Tensor x = uniform({37, 11}, 1, -4, 4);
  std::vector<std::int64_t> t(37);
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<std::int64_t>((i * 7) % 11);
  t[3] = -100;
  t[20] = -100;
  const Tensor w = uniform({11}, 2, 0.5, 2, DType::Float32, false);
  for (Reduction red : {Reduction::None, Reduction::Mean, Reduction::Sum})
    for (bool weighted : {false, true})
      for (double eps : {0.0, 0.1}) {
        const std::string name = std::string("cross_entropy ") + reduction_name(red) + (weighted ? " w" : "") +
                                 " eps " + std::to_string(eps);
        expect_matches_reference(
            name,
            [&](auto& in) {
              CrossEntropyOptions o;
              o.reduction = red;
              o.label_smoothing = eps;
              if (weighted) o.weight = in[1];
              return cross_entropy(in[0], from_vector(t, {37}, TensorOptions().with_device(in[0].device())), o);
            },
            {x, w}, kLoss);
      }
}

TEST_P(CrossEntropy, Errors) {
  const Tensor x = zeros({3, 4}, options());
  expect_error(
      [&] {
        cross_entropy(x, targets({0, 4, 1}));
      },
      {"anima::cross_entropy", "target 4", "row 1", "4 classes"});
  expect_error([&] { cross_entropy(x, targets({0, -1, 1})); }, {"anima::cross_entropy", "target -1"});
  expect_error([&] { cross_entropy(x, zeros({3}, options())); }, {"anima::cross_entropy", "int64", "float32"});
  expect_error([&] { cross_entropy(x, targets({0, 1})); }, {"anima::cross_entropy", "[2]", "[3, 4]"});
  expect_error(
      [&] {
        cross_entropy(zeros({3, 4, 2}, options()), targets({0, 1, 2}));
      },
      {"anima::cross_entropy", "[3, 4, 2]"});
  CrossEntropyOptions o;
  o.weight = zeros({3}, options());
  expect_error([&] { cross_entropy(x, targets({0, 1, 2}), o); }, {"anima::cross_entropy", "weight", "[3]", "[4]"});
  o.weight = Tensor();
  o.label_smoothing = 1.5;
  expect_error([&] { cross_entropy(x, targets({0, 1, 2}), o); }, {"anima::cross_entropy", "label_smoothing", "1.5"});
  const Tensor elsewhere = foreign({3}, DType::Int64);
  expect_error([&] { cross_entropy(x, elsewhere); }, {"anima::cross_entropy", "cuda"});
}

// BCE with logits, PyTorch 1.13's formula: (1 - t)·x + l·(log(e^-m + e^(-x-m)) + m), m = max(-x, 0),
// l = 1 + (pw - 1)·t; then · weight.
double bce_ref(double x, double t, double w, double pw) {
  const double m = std::max(-x, 0.0);
  const double l = 1 + (pw - 1) * t;
  return w * ((1 - t) * x + l * (std::log(std::exp(-m) + std::exp(-x - m)) + m));
}

TEST_P(BinaryCrossEntropyWithLogits, AllVariantsMatchReferenceAndGradcheck) {
  const Tensor x0 = uniform64({4, 3}, 3, -4, 4), t0 = uniform64({4, 3}, 4, 0, 1);
  const Tensor w0 = uniform64({4, 1}, 5, 0.5, 2), pw0 = uniform64({3}, 6, 0.5, 3);
  const Tensor x = to_backend(x0), t = to_backend(t0), w = to_backend(w0), pw = to_backend(pw0);
  const auto xv = to_vector<double>(x), tv = to_vector<double>(t), wv = to_vector<double>(w),
             pv = to_vector<double>(pw);
  for (Reduction red : {Reduction::None, Reduction::Mean, Reduction::Sum})
    for (bool weighted : {false, true})
      for (bool pos : {false, true}) {
        const std::string what =
            std::string(reduction_name(red)) + (weighted ? " weight" : "") + (pos ? " pos_weight" : "");
        std::vector<double> per;
        for (int i = 0; i < 12; ++i)
          per.push_back(bce_ref(xv[i], tv[i], weighted ? wv[i / 3] : 1.0, pos ? pv[i % 3] : 1.0));
        double s = 0;
        for (double v : per) s += v;
        const std::vector<double> ref =
            red == Reduction::None ? per : std::vector<double>{red == Reduction::Sum ? s : s / 12};
        const Tensor wt = weighted ? w : Tensor(), pt = pos ? pw : Tensor();
        const auto y = to_vector<double>(binary_cross_entropy_with_logits(x, t, wt, red, pt));
        ASSERT_EQ(y.size(), ref.size()) << what;
        for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-14 * (1 + std::fabs(ref[i]))) << what;
        // Gradients to logits, target, weight and pos_weight.
        std::vector<Tensor> ins;  // (built by push_back: an initializer list here trips GCC 12's -Warray-bounds)
        ins.reserve(4);
        ins.push_back(x0);
        ins.push_back(t0);
        if (weighted) ins.push_back(w0);
        if (pos) ins.push_back(pw0);
        expect_gradcheck(
            what,
            [&](const std::vector<Tensor>& in) {
              const Tensor wi = weighted ? in[2] : Tensor();
              const Tensor pi = pos ? in[weighted ? 3 : 2] : Tensor();
              return binary_cross_entropy_with_logits(in[0], in[1], wi, red, pi);
            },
            ins);
      }
}

TEST_P(BinaryCrossEntropyWithLogits, Float32MatchesFloat64Reference) {
  const Tensor x = uniform({9, 13}, 3, -6, 6), t = uniform({9, 13}, 4, 0, 1), w = uniform({9, 1}, 5, 0.5, 2),
               pw = uniform({13}, 6, 0.5, 3);
  for (Reduction red : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
    expect_matches_reference(
        std::string("bce ") + reduction_name(red),
        [red](auto& in) { return binary_cross_entropy_with_logits(in[0], in[1], Tensor(), red); }, {x, t}, kLoss);
    expect_matches_reference(
        std::string("bce weight pos_weight ") + reduction_name(red),
        [red](auto& in) { return binary_cross_entropy_with_logits(in[0], in[1], in[2], red, in[3]); }, {x, t, w, pw},
        kLoss);
  }
}

TEST_P(BinaryCrossEntropyWithLogits, StableAtLargeLogits) {
  const Tensor x = from_vector(std::vector<float>{100, -100, 50, -50}, {4}, options());
  const Tensor t = from_vector(std::vector<float>{1, 0, 0, 1}, {4}, options());
  const auto y = to_vector<double>(binary_cross_entropy_with_logits(x, t, Tensor(), Reduction::None));
  EXPECT_NEAR(y[0], 0.0, 1e-30);
  EXPECT_NEAR(y[1], 0.0, 1e-30);
  EXPECT_NEAR(y[2], 50.0, 1e-5);
  EXPECT_NEAR(y[3], 50.0, 1e-5);
}

TEST_P(BinaryCrossEntropyWithLogits, Errors) {
  const TensorOptions o = options();
  expect_error(
      [&] {
        binary_cross_entropy_with_logits(zeros({2, 3}, o), zeros({3, 2}, o));
      },
      {"anima::binary_cross_entropy_with_logits", "[2, 3]", "[3, 2]"});
  expect_error(
      [&] {
        binary_cross_entropy_with_logits(zeros({2, 3}, o), zeros({2, 3}, o), zeros({4}, o));
      },
      {"anima::binary_cross_entropy_with_logits", "weight", "[4]"});
  expect_error(
      [&] {
        binary_cross_entropy_with_logits(zeros({2, 3}, o), zeros({2, 3}, o), Tensor(), Reduction::Mean, zeros({2}, o));
      },
      {"anima::binary_cross_entropy_with_logits", "pos_weight", "[2]"});
  expect_error(
      [&] {
        binary_cross_entropy_with_logits(zeros({2, 3}, o), zeros({2, 3}, options(DType::Float64)));
      },
      {"anima::binary_cross_entropy_with_logits", "float64"});
}

double smooth_l1_ref(double d, double beta) {
  const double a = std::fabs(d);
  return beta == 0 ? a : (a < beta ? 0.5 * d * d / beta : a - 0.5 * beta);
}

TEST_P(SmoothL1AndMse, AllVariantsMatchReferenceAndGradcheck) {
  const Tensor x0 = uniform64({3, 5}, 7, -2, 2), t0 = uniform64({3, 5}, 8, -2, 2);
  const Tensor x = to_backend(x0), t = to_backend(t0);
  const auto xv = to_vector<double>(x), tv = to_vector<double>(t);
  auto reduced = [](const std::vector<double>& per, Reduction red) {
    double s = 0;
    for (double v : per) s += v;
    if (red == Reduction::None) return per;
    return std::vector<double>{red == Reduction::Sum ? s : s / static_cast<double>(per.size())};
  };
  for (Reduction red : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
    for (double beta : {0.0, 0.5, 1.0, 3.0}) {
      std::vector<double> per;
      for (int i = 0; i < 15; ++i) per.push_back(smooth_l1_ref(xv[i] - tv[i], beta));
      const std::vector<double> ref = reduced(per, red);
      const auto y = to_vector<double>(smooth_l1_loss(x, t, beta, red));
      ASSERT_EQ(y.size(), ref.size());
      for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-14) << "beta " << beta;
      expect_gradcheck("smooth_l1 beta " + std::to_string(beta) + " " + reduction_name(red),
                       [&](const std::vector<Tensor>& in) { return smooth_l1_loss(in[0], in[1], beta, red); },
                       {x0, t0});
    }
    std::vector<double> per;
    for (int i = 0; i < 15; ++i) per.push_back((xv[i] - tv[i]) * (xv[i] - tv[i]));
    const std::vector<double> ref = reduced(per, red);
    const auto y = to_vector<double>(mse_loss(x, t, red));
    for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-14);
    expect_gradcheck(std::string("mse ") + reduction_name(red),
                     [&](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1], red); }, {x0, t0});
  }
  // Default arguments: beta 1, mean.
  EXPECT_EQ(smooth_l1_loss(x, t).shape(), Shape{});
  EXPECT_EQ(mse_loss(x, t).shape(), Shape{});
}

TEST_P(SmoothL1AndMse, Float32MatchesFloat64Reference) {
  const Tensor x = uniform({9, 13}, 7, -2, 2), t = uniform({9, 13}, 8, -2, 2);
  for (Reduction red : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
    for (double beta : {0.0, 0.5, 1.0})
      expect_matches_reference(
          "smooth_l1 beta " + std::to_string(beta) + " " + reduction_name(red),
          [red, beta](auto& in) { return smooth_l1_loss(in[0], in[1], beta, red); }, {x, t}, kLoss);
    expect_matches_reference(
        std::string("mse ") + reduction_name(red), [red](auto& in) { return mse_loss(in[0], in[1], red); }, {x, t},
        kLoss);
  }
}

TEST_P(SmoothL1AndMse, GradientAtBoundaries) {
  // d = ±beta takes the linear branch: ±1 (continuous with d/beta); L1 at d == 0 gives 0.
  Tensor x = from_vector(std::vector<double>{0.5, -0.5, 0.0}, {3}, options(DType::Float64).with_requires_grad());
  const Tensor t = zeros({3}, options(DType::Float64));
  backward(smooth_l1_loss(x, t, 0.5, Reduction::Sum));
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{1, -1, 0}));
  x.zero_grad();
  backward(smooth_l1_loss(x, t, 0.0, Reduction::Sum));
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{1, -1, 0}));
}

TEST_P(SmoothL1AndMse, Errors) {
  const TensorOptions o = options();
  expect_error(
      [&] {
        smooth_l1_loss(zeros({2, 3}, o), zeros({2, 4}, o));
      },
      {"anima::smooth_l1_loss", "[2, 3]", "[2, 4]"});
  expect_error([&] { smooth_l1_loss(zeros({2}, o), zeros({2}, o), -1.0); }, {"anima::smooth_l1_loss", "beta", "-1"});
  expect_error([&] { mse_loss(zeros({2, 3}, o), zeros({3}, o)); }, {"anima::mse_loss", "[2, 3]", "[3]"});
  expect_error([&] { mse_loss(zeros({2}, options(DType::Int64)), zeros({2}, options(DType::Int64))); },
               {"anima::mse_loss", "int64"});
  const Tensor elsewhere = foreign({2});
  expect_error([&] { mse_loss(zeros({2}, o), elsewhere); }, {"anima::mse_loss", "cuda"});
}

}  // namespace
}  // namespace anima
