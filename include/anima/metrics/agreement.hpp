// anima/metrics/agreement.hpp — how far two annotators who labelled the same items agree.
//
// Cohen's kappa (J. Cohen, "A coefficient of agreement for nominal scales", 1960), as scikit-learn's
// cohen_kappa_score: over the labels L (those given, else every label either list uses, sorted), the
// k x k confusion C[i][j] = items labelled L[i] by the first annotator and L[j] by the second (items
// with a label outside L are left out), n = Σ C, the chance confusion E = outer(row sums, column sums)
// / n, and the disagreement weights w[i][j]: 1 off the diagonal and 0 on it (unweighted), |i − j|
// (linear) or (i − j)² (quadratic);
//   kappa = 1 − Σ w·C / Σ w·E.
// It is undefined (0 / 0, NaN, where scikit-learn warns and returns nan) when Σ w·E = 0, e.g. when
// both annotators gave every item the same one label.
// Inter-indexer consistency, for two annotators who assigned A and B terms (here: labelled regions)
// of which C agree: Hooper's C / (A + B − C) (L. Hooper, 1965) and Rolling's 2C / (A + B)
// (L. Rolling, "Indexing consistency, quality and efficiency", 1981); NaN when A + B = 0.
// Regions are paired by match_by_iou (region_matching.hpp) before their labels are compared.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <vector>

#include <anima/core/error.hpp>

namespace anima::metrics {

enum class KappaWeights { None, Linear, Quadratic };

// The labels of the kappa's confusion: `labels` when not empty, else the sorted union of y1 and y2.
inline std::vector<int> kappa_labels(const std::vector<int>& y1, const std::vector<int>& y2,
                                     const std::vector<int>& labels = {}) {
  if (!labels.empty()) return labels;
  std::vector<int> all(y1);
  all.insert(all.end(), y2.begin(), y2.end());
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

// The confusion C of the two annotations over kappa_labels(y1, y2, labels), row-major k x k.
inline std::vector<std::int64_t> agreement_confusion(const std::vector<int>& y1, const std::vector<int>& y2,
                                                     const std::vector<int>& labels) {
  ANIMA_CHECK(y1.size() == y2.size(), "cohen_kappa", "the annotations have ", y1.size(), " and ", y2.size(),
              " labels, expected the same number");
  const std::size_t k = labels.size();
  std::vector<std::int64_t> c(k * k, 0);
  auto index_of = [&](int label) {
    return static_cast<std::size_t>(std::find(labels.begin(), labels.end(), label) - labels.begin());
  };
  for (std::size_t i = 0; i < y1.size(); ++i) {
    const std::size_t a = index_of(y1[i]), b = index_of(y2[i]);
    if (a < k && b < k) ++c[a * k + b];
  }
  return c;
}

inline double cohen_kappa(const std::vector<int>& y1, const std::vector<int>& y2, const std::vector<int>& labels = {},
                          KappaWeights weights = KappaWeights::None) {
  const std::vector<int> l = kappa_labels(y1, y2, labels);
  const std::size_t k = l.size();
  const std::vector<std::int64_t> c = agreement_confusion(y1, y2, l);
  std::vector<double> rows(k, 0.0), cols(k, 0.0);
  double n = 0;
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j) {
      const double v = static_cast<double>(c[i * k + j]);
      rows[i] += v, cols[j] += v, n += v;
    }
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  double observed = 0, expected = 0;
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j) {
      const double d = std::abs(static_cast<double>(i) - static_cast<double>(j));
      const double w = weights == KappaWeights::None ? (i == j ? 0.0 : 1.0)
                       : weights == KappaWeights::Linear ? d
                                                         : d * d;
      observed += w * static_cast<double>(c[i * k + j]);
      expected += w * rows[i] * cols[j] / n;
    }
  if (expected == 0) return std::numeric_limits<double>::quiet_NaN();
  return 1.0 - observed / expected;
}

// Hooper's consistency C / (A + B − C).
inline double hooper_consistency(std::int64_t a, std::int64_t b, std::int64_t common) {
  ANIMA_CHECK(a >= 0 && b >= 0 && common >= 0 && common <= std::min(a, b), "hooper_consistency",
              "expected 0 <= C <= min(A, B), got A ", a, ", B ", b, ", C ", common);
  if (a + b == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(common) / static_cast<double>(a + b - common);
}

// Rolling's consistency 2C / (A + B).
inline double rolling_consistency(std::int64_t a, std::int64_t b, std::int64_t common) {
  ANIMA_CHECK(a >= 0 && b >= 0 && common >= 0 && common <= std::min(a, b), "rolling_consistency",
              "expected 0 <= C <= min(A, B), got A ", a, ", B ", b, ", C ", common);
  if (a + b == 0) return std::numeric_limits<double>::quiet_NaN();
  return 2.0 * static_cast<double>(common) / static_cast<double>(a + b);
}

}  // namespace anima::metrics
