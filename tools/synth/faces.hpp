// tools/synth/faces.hpp — the classifier's data: each annotated face cropped by its box, multiplied
// by its binary mask (the outline polygon, background black) and resized to 256x256, as the paper
// does with Mask R-CNN's output; saved in an ImageFolder layout
//   faces/{train,val,test}/{emotion}_{character}/<frame>_<face>.jpg
// The split is drawn per face from the seed (70% train, 15% val, 15% test).
//
// The crop is made by cairo from the rendered frame (before JPEG): the polygon is the clip path,
// without antialiasing (a binary mask), and the box is scaled to 256x256 with bilinear filtering.
#pragma once

#include <cairo.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>

#include "classes.hpp"
#include "geometry.hpp"
#include "image_io.hpp"
#include "rng.hpp"

namespace anima::synth {

inline constexpr const char* kSplits[] = {"train", "val", "test"};

inline const char* face_split(std::uint64_t seed, std::uint64_t frame, std::uint64_t face) {
  const double u = Rng(seed, frame, Purpose::Split, face).uniform();
  return u < 0.7 ? "train" : u < 0.85 ? "val" : "test";
}

// The masked, resized crop of one face from an RGB24/ARGB32 frame surface.
inline RgbImage masked_face_crop(cairo_surface_t* frame, const Polygon& polygon, const Box& box, int size = 256) {
  cairo_surface_t* out = cairo_image_surface_create(CAIRO_FORMAT_RGB24, size, size);
  cairo_t* cr = cairo_create(out);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_paint(cr);
  const double bw = std::max(1.0, box.w), bh = std::max(1.0, box.h);
  cairo_scale(cr, size / bw, size / bh);
  cairo_translate(cr, -box.x, -box.y);
  cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
  cairo_new_path(cr);
  for (std::size_t i = 0; i < polygon.size(); ++i) {
    if (i == 0)
      cairo_move_to(cr, polygon[i].x, polygon[i].y);
    else
      cairo_line_to(cr, polygon[i].x, polygon[i].y);
  }
  cairo_close_path(cr);
  cairo_clip(cr);
  cairo_set_source_surface(cr, frame, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_BILINEAR);
  cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
  cairo_paint(cr);
  cairo_destroy(cr);
  RgbImage im;
  surface_to_rgb(out, im);
  cairo_surface_destroy(out);
  return im;
}

// Creates faces/{split}/{class} for all splits and the 8 classes (ImageFolder wants every class).
inline void make_face_folders(const std::filesystem::path& faces_dir) {
  for (const char* split : kSplits)
    for (Character c : kCharacters)
      for (Emotion e : kEmotions) make_directories(faces_dir / split / face_class_name(c, e));
}

}  // namespace anima::synth
