// anima/metrics/one_vs_rest.hpp — the threshold curves of a K-class classifier's scores
// (threshold_curves.hpp), one class against the rest, and top-k accuracy.
//
// scores: N x K row-major (probabilities or logits), y_true: N labels in [0, K).
// For class k: labels 1 where y_true = k, scores column k. Micro: all N·K (label, score) pairs of
// the one-hot labels and the scores pooled into one binary problem. Macro: the mean over the
// classes (sklearn's average="macro"; NaN if a class has no sample and so no AUC).
// Top-k accuracy: the fraction of samples whose true class is among the k highest scores; ties are
// ranked as sklearn's top_k_accuracy_score ranks them (the reverse of a stable ascending sort, so of
// equal scores the higher class index ranks first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/metrics/threshold_curves.hpp>

namespace anima::metrics {

struct OneVsRestCurves {
  std::vector<PrecisionRecallCurve> pr;  // per class
  std::vector<RocCurve> roc;             // per class
  PrecisionRecallCurve pr_micro;
  RocCurve roc_micro;
  std::vector<double> average_precision, auc;  // per class
  double average_precision_micro = 0.0, average_precision_macro = 0.0;
  double auc_micro = 0.0, auc_macro = 0.0;
};

inline void check_scores(const char* op, const std::vector<int>& y_true, const std::vector<double>& scores,
                         int num_classes) {
  ANIMA_CHECK(num_classes >= 2, op, "num_classes must be >= 2, got ", num_classes);
  ANIMA_CHECK(!y_true.empty() && scores.size() == y_true.size() * static_cast<std::size_t>(num_classes), op,
              "expected ", y_true.size(), " x ", num_classes, " scores for ", y_true.size(), " labels, got ",
              scores.size());
  for (std::size_t i = 0; i < y_true.size(); ++i)
    ANIMA_CHECK(y_true[i] >= 0 && y_true[i] < num_classes, op, "label ", i, " is ", y_true[i], ", expected [0, ",
                num_classes, ")");
}

inline OneVsRestCurves one_vs_rest_curves(const std::vector<int>& y_true, const std::vector<double>& scores,
                                          int num_classes) {
  check_scores("one_vs_rest_curves", y_true, scores, num_classes);
  const std::size_t n = y_true.size(), k = static_cast<std::size_t>(num_classes);
  OneVsRestCurves r;
  std::vector<int> all_labels(n * k);
  for (std::size_t i = 0; i < n; ++i) all_labels[i * k + static_cast<std::size_t>(y_true[i])] = 1;
  for (std::size_t c = 0; c < k; ++c) {
    std::vector<int> labels(n);
    std::vector<double> column(n);
    for (std::size_t i = 0; i < n; ++i) {
      labels[i] = all_labels[i * k + c];
      column[i] = scores[i * k + c];
    }
    r.pr.push_back(precision_recall_curve(labels, column));
    r.roc.push_back(roc_curve(labels, column));
    r.average_precision.push_back(average_precision(r.pr.back()));
    r.auc.push_back(roc_auc(r.roc.back()));
    r.average_precision_macro += r.average_precision.back();
    r.auc_macro += r.auc.back();
  }
  r.average_precision_macro /= static_cast<double>(k);
  r.auc_macro /= static_cast<double>(k);
  r.pr_micro = precision_recall_curve(all_labels, scores);
  r.roc_micro = roc_curve(all_labels, scores);
  r.average_precision_micro = average_precision(r.pr_micro);
  r.auc_micro = roc_auc(r.roc_micro);
  return r;
}

inline double top_k_accuracy(const std::vector<int>& y_true, const std::vector<double>& scores, int num_classes,
                             int k) {
  check_scores("top_k_accuracy", y_true, scores, num_classes);
  ANIMA_CHECK(k >= 1, "top_k_accuracy", "k must be >= 1, got ", k);
  const std::size_t kk = static_cast<std::size_t>(num_classes);
  std::int64_t hits = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    const double* row = &scores[i * kk];
    const int t = y_true[i];
    int above = 0;  // classes ranked before the true one
    for (int j = 0; j < num_classes; ++j)
      if (row[j] > row[t] || (row[j] == row[t] && j > t)) ++above;
    if (above < k) ++hits;
  }
  return static_cast<double>(hits) / static_cast<double>(y_true.size());
}

}  // namespace anima::metrics
