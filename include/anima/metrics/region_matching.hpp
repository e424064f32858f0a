// anima/metrics/region_matching.hpp — pairing the regions two sources drew on the same image (two
// annotators' masks, or a prediction's boxes and the ground truth's), one to one, by overlap.
//
// match_by_iou(iou, threshold): iou is the |A| x |B| matrix of intersection over union. Every pair
// with IoU >= threshold is a candidate; candidates are taken greedily by decreasing IoU (ties: the
// lower A index, then the lower B index), each region in at most one pair. With threshold > 0.5 and
// regions of one source that do not overlap each other, a region has at most one candidate and the
// greedy pairing is the only one.
// mask_iou(a, b): |a ∧ b| / |a ∨ b| of two binary masks of the same size (0 when both are empty).
// box_iou(a, b): the same for boxes [x1, y1, x2, y2] in continuous coordinates (0 when the union has no
// area).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <vector>

#include <anima/core/error.hpp>

namespace anima::metrics {

struct RegionMatch {
  std::size_t a = 0, b = 0;
  double iou = 0;
};

// iou: rows for A, each |B| long.
inline std::vector<RegionMatch> match_by_iou(const std::vector<std::vector<double>>& iou, double threshold) {
  std::vector<RegionMatch> candidates;
  for (std::size_t i = 0; i < iou.size(); ++i) {
    ANIMA_CHECK(iou[i].size() == (iou.empty() ? 0 : iou[0].size()), "match_by_iou", "row ", i, " has ", iou[i].size(),
                " entries, row 0 has ", iou[0].size());
    for (std::size_t j = 0; j < iou[i].size(); ++j)
      if (iou[i][j] >= threshold) candidates.push_back({i, j, iou[i][j]});
  }
  std::sort(candidates.begin(), candidates.end(), [](const RegionMatch& x, const RegionMatch& y) {
    return std::make_tuple(-x.iou, x.a, x.b) < std::make_tuple(-y.iou, y.a, y.b);
  });
  std::vector<bool> used_a(iou.size(), false), used_b(iou.empty() ? 0 : iou[0].size(), false);
  std::vector<RegionMatch> out;
  for (const RegionMatch& m : candidates) {
    if (used_a[m.a] || used_b[m.b]) continue;
    used_a[m.a] = used_b[m.b] = true;
    out.push_back(m);
  }
  return out;
}

inline double mask_iou(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  ANIMA_CHECK(a.size() == b.size(), "mask_iou", "the masks have ", a.size(), " and ", b.size(),
              " pixels, expected the same number");
  std::int64_t both = 0, either = 0;
  for (std::size_t p = 0; p < a.size(); ++p) {
    both += (a[p] != 0) && (b[p] != 0);
    either += (a[p] != 0) || (b[p] != 0);
  }
  return either == 0 ? 0.0 : static_cast<double>(both) / static_cast<double>(either);
}

inline double box_iou(const std::array<double, 4>& a, const std::array<double, 4>& b) {
  const double iw = std::min(a[2], b[2]) - std::max(a[0], b[0]);
  const double ih = std::min(a[3], b[3]) - std::max(a[1], b[1]);
  const double inter = iw > 0 && ih > 0 ? iw * ih : 0.0;
  const double area_a = std::max(0.0, a[2] - a[0]) * std::max(0.0, a[3] - a[1]);
  const double area_b = std::max(0.0, b[2] - b[0]) * std::max(0.0, b[3] - b[1]);
  const double uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0.0;
}

}  // namespace anima::metrics
