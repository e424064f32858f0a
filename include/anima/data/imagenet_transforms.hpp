// anima/data/imagenet_transforms.hpp — torchvision's ImageNet evaluation preprocessing of a PIL image
// (torchvision 0.14 transforms on an RGB PIL image), step by step and composed:
//
//   Resize(resize)        shorter side -> `resize`, longer side int(resize · long / short) (truncated,
//                         computed in double as Python's true division); antialiased bilinear as PIL
//                         (anima/data/pil_resize.hpp); no-op when the size does not change
//   CenterCrop(crop)      top = int(round((H − crop) / 2.0)) (Python's round: half to even), left
//                         likewise; an image smaller than the crop is first padded with zeros,
//                         (crop − W) // 2 on the left/top and the rest on the right/bottom
//   ToTensor              v / 255 in float32, HWC -> CHW
//   Normalize(mean, std)  (v − mean_c) / std_c in float32, mean (0.485, 0.456, 0.406),
//                         std (0.229, 0.224, 0.225)
//
// Every float operation is the single float32 operation torch does, so the tensor equals
// torchvision's bit for bit given the same decoded pixels (decoders differ for JPEG: stb_image and
// libjpeg may round some pixels differently; PNG decodes identically).
// torchvision's eval sizes: resize 256 / crop 224 for most nets; inception_v3: resize 342 / crop 299.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/data/pil_resize.hpp>
#include <anima/ops/factory.hpp>

namespace anima::data {

inline constexpr std::array<float, 3> kImagenetMean = {0.485f, 0.456f, 0.406f};
inline constexpr std::array<float, 3> kImagenetStd = {0.229f, 0.224f, 0.225f};

// torchvision's _compute_resized_output_size for an int size: {new_w, new_h}.
inline std::array<int, 2> resized_shorter_side(int width, int height, int size) {
  ANIMA_CHECK(width > 0 && height > 0 && size > 0, "resize_shorter_side", "expected positive sizes, got image ", width,
              "x", height, " and size ", size);
  const bool w_short = width <= height;
  const int shorter = w_short ? width : height, longer = w_short ? height : width;
  // Python: int(size * long / short): exact integer product, correctly rounded quotient, truncation.
  const int new_long = static_cast<int>(static_cast<double>(static_cast<std::int64_t>(size) * longer) / shorter);
  return w_short ? std::array<int, 2>{size, new_long} : std::array<int, 2>{new_long, size};
}

// transforms.Resize(size) on a PIL image: the shorter side becomes `size`.
inline ImageU8 resize_shorter_side(const ImageU8& im, int size) {
  const auto wh = resized_shorter_side(im.width, im.height, size);
  if (wh[0] == im.width && wh[1] == im.height) return im;
  return resize_bilinear_antialias(im, wh[0], wh[1]);
}

// Python 3's round() of a double to an int: halves go to the even neighbour.
inline int python_round(double v) {
  const double r = std::nearbyint(v);  // default rounding mode: to nearest, ties to even
  return static_cast<int>(r);
}

// transforms.CenterCrop((crop_h, crop_w)), zero padding first when the image is smaller.
inline ImageU8 center_crop(const ImageU8& im, int crop_w, int crop_h) {
  ANIMA_CHECK(crop_w > 0 && crop_h > 0, "center_crop", "expected a positive crop, got ", crop_w, "x", crop_h);
  const ImageU8* src = &im;
  ImageU8 padded;
  if (crop_w > im.width || crop_h > im.height) {
    const int left = crop_w > im.width ? (crop_w - im.width) / 2 : 0;
    const int top = crop_h > im.height ? (crop_h - im.height) / 2 : 0;
    const int right = crop_w > im.width ? (crop_w - im.width + 1) / 2 : 0;
    const int bottom = crop_h > im.height ? (crop_h - im.height + 1) / 2 : 0;
    padded = ImageU8(im.width + left + right, im.height + top + bottom, im.channels);
    for (int y = 0; y < im.height; ++y)
      for (int x = 0; x < im.width; ++x)
        for (int c = 0; c < im.channels; ++c) padded.at(y + top, x + left, c) = im.at(y, x, c);
    src = &padded;
  }
  const int top = python_round((src->height - crop_h) / 2.0);
  const int left = python_round((src->width - crop_w) / 2.0);
  ImageU8 out(crop_w, crop_h, src->channels);
  for (int y = 0; y < crop_h; ++y)
    for (int x = 0; x < crop_w; ++x)
      for (int c = 0; c < src->channels; ++c) out.at(y, x, c) = src->at(top + y, left + x, c);
  return out;
}

// ToTensor + Normalize: an RGB image -> [3, H, W] float32.
inline Tensor to_normalized_tensor(const ImageU8& im, const std::array<float, 3>& mean = kImagenetMean,
                                   const std::array<float, 3>& std_dev = kImagenetStd) {
  ANIMA_CHECK(im.channels == 3, "to_normalized_tensor", "expected an RGB image (3 channels), got ", im.channels);
  const std::size_t plane = static_cast<std::size_t>(im.width) * im.height;
  std::vector<float> v(3 * plane);
  for (int c = 0; c < 3; ++c)
    for (std::size_t i = 0; i < plane; ++i) {
      const float x = static_cast<float>(im.pixels[i * 3 + c]) / 255.0f;
      v[c * plane + i] = (x - mean[c]) / std_dev[c];
    }
  return from_vector(v, {3, im.height, im.width});
}

// The whole evaluation transform: resize (0: none), centre crop (0: none), to a normalised tensor
// [3, crop, crop].
inline Tensor imagenet_eval_transform(const ImageU8& im, int resize, int crop) {
  ImageU8 r = resize > 0 ? resize_shorter_side(im, resize) : im;
  if (crop > 0) r = center_crop(r, crop, crop);
  return to_normalized_tensor(r);
}

}  // namespace anima::data
