// tools/synth/expression.hpp — the four emotions as continuous face parameters, the way cartoonists
// draw them, blended from a neutral face by an intensity in [0, 1] (low intensity: hard examples).
//
//   happy     mouth corners up (open smile), cheeks raise the lower lids, arc-shaped closed eyes,
//             pink cheeks
//   sad       mouth corners down, inner brow ends up, upper lids droop at the outer corners, gaze
//             down, optional tear
//   angry     V brows (inner ends down), lids narrowed and slanted toward the nose, gritted teeth or
//             a tight mouth, red flush, anger mark
//   surprise  round open mouth, wide eyes with small pupils, brows raised high
#pragma once

#include "classes.hpp"
#include "rng.hpp"

namespace anima::synth {

struct Expression {
  double mouth_curve = 0.15;  // +1: corners up (smile), -1: corners down (frown)
  double mouth_open = 0.0;    // 0: a line, 1: wide open
  double mouth_width = 1.0;   // multiplier of the neutral width
  double mouth_round = 0.0;   // > 0.5: an O-shaped mouth
  double teeth = 0.0;         // > 0.5: gritted teeth fill the open mouth
  double brow_raise = 0.0;    // head radii up (negative: down)
  double brow_tilt = 0.0;     // +1: inner ends up (sad), -1: inner ends down (angry)
  double upper_lid = 0.12;    // fraction of the eye covered from the top
  double lid_slant = 0.0;     // +: outer corner lower (droop), -: inner corner lower (glare)
  double lower_lid = 0.0;     // fraction covered from the bottom, bowed up (raised cheeks)
  double eye_scale = 1.0;     // eye size multiplier
  double pupil_scale = 1.0;   // pupil size multiplier
  double gaze_y = 0.0;        // pupils: -1 up .. +1 down
  double blush = 0.0;         // pink cheeks, 0..1
  double red = 0.0;           // red flush, 0..1
  double arc_eyes = 0.0;      // > 0.5: eyes closed as arcs (^ ^)
  double tear = 0.0;          // > 0.5: a tear under each eye
  double anger_mark = 0.0;    // > 0.5: the cross-shaped vein mark on the forehead
};

// Per-face choices between the ways an emotion can be drawn.
struct ExpressionVariant {
  bool closed_eyes = false;  // happy: arc eyes (at high intensity)
  bool tear = false;         // sad: a tear (at high intensity)
  bool teeth = true;         // angry: gritted teeth, else a tight frown
  bool open_smile = true;    // happy: open smile, else a closed grin
  double gaze_x = 0.0;       // -1 .. 1
};

inline ExpressionVariant sample_variant(Rng& rng) {
  ExpressionVariant v;
  v.closed_eyes = rng.chance(0.5);
  v.tear = rng.chance(0.5);
  v.teeth = rng.chance(0.6);
  v.open_smile = rng.chance(0.7);
  v.gaze_x = 0.6 * rng.triangular();
  return v;
}

inline Expression lerp(const Expression& a, const Expression& b, double t) {
  auto l = [t](double x, double y) { return x + (y - x) * t; };
  Expression e;
  e.mouth_curve = l(a.mouth_curve, b.mouth_curve);
  e.mouth_open = l(a.mouth_open, b.mouth_open);
  e.mouth_width = l(a.mouth_width, b.mouth_width);
  e.mouth_round = l(a.mouth_round, b.mouth_round);
  e.teeth = l(a.teeth, b.teeth);
  e.brow_raise = l(a.brow_raise, b.brow_raise);
  e.brow_tilt = l(a.brow_tilt, b.brow_tilt);
  e.upper_lid = l(a.upper_lid, b.upper_lid);
  e.lid_slant = l(a.lid_slant, b.lid_slant);
  e.lower_lid = l(a.lower_lid, b.lower_lid);
  e.eye_scale = l(a.eye_scale, b.eye_scale);
  e.pupil_scale = l(a.pupil_scale, b.pupil_scale);
  e.gaze_y = l(a.gaze_y, b.gaze_y);
  e.blush = l(a.blush, b.blush);
  e.red = l(a.red, b.red);
  e.arc_eyes = l(a.arc_eyes, b.arc_eyes);
  e.tear = l(a.tear, b.tear);
  e.anger_mark = l(a.anger_mark, b.anger_mark);
  return e;
}

// The full-intensity face of an emotion.
inline Expression emotion_target(Emotion emotion, const ExpressionVariant& v) {
  Expression e;
  switch (emotion) {
    case Emotion::Happy:
      e.mouth_curve = 1.0;
      e.mouth_open = v.open_smile ? 0.75 : 0.0;
      e.mouth_width = 1.25;
      e.brow_raise = 0.06;
      e.upper_lid = 0.0;
      e.lower_lid = 0.42;
      e.blush = 0.9;
      e.arc_eyes = v.closed_eyes ? 1.0 : 0.0;
      break;
    case Emotion::Sad:
      e.mouth_curve = -1.0;
      e.mouth_open = 0.0;
      e.mouth_width = 0.8;
      e.brow_raise = 0.04;
      e.brow_tilt = 1.0;
      e.upper_lid = 0.45;
      e.lid_slant = 0.9;
      e.gaze_y = 0.7;
      e.tear = v.tear ? 1.0 : 0.0;
      break;
    case Emotion::Angry:
      e.mouth_curve = v.teeth ? -0.35 : -0.7;
      e.mouth_open = v.teeth ? 0.55 : 0.0;
      e.mouth_width = v.teeth ? 1.1 : 0.7;
      e.teeth = v.teeth ? 1.0 : 0.0;
      e.brow_raise = -0.1;
      e.brow_tilt = -1.2;
      e.upper_lid = 0.42;
      e.lid_slant = -1.0;
      e.pupil_scale = 0.8;
      e.red = 1.0;
      e.anger_mark = 1.0;
      break;
    case Emotion::Surprise:
      e.mouth_curve = 0.0;
      e.mouth_open = 1.0;
      e.mouth_round = 1.0;
      e.mouth_width = 0.6;
      e.brow_raise = 0.22;
      e.upper_lid = 0.0;
      e.eye_scale = 1.25;
      e.pupil_scale = 0.55;
      e.gaze_y = -0.1;
      break;
  }
  return e;
}

// The face at `intensity` between neutral (0) and the full emotion (1). Discrete features (arc
// eyes, teeth, tear, round mouth, anger mark) switch on past their 0.5 threshold along the blend.
inline Expression make_expression(Emotion emotion, double intensity, const ExpressionVariant& v) {
  return lerp(Expression{}, emotion_target(emotion, v), intensity);
}

}  // namespace anima::synth
