// anima/data/image_transforms.hpp — torchvision 0.14's training transforms on an 8-bit RGB image, as
// they act on a PIL image (Pillow 9.x), bit for bit; and the random choices of the random ones, drawn
// from Philox with a seed (torchvision draws from torch's generator, so only the functional forms can
// equal torchvision's pixel for pixel; the draws follow its algorithms).
//
//   crop(im, top, left, h, w)         F.crop: the box [left, left + w) x [top, top + h); pixels outside
//                                     the image are 0 (PIL's crop)
//   resized_crop(im, t, l, h, w, W, H) F.resized_crop: crop, then Pillow's antialiased bilinear resize
//                                     to W x H (pil_resize.hpp)
//   hflip(im)                         F.hflip; hflip_boxes: x1' = W − x2, x2' = W − x1 (torchvision's
//                                     detection references), masks flip as images
//   adjust_brightness(im, f)          ImageEnhance.Brightness: blend(black, im, f)
//   adjust_contrast(im, f)            ImageEnhance.Contrast: blend(grey m, im, f), m = int(mean(L) + 0.5),
//                                     L = (19595 R + 38470 G + 7471 B + 2^15) >> 16 (Pillow's "L")
//   adjust_saturation(im, f)          ImageEnhance.Color: blend(L replicated, im, f)
//   adjust_hue(im, f)                 f in [−0.5, 0.5]: H of Pillow's HSV shifted by uint8(f · 255)
//                                     (modulo 256), back to RGB (Pillow's rgb2hsv / hsv2rgb)
// blend(a, b, α) is Pillow's ImagingBlend with α as float32: v = a + α·(b − a) in float32, truncated
// to 8 bits; clipped to [0, 255] when α is outside [0, 1]; a copy of b (a) when α = 1 (0).
//
// Random parameters (RandomResizedCrop.get_params, ColorJitter.get_params), from uniforms u_k =
// philox_uniform(seed, 0, k):
//   resized-crop box: up to 10 tries of area · U(scale), aspect exp(U(log ratio)), w = round(sqrt(a·r)),
//     h = round(sqrt(a / r)); the first that fits gives top = floor(u·(H − h + 1)), left likewise;
//     else the centre crop of the image clamped to the ratio range
//   colour jitter: factors U(max(0, 1 − b), 1 + b), U(max(0, 1 − c), 1 + c), U(max(0, 1 − s), 1 + s),
//     hue U(−h, h), applied in a random order (a Philox permutation of the four)
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/core/generator.hpp>
#include <anima/data/pil_resize.hpp>

namespace anima::data {

inline ImageU8 crop(const ImageU8& im, int top, int left, int height, int width) {
  ANIMA_CHECK(height > 0 && width > 0, "crop", "expected a positive size, got ", width, "x", height);
  ImageU8 out(width, height, im.channels);
  for (int y = 0; y < height; ++y) {
    const int sy = top + y;
    if (sy < 0 || sy >= im.height) continue;
    for (int x = 0; x < width; ++x) {
      const int sx = left + x;
      if (sx < 0 || sx >= im.width) continue;
      for (int c = 0; c < im.channels; ++c) out.at(y, x, c) = im.at(sy, sx, c);
    }
  }
  return out;
}

inline ImageU8 resized_crop(const ImageU8& im, int top, int left, int height, int width, int out_w, int out_h) {
  return resize_bilinear_antialias(crop(im, top, left, height, width), out_w, out_h);
}

inline ImageU8 hflip(const ImageU8& im) {
  ImageU8 out(im.width, im.height, im.channels);
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x)
      for (int c = 0; c < im.channels; ++c) out.at(y, im.width - 1 - x, c) = im.at(y, x, c);
  return out;
}

// Boxes [x1, y1, x2, y2] (4 values each) of an image `width` wide, mirrored.
inline std::vector<double> hflip_boxes(std::vector<double> boxes, int width) {
  ANIMA_CHECK(boxes.size() % 4 == 0, "hflip_boxes", "expected 4 values per box, got ", boxes.size());
  for (std::size_t i = 0; i < boxes.size(); i += 4) {
    const double x1 = boxes[i];
    boxes[i] = width - boxes[i + 2];
    boxes[i + 2] = width - x1;
  }
  return boxes;
}

namespace detail {

// Pillow's ImagingBlend of two same-sized 8-bit images.
inline ImageU8 pil_blend(const ImageU8& a, const ImageU8& b, double factor) {
  const float alpha = static_cast<float>(factor);
  if (alpha == 0.0f) return a;
  if (alpha == 1.0f) return b;
  ImageU8 out(a.width, a.height, a.channels);
  const bool inside = alpha >= 0.0f && alpha <= 1.0f;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) {
    const float v = static_cast<float>(a.pixels[i]) +
                    alpha * static_cast<float>(static_cast<int>(b.pixels[i]) - static_cast<int>(a.pixels[i]));
    out.pixels[i] = inside ? static_cast<std::uint8_t>(v)
                           : (v <= 0.0f     ? std::uint8_t{0}
                              : v >= 255.0f ? std::uint8_t{255}
                                            : static_cast<std::uint8_t>(v));
  }
  return out;
}

inline std::uint8_t pil_luma(const std::uint8_t* rgb) {
  return static_cast<std::uint8_t>((rgb[0] * 19595 + rgb[1] * 38470 + rgb[2] * 7471 + 0x8000) >> 16);
}

inline void check_rgb(const ImageU8& im, const char* op) {
  ANIMA_CHECK(im.channels == 3, op, "expected an RGB image (3 channels), got ", im.channels);
}

inline std::uint8_t clip8(int v) { return static_cast<std::uint8_t>(v <= 0 ? 0 : v >= 255 ? 255 : v); }

// Pillow's rgb2hsv_row (H, S, V in 0..255).
inline std::array<std::uint8_t, 3> pil_rgb_to_hsv(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  const std::uint8_t maxc = std::max(r, std::max(g, b)), minc = std::min(r, std::min(g, b));
  if (minc == maxc) return {0, 0, maxc};
  const float cr = static_cast<float>(maxc - minc);
  const float s = cr / static_cast<float>(maxc);
  const float rc = static_cast<float>(maxc - r) / cr, gc = static_cast<float>(maxc - g) / cr,
              bc = static_cast<float>(maxc - b) / cr;
  float h;
  if (r == maxc)
    h = bc - gc;
  else if (g == maxc)
    h = static_cast<float>(2.0 + rc - bc);
  else
    h = static_cast<float>(4.0 + gc - rc);
  h = static_cast<float>(std::fmod(h / 6.0 + 1.0, 1.0));
  return {clip8(static_cast<int>(h * 255.0)), clip8(static_cast<int>(s * 255.0)), maxc};
}

// Pillow's hsv2rgb.
inline std::array<std::uint8_t, 3> pil_hsv_to_rgb(std::uint8_t h, std::uint8_t s, std::uint8_t v) {
  if (s == 0) return {v, v, v};
  const int i = static_cast<int>(std::floor(static_cast<float>(h) * 6.0 / 255.0));
  const float f = static_cast<float>(static_cast<float>(h) * 6.0 / 255.0 - static_cast<float>(i));
  const float fs = static_cast<float>(static_cast<float>(s) / 255.0);
  const std::uint8_t p = clip8(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs))));
  const std::uint8_t q = clip8(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs * f))));
  const std::uint8_t t = clip8(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs * (1.0 - f)))));
  switch (i % 6) {
    case 0: return {v, t, p};
    case 1: return {q, v, p};
    case 2: return {p, v, t};
    case 3: return {p, q, v};
    case 4: return {t, p, v};
    default: return {v, p, q};
  }
}

}  // namespace detail

inline ImageU8 adjust_brightness(const ImageU8& im, double factor) {
  ANIMA_CHECK(factor >= 0.0, "adjust_brightness", "factor must be >= 0, got ", factor);
  return detail::pil_blend(ImageU8(im.width, im.height, im.channels), im, factor);
}

inline ImageU8 adjust_contrast(const ImageU8& im, double factor) {
  detail::check_rgb(im, "adjust_contrast");
  ANIMA_CHECK(factor >= 0.0, "adjust_contrast", "factor must be >= 0, got ", factor);
  const std::size_t n = static_cast<std::size_t>(im.width) * im.height;
  double sum = 0.0;  // ImageStat's mean from the histogram of "L": Σ luma / n in double
  for (std::size_t i = 0; i < n; ++i) sum += detail::pil_luma(&im.pixels[i * 3]);
  const int mean = n == 0 ? 0 : static_cast<int>(sum / static_cast<double>(n) + 0.5);
  ImageU8 grey(im.width, im.height, 3);
  std::fill(grey.pixels.begin(), grey.pixels.end(), static_cast<std::uint8_t>(mean));
  return detail::pil_blend(grey, im, factor);
}

inline ImageU8 adjust_saturation(const ImageU8& im, double factor) {
  detail::check_rgb(im, "adjust_saturation");
  ANIMA_CHECK(factor >= 0.0, "adjust_saturation", "factor must be >= 0, got ", factor);
  ImageU8 grey(im.width, im.height, 3);
  for (std::size_t i = 0; i < grey.pixels.size(); i += 3)
    grey.pixels[i] = grey.pixels[i + 1] = grey.pixels[i + 2] = detail::pil_luma(&im.pixels[i]);
  return detail::pil_blend(grey, im, factor);
}

inline ImageU8 adjust_hue(const ImageU8& im, double factor) {
  detail::check_rgb(im, "adjust_hue");
  ANIMA_CHECK(factor >= -0.5 && factor <= 0.5, "adjust_hue", "factor must be in [-0.5, 0.5], got ", factor);
  const auto shift = static_cast<std::uint8_t>(static_cast<int>(factor * 255));  // numpy's uint8(x): truncated, mod 256
  ImageU8 out(im.width, im.height, 3);
  for (std::size_t i = 0; i < im.pixels.size(); i += 3) {
    auto hsv = detail::pil_rgb_to_hsv(im.pixels[i], im.pixels[i + 1], im.pixels[i + 2]);
    const auto rgb = detail::pil_hsv_to_rgb(static_cast<std::uint8_t>(hsv[0] + shift), hsv[1], hsv[2]);
    out.pixels[i] = rgb[0], out.pixels[i + 1] = rgb[1], out.pixels[i + 2] = rgb[2];
  }
  return out;
}

// A crop box: rows [top, top + height), columns [left, left + width).
struct CropBox {
  int top = 0, left = 0, height = 0, width = 0;
};

// RandomResizedCrop.get_params of a width x height image, drawn from `seed`.
inline CropBox random_resized_crop_box(int width, int height, std::array<double, 2> scale, std::array<double, 2> ratio,
                                       std::uint64_t seed) {
  ANIMA_CHECK(width > 0 && height > 0, "random_resized_crop_box", "empty image ", width, "x", height);
  ANIMA_CHECK(scale[0] <= scale[1] && ratio[0] <= ratio[1] && ratio[0] > 0, "random_resized_crop_box",
              "expected scale and ratio ranges (low <= high, ratio > 0), got scale (", scale[0], ", ", scale[1],
              "), ratio (", ratio[0], ", ", ratio[1], ")");
  const double area = static_cast<double>(width) * height;
  const double log_r0 = std::log(ratio[0]), log_r1 = std::log(ratio[1]);
  std::uint64_t k = 0;
  auto uniform = [&] { return philox_uniform(seed, 0, k++); };
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * (scale[0] + (scale[1] - scale[0]) * uniform());
    const double aspect = std::exp(log_r0 + (log_r1 - log_r0) * uniform());
    const int w = static_cast<int>(std::nearbyint(std::sqrt(target * aspect)));
    const int h = static_cast<int>(std::nearbyint(std::sqrt(target / aspect)));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int top = static_cast<int>(uniform() * (height - h + 1));
      const int left = static_cast<int>(uniform() * (width - w + 1));
      return {top, left, h, w};
    }
  }
  const double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < ratio[0]) {
    h = static_cast<int>(std::nearbyint(w / ratio[0]));
  } else if (in_ratio > ratio[1]) {
    w = static_cast<int>(std::nearbyint(h * ratio[1]));
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

// The usual training view: RandomResizedCrop(size, scale (0.08, 1), ratio (3/4, 4/3)) then a
// horizontal flip with probability 1/2 (u = philox_uniform(seed, 2, 0) < 0.5), all from `seed`.
inline ImageU8 random_resized_crop_flip(const ImageU8& im, int size, std::uint64_t seed) {
  const CropBox box = random_resized_crop_box(im.width, im.height, {0.08, 1.0}, {3.0 / 4.0, 4.0 / 3.0}, seed);
  ImageU8 out = resized_crop(im, box.top, box.left, box.height, box.width, size, size);
  return philox_uniform(seed, 2, 0) < 0.5 ? hflip(out) : out;
}

struct ColorJitter {
  double brightness = 0.0, contrast = 0.0, saturation = 0.0, hue = 0.0;  // torchvision's arguments
};

// ColorJitter(b, c, s, h) applied with the factors and order drawn from `seed`.
inline ImageU8 color_jitter(const ImageU8& im, const ColorJitter& j, std::uint64_t seed) {
  ANIMA_CHECK(j.brightness >= 0 && j.contrast >= 0 && j.saturation >= 0 && j.hue >= 0 && j.hue <= 0.5, "color_jitter",
              "expected brightness, contrast, saturation >= 0 and hue in [0, 0.5]");
  const auto order = random_permutation(4, seed, 0);
  auto factor = [&](double amount, std::uint64_t k) {
    return std::max(0.0, 1.0 - amount) + (1.0 + amount - std::max(0.0, 1.0 - amount)) * philox_uniform(seed, 1, k);
  };
  ImageU8 out = im;
  for (std::int64_t fn : order) {
    if (fn == 0 && j.brightness > 0) out = adjust_brightness(out, factor(j.brightness, 0));
    if (fn == 1 && j.contrast > 0) out = adjust_contrast(out, factor(j.contrast, 1));
    if (fn == 2 && j.saturation > 0) out = adjust_saturation(out, factor(j.saturation, 2));
    if (fn == 3 && j.hue > 0) out = adjust_hue(out, -j.hue + 2 * j.hue * philox_uniform(seed, 1, 3));
  }
  return out;
}

}  // namespace anima::data
