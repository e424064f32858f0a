// tools/synth/geometry.hpp — polygons in image coordinates: area, bounding box, clipping to the
// image, point-in-polygon and rasterisation at pixel centres (the reference for the mask tests).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace anima::synth {

struct Point {
  double x = 0, y = 0;
};
using Polygon = std::vector<Point>;

struct Box {  // x, y: top-left corner; w, h: size (pixels)
  double x = 0, y = 0, w = 0, h = 0;
};

// Shoelace area (absolute value).
inline double polygon_area(const Polygon& p) {
  double a = 0;
  for (std::size_t i = 0, n = p.size(); i < n; ++i) {
    const Point& u = p[i];
    const Point& v = p[(i + 1) % n];
    a += u.x * v.y - v.x * u.y;
  }
  return std::abs(a) * 0.5;
}

inline Box bounding_box(const Polygon& p) {
  if (p.empty()) return {};
  double x0 = p[0].x, x1 = p[0].x, y0 = p[0].y, y1 = p[0].y;
  for (const Point& q : p) {
    x0 = std::min(x0, q.x);
    x1 = std::max(x1, q.x);
    y0 = std::min(y0, q.y);
    y1 = std::max(y1, q.y);
  }
  return {x0, y0, x1 - x0, y1 - y0};
}

inline double box_iou(const Box& a, const Box& b) {
  const double ix = std::max(0.0, std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x));
  const double iy = std::max(0.0, std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y));
  const double inter = ix * iy, uni = a.w * a.h + b.w * b.h - inter;
  return uni > 0 ? inter / uni : 0.0;
}

// Intersection area over the smaller box's area: 1 when one box holds the other.
inline double box_overlap_of_smaller(const Box& a, const Box& b) {
  const double ix = std::max(0.0, std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x));
  const double iy = std::max(0.0, std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y));
  const double smaller = std::min(a.w * a.h, b.w * b.h);
  return smaller > 0 ? ix * iy / smaller : 0.0;
}

// Sutherland-Hodgman clipping of a polygon to the rectangle [0, width] x [0, height]. Exact for any
// polygon against a convex window (a concave outline may gain zero-area edges along the border).
inline Polygon clip_to_rect(const Polygon& poly, double width, double height) {
  Polygon out = poly;
  // Each edge: inside(p) and the crossing point of segment (a, b) with the edge's line.
  for (int edge = 0; edge < 4 && !out.empty(); ++edge) {
    auto value = [&](const Point& p) {  // >= 0 inside
      switch (edge) {
        case 0: return p.x;
        case 1: return width - p.x;
        case 2: return p.y;
        default: return height - p.y;
      }
    };
    Polygon in = std::move(out);
    out.clear();
    for (std::size_t i = 0, n = in.size(); i < n; ++i) {
      const Point& a = in[i];
      const Point& b = in[(i + 1) % n];
      const double va = value(a), vb = value(b);
      if (va >= 0) out.push_back(a);
      if ((va >= 0) != (vb >= 0)) {
        const double t = va / (va - vb);
        out.push_back({a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)});
      }
    }
  }
  return out;
}

// Even-odd point-in-polygon test.
inline bool point_in_polygon(const Polygon& p, double x, double y) {
  bool inside = false;
  for (std::size_t i = 0, n = p.size(), j = n - 1; i < n; j = i++) {
    if ((p[i].y > y) != (p[j].y > y) && x < (p[j].x - p[i].x) * (y - p[i].y) / (p[j].y - p[i].y) + p[i].x)
      inside = !inside;
  }
  return inside;
}

// Binary mask [height][width] (row-major, 0/1) of the pixels whose centre lies inside the polygon.
inline std::vector<std::uint8_t> rasterize_polygon(const Polygon& p, int width, int height) {
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(width) * height, 0);
  const Box b = bounding_box(p);
  const int x0 = std::max(0, static_cast<int>(std::floor(b.x))),
            x1 = std::min(width - 1, static_cast<int>(std::ceil(b.x + b.w)));
  const int y0 = std::max(0, static_cast<int>(std::floor(b.y))),
            y1 = std::min(height - 1, static_cast<int>(std::ceil(b.y + b.h)));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x)
      if (point_in_polygon(p, x + 0.5, y + 0.5)) mask[static_cast<std::size_t>(y) * width + x] = 1;
  return mask;
}

}  // namespace anima::synth
