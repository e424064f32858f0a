// tools/synth/grid.hpp — the README picture: the 8 classes (4 emotions x 2 characters) at full
// intensity in a 4x2 grid with their labels, written as PNG.
#pragma once

#include <cairo.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "characters.hpp"
#include "image_io.hpp"
#include "rng.hpp"

namespace anima::synth {

inline void write_class_grid(const std::filesystem::path& path, std::uint64_t seed = 1, int cell = 240) {
  const int label_h = 30, cols = 4, rows = 2;
  const int width = cols * cell, height = rows * (cell + label_h);
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  for (int row = 0; row < rows; ++row)
    for (int col = 0; col < cols; ++col) {
      const Character who = kCharacters[row];
      const Emotion emotion = kEmotions[col];
      const double x0 = col * cell, y0 = row * (cell + label_h);
      cairo_rectangle(cr, x0 + 4, y0 + 4, cell - 8, cell - 8);
      cairo_set_source_rgb(cr, 0.93, 0.95, 0.98);
      cairo_fill(cr);
      Rng rng(seed, static_cast<std::uint64_t>(row * cols + col), Purpose::Grid);
      FaceStyle f;
      f.who = who;
      f.emotion = emotion;
      f.intensity = 1.0;
      f.cx = x0 + cell / 2.0;
      f.cy = y0 + cell / 2.0;
      f.height = cell * (who == Character::Jerry ? 0.74 : 0.82);  // the mouse is wider than tall
      f.colors = sample_colors(who, rng);
      f.variant = sample_variant(rng);
      f.variant.gaze_x = 0;
      f.variant.closed_eyes = (col + row) % 2 == 0;  // show both kinds of happy eyes
      f.variant.tear = true;
      f.variant.teeth = row == 0;
      draw_face(cr, f);
      const std::string label = face_class_name(who, emotion);
      cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
      cairo_set_font_size(cr, 18);
      cairo_text_extents_t ext;
      cairo_text_extents(cr, label.c_str(), &ext);
      cairo_move_to(cr, x0 + (cell - ext.width) / 2 - ext.x_bearing, y0 + cell + label_h * 0.7);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.15);
      cairo_show_text(cr, label.c_str());
    }
  cairo_destroy(cr);
  RgbImage im;
  surface_to_rgb(surface, im);
  cairo_surface_destroy(surface);
  write_file_atomic(path, encode_png(im));
}

}  // namespace anima::synth
