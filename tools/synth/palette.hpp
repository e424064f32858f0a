// tools/synth/palette.hpp — colours: each character's palette (fur, muzzle, ears, eyes, lines) with
// per-face variation inside it, and the colour arithmetic the drawing code uses.
//
// The cat is blue-grey with a cream muzzle and green-yellow eyes; the mouse is tan-brown with a
// cream muzzle, pink round ears and black eyes. Variations stay inside each palette, so the colour
// alone tells the characters apart about as well as it does in a real cartoon (not always: the
// scene's lighting tint is applied on top).
#pragma once

#include <algorithm>

#include "classes.hpp"
#include "rng.hpp"

namespace anima::synth {

struct Rgb {
  double r = 0, g = 0, b = 0;
};

inline Rgb mix(const Rgb& a, const Rgb& b, double t) {
  return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}
inline Rgb scale(const Rgb& a, double s) {
  return {std::clamp(a.r * s, 0.0, 1.0), std::clamp(a.g * s, 0.0, 1.0), std::clamp(a.b * s, 0.0, 1.0)};
}
// Moves each channel by up to +-amount.
inline Rgb jitter(const Rgb& a, Rng& rng, double amount) {
  return {std::clamp(a.r + amount * rng.triangular(), 0.0, 1.0), std::clamp(a.g + amount * rng.triangular(), 0.0, 1.0),
          std::clamp(a.b + amount * rng.triangular(), 0.0, 1.0)};
}
inline Rgb rgb255(int r, int g, int b) { return {r / 255.0, g / 255.0, b / 255.0}; }

struct CharacterColors {
  Rgb fur, fur_dark, muzzle, inner_ear, nose, eye_white, iris, pupil, line, mouth, tongue, blush, brow;
};

// A character's palette: the colours a face's colours are drawn around.
struct CharacterPalette {
  Rgb furs[4];            // one is picked, then varied
  double fur_dark_scale;  // fur_dark = fur scaled by this
  double brow_scale;      // brow = fur scaled by this
  Rgb muzzle, inner_ear, nose;
  double nose_jitter;
  bool iris_is_pupil;  // black eyes: the iris is the pupil's colour (and `iris` is unused)
  Rgb iris, line;
};

inline const CharacterPalette& character_palette(Character who) {
  static const CharacterPalette tom{
      /*furs*/ {rgb255(118, 134, 160), rgb255(104, 112, 128), rgb255(134, 150, 178), rgb255(96, 110, 138)},
      /*fur_dark_scale*/ 0.78,
      /*brow_scale*/ 0.45,
      /*muzzle*/ rgb255(244, 238, 220),
      /*inner_ear*/ rgb255(236, 170, 180),
      /*nose*/ rgb255(226, 116, 130),
      /*nose_jitter*/ 0.04,
      /*iris_is_pupil*/ false,
      /*iris*/ rgb255(196, 214, 70),
      /*line*/ rgb255(30, 32, 44)};
  static const CharacterPalette jerry{
      /*furs*/ {rgb255(196, 136, 82), rgb255(178, 116, 66), rgb255(210, 152, 96), rgb255(168, 110, 70)},
      /*fur_dark_scale*/ 0.8,
      /*brow_scale*/ 0.4,
      /*muzzle*/ rgb255(248, 226, 190),
      /*inner_ear*/ rgb255(244, 160, 160),
      /*nose*/ rgb255(40, 22, 18),
      /*nose_jitter*/ 0.02,
      /*iris_is_pupil*/ true,
      /*iris*/ Rgb{},
      /*line*/ rgb255(52, 30, 20)};
  return who == Character::Tom ? tom : jerry;
}

// One face's colours, drawn from its character's palette.
inline CharacterColors sample_colors(Character who, Rng& rng) {
  const CharacterPalette& p = character_palette(who);
  CharacterColors c;
  c.eye_white = rgb255(252, 252, 248);
  c.pupil = rgb255(18, 18, 22);
  c.mouth = rgb255(110, 24, 30);
  c.tongue = rgb255(232, 110, 120);
  c.blush = rgb255(255, 120, 140);
  c.fur = jitter(p.furs[rng.integer(0, 3)], rng, 0.05);
  c.fur_dark = scale(c.fur, p.fur_dark_scale);
  c.muzzle = jitter(p.muzzle, rng, 0.03);
  c.inner_ear = jitter(p.inner_ear, rng, 0.04);
  c.nose = jitter(p.nose, rng, p.nose_jitter);
  c.iris = p.iris_is_pupil ? c.pupil : jitter(p.iris, rng, 0.06);
  c.line = jitter(p.line, rng, 0.03);
  c.brow = scale(c.fur, p.brow_scale);
  return c;
}

}  // namespace anima::synth
