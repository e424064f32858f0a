// anima/kernels/cpu/random.hpp — fill with Philox draws (CPU). See anima/kernels/philox.hpp.
//   uniform: y[i] = lo + (hi - lo) * U(seed, offset + i), kept below hi (philox_keep_in_range)
//   normal:  y[i] = mean + std * N(seed, offset + i)
#pragma once

#include <cstdint>

#include <anima/kernels/parallel.hpp>
#include <anima/kernels/philox.hpp>

namespace anima::kernels::cpu {

template <class T>
void random_uniform(T* y, std::int64_t n, std::uint64_t seed, std::uint64_t offset, T lo, T hi,
                    const ParallelFor& parallel) {
  parallel(0, n, 16384, [&](std::int64_t b, std::int64_t e) {
    const T span = hi - lo;
    for (std::int64_t i = b; i < e; ++i)
      y[i] =
          philox_keep_in_range<T>(lo + span * philox_uniform<T>(seed, offset, static_cast<std::uint64_t>(i)), lo, hi);
  });
}

template <class T>
void random_normal(T* y, std::int64_t n, std::uint64_t seed, std::uint64_t offset, T mean, T stddev,
                   const ParallelFor& parallel) {
  parallel(0, n, 16384, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i)
      y[i] = mean + stddev * philox_normal<T>(seed, offset, static_cast<std::uint64_t>(i));
  });
}

}  // namespace anima::kernels::cpu
