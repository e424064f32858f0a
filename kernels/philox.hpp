// anima/kernels/philox.hpp — Philox 4x32-10, the counter-based generator (Salmon et al., SC'11,
// "Parallel random numbers: as easy as 1, 2, 3"), written once for CPU and CUDA.
//
// Philox maps (counter, key) -> four 32-bit words through 10 rounds of
//   (hi0, lo0) = mulhilo(M0, c0); (hi1, lo1) = mulhilo(M1, c2)
//   c = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0);  k += (W0, W1)
// There is no state: element i of a draw with (seed, offset) uses counter = offset + i and
// key = seed, so any thread on any backend computes the same number for the same element. That is
// what makes dropout masks and initialisations identical on CPU and CUDA.
//   uniform(i) = (word0 >> 8) * 2^-24                     (float, in [0, 1); 24 bits = float mantissa)
//              = ((word0 << 21) ^ ... 53 bits) * 2^-53    (double, in [0, 1))
//   normal(i)  = sqrt(-2 ln(1 - u1)) * cos(2 pi u2)        (Box-Muller on words 0/1 and 2/3)
// Uniform draws are bit-identical across backends; normal draws agree to the last few ulps of the
// platform's log/cos.
#pragma once

#include <cmath>
#include <cstdint>

#include <anima/kernels/host_device.hpp>

namespace anima::kernels {

enum class Distribution : int { Uniform, Normal };

struct Philox4x32 {
  std::uint32_t v[4];
};

ANIMA_HD void philox_mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(p >> 32);
  lo = static_cast<std::uint32_t>(p);
}

// Philox4x32-10 of a 128-bit counter and a 64-bit key.
ANIMA_HD Philox4x32 philox4x32_10(std::uint32_t c0, std::uint32_t c1, std::uint32_t c2, std::uint32_t c3,
                                  std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(kM0, c0, hi0, lo0);
    philox_mulhilo(kM1, c2, hi1, lo1);
    const std::uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += kW0;
    k1 += kW1;
  }
  return {{c0, c1, c2, c3}};
}

// The four words for element `index` of the stream (seed, offset).
ANIMA_HD Philox4x32 philox_block(std::uint64_t seed, std::uint64_t offset, std::uint64_t index) {
  const std::uint64_t counter = offset + index;
  return philox4x32_10(static_cast<std::uint32_t>(counter), static_cast<std::uint32_t>(counter >> 32), 0u, 0u,
                       static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
}

template <class T>
ANIMA_HD T philox_uniform_from(std::uint32_t w0, std::uint32_t w1);
template <>
ANIMA_HD float philox_uniform_from<float>(std::uint32_t w0, std::uint32_t) {
  return static_cast<float>(w0 >> 8) * (1.0f / 16777216.0f);
}
template <>
ANIMA_HD double philox_uniform_from<double>(std::uint32_t w0, std::uint32_t w1) {
  const std::uint64_t bits = ((static_cast<std::uint64_t>(w0) << 32) | w1) >> 11;
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}

// Uniform in [0, 1) for element `index`.
template <class T>
ANIMA_HD T philox_uniform(std::uint64_t seed, std::uint64_t offset, std::uint64_t index) {
  const Philox4x32 r = philox_block(seed, offset, index);
  return philox_uniform_from<T>(r.v[0], r.v[1]);
}

// Maps a draw v = lo + (hi - lo)·u of a uniform u in [0, 1) back into [lo, hi): in floating point
// the product and sum can round up to exactly hi (e.g. float, lo = 1, hi = 2, u = 1 - 2^-24).
// Such a draw becomes lo, as PyTorch does; it is one value in 2^24, so the distribution is unchanged
// for practical purposes and the half-open promise holds.
template <class T>
ANIMA_HD T philox_keep_in_range(T v, T lo, T hi) {
  return v < hi ? v : lo;
}

// Standard normal for element `index` (Box-Muller; 1 - u1 keeps the log argument in (0, 1]).
template <class T>
ANIMA_HD T philox_normal(std::uint64_t seed, std::uint64_t offset, std::uint64_t index) {
  using std::cos;
  using std::log;
  using std::sqrt;
  const Philox4x32 r = philox_block(seed, offset, index);
  const T u1 = T(1) - philox_uniform_from<T>(r.v[0], r.v[1]);
  const T u2 = philox_uniform_from<T>(r.v[2], r.v[3]);
  const T two_pi = T(6.283185307179586476925286766559);
  return sqrt(T(-2) * log(u1)) * cos(two_pi * u2);
}

}  // namespace anima::kernels
