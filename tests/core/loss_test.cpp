// Losses (anima/ops/loss.hpp): values against double loops written from PyTorch 1.13's formulas for
// every variant (reductions, class weights, label smoothing with and without weights, ignore_index,
// pos_weight, beta), gradcheck (float64) of each, the stable BCE form at large |x|, and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/loss.hpp>

#include "expect_error.hpp"

namespace anima {
namespace {

using anima::testing::expect_error;

Tensor f64(const Shape& s, std::uint64_t seed, double lo = -1, double hi = 1, bool grad = true) {
  Generator g(seed);
  return rand(s, TensorOptions(DType::Float64).with_requires_grad(grad), g, lo, hi);
}

Tensor targets(const std::vector<std::int64_t>& t) { return from_vector(t, {static_cast<std::int64_t>(t.size())}); }

const char* reduction_name(Reduction r) {
  return r == Reduction::None ? "none" : (r == Reduction::Sum ? "sum" : "mean");
}

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

TEST(CrossEntropy, AllVariantsMatchReferenceAndGradcheck) {
  const std::int64_t n = 6, c = 5;
  Tensor x = f64({n, c}, 1, -3, 3);
  const auto xv = to_vector<double>(x);
  const std::vector<double> wv = {0.5, 1.5, 2.0, 0.25, 1.0};
  Tensor w = from_vector(wv, {c}, TensorOptions(DType::Float64));
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
          Tensor tgt = targets(tt);
          const auto ref = cross_entropy_ref(xv, n, c, tt, weighted ? wv : std::vector<double>{}, eps,
                                             o.ignore_index, red);
          const auto y = to_vector<double>(cross_entropy(x, tgt, o));
          ASSERT_EQ(y.size(), ref.size()) << what;
          for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-13 * (1 + std::fabs(ref[i]))) << what;
          auto r = gradcheck([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], tgt, o); }, {x});
          EXPECT_TRUE(r.ok) << what << "\n" << r.report;
          ++checked;
        }
  EXPECT_EQ(checked, 36);
}

TEST(CrossEntropy, ReductionShapesAndAllIgnored) {
  Tensor x = f64({3, 4}, 2, -1, 1, false);
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

TEST(CrossEntropy, Errors) {
  Tensor x = zeros({3, 4});
  expect_error([&] { cross_entropy(x, targets({0, 4, 1})); }, {"anima::cross_entropy", "target 4", "row 1", "4 classes"});
  expect_error([&] { cross_entropy(x, targets({0, -1, 1})); }, {"anima::cross_entropy", "target -1"});
  expect_error([&] { cross_entropy(x, zeros({3})); }, {"anima::cross_entropy", "int64", "float32"});
  expect_error([&] { cross_entropy(x, targets({0, 1})); }, {"anima::cross_entropy", "[2]", "[3, 4]"});
  expect_error([&] { cross_entropy(zeros({3, 4, 2}), targets({0, 1, 2})); }, {"anima::cross_entropy", "[3, 4, 2]"});
  CrossEntropyOptions o;
  o.weight = zeros({3});
  expect_error([&] { cross_entropy(x, targets({0, 1, 2}), o); }, {"anima::cross_entropy", "weight", "[3]", "[4]"});
  o.weight = Tensor();
  o.label_smoothing = 1.5;
  expect_error([&] { cross_entropy(x, targets({0, 1, 2}), o); }, {"anima::cross_entropy", "label_smoothing", "1.5"});
  std::int64_t buf[3] = {};
  Tensor fake = view_of_buffer(buf, {3}, Device::cuda(0));
  expect_error([&] { cross_entropy(x, fake); }, {"anima::cross_entropy", "cuda"});
}

// BCE with logits, PyTorch 1.13's formula: (1 - t)·x + l·(log(e^-m + e^(-x-m)) + m), m = max(-x, 0),
// l = 1 + (pw - 1)·t; then · weight.
double bce_ref(double x, double t, double w, double pw) {
  const double m = std::max(-x, 0.0);
  const double l = 1 + (pw - 1) * t;
  return w * ((1 - t) * x + l * (std::log(std::exp(-m) + std::exp(-x - m)) + m));
}

TEST(BinaryCrossEntropyWithLogits, AllVariantsMatchReferenceAndGradcheck) {
  Tensor x = f64({4, 3}, 3, -4, 4), t = f64({4, 3}, 4, 0, 1);
  Tensor w = f64({4, 1}, 5, 0.5, 2), pw = f64({3}, 6, 0.5, 3);
  const auto xv = to_vector<double>(x), tv = to_vector<double>(t), wv = to_vector<double>(w), pv = to_vector<double>(pw);
  for (Reduction red : {Reduction::None, Reduction::Mean, Reduction::Sum})
    for (bool weighted : {false, true})
      for (bool pos : {false, true}) {
        const std::string what = std::string(reduction_name(red)) + (weighted ? " weight" : "") + (pos ? " pos_weight" : "");
        std::vector<double> per;
        for (int i = 0; i < 12; ++i) per.push_back(bce_ref(xv[i], tv[i], weighted ? wv[i / 3] : 1.0, pos ? pv[i % 3] : 1.0));
        double s = 0;
        for (double v : per) s += v;
        const std::vector<double> ref = red == Reduction::None ? per : std::vector<double>{red == Reduction::Sum ? s : s / 12};
        Tensor wt = weighted ? w : Tensor(), pt = pos ? pw : Tensor();
        const auto y = to_vector<double>(binary_cross_entropy_with_logits(x, t, wt, red, pt));
        ASSERT_EQ(y.size(), ref.size()) << what;
        for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-14 * (1 + std::fabs(ref[i]))) << what;
        // Gradients to logits, target, weight and pos_weight.
        std::vector<Tensor> ins;  // (built by push_back: an initializer list here trips GCC 12's -Warray-bounds)
        ins.reserve(4);
        ins.push_back(x);
        ins.push_back(t);
        if (weighted) ins.push_back(w);
        if (pos) ins.push_back(pw);
        auto r = gradcheck([&](const std::vector<Tensor>& in) {
          Tensor wi = weighted ? in[2] : Tensor();
          Tensor pi = pos ? in[weighted ? 3 : 2] : Tensor();
          return binary_cross_entropy_with_logits(in[0], in[1], wi, red, pi);
        }, ins);
        EXPECT_TRUE(r.ok) << what << "\n" << r.report;
      }
}

TEST(BinaryCrossEntropyWithLogits, StableAtLargeLogits) {
  Tensor x = from_vector(std::vector<float>{100, -100, 50, -50}, {4});
  Tensor t = from_vector(std::vector<float>{1, 0, 0, 1}, {4});
  const auto y = to_vector<double>(binary_cross_entropy_with_logits(x, t, Tensor(), Reduction::None));
  EXPECT_NEAR(y[0], 0.0, 1e-30);
  EXPECT_NEAR(y[1], 0.0, 1e-30);
  EXPECT_NEAR(y[2], 50.0, 1e-5);
  EXPECT_NEAR(y[3], 50.0, 1e-5);
}

TEST(BinaryCrossEntropyWithLogits, Errors) {
  expect_error([] { binary_cross_entropy_with_logits(zeros({2, 3}), zeros({3, 2})); },
               {"anima::binary_cross_entropy_with_logits", "[2, 3]", "[3, 2]"});
  expect_error([] { binary_cross_entropy_with_logits(zeros({2, 3}), zeros({2, 3}), zeros({4})); },
               {"anima::binary_cross_entropy_with_logits", "weight", "[4]"});
  expect_error([] { binary_cross_entropy_with_logits(zeros({2, 3}), zeros({2, 3}), Tensor(), Reduction::Mean, zeros({2})); },
               {"anima::binary_cross_entropy_with_logits", "pos_weight", "[2]"});
  expect_error([] { binary_cross_entropy_with_logits(zeros({2, 3}), zeros({2, 3}, DType::Float64)); },
               {"anima::binary_cross_entropy_with_logits", "float64"});
}

double smooth_l1_ref(double d, double beta) {
  const double a = std::fabs(d);
  return beta == 0 ? a : (a < beta ? 0.5 * d * d / beta : a - 0.5 * beta);
}

TEST(SmoothL1AndMse, AllVariantsMatchReferenceAndGradcheck) {
  Tensor x = f64({3, 5}, 7, -2, 2), t = f64({3, 5}, 8, -2, 2);
  const auto xv = to_vector<double>(x), tv = to_vector<double>(t);
  for (Reduction red : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
    for (double beta : {0.0, 0.5, 1.0, 3.0}) {
      std::vector<double> per;
      for (int i = 0; i < 15; ++i) per.push_back(smooth_l1_ref(xv[i] - tv[i], beta));
      double s = 0;
      for (double v : per) s += v;
      const std::vector<double> ref = red == Reduction::None ? per : std::vector<double>{red == Reduction::Sum ? s : s / 15};
      const auto y = to_vector<double>(smooth_l1_loss(x, t, beta, red));
      ASSERT_EQ(y.size(), ref.size());
      for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-14) << "beta " << beta;
      auto r = gradcheck([&](const std::vector<Tensor>& in) { return smooth_l1_loss(in[0], in[1], beta, red); }, {x, t});
      EXPECT_TRUE(r.ok) << "smooth_l1 beta " << beta << " " << reduction_name(red) << "\n" << r.report;
    }
    std::vector<double> per;
    for (int i = 0; i < 15; ++i) per.push_back((xv[i] - tv[i]) * (xv[i] - tv[i]));
    double s = 0;
    for (double v : per) s += v;
    const std::vector<double> ref = red == Reduction::None ? per : std::vector<double>{red == Reduction::Sum ? s : s / 15};
    const auto y = to_vector<double>(mse_loss(x, t, red));
    for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-14);
    auto r = gradcheck([&](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1], red); }, {x, t});
    EXPECT_TRUE(r.ok) << "mse " << reduction_name(red) << "\n" << r.report;
  }
  // Default arguments: beta 1, mean.
  EXPECT_EQ(smooth_l1_loss(x, t).shape(), Shape{});
  EXPECT_EQ(mse_loss(x, t).shape(), Shape{});
}

TEST(SmoothL1AndMse, GradientAtBoundaries) {
  // d = ±beta takes the linear branch: ±1 (continuous with d/beta); L1 at d == 0 gives 0.
  Tensor x = from_vector(std::vector<double>{0.5, -0.5, 0.0}, {3}, TensorOptions(DType::Float64).with_requires_grad());
  Tensor t = zeros({3}, DType::Float64);
  backward(smooth_l1_loss(x, t, 0.5, Reduction::Sum));
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{1, -1, 0}));
  x.zero_grad();
  backward(smooth_l1_loss(x, t, 0.0, Reduction::Sum));
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{1, -1, 0}));
}

TEST(SmoothL1AndMse, Errors) {
  expect_error([] { smooth_l1_loss(zeros({2, 3}), zeros({2, 4})); }, {"anima::smooth_l1_loss", "[2, 3]", "[2, 4]"});
  expect_error([] { smooth_l1_loss(zeros({2}), zeros({2}), -1.0); }, {"anima::smooth_l1_loss", "beta", "-1"});
  expect_error([] { mse_loss(zeros({2, 3}), zeros({3})); }, {"anima::mse_loss", "[2, 3]", "[3]"});
  expect_error([] { mse_loss(zeros({2}, DType::Int64), zeros({2}, DType::Int64)); }, {"anima::mse_loss", "int64"});
  float buf[2] = {};
  Tensor fake = view_of_buffer(buf, {2}, Device::cuda(0));
  expect_error([&] { mse_loss(zeros({2}), fake); }, {"anima::mse_loss", "cuda"});
}

}  // namespace
}  // namespace anima
