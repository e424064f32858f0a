// bench/roi_align_problem.hpp — the tensors of a RoIAlign benchmark case (bench/roi_align_shapes.hpp)
// and the op as a model calls it, for bench/roi_align_bench.cpp (CPU) and bench/cuda_roi_align_bench.cu
// (cuda:0):
//
//   maps      one standard-normal map [batch, channels, s, s] per size of the case (Generator seed 1,
//             finest first), float32
//   boxes     bench_boxes of each image, float32 [rois_per_image, 4]; rois: boxes_to_rois(boxes) [K, 5]
//   forward   one map: roi_align(map, rois, out x out, spatial_scale 1/16, sampling, aligned false);
//             several: MultiScaleRoIAlign over maps named "0", "1", ... with 800x800 images
//   gradient  the fixed upstream gradient of the fwdbwd rows: standard normal [K, channels, out, out]
//             (Generator seed 2)
// Every tensor is drawn on the host and copied to the device.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <anima/autograd/node.hpp>
#include <anima/core/generator.hpp>
#include <anima/detection/multiscale_roi_align.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/roi_align.hpp>

#include "roi_align_shapes.hpp"
#include "tensor_on_device.hpp"

namespace anima::bench {

struct RoiAlignProblem {
  RoiAlignCase c;
  std::vector<Tensor> maps;
  std::vector<Tensor> boxes;
  Tensor rois;
  std::int64_t num_rois = 0;
};

inline RoiAlignProblem make_roi_align_problem(const RoiAlignCase& c, Device device) {
  RoiAlignProblem p;
  p.c = c;
  Generator gen(1);
  for (std::int64_t s : c.map_sizes)
    p.maps.push_back(on_device(randn({c.batch, c.channels, s, s}, TensorOptions(DType::Float32), gen), device));
  for (std::int64_t i = 0; i < c.batch; ++i)
    p.boxes.push_back(on_device(
        cast_copy(from_vector<double>(bench_boxes(i, c.rois_per_image), {c.rois_per_image, 4}), DType::Float32),
        device));
  p.rois = boxes_to_rois(p.boxes);
  p.num_rois = c.batch * c.rois_per_image;
  return p;
}

inline Tensor roi_align_upstream_gradient(const RoiAlignProblem& p, Device device) {
  Generator gen(2);
  return on_device(randn({p.num_rois, p.c.channels, p.c.out, p.c.out}, TensorOptions(DType::Float32), gen), device);
}

// The maps as fresh leaves (detached; requiring grad for a fwdbwd row), so that every timed call
// records its own graph.
inline std::vector<Tensor> roi_align_leaves(const RoiAlignProblem& p, bool requires_grad) {
  std::vector<Tensor> leaves;
  for (const Tensor& m : p.maps) {
    Tensor leaf = detach(m);
    if (requires_grad) leaf.set_requires_grad(true);
    leaves.push_back(leaf);
  }
  return leaves;
}

inline Tensor roi_align_forward(const RoiAlignProblem& p, const std::vector<Tensor>& maps, RoiAlignAlgorithms alg) {
  if (maps.size() == 1) return roi_align(maps[0], p.rois, {p.c.out, p.c.out}, 1.0 / 16.0, p.c.sampling, false, alg);
  detection::MultiScaleRoIAlignOptions o;
  detection::FeatureMaps named;
  for (std::size_t l = 0; l < maps.size(); ++l) {
    o.featmap_names.push_back(std::to_string(l));
    named.push_back({std::to_string(l), maps[l]});
  }
  o.output_size = {p.c.out, p.c.out};
  o.sampling_ratio = p.c.sampling;
  o.algorithms = alg;
  return detection::MultiScaleRoIAlign(o).forward(
      named, p.boxes, std::vector<std::array<std::int64_t, 2>>(static_cast<std::size_t>(p.c.batch), {800, 800}));
}

// Bilinear samples of one pass (counter samples_per_second): K·C·PH·PW·grid².
inline double roi_align_samples(const RoiAlignCase& c) {
  return static_cast<double>(c.batch * c.rois_per_image * c.channels * c.out * c.out * c.sampling * c.sampling);
}

}  // namespace anima::bench
