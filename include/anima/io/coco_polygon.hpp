// anima/io/coco_polygon.hpp — COCO polygon segmentations as masks, rasterised exactly as pycocotools
// does it (common/maskApi.c rleFrPoly; annToRLE merges an object's polygons by union):
//   1. the vertices, scaled by 5 and rounded (int(5·v + 0.5)), are joined by digital lines (one point
//      per step along the longer axis, the other coordinate int(start + slope·t + 0.5), each line
//      walked from its lower end);
//   2. wherever a boundary point moves to another column, the column x (the left one of the pair),
//      scaled back ((x + 0.5) / 5 − 0.5), marks a pixel column when it lands on an integer inside the
//      image; its row is the pair's upper y scaled back the same way, clamped to [0, h] and rounded up;
//   3. these column-major positions x·h + y, sorted, are the run boundaries (runs of zeros first;
//      zero-length runs merged), and the last run ends at h·w.
// A pixel is inside when its centre is, up to the 1/5-pixel grid. Step 1 divides by the segment's
// length, which pycocotools does also for a repeated vertex (0/0); here such a segment adds its one
// point with a slope of 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include <anima/core/error.hpp>

namespace anima::io {

// The COCO runs (column-major, zeros first) of polygon xy = [x0, y0, x1, y1, ...] in an h x w image.
inline std::vector<std::int64_t> coco_polygon_runs(const std::vector<double>& xy, std::int64_t h, std::int64_t w) {
  ANIMA_CHECK(xy.size() >= 6 && xy.size() % 2 == 0 && h > 0 && w > 0, "coco_polygon_runs",
              "expected at least 3 (x, y) points and a positive size, got ", xy.size(), " numbers and ", h, "x", w);
  const double scale = 5.0;
  const std::size_t k = xy.size() / 2;
  std::vector<int> x(k + 1), y(k + 1);
  for (std::size_t j = 0; j < k; ++j) {
    x[j] = static_cast<int>(scale * xy[2 * j] + 0.5);
    y[j] = static_cast<int>(scale * xy[2 * j + 1] + 0.5);
  }
  x[k] = x[0], y[k] = y[0];
  std::vector<int> u, v;  // the dense boundary
  for (std::size_t j = 0; j < k; ++j) {
    int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    const int dx = std::abs(xe - xs), dy = std::abs(ys - ye);
    const bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) std::swap(xs, xe), std::swap(ys, ye);
    const double s = dx >= dy ? (dx == 0 ? 0.0 : static_cast<double>(ye - ys) / dx) : static_cast<double>(xe - xs) / dy;
    if (dx >= dy) {
      for (int d = 0; d <= dx; ++d) {
        const int t = flip ? dx - d : d;
        u.push_back(t + xs);
        v.push_back(static_cast<int>(ys + s * t + 0.5));
      }
    } else {
      for (int d = 0; d <= dy; ++d) {
        const int t = flip ? dy - d : d;
        v.push_back(t + ys);
        u.push_back(static_cast<int>(xs + s * t + 0.5));
      }
    }
  }
  std::vector<std::int64_t> a;  // column-major boundary positions
  for (std::size_t j = 1; j < u.size(); ++j) {
    if (u[j] == u[j - 1]) continue;
    double xd = static_cast<double>(u[j] < u[j - 1] ? u[j] : u[j] - 1);
    xd = (xd + 0.5) / scale - 0.5;
    if (std::floor(xd) != xd || xd < 0 || xd > static_cast<double>(w - 1)) continue;
    double yd = static_cast<double>(v[j] < v[j - 1] ? v[j] : v[j - 1]);
    yd = (yd + 0.5) / scale - 0.5;
    yd = std::ceil(yd < 0 ? 0 : yd > static_cast<double>(h) ? static_cast<double>(h) : yd);
    a.push_back(static_cast<std::int64_t>(xd) * h + static_cast<std::int64_t>(yd));
  }
  a.push_back(h * w);
  std::sort(a.begin(), a.end());
  std::int64_t previous = 0;
  for (std::int64_t& p : a) {
    const std::int64_t t = p;
    p -= previous;
    previous = t;
  }
  std::vector<std::int64_t> runs = {a[0]};
  for (std::size_t j = 1; j < a.size();) {
    if (a[j] > 0) {
      runs.push_back(a[j++]);
    } else if (++j < a.size()) {
      runs.back() += a[j++];
    }
  }
  return runs;
}

// The union of an object's polygons as a row-major binary mask [h, w] (pycocotools' annToMask).
inline std::vector<std::uint8_t> coco_polygons_mask(const std::vector<std::vector<double>>& polygons, std::int64_t h,
                                                    std::int64_t w) {
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(h * w), 0);
  for (const auto& polygon : polygons) {
    std::int64_t at = 0;  // column-major position
    bool on = false;
    for (std::int64_t run : coco_polygon_runs(polygon, h, w)) {
      if (on)
        for (std::int64_t p = at; p < at + run; ++p) mask[static_cast<std::size_t>((p % h) * w + p / h)] = 1;
      at += run;
      on = !on;
    }
  }
  return mask;
}

}  // namespace anima::io
