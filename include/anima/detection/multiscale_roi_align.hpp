// anima/detection/multiscale_roi_align.hpp — MultiScaleRoIAlign: RoIAlign over a feature pyramid
// (Lin et al., "Feature Pyramid Networks for Object Detection", CVPR 2017, eq. 1), torchvision 0.14's
// torchvision.ops.MultiScaleRoIAlign.
//
//   scales    each map's scale is 2^round(log2(map size / image size)) (image size = the largest image
//             height and width of the batch), equal along H and W; k_min = -log2(first scale),
//             k_max = -log2(last scale).
//   levels    box k (x1, y1, x2, y2) goes to level floor(4 + log2(sqrt(area) / 224) + 1e-6) clamped to
//             [k_min, k_max] (torchvision's LevelMapper: canonical scale 224, canonical level 4, eps
//             1e-6), area = (x2 - x1)·(y2 - y1); the level's map is pooled with roi_align(..., scale,
//             sampling_ratio, aligned = false).
//   output    [ΣK_i, C, PH, PW] in the order of the boxes (image 0's boxes first), as torchvision.
//             Map l serves level k_min + l; with a gap in the given scales, a box whose level has no
//             map gets zeros (as torchvision).
// Backward: through roi_align per level; the reordering of rows is a permutation (its gradient is the
// inverse permutation). Boxes get no gradient. Determinism: that of roi_align (anima/ops/roi_align.hpp).
// The level of each box is computed on the host in float64 from the box values (torchvision computes it
// in the boxes' dtype: a box within ~1e-7 of a level boundary could be assigned differently).
#pragma once

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
#include <anima/ops/factory.hpp>
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
    double lvl = std::floor(static_cast<double>(canonical_level) + std::log2(s / static_cast<double>(canonical_scale)) + eps);
    if (!(lvl >= static_cast<double>(k_min))) lvl = static_cast<double>(k_min);  // also a NaN / -inf level
    if (lvl > static_cast<double>(k_max)) lvl = static_cast<double>(k_max);
    levels[k] = static_cast<std::int64_t>(lvl);
  }
  return levels;
}

// The scale of a map relative to the image: 2^round(log2(map / image)), the same along H and W.
inline double infer_scale(const Shape& map_shape, std::array<std::int64_t, 2> image_size, const std::string& name) {
  double scales[2];
  for (int d = 0; d < 2; ++d) {
    const double approx = static_cast<double>(map_shape[2 + d]) / static_cast<double>(image_size[d]);
    scales[d] = std::exp2(std::round(std::log2(approx)));
  }
  ANIMA_CHECK(scales[0] == scales[1], "MultiScaleRoIAlign", "feature map '", name, "' ", shape_str(map_shape),
              " has different scales along H and W (", scales[0], " vs ", scales[1], ") for image size ", image_size[0],
              "x", image_size[1]);
  return scales[0];
}

namespace detail {

// Copies rows between a [K, ...] tensor `big` and a [K_l, ...] tensor `small` (both contiguous):
// big[idx[j]] <-> small[j]; consecutive indices are merged into one copy.
inline void copy_rows(const Tensor& big, const Tensor& small, const std::vector<std::int64_t>& idx, std::size_t row_bytes,
                      bool to_big) {
  char* b = static_cast<char*>(big.raw_data());
  char* s = static_cast<char*>(small.raw_data());
  for (std::size_t j = 0; j < idx.size();) {
    std::size_t e = j + 1;
    while (e < idx.size() && idx[e] == idx[e - 1] + 1) ++e;
    const std::size_t n = (e - j) * row_bytes;
    char* pb = b + static_cast<std::size_t>(idx[j]) * row_bytes;
    char* ps = s + j * row_bytes;
    if (to_big)
      copy_bytes(pb, big.device(), ps, small.device(), n);
    else
      copy_bytes(ps, small.device(), pb, big.device(), n);
    j = e;
  }
}

// out[rows[l][j]] = parts[l][j]: places the rows of each part at the given output rows (together a
// permutation of [0, K)); backward gathers them back (the inverse permutation).
inline Tensor scatter_rows(const std::vector<Tensor>& parts, const std::vector<std::vector<std::int64_t>>& rows,
                           const Shape& out_shape) {
  const Tensor& p0 = parts[0];
  // Zeros first: rows no part claims stay 0 (torchvision's result for a box whose level has no map).
  Tensor out = zeros(out_shape, TensorOptions(p0.dtype()).with_device(p0.device()));
  std::int64_t row_elems = 1;
  for (std::size_t d = 1; d < out_shape.size(); ++d) row_elems *= out_shape[d];
  const std::size_t row_bytes = static_cast<std::size_t>(row_elems) * element_size(p0.dtype());
  std::vector<Shape> part_shapes;
  for (std::size_t l = 0; l < parts.size(); ++l) {
    part_shapes.push_back(parts[l].shape());
    if (!rows[l].empty()) copy_rows(out, anima::detail::roi_contiguous(parts[l]), rows[l], row_bytes, true);
  }
  record("multiscale_roi_align_rows", out, parts,
         [rows, part_shapes, row_bytes](const Tensor& grad) -> std::vector<Tensor> {
           const Tensor g = anima::detail::roi_contiguous(grad);
           std::vector<Tensor> grads;
           for (std::size_t l = 0; l < part_shapes.size(); ++l) {
             Tensor gl = Tensor::empty(part_shapes[l], TensorOptions(g.dtype()).with_device(g.device()));
             if (!rows[l].empty()) copy_rows(g, gl, rows[l], row_bytes, false);
             grads.push_back(gl);
           }
           return grads;
         });
  return out;
}

}  // namespace detail

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
    const Tensor rois = boxes_to_rois(boxes);  // [K, 5]
    if (maps.size() == 1)
      return roi_align(maps[0], rois, o_.output_size, scales[0], o_.sampling_ratio, false, o_.algorithms);

    const std::int64_t k_min = static_cast<std::int64_t>(-std::log2(scales.front()));
    const std::int64_t k_max = static_cast<std::int64_t>(-std::log2(scales.back()));
    const std::vector<double> r = to_vector<double>(rois);
    std::vector<double> flat_boxes;
    for (std::size_t k = 0; k * 5 < r.size(); ++k) flat_boxes.insert(flat_boxes.end(), r.begin() + k * 5 + 1, r.begin() + k * 5 + 5);
    const std::vector<std::int64_t> levels = map_levels(flat_boxes, k_min, k_max, o_.canonical_scale, o_.canonical_level);
    const std::int64_t K = rois.shape()[0];
    std::vector<std::vector<std::int64_t>> rows(maps.size());
    std::vector<Tensor> parts;
    for (std::size_t l = 0; l < maps.size(); ++l) {
      std::vector<double> sub;
      for (std::int64_t k = 0; k < K; ++k)
        if (levels[static_cast<std::size_t>(k)] - k_min == static_cast<std::int64_t>(l)) {
          rows[l].push_back(k);
          sub.insert(sub.end(), r.begin() + k * 5, r.begin() + k * 5 + 5);
        }
      Tensor sub_rois = cast_copy(from_vector<double>(sub, {static_cast<std::int64_t>(rows[l].size()), 5}), rois.dtype());
      if (!rois.device().is_cpu()) sub_rois = device_copy(sub_rois, rois.device());
      parts.push_back(roi_align(maps[l], sub_rois, o_.output_size, scales[l], o_.sampling_ratio, false, o_.algorithms));
    }
    return detail::scatter_rows(parts, rows, {K, maps[0].shape()[1], o_.output_size[0], o_.output_size[1]});
  }

 private:
  MultiScaleRoIAlignOptions o_;
};

}  // namespace anima::detection
