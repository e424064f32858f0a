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

// One face's colours, drawn from its character's palette.
inline CharacterColors sample_colors(Character who, Rng& rng) {
  CharacterColors c;
  c.eye_white = rgb255(252, 252, 248);
  c.pupil = rgb255(18, 18, 22);
  c.mouth = rgb255(110, 24, 30);
  c.tongue = rgb255(232, 110, 120);
  c.blush = rgb255(255, 120, 140);
  if (who == Character::Tom) {
    const Rgb furs[] = {rgb255(118, 134, 160), rgb255(104, 112, 128), rgb255(134, 150, 178), rgb255(96, 110, 138)};
    c.fur = jitter(furs[rng.integer(0, 3)], rng, 0.05);
    c.fur_dark = scale(c.fur, 0.78);
    c.muzzle = jitter(rgb255(244, 238, 220), rng, 0.03);
    c.inner_ear = jitter(rgb255(236, 170, 180), rng, 0.04);
    c.nose = jitter(rgb255(226, 116, 130), rng, 0.04);
    c.iris = jitter(rgb255(196, 214, 70), rng, 0.06);
    c.line = jitter(rgb255(30, 32, 44), rng, 0.03);
    c.brow = scale(c.fur, 0.45);
  } else {
    const Rgb furs[] = {rgb255(196, 136, 82), rgb255(178, 116, 66), rgb255(210, 152, 96), rgb255(168, 110, 70)};
    c.fur = jitter(furs[rng.integer(0, 3)], rng, 0.05);
    c.fur_dark = scale(c.fur, 0.8);
    c.muzzle = jitter(rgb255(248, 226, 190), rng, 0.03);
    c.inner_ear = jitter(rgb255(244, 160, 160), rng, 0.04);
    c.nose = jitter(rgb255(40, 22, 18), rng, 0.02);
    c.iris = c.pupil;
    c.line = jitter(rgb255(52, 30, 20), rng, 0.03);
    c.brow = scale(c.fur, 0.4);
  }
  return c;
}

}  // namespace anima::synth
