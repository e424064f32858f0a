// anima/data/pil_resize.hpp — 8-bit images and the antialiased bilinear resize of Pillow
// (PIL.Image.resize(size, Image.BILINEAR), Pillow 9.x), bit for bit.
//
// This is what torchvision's transforms.Resize does to a PIL image, so a classifier trained and
// evaluated on torchvision's ImageNet pipeline sees the same pixels here.
//
// Method (Pillow src/libImaging/Resample.c): separable, a horizontal pass then a vertical pass, each a
// convolution with the triangle filter stretched by the reduction factor (antialiasing):
//   scale = in / out, fs = max(scale, 1), support = 1 · fs
//   output pixel i, centre c = (i + 0.5) · scale, taps x in [xmin, xmin + n):
//     xmin = max(0, int(c − support + 0.5)), xend = min(in, int(c + support + 0.5))
//     w_x = max(0, 1 − |(x − c + 0.5) / fs|), normalised to sum 1 (in double)
//   coefficients are then fixed point: k = round-half-away(w · 2^22) (int32), and each pass computes
//     v = clip8((2^21 + Σ pixel · k) >> 22)   (clip to [0, 255])
//   so the intermediate image after the horizontal pass is rounded to 8 bits, as in Pillow. Only the
//   source rows the vertical pass reads are resized horizontally (the same result, less work).
// A pass whose size does not change is skipped (its coefficients would be the identity).
// Source: Pillow src/libImaging/Resample.c (precompute_coeffs, normalize_coeffs_8bpc,
// ImagingResampleHorizontal_8bpc / Vertical_8bpc, PRECISION_BITS = 32 − 8 − 2).
// Determinism: integer arithmetic: bitwise reproducible.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <anima/core/error.hpp>

namespace anima::data {

// An 8-bit image, rows top to bottom, channels interleaved (RGB: 3 bytes a pixel).
struct ImageU8 {
  int width = 0, height = 0, channels = 0;
  std::vector<std::uint8_t> pixels;  // [height, width, channels]

  ImageU8() = default;
  ImageU8(int w, int h, int c)
      : width(w), height(h), channels(c), pixels(static_cast<std::size_t>(w) * h * c, std::uint8_t{0}) {}
  std::uint8_t& at(int y, int x, int c) { return pixels[(static_cast<std::size_t>(y) * width + x) * channels + c]; }
  std::uint8_t at(int y, int x, int c) const {
    return pixels[(static_cast<std::size_t>(y) * width + x) * channels + c];
  }
};

namespace detail {

constexpr int kPilPrecisionBits = 32 - 8 - 2;

// One pass's taps: output i reads `count[i]` inputs from `first[i]` with weights k[i · ksize + t].
struct PilResampleTaps {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<std::int32_t> k;
};

inline PilResampleTaps pil_bilinear_taps(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;  // the triangle filter's support is 1
  PilResampleTaps taps;
  taps.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.k.assign(static_cast<std::size_t>(out_size) * taps.ksize, 0);
  std::vector<double> w(taps.ksize);
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    // int() truncates toward zero, as the C cast in Pillow ("round the value").
    const int xmin = std::max(0, static_cast<int>(center - support + 0.5));
    const int xend = std::min(in_size, static_cast<int>(center + support + 0.5));
    const int n = xend - xmin;
    double ww = 0.0;
    for (int x = 0; x < n; ++x) {
      double t = std::fabs((x + xmin - center + 0.5) * ss);
      w[x] = t < 1.0 ? 1.0 - t : 0.0;
      ww += w[x];
    }
    for (int x = 0; x < n; ++x) {
      const double v = ww != 0.0 ? w[x] / ww : w[x];
      // Round half away from zero to 22 fractional bits (normalize_coeffs_8bpc).
      const double scaled = v * static_cast<double>(1 << kPilPrecisionBits);
      taps.k[static_cast<std::size_t>(i) * taps.ksize + x] =
          static_cast<std::int32_t>(v < 0 ? -0.5 + scaled : 0.5 + scaled);
    }
    taps.first[i] = xmin;
    taps.count[i] = n;
  }
  return taps;
}

inline std::uint8_t pil_clip8(std::int64_t acc) {
  if (acc >= (std::int64_t{1} << kPilPrecisionBits << 8)) return 255;
  if (acc <= 0) return 0;
  return static_cast<std::uint8_t>(acc >> kPilPrecisionBits);
}

}  // namespace detail

// Pillow's Image.resize((out_w, out_h), Image.BILINEAR) of an 8-bit image (any channel count; RGB
// images are what torchvision feeds it). Sizes must be positive.
inline ImageU8 resize_bilinear_antialias(const ImageU8& in, int out_w, int out_h) {
  ANIMA_CHECK(in.width > 0 && in.height > 0 && in.channels > 0, "resize_bilinear_antialias",
              "expected a non-empty image, got ", in.width, "x", in.height, "x", in.channels);
  ANIMA_CHECK(in.pixels.size() == static_cast<std::size_t>(in.width) * in.height * in.channels,
              "resize_bilinear_antialias", "the image holds ", in.pixels.size(), " bytes, expected ",
              static_cast<std::size_t>(in.width) * in.height * in.channels);
  ANIMA_CHECK(out_w > 0 && out_h > 0, "resize_bilinear_antialias", "expected a positive output size, got ", out_w, "x",
              out_h);
  const int C = in.channels;
  const std::int64_t half = std::int64_t{1} << (detail::kPilPrecisionBits - 1);

  // Vertical taps first: they say which source rows the horizontal pass must produce.
  const bool need_vertical = out_h != in.height;
  const bool need_horizontal = out_w != in.width;
  detail::PilResampleTaps vt;
  int row_first = 0, row_end = in.height;
  if (need_vertical) {
    vt = detail::pil_bilinear_taps(in.height, out_h);
    row_first = vt.first[0];
    row_end = vt.first[out_h - 1] + vt.count[out_h - 1];
  }

  // Horizontal pass over rows [row_first, row_end) -> tmp [row_end - row_first, out_w, C].
  ImageU8 tmp;
  if (need_horizontal) {
    const detail::PilResampleTaps ht = detail::pil_bilinear_taps(in.width, out_w);
    tmp = ImageU8(out_w, row_end - row_first, C);
    for (int y = row_first; y < row_end; ++y)
      for (int x = 0; x < out_w; ++x) {
        const std::int32_t* k = &ht.k[static_cast<std::size_t>(x) * ht.ksize];
        for (int c = 0; c < C; ++c) {
          std::int64_t acc = half;
          for (int t = 0; t < ht.count[x]; ++t) acc += static_cast<std::int64_t>(in.at(y, ht.first[x] + t, c)) * k[t];
          tmp.at(y - row_first, x, c) = detail::pil_clip8(acc);
        }
      }
  } else {
    tmp = in;
    row_first = 0;
  }
  if (!need_vertical) return tmp;

  // Vertical pass: tmp -> out [out_h, out_w, C].
  ImageU8 out(out_w, out_h, C);
  for (int y = 0; y < out_h; ++y) {
    const std::int32_t* k = &vt.k[static_cast<std::size_t>(y) * vt.ksize];
    const int y0 = vt.first[y] - row_first;
    for (int x = 0; x < out_w; ++x)
      for (int c = 0; c < C; ++c) {
        std::int64_t acc = half;
        for (int t = 0; t < vt.count[y]; ++t) acc += static_cast<std::int64_t>(tmp.at(y0 + t, x, c)) * k[t];
        out.at(y, x, c) = detail::pil_clip8(acc);
      }
  }
  return out;
}

}  // namespace anima::data
