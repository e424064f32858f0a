// anima/kernels/pool_math.hpp — per-element geometry of 2-D pooling, shared by the CPU and CUDA kernels.
//
// Conventions (PyTorch 1.13, aten/src/ATen/native/Pool.h and AdaptiveAveragePooling.cpp):
//   output size   out = floor((in + 2p - k + (ceil_mode ? s - 1 : 0)) / s) + 1, and with ceil_mode the
//                 last window must start inside the input or the left padding: if (out - 1)·s >= in + p
//                 then out -= 1 (otherwise a window would read only right padding).
//   max window    [o·s - p, o·s - p + k) clipped to [0, in).
//   avg window    [o·s - p, min(o·s - p + k, in + p)) gives the count_include_pad divisor (a ceil_mode
//                 window that runs past the padded input is cut there, as PyTorch does); the summed
//                 range is that window clipped to [0, in), whose length is the count_include_pad=false
//                 divisor.
//   adaptive      start = floor(o·in/out), end = ceil((o+1)·in/out) (windows may overlap by one).
// The inverse ranges (which outputs read input i) serve the gather-style backward kernels.
#pragma once

#include <cstdint>

#include <anima/kernels/host_device.hpp>

namespace anima::kernels {

// One pooling problem over `planes` = N·C independent [in_h, in_w] planes of a contiguous NCHW tensor.
struct Pool2dGeometry {
  std::int64_t planes = 0;
  std::int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  std::int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
};

struct IndexRange {
  std::int64_t begin, end;  // [begin, end)
};

ANIMA_HD std::int64_t pool_min(std::int64_t a, std::int64_t b) { return a < b ? a : b; }
ANIMA_HD std::int64_t pool_max(std::int64_t a, std::int64_t b) { return a > b ? a : b; }

// floor(a / b) for b > 0 (C++ division truncates towards zero; a may be negative here).
ANIMA_HD std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// PyTorch's pooling_output_shape with dilation 1 (may return <= 0: the op reports that as an error).
inline std::int64_t pool_output_size(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, bool ceil_mode) {
  std::int64_t out = floor_div(in + 2 * p - k + (ceil_mode ? s - 1 : 0), s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

// Input rows (or columns) read by max-pool output o, clipped to the input.
ANIMA_HD IndexRange max_pool_window(std::int64_t o, std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p) {
  const std::int64_t begin = o * s - p;
  return {pool_max(begin, 0), pool_min(begin + k, in)};
}

// Avg-pool output o: `window` is the range summed (clipped to the input), `padded` the length of the
// window clipped to the padded input (the count_include_pad divisor along this dim).
struct AvgWindow {
  IndexRange window;
  std::int64_t padded;
};
ANIMA_HD AvgWindow avg_pool_window(std::int64_t o, std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p) {
  const std::int64_t begin = o * s - p;
  const std::int64_t end = pool_min(begin + k, in + p);
  return {{pool_max(begin, 0), pool_min(end, in)}, end - begin};
}

// The avg-pool divisor of an output with windows wh (rows) and ww (columns).
ANIMA_HD std::int64_t avg_pool_divisor(const AvgWindow& wh, const AvgWindow& ww, bool count_include_pad) {
  return count_include_pad ? wh.padded * ww.padded
                           : (wh.window.end - wh.window.begin) * (ww.window.end - ww.window.begin);
}

// Outputs o of a (max or avg) pooling whose unclipped window [o·s - p, o·s - p + k) contains input i.
ANIMA_HD IndexRange pool_outputs_reading(std::int64_t i, std::int64_t out, std::int64_t k, std::int64_t s,
                                         std::int64_t p) {
  const std::int64_t q = i + p;  // position in the padded input
  const std::int64_t first = q < k ? 0 : (q - k) / s + 1;
  return {first, pool_min(q / s + 1, out)};
}

// Adaptive pooling window of output o: [floor(o·in/out), ceil((o+1)·in/out)).
ANIMA_HD IndexRange adaptive_window(std::int64_t o, std::int64_t in, std::int64_t out) {
  return {(o * in) / out, ((o + 1) * in + out - 1) / out};
}

// Outputs o whose adaptive window contains input i: start(o) <= i < end(o) holds exactly for
// floor(i·out/in) <= o < ceil((i+1)·out/in), the same formula with in and out swapped.
ANIMA_HD IndexRange adaptive_outputs_reading(std::int64_t i, std::int64_t in, std::int64_t out) {
  return adaptive_window(i, out, in);
}

}  // namespace anima::kernels
