// tools/synth/characters.hpp — the two characters' faces, drawn with cairo, with their emotions.
//
// The cat ("tom", class 1): a wide head with pointed ears and spiky cheek tufts, cream muzzle pads,
// a pink triangular nose, green-yellow eyes with slit pupils, three whiskers a side.
// The mouse ("jerry", class 2): a round head with two large round ears, a cream face, a black
// button nose, tall black-pupilled eyes set close together, two whiskers a side.
// Both are our own simple designs built from ellipses, arcs and Bezier curves.
//
// A face is drawn in its local frame (head radius 1, y down) mapped to the image by
//   translate(cx, cy) . rotate(rotation) . scale(s * squash, s) . translate(0, -centre_y)
// where s makes the outline `height` pixels tall and squash = 1 - 0.3 |turn| (a head turned away);
// the features also shift sideways by 0.18 turn.
//
// The face region (the annotation) is the silhouette: head and ears, which is what a VIA annotator
// outlines. draw_face returns it as a polygon in image coordinates (cairo's flattening of the same
// path that is filled, to 0.25 px). Whiskers reaching past the head and the outline stroke's outer
// half-width are outside it; objects drawn in front of the face later are not subtracted from it.
// RenderMode::Mask fills only the silhouette, in white: the same geometry, for the mask tests.
#pragma once

#include <cairo.h>

#include <algorithm>
#include <cmath>

#include "classes.hpp"
#include "expression.hpp"
#include "geometry.hpp"
#include "palette.hpp"

namespace anima::synth {

enum class RenderMode { Color, Mask };

struct FaceStyle {
  Character who = Character::Tom;
  Emotion emotion = Emotion::Happy;
  double intensity = 1.0;   // 0 neutral .. 1 full emotion
  double cx = 0, cy = 0;    // centre of the outline's vertical extent (pixels)
  double height = 100;      // ear tips to chin (pixels)
  double rotation = 0;      // radians, clockwise on screen
  double turn = 0;          // -1 .. 1: head turned left / right
  double line_scale = 1.0;  // outline width multiplier
  CharacterColors colors;
  ExpressionVariant variant;
};

namespace detail {

constexpr double kPi = 3.14159265358979323846;

// Vertical extent of each outline in local units (top of the ears, bottom of the chin).
inline double outline_top(Character c) { return c == Character::Tom ? -1.58 : -1.46; }
inline double outline_bottom(Character c) { return c == Character::Tom ? 0.95 : 1.0; }

inline void set_rgb(cairo_t* cr, const Rgb& c) { cairo_set_source_rgb(cr, c.r, c.g, c.b); }
inline void set_rgba(cairo_t* cr, const Rgb& c, double a) { cairo_set_source_rgba(cr, c.r, c.g, c.b, a); }

inline void ellipse_path(cairo_t* cr, double x, double y, double rx, double ry) {
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_scale(cr, rx, ry);
  cairo_new_sub_path(cr);
  cairo_arc(cr, 0, 0, 1, 0, 2 * kPi);
  cairo_restore(cr);
}

// The cat's silhouette: chin -> left cheek tufts -> left ear -> crown -> right ear -> right tufts.
inline void cat_outline_path(cairo_t* cr) {
  cairo_new_path(cr);
  cairo_move_to(cr, 0, 0.95);
  cairo_curve_to(cr, -0.55, 0.95, -0.92, 0.82, -1.04, 0.64);
  cairo_line_to(cr, -1.30, 0.60);
  cairo_line_to(cr, -1.10, 0.45);
  cairo_line_to(cr, -1.34, 0.32);
  cairo_line_to(cr, -1.12, 0.18);
  cairo_curve_to(cr, -1.20, -0.05, -1.14, -0.30, -1.0, -0.46);
  cairo_curve_to(cr, -1.06, -0.85, -1.03, -1.25, -0.95, -1.58);
  cairo_curve_to(cr, -0.75, -1.32, -0.56, -1.02, -0.38, -0.87);
  cairo_curve_to(cr, -0.15, -0.96, 0.15, -0.96, 0.38, -0.87);
  cairo_curve_to(cr, 0.56, -1.02, 0.75, -1.32, 0.95, -1.58);
  cairo_curve_to(cr, 1.03, -1.25, 1.06, -0.85, 1.0, -0.46);
  cairo_curve_to(cr, 1.14, -0.30, 1.20, -0.05, 1.12, 0.18);
  cairo_line_to(cr, 1.34, 0.32);
  cairo_line_to(cr, 1.10, 0.45);
  cairo_line_to(cr, 1.30, 0.60);
  cairo_line_to(cr, 1.04, 0.64);
  cairo_curve_to(cr, 0.92, 0.82, 0.55, 0.95, 0, 0.95);
  cairo_close_path(cr);
}

// The mouse's ears: circles of radius kEarR at (+-kEarX, kEarY), over a unit head circle.
constexpr double kEarX = 0.88, kEarY = -0.88, kEarR = 0.58;

// The mouse's silhouette: the head circle's lower arc, the left ear's outer arc, the crown between
// the ears, the right ear's outer arc. The joins are the circles' intersections.
inline void mouse_outline_path(cairo_t* cr) {
  // Intersections of the unit circle with the left ear circle: a along the centre line, h across.
  const double d = std::hypot(kEarX, kEarY);
  const double a = (d * d + 1 - kEarR * kEarR) / (2 * d);
  const double h = std::sqrt(1 - a * a);
  const double ux = -kEarX / d, uy = kEarY / d;            // unit vector to the left ear's centre
  const double px = -uy, py = ux;                          // perpendicular
  const Point l_up = {a * ux + h * px, a * uy + h * py};   // upper/inner join, left ear
  const Point l_low = {a * ux - h * px, a * uy - h * py};  // lower/outer join, left ear
  const Point r_up = {-l_up.x, l_up.y}, r_low = {-l_low.x, l_low.y};
  auto angle = [](double x, double y) { return std::atan2(y, x); };
  auto increasing = [](double from, double to) {
    while (to <= from) to += 2 * kPi;
    return to;
  };
  cairo_new_path(cr);
  // Head: from the right ear's lower join, clockwise on screen (increasing angle) through the chin.
  double a0 = angle(r_low.x, r_low.y), a1 = increasing(a0, angle(l_low.x, l_low.y));
  cairo_arc(cr, 0, 0, 1, a0, a1);
  // Left ear, outer side: lower join -> upper join, increasing angle around the ear's centre.
  a0 = angle(l_low.x + kEarX, l_low.y - kEarY);
  a1 = increasing(a0, angle(l_up.x + kEarX, l_up.y - kEarY));
  cairo_arc(cr, -kEarX, kEarY, kEarR, a0, a1);
  // Crown between the ears.
  a0 = angle(l_up.x, l_up.y);
  a1 = increasing(a0, angle(r_up.x, r_up.y));
  cairo_arc(cr, 0, 0, 1, a0, a1);
  // Right ear, outer side.
  a0 = angle(r_up.x - kEarX, r_up.y - kEarY);
  a1 = increasing(a0, angle(r_low.x - kEarX, r_low.y - kEarY));
  cairo_arc(cr, kEarX, kEarY, kEarR, a0, a1);
  cairo_close_path(cr);
}

inline void outline_path(cairo_t* cr, Character who) {
  if (who == Character::Tom)
    cat_outline_path(cr);
  else
    mouse_outline_path(cr);
}

// Sets the face's local frame on cr (after cairo_save); returns the local-to-pixel scale s.
inline double apply_face_transform(cairo_t* cr, const FaceStyle& f) {
  const double top = outline_top(f.who), bottom = outline_bottom(f.who);
  const double s = f.height / (bottom - top);
  const double squash = 1.0 - 0.3 * std::min(1.0, std::abs(f.turn));
  cairo_translate(cr, f.cx, f.cy);
  cairo_rotate(cr, f.rotation);
  cairo_scale(cr, s * squash, s);
  cairo_translate(cr, 0, -(top + bottom) / 2);
  return s;
}

// The current path, flattened, in device (image) coordinates.
inline Polygon current_path_polygon(cairo_t* cr) {
  const double old_tolerance = cairo_get_tolerance(cr);
  cairo_set_tolerance(cr, 0.25);
  cairo_path_t* path = cairo_copy_path_flat(cr);
  cairo_set_tolerance(cr, old_tolerance);
  Polygon poly;
  for (int i = 0; i < path->num_data; i += path->data[i].header.length) {
    const cairo_path_data_t& h = path->data[i];
    if (h.header.type == CAIRO_PATH_MOVE_TO || h.header.type == CAIRO_PATH_LINE_TO) {
      double x = path->data[i + 1].point.x, y = path->data[i + 1].point.y;
      cairo_user_to_device(cr, &x, &y);
      if (poly.empty() || std::abs(poly.back().x - x) > 1e-9 || std::abs(poly.back().y - y) > 1e-9)
        poly.push_back({x, y});
    }
  }
  cairo_path_destroy(path);
  if (poly.size() > 1 && std::abs(poly.front().x - poly.back().x) < 1e-9 &&
      std::abs(poly.front().y - poly.back().y) < 1e-9)
    poly.pop_back();
  return poly;
}

struct EyeGeometry {
  double x, y, rx, ry;
  int side;  // -1: the face's left on screen, +1: right
};

inline void draw_eye(cairo_t* cr, const EyeGeometry& g, const Expression& e, const FaceStyle& f, double lw) {
  const CharacterColors& c = f.colors;
  const double rx = g.rx * e.eye_scale, ry = g.ry * e.eye_scale;
  if (e.arc_eyes > 0.5) {  // closed happy eye: an arc bowed upward
    cairo_new_path(cr);
    cairo_arc(cr, g.x, g.y + ry * 0.35, rx * 0.95, kPi + 0.45, 2 * kPi - 0.45);
    set_rgb(cr, c.line);
    cairo_set_line_width(cr, lw * 1.7);
    cairo_stroke(cr);
    return;
  }
  cairo_save(cr);
  ellipse_path(cr, g.x, g.y, rx, ry);
  set_rgb(cr, c.eye_white);
  cairo_fill_preserve(cr);
  cairo_clip(cr);
  // Pupil: looks sideways with the variant's gaze, down when sad.
  const double px = g.x + f.variant.gaze_x * rx * 0.35, py = g.y + e.gaze_y * ry * 0.35;
  if (f.who == Character::Tom) {
    ellipse_path(cr, px, py, rx * 0.72 * e.pupil_scale, ry * 0.76 * e.pupil_scale);
    set_rgb(cr, c.iris);
    cairo_fill(cr);
    ellipse_path(cr, px, py, rx * 0.2 * e.pupil_scale, ry * 0.62 * e.pupil_scale);
    set_rgb(cr, c.pupil);
    cairo_fill(cr);
  } else {
    ellipse_path(cr, px, py + ry * 0.2, rx * 0.58 * e.pupil_scale, ry * 0.5 * e.pupil_scale);
    set_rgb(cr, c.pupil);
    cairo_fill(cr);
  }
  ellipse_path(cr, px - rx * 0.18, py - ry * 0.12, rx * 0.14, rx * 0.14);  // highlight
  set_rgb(cr, c.eye_white);
  cairo_fill(cr);
  // Upper lid: covers the top of the eye down to a slanted line.
  if (e.upper_lid > 0.02) {
    const double base = g.y - ry + 2 * ry * e.upper_lid;
    const double k = e.lid_slant * ry * 0.45;
    const double y_outer = base + k, y_inner = base - k;
    const double y_left = g.side < 0 ? y_outer : y_inner, y_right = g.side < 0 ? y_inner : y_outer;
    cairo_new_path(cr);
    cairo_move_to(cr, g.x - rx * 1.2, g.y - ry * 1.2);
    cairo_line_to(cr, g.x + rx * 1.2, g.y - ry * 1.2);
    cairo_line_to(cr, g.x + rx * 1.2, y_right);
    cairo_line_to(cr, g.x - rx * 1.2, y_left);
    cairo_close_path(cr);
    set_rgb(cr, mix(c.fur, Rgb{0.95, 0.05, 0.05}, 0.4 * e.red));
    cairo_fill(cr);
    cairo_move_to(cr, g.x - rx * 1.2, y_left);
    cairo_line_to(cr, g.x + rx * 1.2, y_right);
    set_rgb(cr, c.line);
    cairo_set_line_width(cr, lw);
    cairo_stroke(cr);
  }
  // Lower lid: raised cheeks push it up, bowed upward.
  if (e.lower_lid > 0.02) {
    const double top = g.y + ry - 2 * ry * e.lower_lid * 1.3;
    cairo_new_path(cr);
    cairo_move_to(cr, g.x - rx * 1.2, g.y + ry);
    cairo_curve_to(cr, g.x - rx * 0.4, top, g.x + rx * 0.4, top, g.x + rx * 1.2, g.y + ry);
    cairo_line_to(cr, g.x + rx * 1.2, g.y + ry * 1.2);
    cairo_line_to(cr, g.x - rx * 1.2, g.y + ry * 1.2);
    cairo_close_path(cr);
    set_rgb(cr, f.who == Character::Tom ? c.fur : c.muzzle);
    cairo_fill(cr);
    cairo_move_to(cr, g.x - rx * 1.2, g.y + ry);
    cairo_curve_to(cr, g.x - rx * 0.4, top, g.x + rx * 0.4, top, g.x + rx * 1.2, g.y + ry);
    set_rgb(cr, c.line);
    cairo_set_line_width(cr, lw);
    cairo_stroke(cr);
  }
  cairo_restore(cr);
  ellipse_path(cr, g.x, g.y, rx, ry);
  set_rgb(cr, c.line);
  cairo_set_line_width(cr, lw);
  cairo_stroke(cr);
  // Tear: a drop under the outer corner.
  if (e.tear > 0.5) {
    const double tx = g.x + g.side * rx * 0.55, ty = g.y + ry * 1.35, r = 0.075;
    cairo_new_path(cr);
    cairo_move_to(cr, tx, ty - r * 2.2);
    cairo_curve_to(cr, tx + r * 0.4, ty - r * 1.2, tx + r, ty - r * 0.6, tx + r, ty);
    cairo_arc(cr, tx, ty, r, 0, kPi);
    cairo_curve_to(cr, tx - r, ty - r * 0.6, tx - r * 0.4, ty - r * 1.2, tx, ty - r * 2.2);
    cairo_close_path(cr);
    cairo_set_source_rgb(cr, 0.55, 0.8, 1.0);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.2, 0.45, 0.8);
    cairo_set_line_width(cr, lw * 0.6);
    cairo_stroke(cr);
  }
}

inline void draw_brow(cairo_t* cr, const EyeGeometry& g, const Expression& e, const FaceStyle& f, double lw) {
  const double ry = g.ry * e.eye_scale;
  const double base = g.y - ry - 0.1 - 0.4 * e.brow_raise;
  const double x_inner = g.x - g.side * g.rx * 0.95, x_outer = g.x + g.side * g.rx * 1.05;
  const double y_inner = base - e.brow_tilt * 0.13, y_outer = base + e.brow_tilt * 0.09;
  cairo_new_path(cr);
  cairo_move_to(cr, x_inner, y_inner);
  cairo_curve_to(cr, x_inner + (x_outer - x_inner) * 0.35, std::min(y_inner, y_outer) - 0.05,
                 x_inner + (x_outer - x_inner) * 0.7, std::min(y_inner, y_outer) - 0.05, x_outer, y_outer);
  set_rgb(cr, f.colors.brow);
  cairo_set_line_width(cr, lw * 2.4);
  cairo_stroke(cr);
}

// Mouth centred at (x, y), neutral half-width w.
inline void draw_mouth(cairo_t* cr, double x, double y, double w, const Expression& e, const FaceStyle& f, double lw) {
  const CharacterColors& c = f.colors;
  w *= e.mouth_width;
  cairo_set_line_width(cr, lw);
  if (e.mouth_round > 0.5) {  // O mouth
    const double rx = w * (0.35 + 0.3 * e.mouth_open), ry = 0.09 + 0.16 * e.mouth_open;
    cairo_save(cr);
    ellipse_path(cr, x, y + ry * 0.6, rx, ry);
    set_rgb(cr, c.mouth);
    cairo_fill_preserve(cr);
    cairo_clip(cr);
    ellipse_path(cr, x, y + ry * 1.45, rx * 0.8, ry * 0.6);
    set_rgb(cr, c.tongue);
    cairo_fill(cr);
    cairo_restore(cr);
    ellipse_path(cr, x, y + ry * 0.6, rx, ry);
    set_rgb(cr, c.line);
    cairo_stroke(cr);
    return;
  }
  const double corner_y = y - e.mouth_curve * 0.12;
  const double mid_y = y + e.mouth_curve * 0.14;
  if (e.mouth_open < 0.08) {  // a line with the corners up or down
    cairo_new_path(cr);
    cairo_move_to(cr, x - w, corner_y);
    cairo_curve_to(cr, x - w * 0.4, mid_y, x + w * 0.4, mid_y, x + w, corner_y);
    set_rgb(cr, c.line);
    cairo_set_line_width(cr, lw * 1.2);
    cairo_stroke(cr);
    return;
  }
  // Open: upper lip near the corners' line, lower lip lower by the opening.
  const double upper = std::min(corner_y, mid_y) + (e.teeth > 0.5 ? 0.0 : 0.02);
  const double lower = mid_y + 0.42 * e.mouth_open;
  auto lips = [&] {
    cairo_new_path(cr);
    cairo_move_to(cr, x - w, corner_y);
    cairo_curve_to(cr, x - w * 0.4, upper, x + w * 0.4, upper, x + w, corner_y);
    cairo_curve_to(cr, x + w * 0.5, lower, x - w * 0.5, lower, x - w, corner_y);
    cairo_close_path(cr);
  };
  cairo_save(cr);
  lips();
  set_rgb(cr, e.teeth > 0.5 ? c.eye_white : c.mouth);
  cairo_fill_preserve(cr);
  cairo_clip(cr);
  if (e.teeth > 0.5) {  // gritted teeth: a gap line and vertical tooth lines
    set_rgb(cr, c.line);
    cairo_set_line_width(cr, lw * 0.7);
    const double gap = (corner_y + lower) / 2 - 0.04;
    cairo_move_to(cr, x - w, gap);
    cairo_line_to(cr, x + w, gap);
    for (int i = -2; i <= 2; ++i) {
      cairo_move_to(cr, x + i * w * 0.36, upper - 0.1);
      cairo_line_to(cr, x + i * w * 0.36, lower + 0.1);
    }
    cairo_stroke(cr);
  } else {
    ellipse_path(cr, x, lower, w * 0.55, 0.08 + 0.1 * e.mouth_open);
    set_rgb(cr, c.tongue);
    cairo_fill(cr);
  }
  cairo_restore(cr);
  lips();
  set_rgb(cr, c.line);
  cairo_set_line_width(cr, lw);
  cairo_stroke(cr);
}

inline void draw_whiskers(cairo_t* cr, double fx, const FaceStyle& f, double lw) {
  const bool cat = f.who == Character::Tom;
  set_rgb(cr, f.colors.line);
  cairo_set_line_width(cr, lw * (cat ? 0.7 : 0.55));
  cairo_new_path(cr);
  for (int side : {-1, 1}) {
    const double x0 = fx + side * (cat ? 0.36 : 0.3), y0 = cat ? 0.42 : 0.3;
    const int n = cat ? 3 : 2;
    for (int i = 0; i < n; ++i) {
      const double spread = n == 3 ? (i - 1) * 0.17 : (i - 0.5) * 0.22;
      const double x1 = fx + side * (cat ? 1.38 : 1.15), y1 = y0 + spread * 1.6 - 0.04;
      cairo_move_to(cr, x0, y0 + spread * 0.3);
      cairo_curve_to(cr, (x0 + x1) / 2, y0 + spread * 0.9 - 0.06, (x0 + x1) / 2, y1, x1, y1);
    }
  }
  cairo_stroke(cr);
}

inline void draw_anger_mark(cairo_t* cr, double x, double y, double lw) {
  cairo_set_source_rgb(cr, 0.85, 0.05, 0.08);
  cairo_set_line_width(cr, lw * 1.3);
  const double r = 0.11, g = 0.035;
  for (int q = 0; q < 4; ++q) {  // four arcs bowed toward the centre, in the four quadrants
    const double sx = (q & 1) ? 1 : -1, sy = (q & 2) ? 1 : -1;
    cairo_new_path(cr);
    cairo_move_to(cr, x + sx * g, y + sy * r);
    cairo_curve_to(cr, x + sx * g, y + sy * g, x + sx * g, y + sy * g, x + sx * r, y + sy * g);
    cairo_stroke(cr);
  }
}

}  // namespace detail

// The face's outline polygon in image coordinates (no drawing; cr only does the geometry).
inline Polygon face_outline(cairo_t* cr, const FaceStyle& f) {
  cairo_save(cr);
  detail::apply_face_transform(cr, f);
  detail::outline_path(cr, f.who);
  Polygon p = detail::current_path_polygon(cr);
  cairo_new_path(cr);
  cairo_restore(cr);
  return p;
}

// Draws the face onto cr and returns its outline polygon in image coordinates.
inline Polygon draw_face(cairo_t* cr, const FaceStyle& f, RenderMode mode = RenderMode::Color) {
  using namespace detail;
  cairo_save(cr);
  const double s = apply_face_transform(cr, f);
  outline_path(cr, f.who);
  Polygon poly = current_path_polygon(cr);
  if (mode == RenderMode::Mask) {
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_fill(cr);
    cairo_restore(cr);
    return poly;
  }
  const CharacterColors& c = f.colors;
  const Expression e = make_expression(f.emotion, f.intensity, f.variant);
  const bool cat = f.who == Character::Tom;
  // Outline width in local units: about 5% of the head radius, at least 0.9 pixel.
  const double lw = std::max(0.05 * f.line_scale, 0.9 / s);
  const double fx = 0.18 * std::clamp(f.turn, -1.0, 1.0);  // features shift toward the turn
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);

  set_rgb(cr, c.fur);
  cairo_fill(cr);
  cairo_save(cr);
  outline_path(cr, f.who);
  cairo_clip(cr);
  // Inner ears.
  cairo_new_path(cr);
  if (cat) {
    for (int side : {-1, 1}) {
      cairo_move_to(cr, side * 0.9, -0.58);
      cairo_line_to(cr, side * 0.9, -1.36);
      cairo_line_to(cr, side * 0.5, -0.9);
      cairo_close_path(cr);
    }
  } else {
    for (int side : {-1, 1}) ellipse_path(cr, side * (kEarX + 0.04), kEarY - 0.04, kEarR * 0.64, kEarR * 0.64);
  }
  set_rgb(cr, c.inner_ear);
  cairo_fill(cr);
  if (!cat) {  // the head over the ears' inner parts, with its outline as the ear line
    ellipse_path(cr, 0, 0, 1, 1);
    set_rgb(cr, c.fur);
    cairo_fill_preserve(cr);
    set_rgb(cr, c.line);
    cairo_set_line_width(cr, lw * 0.8);
    cairo_stroke(cr);
  }
  // Muzzle.
  cairo_new_path(cr);
  if (cat) {
    ellipse_path(cr, fx - 0.21, 0.44, 0.31, 0.23);
    ellipse_path(cr, fx + 0.21, 0.44, 0.31, 0.23);
    ellipse_path(cr, fx, 0.68, 0.42, 0.26);
  } else {
    ellipse_path(cr, fx, 0.28, 0.74, 0.66);
  }
  cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING);
  set_rgb(cr, c.muzzle);
  cairo_fill(cr);
  // Red flush, rising from the chin.
  if (e.red > 0.01) {
    cairo_pattern_t* g = cairo_pattern_create_linear(0, 1.0, 0, -1.2);
    cairo_pattern_add_color_stop_rgba(g, 0, 0.95, 0.05, 0.05, 0.6 * e.red);
    cairo_pattern_add_color_stop_rgba(g, 1, 0.95, 0.05, 0.05, 0.15 * e.red);
    cairo_set_source(cr, g);
    cairo_paint(cr);
    cairo_pattern_destroy(g);
  }
  // Cheeks.
  if (e.blush > 0.01) {
    cairo_new_path(cr);
    ellipse_path(cr, fx - 0.62, 0.22, 0.2, 0.12);
    ellipse_path(cr, fx + 0.62, 0.22, 0.2, 0.12);
    set_rgba(cr, c.blush, 0.65 * e.blush);
    cairo_fill(cr);
  }
  cairo_restore(cr);  // unclip

  // Eyes and brows.
  const double eye_dx = cat ? 0.4 : 0.26, eye_y = cat ? -0.2 : -0.3, eye_rx = cat ? 0.23 : 0.2,
               eye_ry = cat ? 0.27 : 0.3;
  for (int side : {-1, 1}) {
    const EyeGeometry g{fx + side * eye_dx, eye_y, eye_rx, eye_ry, side};
    draw_eye(cr, g, e, f, lw);
    draw_brow(cr, g, e, f, lw);
  }
  // Nose, mouth, whiskers.
  if (cat) {
    cairo_new_path(cr);
    cairo_move_to(cr, fx - 0.11, 0.2);
    cairo_line_to(cr, fx + 0.11, 0.2);
    cairo_line_to(cr, fx, 0.33);
    cairo_close_path(cr);
    set_rgb(cr, c.nose);
    cairo_fill_preserve(cr);
    set_rgb(cr, c.line);
    cairo_set_line_width(cr, lw * 0.8);
    cairo_stroke(cr);
    cairo_move_to(cr, fx, 0.33);  // the philtrum line down to the mouth
    cairo_line_to(cr, fx, 0.45 - std::max(0.0, e.mouth_curve) * 0.04);
    cairo_stroke(cr);
    draw_mouth(cr, fx, 0.52, 0.3, e, f, lw);
  } else {
    draw_mouth(cr, fx, 0.52, 0.3, e, f, lw);
    ellipse_path(cr, fx, 0.2, 0.14, 0.11);
    set_rgb(cr, c.nose);
    cairo_fill(cr);
    ellipse_path(cr, fx - 0.04, 0.17, 0.04, 0.03);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_fill(cr);
  }
  draw_whiskers(cr, fx, f, lw);
  if (e.anger_mark > 0.5) draw_anger_mark(cr, fx + (cat ? 0.14 : 0.0), cat ? -0.74 : -0.87, lw);
  // The outline on top.
  outline_path(cr, f.who);
  set_rgb(cr, c.line);
  cairo_set_line_width(cr, lw * 1.1);
  cairo_stroke(cr);
  cairo_restore(cr);
  return poly;
}

}  // namespace anima::synth
