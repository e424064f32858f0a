// anima/metrics/threshold_curves.hpp — the curves of a binary decision "score >= threshold" swept over
// every threshold, and their areas: precision-recall curve and average precision, ROC curve and its
// AUC (sklearn.metrics precision_recall_curve, average_precision_score, roc_curve, roc_auc_score of
// scikit-learn 1.2, on one column of labels and scores).
//
// The sweep: sort the samples by decreasing score; at each distinct score s_j (descending), as the
// threshold,
//   tp_j = positives with score >= s_j,   fp_j = negatives with score >= s_j.
// Precision-recall (thresholds ascending, as sklearn returns them):
//   precision_j = tp_j / (tp_j + fp_j),   recall_j = tp_j / P   (P positives; recall 1 when P = 0)
//   then the point (precision 1, recall 0) appended; one threshold fewer than points.
//   average precision AP = Σ_j (recall_j − recall_{j+1}) · precision_j  (a step integral: no
//   interpolation between points).
// ROC (thresholds descending): fpr_j = fp_j / N, tpr_j = tp_j / P (NaN when N or P is 0), with
// (0, 0) prepended at threshold s_0 + 1; points collinear with their neighbours (the second difference
// of both fp and tp zero) are dropped. AUC = Σ (fpr_{j+1} − fpr_j) · (tpr_{j+1} + tpr_j) / 2 (trapezoids).
// roc_auc is NaN when the labels hold only one class (sklearn raises: the area is undefined).
// Scores must be finite; labels are 1 (positive) or 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include <anima/core/error.hpp>

namespace anima::metrics {

struct ThresholdSweep {
  std::vector<double> tp, fp;      // counts, per distinct score
  std::vector<double> thresholds;  // the distinct scores, descending
};

inline ThresholdSweep threshold_sweep(const std::vector<int>& positive, const std::vector<double>& score) {
  ANIMA_CHECK(positive.size() == score.size(), "threshold_sweep", positive.size(), " labels but ", score.size(),
              " scores");
  ANIMA_CHECK(!score.empty(), "threshold_sweep", "no samples");
  for (std::size_t i = 0; i < score.size(); ++i) {
    ANIMA_CHECK(positive[i] == 0 || positive[i] == 1, "threshold_sweep", "label ", i, " is ", positive[i],
                ", expected 0 or 1");
    ANIMA_CHECK(std::isfinite(score[i]), "threshold_sweep", "score ", i, " is ", score[i], ", expected finite");
  }
  std::vector<std::size_t> order(score.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
  ThresholdSweep s;
  double tp = 0.0;
  for (std::size_t j = 0; j < order.size(); ++j) {
    tp += positive[order[j]];
    const bool last_of_its_score = j + 1 == order.size() || score[order[j + 1]] != score[order[j]];
    if (!last_of_its_score) continue;
    s.tp.push_back(tp);
    s.fp.push_back(static_cast<double>(j + 1) - tp);
    s.thresholds.push_back(score[order[j]]);
  }
  return s;
}

struct PrecisionRecallCurve {
  std::vector<double> precision, recall;  // one more point than thresholds: (1, 0) last
  std::vector<double> thresholds;         // ascending
};

inline PrecisionRecallCurve precision_recall_curve(const std::vector<int>& positive, const std::vector<double>& score) {
  const ThresholdSweep s = threshold_sweep(positive, score);
  const double all_positives = s.tp.back();
  PrecisionRecallCurve c;
  for (std::size_t j = s.tp.size(); j-- > 0;) {
    const double predicted = s.tp[j] + s.fp[j];
    c.precision.push_back(predicted == 0.0 ? 0.0 : s.tp[j] / predicted);
    c.recall.push_back(all_positives == 0.0 ? 1.0 : s.tp[j] / all_positives);
    c.thresholds.push_back(s.thresholds[j]);
  }
  c.precision.push_back(1.0);
  c.recall.push_back(0.0);
  return c;
}

inline double average_precision(const PrecisionRecallCurve& c) {
  double ap = 0.0;
  for (std::size_t j = 0; j + 1 < c.recall.size(); ++j) ap += (c.recall[j] - c.recall[j + 1]) * c.precision[j];
  return ap;
}

inline double average_precision(const std::vector<int>& positive, const std::vector<double>& score) {
  return average_precision(precision_recall_curve(positive, score));
}

struct RocCurve {
  std::vector<double> fpr, tpr;
  std::vector<double> thresholds;  // descending; the first is the highest score + 1
};

inline RocCurve roc_curve(const std::vector<int>& positive, const std::vector<double>& score,
                          bool drop_intermediate = true) {
  const ThresholdSweep s = threshold_sweep(positive, score);
  const std::size_t n = s.tp.size();
  std::vector<std::size_t> keep;
  for (std::size_t j = 0; j < n; ++j) {
    const bool end = j == 0 || j + 1 == n;
    const bool bends =
        !end && (s.fp[j - 1] - 2.0 * s.fp[j] + s.fp[j + 1] != 0.0 || s.tp[j - 1] - 2.0 * s.tp[j] + s.tp[j + 1] != 0.0);
    if (!drop_intermediate || n <= 2 || end || bends) keep.push_back(j);
  }
  const double all_negatives = s.fp.back(), all_positives = s.tp.back();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  RocCurve c;
  c.fpr.push_back(all_negatives > 0.0 ? 0.0 : nan);
  c.tpr.push_back(all_positives > 0.0 ? 0.0 : nan);
  c.thresholds.push_back(s.thresholds[keep.front()] + 1.0);
  for (std::size_t j : keep) {
    c.fpr.push_back(all_negatives > 0.0 ? s.fp[j] / all_negatives : nan);
    c.tpr.push_back(all_positives > 0.0 ? s.tp[j] / all_positives : nan);
    c.thresholds.push_back(s.thresholds[j]);
  }
  return c;
}

// The trapezoidal area under y(x), x non-decreasing.
inline double area_under(const std::vector<double>& x, const std::vector<double>& y) {
  ANIMA_CHECK(x.size() == y.size(), "area_under", x.size(), " x values but ", y.size(), " y values");
  double area = 0.0;
  for (std::size_t j = 0; j + 1 < x.size(); ++j) area += (x[j + 1] - x[j]) * (y[j + 1] + y[j]) / 2.0;
  return area;
}

inline double roc_auc(const RocCurve& c) {
  if (std::isnan(c.fpr.back()) || std::isnan(c.tpr.back())) return std::numeric_limits<double>::quiet_NaN();
  return area_under(c.fpr, c.tpr);
}

inline double roc_auc(const std::vector<int>& positive, const std::vector<double>& score) {
  return roc_auc(roc_curve(positive, score));
}

}  // namespace anima::metrics
