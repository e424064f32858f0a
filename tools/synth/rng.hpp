// tools/synth/rng.hpp — deterministic random streams for the generator, on anima's Philox.
//
// Every random choice is drawn from a stream named by (seed, item, purpose, sub): item is the frame
// (or video) index, purpose says what the numbers are for, sub distinguishes e.g. the faces of one
// frame. The stream's key is a SplitMix64 hash of the four; draws are philox_uniform(key, 0, n) for
// n = 0, 1, 2, ... So frame k is the same whatever the number of frames generated, and adding a
// draw to one purpose does not shift any other. Only uniform doubles are used (no std:: random
// distributions, no log/cos), so the numbers are bit-identical on every platform.
#pragma once

#include <cmath>
#include <cstdint>

#include <anima/core/generator.hpp>

namespace anima::synth {

enum class Purpose : std::uint64_t {
  Scene = 1,       // how many characters, their classes and placement
  Face = 2,        // one face's style (sub = slot)
  Background = 3,  // the background picture
  Occluder = 4,    // objects in front of faces (sub = occluder)
  Encoding = 5,    // JPEG quality
  Split = 6,       // train / val / test of a face crop (sub = face)
  Video = 7,       // a video's tracks and emotion timeline
  Grid = 8,        // the README's class grid
};

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class Rng {
 public:
  Rng(std::uint64_t seed, std::uint64_t item, Purpose purpose, std::uint64_t sub = 0)
      : key_(splitmix64(splitmix64(splitmix64(seed) ^ item) ^ ((static_cast<std::uint64_t>(purpose) << 32) + sub))) {}

  // Uniform in [0, 1).
  double uniform() { return philox_uniform(key_, 0, counter_++); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Integer in [lo, hi] (both inclusive).
  int integer(int lo, int hi) {
    const int v = lo + static_cast<int>(std::floor(uniform() * (hi - lo + 1)));
    return v > hi ? hi : v;
  }
  bool chance(double p) { return uniform() < p; }
  // Log-uniform in [lo, hi] (lo > 0): as many faces from 4% to 8% of the frame as from 30% to 60%.
  double log_uniform(double lo, double hi) { return lo * std::pow(hi / lo, uniform()); }
  // Symmetric triangular in [-1, 1]: small values more often than large ones.
  double triangular() { return uniform() + uniform() - 1.0; }

 private:
  std::uint64_t key_;
  std::uint64_t counter_ = 0;
};

}  // namespace anima::synth
