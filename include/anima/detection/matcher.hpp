// anima/detection/matcher.hpp — torchvision 0.14's Matcher (models/detection/_utils.py): assigns
// each prediction (anchor / proposal) the ground-truth box it overlaps most.
//
//   matches = Matcher(high, low, allow_low_quality_matches)(quality [G, P]) -> [P] int64
//   per prediction p: (v, g) = max over g of quality[g, p] (first maximum; a NaN wins, as torch.max)
//     v <  low           -> BELOW_LOW_THRESHOLD  (-1)
//     low <= v < high    -> BETWEEN_THRESHOLDS   (-2)
//     v >= high          -> g
//   allow_low_quality_matches: for each ground truth g, every prediction p whose quality equals g's
//   best quality (max over p of quality[g, p]) gets back its own arg-max match (all_matches[p], the
//   g from the first step, which may be another ground truth tied with g) — torchvision's rule.
// Thresholds are compared in the matrix's dtype (torch compares a float32 tensor with a Python float
// in float32: an IoU of 0.7f counts as >= 0.7).
// Bad input: an empty matrix -> anima::Error with torchvision's messages (no ground truth / no
// proposals); low > high -> anima::Error. Runs on the host (the matrix is copied back for CUDA
// tensors); the result is on the matrix's device.
// Not differentiable (indices). Determinism: pure function of the matrix.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/ops/factory.hpp>

namespace anima::detection {

class Matcher {
 public:
  static constexpr std::int64_t BELOW_LOW_THRESHOLD = -1;
  static constexpr std::int64_t BETWEEN_THRESHOLDS = -2;

  Matcher(double high_threshold, double low_threshold, bool allow_low_quality_matches = false)
      : high_(high_threshold), low_(low_threshold), allow_low_quality_(allow_low_quality_matches) {
    ANIMA_CHECK(low_threshold <= high_threshold, "Matcher", "low_threshold ", low_threshold,
                " must be <= high_threshold ", high_threshold);
  }

  double high_threshold() const { return high_; }
  double low_threshold() const { return low_; }
  bool allow_low_quality_matches() const { return allow_low_quality_; }

  // quality [G, P] (float32/float64) -> [P] int64
  Tensor operator()(const Tensor& match_quality_matrix) const {
    const Tensor& m = match_quality_matrix;
    ANIMA_CHECK(m.defined() && m.dim() == 2, "Matcher", "expected a match quality matrix [G, P], got ",
                m.defined() ? shape_str(m.shape()) : std::string("undefined"));
    ANIMA_CHECK(is_floating(m.dtype()), "Matcher", "expected a float32 or float64 matrix, got ", dtype_name(m.dtype()));
    if (m.numel() == 0) {
      ANIMA_CHECK(m.shape()[0] != 0, "Matcher",
                  "No ground-truth boxes available for one of the images during training");
      fail("Matcher", "No proposal boxes available for one of the images during training");
    }
    std::vector<std::int64_t> matches;
    if (m.dtype() == DType::Float32)
      matches = match<float>(to_vector<float>(m), m.shape()[0], m.shape()[1]);
    else
      matches = match<double>(to_vector<double>(m), m.shape()[0], m.shape()[1]);
    return from_buffer(matches.data(), {m.shape()[1]}, TensorOptions(DType::Int64).with_device(m.device()));
  }

 private:
  // torch.max's comparison: a NaN beats everything, the first of equal values stays.
  template <class T>
  static bool beats(T v, T best) {
    return (std::isnan(v) && !std::isnan(best)) || v > best;
  }

  template <class T>
  std::vector<std::int64_t> match(const std::vector<T>& q, std::int64_t g_count, std::int64_t p_count) const {
    const T low = static_cast<T>(low_), high = static_cast<T>(high_);
    std::vector<std::int64_t> all_matches(static_cast<std::size_t>(p_count)), matches;
    std::vector<T> best(static_cast<std::size_t>(p_count));
    for (std::int64_t p = 0; p < p_count; ++p) {
      std::int64_t arg = 0;
      T v = q[static_cast<std::size_t>(p)];
      for (std::int64_t g = 1; g < g_count; ++g) {
        const T x = q[static_cast<std::size_t>(g * p_count + p)];
        if (beats(x, v)) {
          v = x;
          arg = g;
        }
      }
      all_matches[p] = arg;
      best[p] = v;
    }
    matches = all_matches;
    for (std::int64_t p = 0; p < p_count; ++p) {
      const T v = best[p];
      if (v < low)
        matches[p] = BELOW_LOW_THRESHOLD;
      else if (v >= low && v < high)
        matches[p] = BETWEEN_THRESHOLDS;  // NaN: neither, keeps its match
    }
    if (allow_low_quality_) {
      for (std::int64_t g = 0; g < g_count; ++g) {
        const T* row = q.data() + g * p_count;
        T top = row[0];
        for (std::int64_t p = 1; p < p_count; ++p)
          if (beats(row[p], top)) top = row[p];
        for (std::int64_t p = 0; p < p_count; ++p)
          if (row[p] == top) matches[p] = all_matches[p];  // NaN == NaN is false, as in torch.where
      }
    }
    return matches;
  }

  double high_, low_;
  bool allow_low_quality_;
};

}  // namespace anima::detection
