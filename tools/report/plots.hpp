// tools/report/plots.hpp — the pictures of the reports, drawn with cairo and returned as PNG bytes:
// line plots (training curves, precision-recall and ROC curves) and heat maps (confusion matrices).
//
//   line_plot_png(series, axes)     each series a polyline (or a step line) in its own colour
//                                   (matplotlib's tab10), a legend, axes with ticks at round numbers;
//                                   axes.unit_square fixes both ranges to [0, 1], else they fit the data
//   heatmap_png(values, k, ...)     a k x k grid, cell (r, c) shaded by values[r·k + c] in [0, 1]
//                                   (white to dark blue), its text inside, row and column labels
// Non-finite points are skipped (a NaN breaks the line there). Every function throws anima::Error
// if cairo fails.
#pragma once

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include <anima/core/error.hpp>

#include "report/cairo_canvas.hpp"

namespace anima::report {

struct Series {
  std::string name;
  std::vector<double> x, y;
  bool steps = false;  // horizontal then vertical between points (precision-recall, as sklearn draws it)
  bool dashed = false;
};

struct PlotAxes {
  std::string title, x_label, y_label;
  bool unit_square = false;  // both axes [0, 1]
  bool diagonal = false;     // the chance line y = x (ROC)
  int width = 640, height = 480;
};

namespace detail {

struct Rgb {
  double r, g, b;
};

inline Rgb palette(std::size_t i) {
  static const Rgb tab10[] = {{0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173},
                              {0.839, 0.153, 0.157}, {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294},
                              {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498}, {0.737, 0.741, 0.133},
                              {0.090, 0.745, 0.812}};
  return tab10[i % 10];
}

// A white canvas of width x height with the sans-serif font selected.
class Canvas : public CairoCanvas {
 public:
  Canvas(int width, int height) : CairoCanvas(CAIRO_FORMAT_ARGB32, width, height) {
    cairo_set_source_rgb(cr(), 1, 1, 1);
    cairo_paint(cr());
    cairo_select_font_face(cr(), "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  }
};

// Text with its anchor: ax, ay in [0, 1] of its extent (0.5, 0.5: centred).
inline void text_at(cairo_t* cr, const std::string& s, double x, double y, double ax, double ay, double size,
                    bool bold = false, double angle = 0.0) {
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle);
  cairo_move_to(cr, -e.x_bearing - ax * e.width, -e.y_bearing - ay * e.height);
  cairo_show_text(cr, s.c_str());
  cairo_restore(cr);
}

// Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten, about five of them.
inline std::vector<double> nice_ticks(double lo, double hi) {
  const double span = hi - lo;
  const double raw = span / 5.0;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / p < 1.5 ? p : raw / p < 3.5 ? 2 * p : raw / p < 7.5 ? 5 * p : 10 * p;
  std::vector<double> t;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

inline std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace detail

inline std::vector<unsigned char> line_plot_png(const std::vector<Series>& series, const PlotAxes& axes) {
  using detail::text_at;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (!axes.unit_square) {
    x0 = y0 = INFINITY;
    x1 = y1 = -INFINITY;
    for (const Series& s : series)
      for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
        if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) {
          x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
          y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
        }
    if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
    if (y1 - y0 < 1e-12) y0 -= 0.5, y1 += 0.5;
    const double pad = 0.05 * (y1 - y0);
    y0 -= pad, y1 += pad;
  }
  detail::Canvas canvas(axes.width, axes.height);
  cairo_t* cr = canvas.cr();
  const double left = 70, right = axes.width - 20.0, top = 40, bottom = axes.height - 55.0;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
  auto py = [&](double y) { return bottom - (y - y0) / (y1 - y0) * (bottom - top); };

  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  text_at(cr, axes.title, axes.width / 2.0, 12, 0.5, 0.0, 16, true);
  text_at(cr, axes.x_label, (left + right) / 2, axes.height - 8.0, 0.5, 1.0, 13);
  text_at(cr, axes.y_label, 16, (top + bottom) / 2, 0.5, 0.5, 13, false, -M_PI / 2);
  cairo_set_line_width(cr, 1.0);
  for (double t : detail::nice_ticks(x0, x1)) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, px(t), top), cairo_line_to(cr, px(t), bottom), cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text_at(cr, detail::tick_label(t), px(t), bottom + 6, 0.5, 0.0, 11);
  }
  for (double t : detail::nice_ticks(y0, y1)) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, left, py(t)), cairo_line_to(cr, right, py(t)), cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text_at(cr, detail::tick_label(t), left - 6, py(t), 1.0, 0.5, 11);
  }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_stroke(cr);
  if (axes.diagonal) {
    const double dashes[] = {4.0, 4.0};
    cairo_set_dash(cr, dashes, 2, 0);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_move_to(cr, px(0), py(0)), cairo_line_to(cr, px(1), py(1)), cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
  }

  cairo_save(cr);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_clip(cr);
  cairo_set_line_width(cr, 2.0);
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const detail::Rgb c = detail::palette(k);
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    const double dashes[] = {6.0, 3.0};
    cairo_set_dash(cr, s.dashed ? dashes : nullptr, s.dashed ? 2 : 0, 0);
    bool pen_down = false;
    double last_y = 0;
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        pen_down = false;
        continue;
      }
      if (!pen_down) {
        cairo_move_to(cr, px(s.x[i]), py(s.y[i]));
      } else {
        if (s.steps) cairo_line_to(cr, px(s.x[i]), py(last_y));
        cairo_line_to(cr, px(s.x[i]), py(s.y[i]));
      }
      pen_down = true;
      last_y = s.y[i];
    }
    cairo_stroke(cr);
  }
  cairo_set_dash(cr, nullptr, 0, 0);
  cairo_restore(cr);

  // The legend, bottom right inside the axes, one line per named series.
  std::vector<std::size_t> named;
  for (std::size_t k = 0; k < series.size(); ++k)
    if (!series[k].name.empty()) named.push_back(k);
  if (!named.empty()) {
    cairo_set_font_size(cr, 11);
    double w = 0;
    for (std::size_t k : named) {
      cairo_text_extents_t e;
      cairo_text_extents(cr, series[k].name.c_str(), &e);
      w = std::max(w, e.x_advance);
    }
    const double line = 16, bw = w + 40, bh = line * static_cast<double>(named.size()) + 8;
    const double bx = right - bw - 8, by = bottom - bh - 8;
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_rectangle(cr, bx, by, bw, bh);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
    cairo_set_line_width(cr, 1.0);
    cairo_stroke(cr);
    for (std::size_t i = 0; i < named.size(); ++i) {
      const double y = by + 4 + line * (static_cast<double>(i) + 0.5);
      const detail::Rgb c = detail::palette(named[i]);
      cairo_set_source_rgb(cr, c.r, c.g, c.b);
      cairo_set_line_width(cr, 2.0);
      cairo_move_to(cr, bx + 6, y), cairo_line_to(cr, bx + 28, y), cairo_stroke(cr);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      text_at(cr, series[named[i]].name, bx + 34, y, 0.0, 0.5, 11);
    }
  }
  return canvas.png();
}

// values: k x k row-major in [0, 1]; text: k x k cell texts; rows labelled on the left, columns below.
inline std::vector<unsigned char> heatmap_png(const std::vector<double>& values, const std::vector<std::string>& text,
                                              const std::vector<std::string>& labels, const std::string& title,
                                              const std::string& row_axis, const std::string& column_axis) {
  using detail::text_at;
  const std::size_t k = labels.size();
  ANIMA_CHECK(k >= 1 && values.size() == k * k && text.size() == k * k, "heatmap", "expected ", k, " x ", k,
              " values and texts, got ", values.size(), " and ", text.size());
  const double cell = std::max(40.0, std::min(90.0, 560.0 / static_cast<double>(k)));
  const double left = 130, top = 45;
  const int width = static_cast<int>(left + cell * static_cast<double>(k) + 20);
  const int height = static_cast<int>(top + cell * static_cast<double>(k) + 110);
  detail::Canvas canvas(width, height);
  cairo_t* cr = canvas.cr();
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  text_at(cr, title, width / 2.0, 12, 0.5, 0.0, 16, true);
  for (std::size_t r = 0; r < k; ++r)
    for (std::size_t c = 0; c < k; ++c) {
      const double v = std::isfinite(values[r * k + c]) ? std::clamp(values[r * k + c], 0.0, 1.0) : 0.0;
      const double x = left + cell * static_cast<double>(c), y = top + cell * static_cast<double>(r);
      cairo_set_source_rgb(cr, 1.0 - 0.97 * v, 1.0 - 0.78 * v, 1.0 - 0.45 * v);  // white -> dark blue
      cairo_rectangle(cr, x, y, cell, cell);
      cairo_fill(cr);
      const double ink = v > 0.5 ? 1.0 : 0.1;
      cairo_set_source_rgb(cr, ink, ink, ink);
      text_at(cr, text[r * k + c], x + cell / 2, y + cell / 2, 0.5, 0.5, std::min(14.0, cell / 4.5));
    }
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  for (std::size_t i = 0; i < k; ++i) {
    const double mid = cell * (static_cast<double>(i) + 0.5);
    text_at(cr, labels[i], left - 8, top + mid, 1.0, 0.5, 12);
    text_at(cr, labels[i], left + mid, top + cell * static_cast<double>(k) + 8, 1.0, 0.5, 12, false, -M_PI / 4);
  }
  text_at(cr, row_axis, 14, top + cell * static_cast<double>(k) / 2, 0.5, 0.5, 13, true, -M_PI / 2);
  text_at(cr, column_axis, left + cell * static_cast<double>(k) / 2, height - 8.0, 0.5, 1.0, 13, true);
  return canvas.png();
}

}  // namespace anima::report
