// anima/metrics/confusion_matrix.hpp — the confusion matrix of a K-class classifier
// (sklearn.metrics.confusion_matrix with labels 0..K-1), raw and normalised.
//
// C[t][p] = the number of samples of true class t predicted as class p. Normalised:
//   Normalize::True  C[t][p] / Σ_p' C[t][p']   (each row sums to 1: recall on the diagonal)
//   Normalize::Pred  C[t][p] / Σ_t' C[t'][p]   (each column sums to 1: precision on the diagonal)
//   Normalize::All   C[t][p] / Σ C              (the whole matrix sums to 1)
// A row or column with no samples normalises to zeros (sklearn's nan_to_num).
// From C, for class k: TP = C[k][k], FN = Σ_p C[k][p] − TP, FP = Σ_t C[t][k] − TP, TN = N − TP − FN − FP.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <anima/core/error.hpp>

namespace anima::metrics {

enum class Normalize { None, True, Pred, All };

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int num_classes) : k_(num_classes) {
    ANIMA_CHECK(num_classes >= 1, "ConfusionMatrix", "num_classes must be >= 1, got ", num_classes);
    counts_.assign(static_cast<std::size_t>(k_) * static_cast<std::size_t>(k_), 0);
  }

  // The matrix of predictions `y_pred` against labels `y_true` (same length, values in [0, K)).
  static ConfusionMatrix of(const std::vector<int>& y_true, const std::vector<int>& y_pred, int num_classes) {
    ANIMA_CHECK(y_true.size() == y_pred.size(), "ConfusionMatrix", "y_true has ", y_true.size(),
                " labels but y_pred has ", y_pred.size());
    ConfusionMatrix m(num_classes);
    for (std::size_t i = 0; i < y_true.size(); ++i) m.add(y_true[i], y_pred[i]);
    return m;
  }

  void add(int truth, int predicted) {
    ANIMA_CHECK(truth >= 0 && truth < k_ && predicted >= 0 && predicted < k_, "ConfusionMatrix",
                "labels must be in [0, ", k_, "), got true ", truth, ", predicted ", predicted);
    ++counts_[index(truth, predicted)];
  }

  int num_classes() const { return k_; }
  std::int64_t count(int truth, int predicted) const { return counts_.at(index(truth, predicted)); }
  std::int64_t total() const {
    std::int64_t n = 0;
    for (std::int64_t c : counts_) n += c;
    return n;
  }
  std::int64_t true_positives(int k) const { return count(k, k); }
  // Samples whose true class is k (sklearn's support).
  std::int64_t support(int k) const {
    std::int64_t n = 0;
    for (int p = 0; p < k_; ++p) n += count(k, p);
    return n;
  }
  // Samples predicted as class k.
  std::int64_t predicted(int k) const {
    std::int64_t n = 0;
    for (int t = 0; t < k_; ++t) n += count(t, k);
    return n;
  }

  // Row-major K x K, C[t][p] at t·K + p, normalised as the header comment says.
  std::vector<double> normalized(Normalize how) const {
    std::vector<double> out(counts_.size());
    const std::int64_t all = total();
    for (int t = 0; t < k_; ++t)
      for (int p = 0; p < k_; ++p) {
        const std::int64_t denom = how == Normalize::True   ? support(t)
                                   : how == Normalize::Pred ? predicted(p)
                                   : how == Normalize::All  ? all
                                                            : 1;
        out[index(t, p)] = denom == 0 ? 0.0 : static_cast<double>(count(t, p)) / static_cast<double>(denom);
      }
    return out;
  }

 private:
  std::size_t index(int t, int p) const {
    return static_cast<std::size_t>(t) * static_cast<std::size_t>(k_) + static_cast<std::size_t>(p);
  }

  int k_;
  std::vector<std::int64_t> counts_;
};

}  // namespace anima::metrics
