// tools/synth/background.hpp — cartoon backgrounds drawn with cairo: a living room (striped
// wallpaper, wooden floor, baseboard with a mouse hole, window, picture, sofa or table), a kitchen
// (tiled floor, cabinets, counter, fridge) and the outdoors (sky, sun, clouds, hills, fence, tree).
//
// Everything is decided by one random stream, so drawing it twice with equal streams gives the same
// picture (videos redraw their background every frame from the same stream).
#pragma once

#include <cairo.h>

#include <algorithm>
#include <cmath>

#include "palette.hpp"
#include "rng.hpp"

namespace anima::synth {

namespace detail {

inline void fill_stroke(cairo_t* cr, const Rgb& fill, const Rgb& line, double lw) {
  cairo_set_source_rgb(cr, fill.r, fill.g, fill.b);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, line.r, line.g, line.b);
  cairo_set_line_width(cr, lw);
  cairo_stroke(cr);
}

inline void rounded_rect(cairo_t* cr, double x, double y, double w, double h, double r) {
  r = std::min(r, std::min(w, h) / 2);
  cairo_new_sub_path(cr);
  cairo_arc(cr, x + w - r, y + r, r, -1.5707963267948966, 0);
  cairo_arc(cr, x + w - r, y + h - r, r, 0, 1.5707963267948966);
  cairo_arc(cr, x + r, y + h - r, r, 1.5707963267948966, 3.141592653589793);
  cairo_arc(cr, x + r, y + r, r, 3.141592653589793, 4.71238898038469);
  cairo_close_path(cr);
}

inline void cloud(cairo_t* cr, double x, double y, double r) {
  cairo_new_path(cr);
  const double dx[] = {0, 0.9, -0.9, 0.35, -0.4}, dy[] = {0, 0.25, 0.25, -0.45, -0.35},
               rr[] = {1, 0.75, 0.7, 0.75, 0.65};
  for (int i = 0; i < 5; ++i) {
    cairo_new_sub_path(cr);
    cairo_arc(cr, x + dx[i] * r, y + dy[i] * r, rr[i] * r, 0, 2 * 3.141592653589793);
  }
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_fill(cr);
}

inline void draw_room(cairo_t* cr, double w, double h, Rng& rng, double lw, const Rgb& line) {
  const Rgb walls[] = {rgb255(236, 214, 170), rgb255(190, 214, 200), rgb255(214, 196, 226),
                       rgb255(240, 200, 180), rgb255(200, 214, 236), rgb255(230, 226, 190)};
  const Rgb wall = jitter(walls[rng.integer(0, 5)], rng, 0.04);
  const double floor_y = h * rng.uniform(0.58, 0.8);
  cairo_rectangle(cr, 0, 0, w, floor_y);
  cairo_set_source_rgb(cr, wall.r, wall.g, wall.b);
  cairo_fill(cr);
  // Wallpaper stripes.
  if (rng.chance(0.6)) {
    const double period = w * rng.uniform(0.04, 0.1);
    const Rgb stripe = scale(wall, rng.chance(0.5) ? 0.9 : 1.08);
    cairo_set_source_rgb(cr, stripe.r, stripe.g, stripe.b);
    for (double x = rng.uniform(0, period); x < w; x += period) cairo_rectangle(cr, x, 0, period * 0.4, floor_y);
    cairo_fill(cr);
  }
  // Wooden floor: boards converging toward a point above the floor line.
  const Rgb wood = jitter(rgb255(170, 112, 62), rng, 0.05);
  cairo_rectangle(cr, 0, floor_y, w, h - floor_y);
  cairo_set_source_rgb(cr, wood.r, wood.g, wood.b);
  cairo_fill(cr);
  const Rgb seam = scale(wood, 0.7);
  cairo_set_source_rgb(cr, seam.r, seam.g, seam.b);
  cairo_set_line_width(cr, lw * 0.6);
  const double spacing = w * rng.uniform(0.06, 0.12);
  for (double x = -w; x < 2 * w; x += spacing) {
    cairo_move_to(cr, x, floor_y);
    cairo_line_to(cr, w / 2 + (x - w / 2) * 2.0, h);
  }
  cairo_stroke(cr);
  // Baseboard and maybe a mouse hole in it.
  const double bb = h * 0.035;
  cairo_rectangle(cr, -lw, floor_y - bb, w + 2 * lw, bb);
  fill_stroke(cr, rgb255(246, 242, 232), line, lw);
  if (rng.chance(0.5)) {
    const double hw = w * rng.uniform(0.04, 0.07), hx = rng.uniform(hw, w - hw), hh = hw * 1.5;
    cairo_new_path(cr);
    cairo_move_to(cr, hx - hw, floor_y);
    cairo_line_to(cr, hx - hw, floor_y - hh + hw);
    cairo_arc(cr, hx, floor_y - hh + hw, hw, 3.141592653589793, 2 * 3.141592653589793);
    cairo_line_to(cr, hx + hw, floor_y);
    cairo_close_path(cr);
    fill_stroke(cr, rgb255(24, 18, 16), line, lw);
  }
  // Window or picture on the wall.
  if (rng.chance(0.6)) {
    const double ww = w * rng.uniform(0.14, 0.26), wh = floor_y * rng.uniform(0.35, 0.55);
    const double wx = rng.uniform(0, w - ww), wy = floor_y * rng.uniform(0.08, 0.3);
    cairo_rectangle(cr, wx, wy, ww, wh);
    fill_stroke(cr, rgb255(150, 206, 240), line, lw);
    cloud(cr, wx + ww * 0.35, wy + wh * 0.35, ww * 0.08);
    cairo_rectangle(cr, wx, wy, ww, wh);
    cairo_move_to(cr, wx + ww / 2, wy);
    cairo_line_to(cr, wx + ww / 2, wy + wh);
    cairo_move_to(cr, wx, wy + wh / 2);
    cairo_line_to(cr, wx + ww, wy + wh / 2);
    cairo_set_source_rgb(cr, 0.97, 0.97, 0.95);
    cairo_set_line_width(cr, lw * 2.5);
    cairo_stroke(cr);
  }
  if (rng.chance(0.5)) {
    const double pw = w * rng.uniform(0.08, 0.15), ph = pw * rng.uniform(0.7, 1.2);
    const double px = rng.uniform(0, w - pw), py = floor_y * rng.uniform(0.1, 0.4);
    cairo_rectangle(cr, px, py, pw, ph);
    fill_stroke(cr, rgb255(190, 140, 60), line, lw);
    cairo_rectangle(cr, px + pw * 0.12, py + ph * 0.12, pw * 0.76, ph * 0.76);
    fill_stroke(cr, jitter(rgb255(160, 200, 150), rng, 0.2), line, lw * 0.6);
  }
  // Furniture standing on the floor.
  const int furniture = rng.integer(0, 2);
  if (furniture == 1) {  // sofa
    const Rgb cloth = jitter(rgb255(170, 60, 60), rng, 0.15);
    const double sw = w * rng.uniform(0.3, 0.5), sh = h * rng.uniform(0.2, 0.3),
                 sx = rng.uniform(-0.1 * w, w - 0.9 * sw);
    const double base = floor_y + (h - floor_y) * 0.3;
    rounded_rect(cr, sx, base - sh, sw, sh * 0.6, sh * 0.15);
    fill_stroke(cr, scale(cloth, 0.85), line, lw);
    rounded_rect(cr, sx, base - sh * 0.5, sw, sh * 0.5, sh * 0.1);
    fill_stroke(cr, cloth, line, lw);
    rounded_rect(cr, sx - sw * 0.06, base - sh * 0.7, sw * 0.12, sh * 0.7, sh * 0.06);
    fill_stroke(cr, scale(cloth, 0.92), line, lw);
    rounded_rect(cr, sx + sw * 0.94, base - sh * 0.7, sw * 0.12, sh * 0.7, sh * 0.06);
    fill_stroke(cr, scale(cloth, 0.92), line, lw);
  } else if (furniture == 2) {  // table
    const Rgb top = jitter(rgb255(140, 90, 50), rng, 0.08);
    const double tw = w * rng.uniform(0.25, 0.4), tx = rng.uniform(0, w - tw);
    const double ty = floor_y - h * rng.uniform(0.05, 0.2), legs = floor_y + (h - floor_y) * 0.4;
    cairo_rectangle(cr, tx + tw * 0.08, ty, tw * 0.06, legs - ty);
    cairo_rectangle(cr, tx + tw * 0.86, ty, tw * 0.06, legs - ty);
    fill_stroke(cr, scale(top, 0.8), line, lw);
    cairo_rectangle(cr, tx, ty, tw, h * 0.035);
    fill_stroke(cr, top, line, lw);
  }
}

inline void draw_kitchen(cairo_t* cr, double w, double h, Rng& rng, double lw, const Rgb& line) {
  const Rgb wall = jitter(rng.chance(0.5) ? rgb255(246, 236, 200) : rgb255(210, 236, 226), rng, 0.04);
  const double floor_y = h * rng.uniform(0.62, 0.8);
  cairo_rectangle(cr, 0, 0, w, floor_y);
  cairo_set_source_rgb(cr, wall.r, wall.g, wall.b);
  cairo_fill(cr);
  // Checkered floor.
  const Rgb a = rgb255(240, 240, 236),
            b = jitter(rng.chance(0.5) ? rgb255(200, 60, 60) : rgb255(60, 90, 160), rng, 0.08);
  cairo_rectangle(cr, 0, floor_y, w, h - floor_y);
  cairo_set_source_rgb(cr, a.r, a.g, a.b);
  cairo_fill(cr);
  const double tile = h * rng.uniform(0.07, 0.12);
  cairo_set_source_rgb(cr, b.r, b.g, b.b);
  for (int row = 0; floor_y + row * tile < h; ++row)
    for (int col = row % 2; col * tile < w; col += 2) cairo_rectangle(cr, col * tile, floor_y + row * tile, tile, tile);
  cairo_fill(cr);
  // Cabinets and counter along the wall.
  const Rgb cab = jitter(rgb255(120, 170, 200), rng, 0.12);
  const double counter_y = floor_y - h * rng.uniform(0.18, 0.28);
  const double cw = w * rng.uniform(0.12, 0.2);
  for (double x = rng.uniform(-cw, 0); x < w; x += cw) {
    cairo_rectangle(cr, x, counter_y, cw, floor_y - counter_y);
    fill_stroke(cr, cab, line, lw);
    cairo_new_path(cr);
    cairo_arc(cr, x + cw * 0.8, counter_y + (floor_y - counter_y) * 0.3, lw * 1.5 + h * 0.006, 0, 6.283185307179586);
    fill_stroke(cr, rgb255(230, 200, 90), line, lw * 0.5);
    if (rng.chance(0.5)) {
      cairo_rectangle(cr, x, counter_y * rng.uniform(0.05, 0.15), cw, counter_y * 0.35);
      fill_stroke(cr, scale(cab, 1.08), line, lw);
    }
  }
  cairo_rectangle(cr, -lw, counter_y - h * 0.03, w + 2 * lw, h * 0.03);
  fill_stroke(cr, rgb255(220, 210, 196), line, lw);
  if (rng.chance(0.5)) {  // fridge
    const double fw = w * 0.16, fx = rng.uniform(0, w - fw), fy = floor_y - h * 0.7;
    rounded_rect(cr, fx, fy, fw, floor_y - fy, fw * 0.1);
    fill_stroke(cr, rgb255(244, 244, 246), line, lw);
    cairo_move_to(cr, fx, fy + (floor_y - fy) * 0.35);
    cairo_line_to(cr, fx + fw, fy + (floor_y - fy) * 0.35);
    cairo_stroke(cr);
  }
}

inline void draw_outdoors(cairo_t* cr, double w, double h, Rng& rng, double lw, const Rgb& line) {
  const double dusk = rng.chance(0.2) ? 1.0 : 0.0;
  cairo_pattern_t* sky = cairo_pattern_create_linear(0, 0, 0, h);
  cairo_pattern_add_color_stop_rgb(sky, 0, 0.35 + 0.4 * dusk, 0.6 - 0.1 * dusk, 0.95 - 0.3 * dusk);
  cairo_pattern_add_color_stop_rgb(sky, 1, 0.75 + 0.2 * dusk, 0.88 - 0.1 * dusk, 1.0 - 0.4 * dusk);
  cairo_set_source(cr, sky);
  cairo_paint(cr);
  cairo_pattern_destroy(sky);
  if (rng.chance(0.6)) {
    cairo_new_path(cr);
    cairo_arc(cr, w * rng.uniform(0.05, 0.95), h * rng.uniform(0.08, 0.3), h * rng.uniform(0.05, 0.1), 0,
              6.283185307179586);
    cairo_set_source_rgb(cr, 1.0, 0.86, 0.3);
    cairo_fill(cr);
  }
  for (int i = 0, n = rng.integer(1, 4); i < n; ++i)
    cloud(cr, w * rng.uniform(0, 1), h * rng.uniform(0.05, 0.35), h * rng.uniform(0.03, 0.07));
  const double ground = h * rng.uniform(0.55, 0.75);
  const Rgb grass = jitter(rgb255(110, 190, 80), rng, 0.08);
  // Hills behind the ground line.
  cairo_new_path(cr);
  cairo_move_to(cr, 0, ground);
  const double a1 = h * rng.uniform(0.05, 0.2), a2 = h * rng.uniform(0.05, 0.2);
  cairo_curve_to(cr, w * 0.25, ground - 2 * a1, w * 0.45, ground - 2 * a2, w * 0.7, ground - a2);
  cairo_curve_to(cr, w * 0.85, ground - 0.5 * a2, w * 0.95, ground - a1, w, ground - a1 * 0.5);
  cairo_line_to(cr, w, h);
  cairo_line_to(cr, 0, h);
  cairo_close_path(cr);
  fill_stroke(cr, scale(grass, 0.85), line, lw);
  cairo_rectangle(cr, -lw, ground, w + 2 * lw, h - ground + lw);
  fill_stroke(cr, grass, line, lw);
  if (rng.chance(0.5)) {  // picket fence
    const double fh = h * rng.uniform(0.1, 0.2), pw = w * 0.025, gap = pw * 1.8;
    const Rgb wood = rgb255(248, 246, 236);
    cairo_rectangle(cr, -lw, ground - fh * 0.75, w + 2 * lw, fh * 0.12);
    fill_stroke(cr, wood, line, lw * 0.7);
    for (double x = rng.uniform(0, gap); x < w; x += gap) {
      cairo_new_path(cr);
      cairo_move_to(cr, x, ground + lw);
      cairo_line_to(cr, x, ground - fh * 0.85);
      cairo_line_to(cr, x + pw / 2, ground - fh);
      cairo_line_to(cr, x + pw, ground - fh * 0.85);
      cairo_line_to(cr, x + pw, ground + lw);
      cairo_close_path(cr);
      fill_stroke(cr, wood, line, lw * 0.7);
    }
  }
  if (rng.chance(0.6)) {  // tree
    const double tx = w * rng.uniform(0, 1), th = h * rng.uniform(0.3, 0.5), tw = th * 0.15;
    cairo_rectangle(cr, tx - tw / 2, ground - th, tw, th + h * 0.02);
    fill_stroke(cr, rgb255(120, 80, 50), line, lw);
    const Rgb leaf = jitter(rgb255(60, 150, 70), rng, 0.08);
    cairo_new_path(cr);
    for (int i = 0; i < 3; ++i) {
      cairo_new_sub_path(cr);
      cairo_arc(cr, tx + (i - 1) * th * 0.25, ground - th - (i == 1 ? th * 0.2 : 0), th * 0.3, 0, 6.283185307179586);
    }
    fill_stroke(cr, leaf, line, lw);
  }
}

}  // namespace detail

// Paints the whole w x h image with a background from rng.
inline void draw_background(cairo_t* cr, int width, int height, Rng& rng) {
  const double w = width, h = height, lw = std::max(1.2, h / 240.0);
  const Rgb line = rgb255(40, 34, 30);
  cairo_save(cr);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  const double kind = rng.uniform();
  if (kind < 0.45)
    detail::draw_room(cr, w, h, rng, lw, line);
  else if (kind < 0.7)
    detail::draw_kitchen(cr, w, h, rng, lw, line);
  else
    detail::draw_outdoors(cr, w, h, rng, lw, line);
  cairo_restore(cr);
}

}  // namespace anima::synth
