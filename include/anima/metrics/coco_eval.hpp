// anima/metrics/coco_eval.hpp — COCO's detection metrics for boxes and masks, with pycocotools'
// definitions (COCOeval: evaluateImg, accumulate, summarize; maskApi.c: bbIou, rleIou):
//
// IoU of a detection d and a ground truth g: |d ∩ g| / |d ∪ g|, boxes [x, y, w, h] as areas in the
// plane, masks as pixel counts (COCO run-length encoding, column-major runs starting with zeros);
// for a crowd g: |d ∩ g| / |d| (a detection inside a crowd region is not a false positive).
// Per image and category, for area range A and at most M detections (the M best scores):
//   g is ignored when crowd or its area is outside A; ground truths are visited non-ignored first;
//   detections by decreasing score (stable); at each IoU threshold t (0.50, 0.55, ..., 0.95) each
//   detection takes the unmatched (or crowd) ground truth of highest IoU >= t, preferring a
//   non-ignored one; a detection matched to an ignored g, or unmatched with its area outside A, is
//   ignored.
// Per category over all images: detections sorted by score (stable), TP/FP cumulated over the
// non-ignored ones; recall = TP / N (N non-ignored ground truths; the category is skipped when N = 0),
// precision = TP / (TP + FP), made non-increasing from the right; at each of the 101 recall points
// r = 0, 0.01, ..., 1 the precision at the first recall >= r (0 past the end).
// Summaries (−1 when nothing is defined): AP = mean over thresholds, recall points and categories
// (area all, M 100); AP50, AP75 at one threshold; AP small / medium / large (areas < 32², 32²..96²,
// > 96²); AR1, AR10, AR100 = mean over thresholds and categories of the final recall with M = 1, 10,
// 100; AR small / medium / large at M 100.
// Images are those listed (a detection of another image is an error), categories those listed.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <numeric>
#include <utility>
#include <vector>

#include <anima/core/error.hpp>

namespace anima::metrics {

// A binary mask as COCO run lengths: column-major, alternating zeros and ones, zeros first.
struct CocoMask {
  std::int64_t height = 0, width = 0;
  std::vector<std::int64_t> runs;
};

struct CocoGroundTruth {
  std::int64_t image_id = 0, category_id = 0;
  std::array<double, 4> bbox{};  // x, y, width, height
  double area = 0.0;             // COCO's "area" (of the mask for segmentations)
  bool iscrowd = false;
  CocoMask mask;  // for mask evaluation
};

struct CocoDetection {
  std::int64_t image_id = 0, category_id = 0;
  std::array<double, 4> bbox{};
  double score = 0.0;
  CocoMask mask;  // for mask evaluation; its area is its pixel count
};

enum class CocoIouType { Box, Mask };

struct CocoSummary {
  double ap = -1, ap50 = -1, ap75 = -1, ap_small = -1, ap_medium = -1, ap_large = -1;
  double ar1 = -1, ar10 = -1, ar100 = -1, ar_small = -1, ar_medium = -1, ar_large = -1;
  std::vector<double> ap_per_category;  // AP (area all, 100 detections) per listed category, −1 if undefined
  // Per listed category, the interpolated precision at the 101 recall points r = 0, 0.01, ..., 1 (area
  // all, 100 detections) at IoU 0.50 and at 0.75: what pycocotools' eval['precision'][t, :, k, 0, 2]
  // holds; empty for a category without ground truth.
  std::vector<std::vector<double>> precision50_per_category, precision75_per_category;
};

namespace detail {

inline double box_iou(const std::array<double, 4>& d, const std::array<double, 4>& g, bool crowd) {
  const double w = std::min(d[0] + d[2], g[0] + g[2]) - std::max(d[0], g[0]);
  const double h = std::min(d[1] + d[3], g[1] + g[3]) - std::max(d[1], g[1]);
  if (w <= 0 || h <= 0) return 0.0;
  const double inter = w * h;
  const double u = crowd ? d[2] * d[3] : d[2] * d[3] + g[2] * g[3] - inter;
  return inter / u;
}

inline double mask_area(const CocoMask& m) {
  double a = 0;
  for (std::size_t i = 1; i < m.runs.size(); i += 2) a += static_cast<double>(m.runs[i]);
  return a;
}

// pycocotools' rleIou for one pair (the caller has checked the sizes).
inline double mask_iou(const CocoMask& d, const CocoMask& g, bool crowd) {
  std::size_t a = 0, b = 0;
  std::int64_t ca = d.runs.empty() ? 0 : d.runs[0], cb = g.runs.empty() ? 0 : g.runs[0];
  bool va = false, vb = false;
  double inter = 0, uni = 0;
  while (a < d.runs.size() && b < g.runs.size()) {
    const std::int64_t c = std::min(ca, cb);
    if (va || vb) uni += static_cast<double>(c);
    if (va && vb) inter += static_cast<double>(c);
    ca -= c, cb -= c;
    if (ca == 0 && ++a < d.runs.size()) ca = d.runs[a], va = !va;
    if (cb == 0 && ++b < g.runs.size()) cb = g.runs[b], vb = !vb;
  }
  if (inter == 0) return 0.0;
  return inter / (crowd ? mask_area(d) : uni);
}

// numpy.linspace(start, stop, n)[i]: i · ((stop − start) / (n − 1)) + start, the last exactly stop.
inline double linspace(double start, double stop, int n, int i) {
  return i == n - 1 ? stop : static_cast<double>(i) * ((stop - start) / (n - 1)) + start;
}

// pycocotools' IoU thresholds: linspace(0.5, 0.95, 10).
inline double iou_threshold(int t) { return linspace(0.5, 0.95, 10, t); }

struct ImageEval {
  std::vector<double> scores;              // the kept detections, best first
  std::vector<std::vector<char>> matched;  // [threshold][detection]
  std::vector<std::vector<char>> ignored;  // [threshold][detection]
  std::vector<char> gt_ignored;
};

}  // namespace detail

inline CocoSummary coco_evaluate(const std::vector<std::int64_t>& image_ids,
                                 const std::vector<std::int64_t>& category_ids, const std::vector<CocoGroundTruth>& gts,
                                 const std::vector<CocoDetection>& dts, CocoIouType type) {
  constexpr int kThresholds = 10, kRecalls = 101;
  using detail::iou_threshold;
  using detail::linspace;
  const std::array<std::array<double, 2>, 4> areas = {{{0, 1e10}, {0, 32 * 32}, {32 * 32, 96 * 96}, {96 * 96, 1e10}}};
  const std::array<int, 3> max_dets = {1, 10, 100};
  std::map<std::int64_t, std::size_t> image_index, category_index;
  for (std::size_t i = 0; i < image_ids.size(); ++i) image_index[image_ids[i]] = i;
  for (std::size_t k = 0; k < category_ids.size(); ++k) category_index[category_ids[k]] = k;
  // [image][category] -> indices of ground truths / detections
  std::vector<std::vector<std::vector<std::size_t>>> gt_at(image_ids.size()), dt_at(image_ids.size());
  for (auto& v : gt_at) v.resize(category_ids.size());
  for (auto& v : dt_at) v.resize(category_ids.size());
  auto check_mask = [&](const CocoMask& m, const char* what) {
    if (type != CocoIouType::Mask) return;
    std::int64_t total = 0;
    for (std::int64_t r : m.runs) total += r;
    ANIMA_CHECK(m.height > 0 && m.width > 0 && total == m.height * m.width, "coco_evaluate", what,
                " mask: runs sum to ", total, ", expected ", m.height, " x ", m.width);
  };
  for (std::size_t i = 0; i < gts.size(); ++i) {
    auto im = image_index.find(gts[i].image_id);
    auto cat = category_index.find(gts[i].category_id);
    ANIMA_CHECK(im != image_index.end(), "coco_evaluate", "ground truth ", i, " is of image ", gts[i].image_id,
                ", which is not listed");
    check_mask(gts[i].mask, "a ground truth");
    if (cat != category_index.end()) gt_at[im->second][cat->second].push_back(i);
  }
  for (std::size_t i = 0; i < dts.size(); ++i) {
    auto im = image_index.find(dts[i].image_id);
    auto cat = category_index.find(dts[i].category_id);
    ANIMA_CHECK(im != image_index.end(), "coco_evaluate", "detection ", i, " is of image ", dts[i].image_id,
                ", which is not listed");
    ANIMA_CHECK(std::isfinite(dts[i].score), "coco_evaluate", "detection ", i, " has score ", dts[i].score);
    check_mask(dts[i].mask, "a detection");
    if (cat != category_index.end()) dt_at[im->second][cat->second].push_back(i);
  }
  auto dt_area = [&](const CocoDetection& d) {
    return type == CocoIouType::Box ? d.bbox[2] * d.bbox[3] : detail::mask_area(d.mask);
  };
  auto iou = [&](const CocoDetection& d, const CocoGroundTruth& g) {
    if (type == CocoIouType::Box) return detail::box_iou(d.bbox, g.bbox, g.iscrowd);
    ANIMA_CHECK(d.mask.height == g.mask.height && d.mask.width == g.mask.width, "coco_evaluate", "a detection mask of ",
                d.mask.height, "x", d.mask.width, " and a ground truth of ", g.mask.height, "x", g.mask.width,
                " on image ", g.image_id);
    return detail::mask_iou(d.mask, g.mask, g.iscrowd);
  };

  // precision[t][r][k][a][m], recall[t][k][a][m]; −1 where undefined.
  const std::size_t nk = category_ids.size();
  std::vector<double> precision(kThresholds * kRecalls * nk * 4 * 3, -1.0), recall(kThresholds * nk * 4 * 3, -1.0);
  auto p_at = [&](int t, int r, std::size_t k, int a, int m) -> double& {
    return precision[(((static_cast<std::size_t>(t) * kRecalls + r) * nk + k) * 4 + a) * 3 + m];
  };
  auto r_at = [&](int t, std::size_t k, int a, int m) -> double& {
    return recall[((static_cast<std::size_t>(t) * nk + k) * 4 + a) * 3 + m];
  };

  for (std::size_t k = 0; k < nk; ++k)
    for (int a = 0; a < 4; ++a) {
      // Per image, at most 100 detections (the evaluation keeps its own maxDets cut below).
      std::vector<detail::ImageEval> evals;
      std::size_t non_ignored_gts = 0;
      for (std::size_t im = 0; im < image_ids.size(); ++im) {
        std::vector<std::size_t> g = gt_at[im][k], d = dt_at[im][k];
        if (g.empty() && d.empty()) continue;
        detail::ImageEval e;
        std::vector<char> g_ignored(g.size());
        for (std::size_t j = 0; j < g.size(); ++j) {
          const CocoGroundTruth& gt = gts[g[j]];
          g_ignored[j] = gt.iscrowd || gt.area < areas[a][0] || gt.area > areas[a][1];
        }
        std::vector<std::size_t> gorder(g.size());
        std::iota(gorder.begin(), gorder.end(), std::size_t{0});
        std::stable_sort(gorder.begin(), gorder.end(),
                         [&](std::size_t x, std::size_t y) { return g_ignored[x] < g_ignored[y]; });
        std::stable_sort(d.begin(), d.end(), [&](std::size_t x, std::size_t y) { return dts[x].score > dts[y].score; });
        if (d.size() > 100) d.resize(100);
        for (std::size_t j : gorder) e.gt_ignored.push_back(g_ignored[j]);
        for (char ig : e.gt_ignored) non_ignored_gts += ig == 0;
        e.matched.assign(kThresholds, std::vector<char>(d.size(), 0));
        e.ignored.assign(kThresholds, std::vector<char>(d.size(), 0));
        std::vector<std::vector<double>> ious(d.size(), std::vector<double>(g.size()));
        for (std::size_t x = 0; x < d.size(); ++x)
          for (std::size_t y = 0; y < gorder.size(); ++y) ious[x][y] = iou(dts[d[x]], gts[g[gorder[y]]]);
        for (int t = 0; t < kThresholds; ++t) {
          const double thr = iou_threshold(t);
          std::vector<char> gt_taken(g.size(), 0);
          for (std::size_t x = 0; x < d.size(); ++x) {
            double best = std::min(thr, 1 - 1e-10);
            std::ptrdiff_t m = -1;
            for (std::size_t y = 0; y < gorder.size(); ++y) {
              if (gt_taken[y] && !gts[g[gorder[y]]].iscrowd) continue;
              if (m > -1 && !e.gt_ignored[static_cast<std::size_t>(m)] && e.gt_ignored[y]) break;
              if (ious[x][y] < best) continue;
              best = ious[x][y];
              m = static_cast<std::ptrdiff_t>(y);
            }
            if (m == -1) continue;
            e.ignored[t][x] = e.gt_ignored[static_cast<std::size_t>(m)];
            e.matched[t][x] = 1;
            gt_taken[static_cast<std::size_t>(m)] = 1;
          }
          for (std::size_t x = 0; x < d.size(); ++x) {
            const double ar = dt_area(dts[d[x]]);
            if (!e.matched[t][x] && (ar < areas[a][0] || ar > areas[a][1])) e.ignored[t][x] = 1;
          }
        }
        for (std::size_t x = 0; x < d.size(); ++x) e.scores.push_back(dts[d[x]].score);
        evals.push_back(std::move(e));
      }
      if (non_ignored_gts == 0) continue;
      for (int mi = 0; mi < 3; ++mi) {
        const std::size_t cap = static_cast<std::size_t>(max_dets[mi]);
        // (score, image, detection) of every kept detection, in pycocotools' order: stable by score.
        std::vector<std::pair<std::size_t, std::size_t>> all;
        for (std::size_t i = 0; i < evals.size(); ++i)
          for (std::size_t x = 0; x < std::min(cap, evals[i].scores.size()); ++x) all.emplace_back(i, x);
        std::stable_sort(all.begin(), all.end(), [&](const auto& p, const auto& q) {
          return evals[p.first].scores[p.second] > evals[q.first].scores[q.second];
        });
        for (int t = 0; t < kThresholds; ++t) {
          std::vector<double> rc, pr;
          double tp = 0, fp = 0;
          for (const auto& [i, x] : all) {
            if (evals[i].ignored[t][x]) continue;
            if (evals[i].matched[t][x])
              tp += 1;
            else
              fp += 1;
            rc.push_back(tp / static_cast<double>(non_ignored_gts));
            pr.push_back(tp / (tp + fp + 2.220446049250313e-16));
          }
          r_at(t, k, a, mi) = rc.empty() ? 0.0 : rc.back();
          for (std::size_t i = pr.size(); i-- > 1;)
            if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          for (int r = 0; r < kRecalls; ++r) {
            const double thr = linspace(0.0, 1.0, kRecalls, r);
            const auto it = std::lower_bound(rc.begin(), rc.end(), thr);
            p_at(t, r, k, a, mi) = it == rc.end() ? 0.0 : pr[static_cast<std::size_t>(it - rc.begin())];
          }
        }
      }
    }

  auto mean_ap = [&](int t_only, int a, int m, std::ptrdiff_t k_only) {
    double s = 0;
    std::size_t n = 0;
    for (int t = 0; t < kThresholds; ++t) {
      if (t_only >= 0 && t != t_only) continue;
      for (int r = 0; r < kRecalls; ++r)
        for (std::size_t k = 0; k < nk; ++k) {
          if (k_only >= 0 && static_cast<std::ptrdiff_t>(k) != k_only) continue;
          const double v = p_at(t, r, k, a, m);
          if (v > -1) s += v, ++n;
        }
    }
    return n == 0 ? -1.0 : s / static_cast<double>(n);
  };
  auto mean_ar = [&](int a, int m) {
    double s = 0;
    std::size_t n = 0;
    for (int t = 0; t < kThresholds; ++t)
      for (std::size_t k = 0; k < nk; ++k)
        if (const double v = r_at(t, k, a, m); v > -1) s += v, ++n;
    return n == 0 ? -1.0 : s / static_cast<double>(n);
  };
  CocoSummary s;
  s.ap = mean_ap(-1, 0, 2, -1);
  s.ap50 = mean_ap(0, 0, 2, -1);
  s.ap75 = mean_ap(5, 0, 2, -1);
  s.ap_small = mean_ap(-1, 1, 2, -1);
  s.ap_medium = mean_ap(-1, 2, 2, -1);
  s.ap_large = mean_ap(-1, 3, 2, -1);
  s.ar1 = mean_ar(0, 0);
  s.ar10 = mean_ar(0, 1);
  s.ar100 = mean_ar(0, 2);
  s.ar_small = mean_ar(1, 2);
  s.ar_medium = mean_ar(2, 2);
  s.ar_large = mean_ar(3, 2);
  for (std::size_t k = 0; k < nk; ++k) {
    s.ap_per_category.push_back(mean_ap(-1, 0, 2, static_cast<std::ptrdiff_t>(k)));
    for (const int t : {0, 5}) {
      std::vector<double> curve;
      if (p_at(t, 0, k, 0, 2) > -1)
        for (int r = 0; r < kRecalls; ++r) curve.push_back(p_at(t, r, k, 0, 2));
      (t == 0 ? s.precision50_per_category : s.precision75_per_category).push_back(std::move(curve));
    }
  }
  return s;
}

}  // namespace anima::metrics
