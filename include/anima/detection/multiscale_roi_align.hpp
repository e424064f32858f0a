// anima/detection/multiscale_roi_align.hpp — MultiScaleRoIAlign: RoIAlign over a feature pyramid
// (Lin et al., "Feature Pyramid Networks for Object Detection", CVPR 2017, eq. 1), torchvision 0.14's
// torchvision.ops.MultiScaleRoIAlign.
//
//   scales    each map's scale is 2^round(log2(map size / image size)) (image size = the largest image
//             height and width of the batch), the smaller of H's and W's (infer_scale: they differ only
//             for a letterboxed canvas); k_min = -log2(first scale), k_max = -log2(last scale).
//   levels    box k (x1, y1, x2, y2) goes to level floor(4 + log2(sqrt(area) / 224) + 1e-6) clamped to
//             [k_min, k_max] (torchvision's LevelMapper: canonical scale 224, canonical level 4, eps
//             1e-6), area = (x2 - x1)·(y2 - y1); the level's map is pooled with roi_align(..., scale,
//             sampling_ratio, aligned = false).
//   output    [ΣK_i, C, PH, PW] in the order of the boxes (image 0's boxes first), as torchvision.
//             Map l serves level k_min + l; with a gap in the given scales, a box whose level has no
//             map gets zeros (as torchvision).
// Implementation: the rois are built and assigned to levels on the host once, sorted by level (stable)
// and copied to the device in one transfer; each level pools its slice of them, and one scatter_rows
// (anima/ops/index_rows.hpp) writes each level's rows to their boxes' places (one copy kernel per level;
// the output is zero-filled only when some box's level has no map). Per call: 2 host-to-device
// transfers (rois, row indices), L roi_align calls, L row copies; no device-to-host read (the boxes are
// read on the host, as before: on CUDA that read synchronises). The host rois are also given to
// roi_align (host_rois), so the CUDA deterministic backward reads nothing back either.
// Backward: through scatter_rows (distinct rows: its gradient gathers each level's rows back, one
// kernel per level) and roi_align per level. Boxes get no gradient.
// Determinism: that of roi_align (anima/ops/roi_align.hpp); the row moves are copies.
// The level of each box is computed on the host in float64 from the box values (torchvision computes it
// in the boxes' dtype: a box within ~1e-7 of a level boundary could be assigned differently).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/core/view_meta.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/index_rows.hpp>
#include <anima/ops/roi_align.hpp>

namespace anima::detection {

// Named feature maps in pyramid order (finest first), like torchvision's OrderedDict.
using FeatureMaps = std::vector<std::pair<std::string, Tensor>>;

struct MultiScaleRoIAlignOptions {
  std::vector<std::string> featmap_names;  // the maps to pool from (a subset of the given maps)
  std::array<std::int64_t, 2> output_size{7, 7};
  std::int64_t sampling_ratio = 2;
  std::int64_t canonical_scale = 224, canonical_level = 4;
  RoiAlignAlgorithms algorithms{};
};

// torchvision's LevelMapper: the pyramid level of each box (already clamped to [k_min, k_max]).
inline std::vector<std::int64_t> map_levels(const std::vector<double>& boxes /*[K, 4] flat*/, std::int64_t k_min,
                                            std::int64_t k_max, std::int64_t canonical_scale = 224,
                                            std::int64_t canonical_level = 4, double eps = 1e-6) {
  std::vector<std::int64_t> levels(boxes.size() / 4);
  for (std::size_t k = 0; k < levels.size(); ++k) {
    const double area = (boxes[k * 4 + 2] - boxes[k * 4]) * (boxes[k * 4 + 3] - boxes[k * 4 + 1]);
    const double s = std::sqrt(area);
    double lvl =
        std::floor(static_cast<double>(canonical_level) + std::log2(s / static_cast<double>(canonical_scale)) + eps);
    if (!(lvl >= static_cast<double>(k_min))) lvl = static_cast<double>(k_min);  // also a NaN / -inf level
    if (lvl > static_cast<double>(k_max)) lvl = static_cast<double>(k_max);
    levels[k] = static_cast<std::int64_t>(lvl);
  }
  return levels;
}

// The scale of a map relative to the image: 2^round(log2(map / image)) along H and along W, the smaller
// of the two. The image size is the largest height and width in the batch, but the batch tensor (what the
// backbone saw) can be larger along one side: padding to a multiple of 32 (both ratios still round to the
// true scale) or a letterboxed square canvas (anima's top-left square mode: a 720x1280 frame in a
// 1280x1280 canvas gives a 320x320 stride-4 map, H ratio 0.44 -> 0.5, W ratio 0.25). The longer side
// fills the canvas, so the smaller ratio is the true scale. torchvision takes H's ratio, the same
// whenever the two agree, as they do for every batch its transform makes.
inline double infer_scale(const Shape& map_shape, std::array<std::int64_t, 2> image_size, const std::string& name) {
  ANIMA_CHECK(image_size[0] > 0 && image_size[1] > 0, "MultiScaleRoIAlign", "feature map '", name,
              "': image size ", image_size[0], "x", image_size[1], " must be positive");
  double scale = 0.0;
  for (int d = 0; d < 2; ++d) {
    const double approx = static_cast<double>(map_shape[2 + d]) / static_cast<double>(image_size[d]);
    const double s = std::exp2(std::round(std::log2(approx)));
    scale = d == 0 ? s : std::min(scale, s);
  }
  return scale;
}

class MultiScaleRoIAlign {
 public:
  explicit MultiScaleRoIAlign(MultiScaleRoIAlignOptions options) : o_(std::move(options)) {
    ANIMA_CHECK(!o_.featmap_names.empty(), "MultiScaleRoIAlign", "featmap_names must name at least one map");
  }
  MultiScaleRoIAlign(std::vector<std::string> featmap_names, std::array<std::int64_t, 2> output_size,
                     std::int64_t sampling_ratio)
      : MultiScaleRoIAlign(MultiScaleRoIAlignOptions{std::move(featmap_names), output_size, sampling_ratio}) {}

  const MultiScaleRoIAlignOptions& options() const { return o_; }

  // features: named maps [N, C, H_l, W_l]; boxes[i]: [K_i, 4] (x1, y1, x2, y2) of image i in image
  // pixels; image_sizes[i] = (height, width) of image i. -> [ΣK_i, C, PH, PW].
  Tensor forward(const FeatureMaps& features, const std::vector<Tensor>& boxes,
                 const std::vector<std::array<std::int64_t, 2>>& image_sizes) const {
    const char* op = "MultiScaleRoIAlign";
    ANIMA_CHECK(!image_sizes.empty(), op, "image_sizes is empty");
    std::vector<Tensor> maps;
    std::vector<std::string> names;
    for (const auto& [name, t] : features)
      for (const auto& want : o_.featmap_names)
        if (name == want) {
          ANIMA_CHECK(t.defined() && t.dim() == 4, op, "feature map '", name, "' must be [N, C, H, W], got ",
                      t.defined() ? shape_str(t.shape()) : std::string("undefined"));
          maps.push_back(t);
          names.push_back(name);
        }
    for (const auto& want : o_.featmap_names) {
      bool found = false;
      for (const auto& n : names) found = found || n == want;
      ANIMA_CHECK(found, op, "no feature map named '", want, "' among the ", features.size(), " given");
    }
    ANIMA_CHECK(boxes.size() == static_cast<std::size_t>(maps[0].shape()[0]), op, "got boxes for ", boxes.size(),
                " image(s) but the feature maps hold ", maps[0].shape()[0]);
    std::array<std::int64_t, 2> image{0, 0};
    for (const auto& s : image_sizes) image = {std::max(image[0], s[0]), std::max(image[1], s[1])};
    std::vector<double> scales;
    for (std::size_t l = 0; l < maps.size(); ++l) scales.push_back(infer_scale(maps[l].shape(), image, names[l]));
    const std::vector<double> r = boxes_to_roi_rows(boxes);  // [K, 5] on the host, exact in the boxes' dtype
    const std::int64_t K = static_cast<std::int64_t>(r.size() / 5);
    const DType dtype = boxes[0].dtype();
    const Device device = boxes[0].device();
    if (maps.size() == 1) {
      const Tensor host_rois = cast_copy(from_vector<double>(r, {K, 5}), dtype);
      return roi_align(maps[0], device.is_cpu() ? host_rois : device_copy(host_rois, device), host_rois, o_.output_size,
                       scales[0], o_.sampling_ratio, false, o_.algorithms);
    }
    for (std::size_t l = 1; l < maps.size(); ++l)
      ANIMA_CHECK(maps[l].shape()[1] == maps[0].shape()[1], op, "feature map '", names[l], "' ",
                  shape_str(maps[l].shape()), " has a different channel count than '", names[0], "' ",
                  shape_str(maps[0].shape()));

    const std::int64_t k_min = static_cast<std::int64_t>(-std::log2(scales.front()));
    const std::int64_t k_max = static_cast<std::int64_t>(-std::log2(scales.back()));
    std::vector<double> flat_boxes;
    flat_boxes.reserve(static_cast<std::size_t>(K) * 4);
    for (std::size_t k = 0; k * 5 < r.size(); ++k)
      flat_boxes.insert(flat_boxes.end(), r.begin() + k * 5 + 1, r.begin() + k * 5 + 5);
    const std::vector<std::int64_t> levels =
        map_levels(flat_boxes, k_min, k_max, o_.canonical_scale, o_.canonical_level);
    // Stable counting sort of the boxes by map: map l serves level k_min + l; a box whose level has no
    // map (a gap in the scales) is unclaimed: scatter_rows leaves its row 0.
    const std::size_t L = maps.size();
    std::vector<std::int64_t> count(L + 1, 0);  // count[L]: unclaimed
    const auto slot = [&](std::int64_t k) {
      const std::int64_t l = levels[static_cast<std::size_t>(k)] - k_min;
      return l >= 0 && l < static_cast<std::int64_t>(L) ? static_cast<std::size_t>(l) : L;
    };
    for (std::int64_t k = 0; k < K; ++k) ++count[slot(k)];
    std::vector<std::int64_t> start(L + 1, 0);
    for (std::size_t l = 1; l <= L; ++l) start[l] = start[l - 1] + count[l - 1];
    std::vector<double> sorted(static_cast<std::size_t>(start[L]) * 5);   // claimed rois in level order
    std::vector<std::int64_t> order(static_cast<std::size_t>(start[L]));  // their boxes' output rows
    {
      std::vector<std::int64_t> fill(start.begin(), start.end() - 1);
      for (std::int64_t k = 0; k < K; ++k) {
        const std::size_t l = slot(k);
        if (l == L) continue;  // no map: its output row stays 0
        const std::int64_t p = fill[l]++;
        order[static_cast<std::size_t>(p)] = k;
        std::copy(r.begin() + k * 5, r.begin() + k * 5 + 5, sorted.begin() + p * 5);
      }
    }
    // [ΣK_l, 5] in the boxes' dtype on the host, then (CUDA) one transfer; the host tensor goes to
    // roi_align as host_rois, so the CUDA deterministic backward plans without reading the rois back.
    const Tensor host_rois = cast_copy(from_vector<double>(sorted, {start[L], 5}), dtype);
    const Tensor all_rois = device.is_cpu() ? host_rois : device_copy(host_rois, device);
    std::vector<Tensor> parts;
    for (std::size_t l = 0; l < L; ++l)  // empty levels too: their maps get a (zero) gradient, as before
      parts.push_back(roi_align(maps[l], view_meta::narrow(all_rois, 0, start[l], count[l]),
                                view_meta::narrow(host_rois, 0, start[l], count[l]), o_.output_size, scales[l],
                                o_.sampling_ratio, false, o_.algorithms));
    return scatter_rows(parts, order, K);  // [K, C, PH, PW] in box order
  }

 private:
  MultiScaleRoIAlignOptions o_;
};

}  // namespace anima::detection
