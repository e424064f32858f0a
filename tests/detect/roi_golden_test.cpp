// tests/detect/roi_golden_test.cpp — roi_align, roi_pool and MultiScaleRoIAlign against torchvision 0.14
// (tests/golden/data/detection_roi.safetensors; regenerate with
// `/usr/bin/python3 tools/golden/detection_roi.py`). Each roi_align case runs with every CPU algorithm.
// Tolerances (relative to the largest magnitude of each expected tensor, golden::tolerance):
//  - float64: same inputs, same formula; only the order of additions differs (<= 4·grid² terms per
//    output, <= K·PH·PW·grid² per gradient element): ~1e-15; 1e-10 leaves a margin and still catches
//    any wrong tap, weight or boundary.
//  - float32 (roi_align_a1_s2_f32): float32 sums of <= 16 terms in another order: ~1e-6; 1e-4 bound.
//  - MultiScaleRoIAlign: outputs float64 (1e-10); map gradients were stored in float32 (the fixture
//    keeps them small), so they are compared at 1e-6 (float32 rounding is 6e-8 relative).
#include <gtest/gtest.h>

#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/detection/multiscale_roi_align.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/roi_align.hpp>
#include <anima/ops/roi_pool.hpp>

#include "golden/golden.hpp"

namespace anima {
namespace {

// tools/golden/detection_roi.py fpn_map: [2, 1, 200 >> level, 200 >> level],
// x[i] = ((i·7919 + 104729·level) mod 2001) / 1000 - 1 (exact in float64).
Tensor fpn_map(std::int64_t level) {
  const std::int64_t side = 200 >> level;
  std::vector<double> v(static_cast<std::size_t>(2 * side * side));
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<double>((static_cast<std::int64_t>(i) * 7919 + 104729 * level) % 2001) / 1000.0 - 1.0;
  return from_vector<double>(v, {2, 1, side, side});
}

TEST(RoiGolden, RoiAlignEveryCpuAlgorithm) {
  int n = 0;
  for (auto& c : golden::load_family("detection_roi")) {
    if (c.op != "roi_align") continue;
    for (auto fwd : {CpuRoiAlignForwardAlgorithm::Reference, CpuRoiAlignForwardAlgorithm::Nhwc})
      for (auto bwd : {CpuRoiAlignBackwardAlgorithm::Reference, CpuRoiAlignBackwardAlgorithm::Nhwc}) {
        SCOPED_TRACE(c.name + " " + roi_align_algorithm_name(fwd) + " " + roi_align_algorithm_name(bwd));
        c.reset();
        Tensor y = roi_align(c.input("x"), c.input("rois"), c.pair("output_size"), c.number("spatial_scale"),
                             c.integer("sampling_ratio"), c.flag("aligned"), RoiAlignAlgorithms{{fwd, bwd}, {}});
        c.check(y, golden::tolerance(c));
      }
    ++n;
  }
  EXPECT_EQ(n, 7);
}

TEST(RoiGolden, RoiPool) {
  int n = 0;
  for (auto& c : golden::load_family("detection_roi")) {
    if (c.op != "roi_pool") continue;
    SCOPED_TRACE(c.name);
    c.check(roi_pool(c.input("x"), c.input("rois"), c.pair("output_size"), c.number("spatial_scale")),
            golden::tolerance(c));
    ++n;
  }
  EXPECT_EQ(n, 1);
}

TEST(RoiGolden, MultiScaleRoIAlign) {
  int n = 0;
  for (auto& c : golden::load_family("detection_roi")) {
    if (c.op != "multiscale_roi_align") continue;
    SCOPED_TRACE(c.name);
    detection::FeatureMaps maps;
    std::vector<Tensor> leaves;
    for (std::int64_t l = 0; l < 4; ++l) {
      Tensor m = fpn_map(l);
      m.set_requires_grad(true);
      leaves.push_back(m);
      maps.push_back({std::to_string(l), m});
    }
    const std::int64_t out = c.integer("output_size");
    detection::MultiScaleRoIAlign pooler({"0", "1", "2", "3"}, {out, out}, c.integer("sampling_ratio"));
    Tensor y = pooler.forward(maps, {c.stored("in/boxes0"), c.stored("in/boxes1")}, {{800, 800}, {800, 800}});
    golden::expect_close(y, c.stored("out"), 1e-10, c.name + " output");
    backward(y, c.stored("gout"));
    for (std::int64_t l = 0; l < 4; ++l)
      golden::expect_close(cast_copy(leaves[static_cast<std::size_t>(l)].grad(), DType::Float32),
                           c.stored("grad/map" + std::to_string(l)), 1e-6,
                           c.name + " gradient of map" + std::to_string(l));
    // Every level receives boxes (the fixture's boxes span the pyramid), so the test exercises each map.
    for (std::int64_t l = 0; l < 4; ++l) {
      double m = 0;
      for (double v : to_vector<double>(leaves[static_cast<std::size_t>(l)].grad())) m = std::max(m, std::fabs(v));
      EXPECT_GT(m, 0.0) << "map " << l << " got no gradient";
    }
    ++n;
  }
  EXPECT_EQ(n, 2);
}

}  // namespace
}  // namespace anima
