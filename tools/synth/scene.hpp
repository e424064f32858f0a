// tools/synth/scene.hpp — one synthetic frame: what is in it (sample_frame) and drawing it
// (render_frame).
//
// A frame holds 0 to 3 characters (none 10%, one 40%, two 35%, three 15%), each a uniformly drawn
// character and emotion with an intensity in [0.25, 1], a face height log-uniform in [4%, 60%] of
// the frame height, a rotation in [-30, 30] degrees, a head turn, colours from the character's
// palette and an outline width. Faces are placed so that at least 55% of each outline lies inside
// the frame (so some are cut by the border) and two faces' boxes overlap little (IoU <= 0.2, at
// most 35% of the smaller one). Smaller faces are drawn first (farther away). One face in five gets
// an occluder in front of it (crate, mug, plant or ball) covering 15-45% of its box; occluders are
// not subtracted from the face's annotation. The JPEG quality is drawn from [55, 95].
//
// Everything about frame k comes from streams keyed by (seed, k), so frame k is the same whatever
// the number of frames generated.
#pragma once

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "report/cairo_canvas.hpp"
#include "background.hpp"
#include "characters.hpp"
#include "geometry.hpp"
#include "rng.hpp"

namespace anima::synth {

enum class OccluderKind : int { Crate = 0, Mug = 1, Plant = 2, Ball = 3 };

struct Occluder {
  OccluderKind kind = OccluderKind::Crate;
  Box box;  // pixels
  Rgb color;
};

struct FaceInstance {
  FaceStyle style;
  Polygon polygon;                  // the outline clipped to the image, image coordinates
  Box box;                          // bounding box of `polygon`
  double area = 0;                  // area of `polygon` (pixels)
  double visible_fraction = 1;      // area inside the image / area of the whole outline
  std::vector<Occluder> occluders;  // drawn right after this face, in front of it
};

struct FrameSpec {
  std::uint64_t seed = 0, index = 0;
  std::uint64_t background_item = 0;  // the background's stream item: the frame index, or a video's
  int width = 0, height = 0;
  int jpeg_quality = 90;
  std::vector<FaceInstance> faces;  // in drawing order, back to front
};

// A frame with no faces yet: frame `index` of stream `seed`, width x height, its background drawn
// from stream item `background_item`.
inline FrameSpec blank_frame(std::uint64_t seed, std::uint64_t index, std::uint64_t background_item, int width,
                             int height) {
  FrameSpec spec;
  spec.seed = seed;
  spec.index = index;
  spec.background_item = background_item;
  spec.width = width;
  spec.height = height;
  return spec;
}

// A face's look, apart from where it is: shared by frames and videos.
inline FaceStyle sample_face_style(Rng& rng, Character who, Emotion emotion) {
  FaceStyle f;
  f.who = who;
  f.emotion = emotion;
  f.intensity = rng.uniform(0.25, 1.0);
  f.rotation = rng.uniform(-1, 1) * 30.0 * detail::kPi / 180.0;
  f.turn = rng.triangular();
  f.line_scale = rng.uniform(0.7, 1.4);
  f.colors = sample_colors(who, rng);
  f.variant = sample_variant(rng);
  return f;
}

// Fills `inst` geometry from its style: outline, clipped polygon, box, areas.
inline void compute_face_geometry(cairo_t* scratch, FaceInstance& inst, int width, int height) {
  const Polygon full = face_outline(scratch, inst.style);
  inst.polygon = clip_to_rect(full, width, height);
  inst.area = polygon_area(inst.polygon);
  const double full_area = polygon_area(full);
  inst.visible_fraction = full_area > 0 ? inst.area / full_area : 0.0;
  inst.box = bounding_box(inst.polygon);
}

// Computes face outlines without drawing anything: a cairo context on a 1x1 surface.
class OutlineContext : public report::CairoCanvas {
 public:
  OutlineContext() : CairoCanvas(CAIRO_FORMAT_A8, 1, 1) {}
  cairo_t* get() const { return cr(); }
};

inline Occluder sample_occluder(Rng& rng, const Box& face) {
  Occluder o;
  o.kind = static_cast<OccluderKind>(rng.integer(0, 3));
  const double cover = rng.uniform(0.15, 0.45);
  const int side = rng.integer(0, 2);  // 0 bottom, 1 left, 2 right
  if (side == 0) {
    o.box.w = face.w * rng.uniform(0.5, 1.0);
    o.box.h = face.h * (cover + rng.uniform(0.2, 0.6));
    o.box.x = face.x + rng.uniform(-0.2, 0.7) * face.w;
    o.box.y = face.y + face.h * (1 - cover);
  } else {
    o.box.w = face.w * (cover + rng.uniform(0.1, 0.4));
    o.box.h = face.h * rng.uniform(0.5, 1.0);
    o.box.x = side == 1 ? face.x + face.w * cover - o.box.w : face.x + face.w * (1 - cover);
    o.box.y = face.y + rng.uniform(0.0, 0.5) * face.h;
  }
  const Rgb colors[] = {rgb255(200, 150, 90), rgb255(230, 90, 80), rgb255(90, 160, 90), rgb255(80, 130, 220)};
  o.color = jitter(colors[static_cast<int>(o.kind)], rng, 0.1);
  return o;
}

inline FrameSpec sample_frame(std::uint64_t seed, std::uint64_t index, int width, int height, cairo_t* scratch) {
  FrameSpec spec = blank_frame(seed, index, index, width, height);
  Rng scene(seed, index, Purpose::Scene);
  const double u = scene.uniform();
  const int count = u < 0.1 ? 0 : u < 0.5 ? 1 : u < 0.85 ? 2 : 3;
  for (int slot = 0; slot < count; ++slot) {
    Rng rng(seed, index, Purpose::Face, static_cast<std::uint64_t>(slot));
    const Character who = kCharacters[rng.integer(0, 1)];
    const Emotion emotion = kEmotions[rng.integer(0, 3)];
    FaceInstance inst;
    inst.style = sample_face_style(rng, who, emotion);
    inst.style.height = height * rng.log_uniform(0.04, 0.6);
    bool placed = false;
    for (int attempt = 0; attempt < 30 && !placed; ++attempt) {
      inst.style.cx = rng.uniform(0, width);
      inst.style.cy = rng.uniform(0, height);
      compute_face_geometry(scratch, inst, width, height);
      placed = inst.visible_fraction >= 0.55;
      for (const FaceInstance& other : spec.faces)
        placed = placed && box_iou(inst.box, other.box) <= 0.2 && box_overlap_of_smaller(inst.box, other.box) <= 0.35;
    }
    if (!placed) continue;  // rare: a big face that does not fit beside the others
    Rng occ(seed, index, Purpose::Occluder, static_cast<std::uint64_t>(slot));
    if (occ.chance(0.2)) inst.occluders.push_back(sample_occluder(occ, inst.box));
    spec.faces.push_back(std::move(inst));
  }
  std::stable_sort(spec.faces.begin(), spec.faces.end(),
                   [](const FaceInstance& a, const FaceInstance& b) { return a.style.height < b.style.height; });
  Rng enc(seed, index, Purpose::Encoding);
  spec.jpeg_quality = enc.integer(55, 95);
  return spec;
}

inline void draw_occluder(cairo_t* cr, const Occluder& o, double lw) {
  using detail::fill_stroke;
  const Rgb line = rgb255(40, 34, 30);
  const Box& b = o.box;
  cairo_save(cr);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  switch (o.kind) {
    case OccluderKind::Crate:
      cairo_rectangle(cr, b.x, b.y, b.w, b.h);
      fill_stroke(cr, o.color, line, lw);
      cairo_move_to(cr, b.x, b.y);
      cairo_line_to(cr, b.x + b.w, b.y + b.h);
      cairo_move_to(cr, b.x + b.w, b.y);
      cairo_line_to(cr, b.x, b.y + b.h);
      cairo_rectangle(cr, b.x + b.w * 0.08, b.y + b.h * 0.08, b.w * 0.84, b.h * 0.84);
      cairo_set_source_rgb(cr, o.color.r * 0.7, o.color.g * 0.7, o.color.b * 0.7);
      cairo_stroke(cr);
      break;
    case OccluderKind::Mug:
      cairo_new_path(cr);
      cairo_arc(cr, b.x + b.w * 0.8, b.y + b.h * 0.45, b.w * 0.2, -1.5707963267948966, 1.5707963267948966);
      cairo_set_line_width(cr, std::max(lw * 2, b.w * 0.08));
      cairo_set_source_rgb(cr, line.r, line.g, line.b);
      cairo_stroke(cr);
      detail::rounded_rect(cr, b.x, b.y, b.w * 0.8, b.h, b.w * 0.1);
      fill_stroke(cr, o.color, line, lw);
      break;
    case OccluderKind::Plant:
      cairo_new_path(cr);
      for (int i = 0; i < 5; ++i) {
        cairo_save(cr);
        cairo_translate(cr, b.x + b.w / 2, b.y + b.h * 0.55);
        cairo_rotate(cr, (i - 2) * 0.45);
        cairo_scale(cr, b.w * 0.16, b.h * 0.45);
        cairo_new_sub_path(cr);
        cairo_arc(cr, 0, -0.5, 0.6, 0, 2 * 3.141592653589793);
        cairo_restore(cr);
      }
      fill_stroke(cr, o.color, line, lw);
      cairo_new_path(cr);
      cairo_move_to(cr, b.x + b.w * 0.2, b.y + b.h * 0.55);
      cairo_line_to(cr, b.x + b.w * 0.8, b.y + b.h * 0.55);
      cairo_line_to(cr, b.x + b.w * 0.7, b.y + b.h);
      cairo_line_to(cr, b.x + b.w * 0.3, b.y + b.h);
      cairo_close_path(cr);
      fill_stroke(cr, rgb255(190, 100, 60), line, lw);
      break;
    case OccluderKind::Ball: {
      const double r = std::min(b.w, b.h) / 2;
      cairo_new_path(cr);
      cairo_arc(cr, b.x + b.w / 2, b.y + b.h / 2, r, 0, 2 * 3.141592653589793);
      fill_stroke(cr, o.color, line, lw);
      cairo_new_path(cr);
      cairo_arc(cr, b.x + b.w / 2, b.y + b.h / 2, r * 0.6, -0.8, 0.8);
      cairo_set_source_rgb(cr, 1, 1, 1);
      cairo_set_line_width(cr, lw * 2);
      cairo_stroke(cr);
      break;
    }
  }
  cairo_restore(cr);
}

// Draws the faces back to front, each face's occluders after it.
inline void render_faces(cairo_t* cr, const FrameSpec& spec) {
  const double lw = std::max(1.2, spec.height / 240.0);
  for (const FaceInstance& face : spec.faces) {
    draw_face(cr, face.style, RenderMode::Color);
    for (const Occluder& o : face.occluders) draw_occluder(cr, o, lw);
  }
}

// Draws the whole frame: background, then faces.
inline void render_frame(cairo_t* cr, const FrameSpec& spec) {
  Rng bg(spec.seed, spec.background_item, Purpose::Background);
  draw_background(cr, spec.width, spec.height, bg);
  render_faces(cr, spec);
}

}  // namespace anima::synth
