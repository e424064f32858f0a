// anima/metrics/classification_report.hpp — per-class precision, recall, F1 and support, accuracy,
// and their macro, weighted and micro averages (sklearn.metrics.classification_report /
// precision_recall_fscore_support with zero_division=0), plus each class's one-vs-rest accuracy.
//
// For class k, from the confusion matrix (confusion_matrix.hpp):
//   precision_k = TP / (TP + FP)      recall_k = TP / (TP + FN)      (0 when the denominator is 0)
//   F1_k = 2 · precision_k · recall_k / (precision_k + recall_k)     (0 when both are 0)
//   support_k = TP + FN               one_vs_rest_accuracy_k = (TP + TN) / N
//   accuracy = Σ_k TP_k / N
//   macro: the plain mean over the K classes; weighted: the mean weighted by support;
//   micro: the formulas above on TP, FP, FN summed over the classes (for single-label data all three
//   equal the accuracy).
// A paper's "accuracy per class" usually means one_vs_rest_accuracy, which counts the true negatives
// and so stays high (≥ 1 − 2·error) even for a poor class; recall is the per-class hit rate.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include <anima/metrics/confusion_matrix.hpp>

namespace anima::metrics {

struct ClassScores {
  double precision = 0.0, recall = 0.0, f1 = 0.0;
  std::int64_t support = 0;  // for an average: the total support
};

struct ClassificationReport {
  std::vector<ClassScores> per_class;
  std::vector<double> one_vs_rest_accuracy;
  double accuracy = 0.0;
  ClassScores macro, weighted, micro;
};

// precision, recall and F1 from counts (zero_division = 0).
inline ClassScores class_scores(std::int64_t tp, std::int64_t predicted, std::int64_t actual) {
  ClassScores s;
  s.precision = predicted == 0 ? 0.0 : static_cast<double>(tp) / static_cast<double>(predicted);
  s.recall = actual == 0 ? 0.0 : static_cast<double>(tp) / static_cast<double>(actual);
  const double denom = s.precision + s.recall;
  s.f1 = denom == 0.0 ? 0.0 : 2.0 * s.precision * s.recall / denom;
  s.support = actual;
  return s;
}

inline ClassificationReport classification_report(const ConfusionMatrix& cm) {
  const int k = cm.num_classes();
  const std::int64_t n = cm.total();
  ANIMA_CHECK(n > 0, "classification_report", "the confusion matrix holds no samples");
  ClassificationReport r;
  std::int64_t tp_sum = 0;
  for (int c = 0; c < k; ++c) {
    const std::int64_t tp = cm.true_positives(c), predicted = cm.predicted(c), actual = cm.support(c);
    r.per_class.push_back(class_scores(tp, predicted, actual));
    const std::int64_t tn = n - actual - predicted + tp;
    r.one_vs_rest_accuracy.push_back(static_cast<double>(tp + tn) / static_cast<double>(n));
    tp_sum += tp;
  }
  r.accuracy = static_cast<double>(tp_sum) / static_cast<double>(n);
  r.micro = class_scores(tp_sum, n, n);
  for (const ClassScores& s : r.per_class) {
    const double w = static_cast<double>(s.support);
    r.macro.precision += s.precision;
    r.macro.recall += s.recall;
    r.macro.f1 += s.f1;
    r.weighted.precision += s.precision * w;
    r.weighted.recall += s.recall * w;
    r.weighted.f1 += s.f1 * w;
  }
  for (ClassScores* avg : {&r.macro, &r.weighted}) {
    const double denom = avg == &r.macro ? static_cast<double>(k) : static_cast<double>(n);
    avg->precision /= denom;
    avg->recall /= denom;
    avg->f1 /= denom;
  }
  r.macro.support = r.weighted.support = n;
  return r;
}

}  // namespace anima::metrics
