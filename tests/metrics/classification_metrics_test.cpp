// Classification metrics (include/anima/metrics) against scikit-learn 1.2 on fixed predictions
// (tools/golden/metrics.py -> tests/golden/data/metrics.safetensors), plus sklearn's documented
// examples and the bad-input errors.
//
// Tolerances: the curves' points are compared exactly: each is one division of the same integer
// counts (tp / (tp + fp), tp / P, fp / N) or a score copied through, the same IEEE operation on both
// sides. Averages and areas (per-class precision/recall/F1 from counts included) are compared to
// 1e-12 relative: both sides evaluate the same float64 formulas but numpy sums arrays pairwise
// (np.sum, np.average, np.trapz) where this code sums in order; for at most 960 terms of magnitude
// <= 1 the orders differ by under 1e-13.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/metrics/classification_report.hpp>
#include <anima/metrics/confusion_matrix.hpp>
#include <anima/metrics/one_vs_rest.hpp>
#include <anima/metrics/threshold_curves.hpp>

#include "../core/expect_error.hpp"
#include "../golden/golden_file.hpp"

namespace anima {
namespace classification_metrics_test {

using testing::contains;
using testing::error_of;

constexpr double kRel = 1e-12;  // see the header comment

const testing::GoldenFile& fixture() { return testing::golden("metrics.safetensors"); }

double scalar(const std::string& name) { return item<double>(fixture().at(name)); }
std::vector<int> labels(const std::string& name) {
  const std::vector<std::int64_t> v = fixture().int64s(name);
  return std::vector<int>(v.begin(), v.end());
}

void expect_near_rel(double actual, double expected, const std::string& what) {
  EXPECT_NEAR(actual, expected, kRel * std::max(1.0, std::abs(expected))) << what;
}

void expect_all_near(const std::vector<double>& actual, const std::vector<double>& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (std::size_t i = 0; i < actual.size(); ++i)
    expect_near_rel(actual[i], expected[i], what + "[" + std::to_string(i) + "]");
}

// Same length and the same values bit for bit (NaN equal to NaN).
void expect_same(const std::vector<double>& actual, const std::vector<double>& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(actual[i])) << what << "[" << i << "]";
    } else {
      EXPECT_EQ(actual[i], expected[i]) << what << "[" << i << "]";
    }
  }
}

const char* const kCases[] = {"four", "ties", "binary"};

struct Case {
  std::string name;
  std::vector<int> y_true, y_pred;
  std::vector<double> scores;
  int k = 0;
};

Case load_case(const std::string& name) {
  Case c{name, labels(name + "/y_true"), labels(name + "/y_pred"), fixture().doubles(name + "/scores"), 0};
  c.k = static_cast<int>(fixture().at(name + "/scores").size(1));
  return c;
}

TEST(ClassificationMetricsGolden, ConfusionMatrixRawAndNormalised) {
  for (const char* name : kCases) {
    const Case c = load_case(name);
    const metrics::ConfusionMatrix cm = metrics::ConfusionMatrix::of(c.y_true, c.y_pred, c.k);
    const std::vector<std::int64_t> want = fixture().int64s(c.name + "/confusion");
    for (int t = 0; t < c.k; ++t)
      for (int p = 0; p < c.k; ++p) EXPECT_EQ(cm.count(t, p), want[static_cast<std::size_t>(t * c.k + p)]) << name;
    EXPECT_EQ(cm.total(), static_cast<std::int64_t>(c.y_true.size()));
    expect_same(cm.normalized(metrics::Normalize::True), fixture().doubles(c.name + "/confusion_true"),
                c.name + " true");
    expect_same(cm.normalized(metrics::Normalize::Pred), fixture().doubles(c.name + "/confusion_pred"),
                c.name + " pred");
    expect_same(cm.normalized(metrics::Normalize::All), fixture().doubles(c.name + "/confusion_all"), c.name + " all");
  }
}

TEST(ClassificationMetricsGolden, ReportEqualsSklearn) {
  for (const char* name : kCases) {
    const Case c = load_case(name);
    const metrics::ClassificationReport r =
        metrics::classification_report(metrics::ConfusionMatrix::of(c.y_true, c.y_pred, c.k));
    const std::vector<double> p = fixture().doubles(c.name + "/precision"), rc = fixture().doubles(c.name + "/recall"),
                              f1 = fixture().doubles(c.name + "/f1");
    const std::vector<std::int64_t> support = fixture().int64s(c.name + "/support");
    ASSERT_EQ(r.per_class.size(), static_cast<std::size_t>(c.k));
    for (int k = 0; k < c.k; ++k) {
      const std::string what = c.name + " class " + std::to_string(k);
      expect_near_rel(r.per_class[k].precision, p[k], what + " precision");
      expect_near_rel(r.per_class[k].recall, rc[k], what + " recall");
      expect_near_rel(r.per_class[k].f1, f1[k], what + " f1");
      EXPECT_EQ(r.per_class[k].support, support[k]) << what;
    }
    expect_all_near(r.one_vs_rest_accuracy, fixture().doubles(c.name + "/ovr_accuracy"),
                    c.name + " one-vs-rest accuracy");
    expect_near_rel(r.accuracy, scalar(c.name + "/accuracy"), c.name + " accuracy");
    const std::pair<const char*, const metrics::ClassScores*> averages[] = {
        {"macro", &r.macro}, {"weighted", &r.weighted}, {"micro", &r.micro}};
    for (const auto& a : averages) {
      const std::string key = c.name + "/" + a.first;
      expect_near_rel(a.second->precision, scalar(key + "_precision"), key + " precision");
      expect_near_rel(a.second->recall, scalar(key + "_recall"), key + " recall");
      expect_near_rel(a.second->f1, scalar(key + "_f1"), key + " f1");
    }
  }
  // The fixture's "ties" case never predicts class 2: precision 0 by zero_division, not NaN.
  EXPECT_EQ(fixture().doubles("ties/precision")[2], 0.0);
}

TEST(ClassificationMetricsGolden, CurvesAndAreasEqualSklearn) {
  for (const char* name : kCases) {
    const Case c = load_case(name);
    const metrics::OneVsRestCurves r = metrics::one_vs_rest_curves(c.y_true, c.scores, c.k);
    for (int k = 0; k <= c.k; ++k) {
      const bool micro = k == c.k;
      const std::string key = c.name + (micro ? std::string("/%s/micro/") : "/%s/" + std::to_string(k) + "/");
      const auto at = [&](const char* curve, const char* part) {
        std::string s = key;
        s.replace(s.find("%s"), 2, curve);
        return fixture().doubles(s + part);
      };
      const metrics::PrecisionRecallCurve& pr = micro ? r.pr_micro : r.pr[k];
      expect_same(pr.precision, at("pr", "precision"), key + " pr precision");
      expect_same(pr.recall, at("pr", "recall"), key + " pr recall");
      expect_same(pr.thresholds, at("pr", "thresholds"), key + " pr thresholds");
      const metrics::RocCurve& roc = micro ? r.roc_micro : r.roc[k];
      expect_same(roc.fpr, at("roc", "fpr"), key + " fpr");
      expect_same(roc.tpr, at("roc", "tpr"), key + " tpr");
      expect_same(roc.thresholds, at("roc", "thresholds"), key + " roc thresholds");
    }
    expect_all_near(r.average_precision, fixture().doubles(c.name + "/ap"), c.name + " AP");
    expect_all_near(r.auc, fixture().doubles(c.name + "/auc"), c.name + " AUC");
    expect_near_rel(r.average_precision_micro, scalar(c.name + "/ap_micro"), c.name + " AP micro");
    expect_near_rel(r.average_precision_macro, scalar(c.name + "/ap_macro"), c.name + " AP macro");
    expect_near_rel(r.auc_micro, scalar(c.name + "/auc_micro"), c.name + " AUC micro");
    expect_near_rel(r.auc_macro, scalar(c.name + "/auc_macro"), c.name + " AUC macro");
  }
}

TEST(ClassificationMetricsGolden, TopKAccuracyEqualsSklearn) {
  for (const char* name : kCases) {
    const Case c = load_case(name);
    for (int top = 1; top <= 3; ++top) {
      const std::string key = c.name + "/top" + std::to_string(top);
      if (!fixture().has(key)) continue;
      expect_near_rel(metrics::top_k_accuracy(c.y_true, c.scores, c.k, top), scalar(key), key);
    }
  }
  EXPECT_TRUE(fixture().has("four/top3"));
}

// sklearn's docstring examples, worked by hand there.
TEST(ClassificationMetrics, SklearnDocumentedExamples) {
  const std::vector<int> y = {0, 0, 1, 1};
  const std::vector<double> s = {0.1, 0.4, 0.35, 0.8};
  const metrics::PrecisionRecallCurve pr = metrics::precision_recall_curve(y, s);
  expect_same(pr.precision, {0.5, 2.0 / 3.0, 0.5, 1.0, 1.0}, "precision");
  expect_same(pr.recall, {1.0, 1.0, 0.5, 0.5, 0.0}, "recall");
  expect_same(pr.thresholds, {0.1, 0.35, 0.4, 0.8}, "thresholds");
  // AP = (1 − 1)·0.5 + (1 − 0.5)·(2/3) + (0.5 − 0.5)·0.5 + (0.5 − 0)·1 = 5/6
  expect_near_rel(metrics::average_precision(y, s), 5.0 / 6.0, "AP = 5/6");
  const metrics::RocCurve roc = metrics::roc_curve(y, s);
  expect_same(roc.fpr, {0.0, 0.0, 0.5, 0.5, 1.0}, "fpr");
  expect_same(roc.tpr, {0.0, 0.5, 0.5, 1.0, 1.0}, "tpr");
  expect_same(roc.thresholds, {1.8, 0.8, 0.4, 0.35, 0.1}, "roc thresholds");
  expect_near_rel(metrics::roc_auc(y, s), 0.75, "AUC");
  // A perfect ranking, and a single class (no AUC: sklearn raises).
  expect_near_rel(metrics::roc_auc({0, 0, 1}, {0.1, 0.2, 0.9}), 1.0, "perfect AUC");
  EXPECT_TRUE(std::isnan(metrics::roc_auc({1, 1}, {0.1, 0.2})));
}

TEST(ClassificationMetrics, BadInputsAreClearErrors) {
  EXPECT_TRUE(contains(error_of([] { metrics::ConfusionMatrix::of({0, 1}, {0}, 2); }), "y_pred has 1"));
  EXPECT_TRUE(contains(error_of([] { metrics::ConfusionMatrix::of({0, 2}, {0, 1}, 2); }), "labels must be in [0, 2)"));
  EXPECT_TRUE(contains(error_of([] { metrics::ConfusionMatrix(0); }), "num_classes must be >= 1"));
  EXPECT_TRUE(contains(error_of([] { metrics::classification_report(metrics::ConfusionMatrix(3)); }), "no samples"));
  EXPECT_TRUE(contains(error_of([] { metrics::roc_curve({0, 1}, {0.5, std::nan("")}); }), "expected finite"));
  EXPECT_TRUE(contains(error_of([] { metrics::roc_curve({0, 2}, {0.5, 0.1}); }), "expected 0 or 1"));
  EXPECT_TRUE(contains(error_of([] { metrics::precision_recall_curve({}, {}); }), "no samples"));
  EXPECT_TRUE(contains(error_of([] {
                         metrics::one_vs_rest_curves({0, 1}, {0.5, 0.5, 0.5}, 2);
                       }),
                       "expected 2 x 2 scores"));
  EXPECT_TRUE(contains(error_of([] { metrics::top_k_accuracy({0, 3}, {0.5, 0.5, 0.5, 0.5}, 2, 1); }), "label 1 is 3"));
  EXPECT_TRUE(contains(error_of([] { metrics::top_k_accuracy({0}, {0.5, 0.5}, 2, 0); }), "k must be >= 1"));
}

}  // namespace classification_metrics_test
}  // namespace anima
