// tests/cuda/roi_align_parity_test.cpp — RoIAlign / RoIPool / MultiScaleRoIAlign: CPU (reference
// kernels) vs every CUDA version, forward and backward, on boxes inside, partly outside, degenerate and
// inverted; the deterministic backward gives identical bits over repeated runs; invalid RoIs on CUDA
// give zeros and no gradient (the documented safe result). Skips without a GPU.
// Tolerances: float64: the same formulas in another order of additions: 1e-12 relative + 1e-12
// absolute for v1 / v2 / atomic; the fixed-point backward rounds each contribution to M·2^-43 or
// finer (M = max|gy| ~ 4, K·PH·PW <= 2^18, see kernels/cuda/roi_align.cuh), so it gets 1e-9 absolute.
// float32: sums of <= 4·grid² products per output, <= a few hundred per gradient element, in another
// order (and atomics): 1e-5 relative + 1e-5 absolute.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/detection/multiscale_roi_align.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/roi_align.hpp>
#include <anima/ops/roi_pool.hpp>

#include "cuda/parity.hpp"

namespace anima {
namespace {

using testing::expect_close;
using testing::Tolerance;

Tensor parity_rois(DType dtype) {
  const std::vector<double> r = {
      0, 2.0,   3.0,   12.5, 14.0,  1, -6.0, -4.0, 5.0,  7.0,  1, 15.0, 10.0, 30.0, 25.0, 0, -10.0, -10.0, 40.0, 40.0,
      1, 4.0,   4.0,   4.0,  9.0,   0, 3.0,  8.0,  11.0, 8.0,  1, 7.0,  7.0,  7.0,  7.0,  0, 9.0,   9.0,   5.0,  6.0,
      1, 21.9,  17.9,  22.0, 18.0,  0, 0.3,  0.7,  1.1,  1.6,  0, 1.0,  1.0,  20.0, 16.0, 1, 0.0,   0.0,   22.0, 18.0,
  };
  return cast_copy(from_vector<double>(r, {static_cast<std::int64_t>(r.size() / 5), 5}), dtype);
}

struct Case {
  bool aligned;
  std::int64_t sampling;
  std::array<std::int64_t, 2> out;
};

const Case kCases[] = {{false, -1, {3, 4}}, {false, 0, {7, 7}}, {false, 2, {7, 7}},
                       {true, -1, {3, 4}},  {true, 2, {14, 14}}, {true, 3, {2, 5}}};

void run_parity(DType dtype) {
  Generator gen(21);
  // 37 channels: more than two v2 channel tiles, the last one partial.
  Tensor x = randn({2, 37, 9, 11}, TensorOptions(dtype), gen);
  x.set_requires_grad(true);
  Tensor rois = parity_rois(dtype);
  const RoiAlignAlgorithms cpu{RoiAlignForwardAlgorithm::CpuReference, RoiAlignBackwardAlgorithm::CpuReference};
  for (const Case& c : kCases)
    for (auto fwd : {RoiAlignForwardAlgorithm::CudaV1, RoiAlignForwardAlgorithm::CudaV2})
      for (auto bwd : {RoiAlignBackwardAlgorithm::CudaAtomic, RoiAlignBackwardAlgorithm::CudaDeterministic}) {
        SCOPED_TRACE(::testing::Message() << "aligned " << c.aligned << " sampling " << c.sampling << " "
                                          << roi_align_algorithm_name(fwd) << " " << roi_align_algorithm_name(bwd));
        Tolerance tol = dtype == DType::Float64 ? Tolerance{1e-12, 1e-12} : Tolerance{1e-5, 1e-5};
        if (dtype == DType::Float64 && bwd == RoiAlignBackwardAlgorithm::CudaDeterministic) tol.atol = 1e-9;
        testing::expect_parity(
            "roi_align",
            [&](const std::vector<Tensor>& in) {
              const bool on_cuda = in[0].device().is_cuda();
              return roi_align(in[0], in[1], c.out, 0.5, c.sampling, c.aligned,
                               on_cuda ? RoiAlignAlgorithms{fwd, bwd} : cpu);
            },
            {x, rois}, tol);
      }
}

TEST(RoiAlignParity, EveryVersionFloat32) {
  ANIMA_REQUIRE_CUDA();
  run_parity(DType::Float32);
}

TEST(RoiAlignParity, EveryVersionFloat64) {
  ANIMA_REQUIRE_CUDA();
  run_parity(DType::Float64);
}

TEST(RoiAlignParity, AdaptiveGridBeyondSharedTaps) {
  ANIMA_REQUIRE_CUDA();
  // A 600-pixel box with sampling_ratio 0 and output 1x1: grid 600 > kRoiMaxTaps, so v2 and the
  // fixed-point backward compute taps on the fly.
  Generator gen(4);
  Tensor x = randn({1, 3, 40, 40}, TensorOptions(DType::Float32), gen);
  x.set_requires_grad(true);
  Tensor rois = cast_copy(from_vector<double>({0, -100, -100, 500, 500, 0, 1, 1, 30, 30}, {2, 5}), DType::Float32);
  for (auto fwd : {RoiAlignForwardAlgorithm::CudaV1, RoiAlignForwardAlgorithm::CudaV2})
    testing::expect_parity(
        "roi_align_big_grid",
        [&](const std::vector<Tensor>& in) {
          return roi_align(in[0], in[1], {1, 1}, 1.0, 0, false,
                           in[0].device().is_cuda()
                               ? RoiAlignAlgorithms{fwd, RoiAlignBackwardAlgorithm::CudaDeterministic}
                               : RoiAlignAlgorithms{});
        },
        {x, rois}, Tolerance{1e-4, 1e-5});
}

TEST(RoiAlignParity, DeterministicBackwardSameBits) {
  ANIMA_REQUIRE_CUDA();
  Generator gen(8);
  Tensor x = device_copy(randn({2, 64, 32, 32}, TensorOptions(DType::Float32), gen), Device::cuda(0));
  std::vector<double> r;
  for (int k = 0; k < 300; ++k) {  // heavily overlapping boxes: many atomics per pixel
    const double x1 = (k * 7) % 13, y1 = (k * 5) % 11;
    r.insert(r.end(), {static_cast<double>(k % 2), x1, y1, x1 + 8 + k % 9, y1 + 6 + k % 7});
  }
  Tensor rois = device_copy(cast_copy(from_vector<double>(r, {300, 5}), DType::Float32), Device::cuda(0));
  Tensor gy = device_copy(randn({300, 64, 7, 7}, TensorOptions(DType::Float32), gen), Device::cuda(0));
  const RoiAlignAlgorithms det{RoiAlignForwardAlgorithm::CudaV2, RoiAlignBackwardAlgorithm::CudaDeterministic};
  std::vector<float> first;
  for (int rep = 0; rep < 5; ++rep) {
    Tensor xi = detach(x);
    xi.set_requires_grad(true);
    backward(roi_align(xi, rois, {7, 7}, 0.5, 2, true, det), gy);
    const std::vector<float> g = to_vector<float>(xi.grad());
    if (rep == 0)
      first = g;
    else
      ASSERT_EQ(0, std::memcmp(g.data(), first.data(), g.size() * sizeof(float))) << "run " << rep << " differs";
  }
}

TEST(RoiAlignParity, InvalidRoisGiveZerosOnCuda) {
  ANIMA_REQUIRE_CUDA();
  Tensor x = device_copy(ones({2, 3, 6, 6}, TensorOptions(DType::Float32)), Device::cuda(0));
  x.set_requires_grad(true);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor rois = device_copy(
      cast_copy(from_vector<double>({5, 1, 1, 4, 4, -1, 1, 1, 4, 4, 0, nan, 1, 4, 4, 1, 1, 1, 4, 4}, {4, 5}), DType::Float32),
      Device::cuda(0));
  for (auto fwd : {RoiAlignForwardAlgorithm::CudaV1, RoiAlignForwardAlgorithm::CudaV2})
    for (auto bwd : {RoiAlignBackwardAlgorithm::CudaAtomic, RoiAlignBackwardAlgorithm::CudaDeterministic}) {
      Tensor xi = detach(x);
      xi.set_requires_grad(true);
      Tensor y = roi_align(xi, rois, {2, 2}, 1.0, 2, false, RoiAlignAlgorithms{fwd, bwd});
      const auto v = to_vector<float>(y);
      for (std::size_t i = 0; i < 3 * 3 * 4; ++i) EXPECT_EQ(v[i], 0.0f) << "invalid RoI output " << i;
      for (std::size_t i = 3 * 3 * 4; i < v.size(); ++i) EXPECT_FLOAT_EQ(v[i], 1.0f);
      backward(y, device_copy(ones({4, 3, 2, 2}, TensorOptions(DType::Float32)), Device::cuda(0)));
      const auto g = to_vector<float>(xi.grad());
      double image0 = 0, image1 = 0;
      for (std::size_t i = 0; i < g.size() / 2; ++i) image0 += g[i];
      for (std::size_t i = g.size() / 2; i < g.size(); ++i) image1 += g[i];
      EXPECT_EQ(image0, 0.0);                 // only the invalid RoIs pointed at image 0
      EXPECT_NEAR(image1, 3 * 4.0, 1e-4);     // the valid RoI: 3 channels x 4 bins x total weight 1
    }
}

TEST(RoiPoolParity, ForwardBackward) {
  ANIMA_REQUIRE_CUDA();
  std::vector<double> v(2 * 5 * 9 * 11);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>((i * 37) % v.size()) / 50.0;  // no ties
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Tensor x = cast_copy(from_vector<double>(v, {2, 5, 9, 11}), dtype);
    x.set_requires_grad(true);
    testing::expect_parity(
        "roi_pool", [&](const std::vector<Tensor>& in) { return roi_pool(in[0], in[1], {3, 2}, 0.5); },
        {x, parity_rois(dtype)}, Tolerance{1e-6, 1e-6});
  }
}

TEST(MultiScaleRoIAlignParity, FpnMaps) {
  ANIMA_REQUIRE_CUDA();
  Generator gen(13);
  std::vector<Tensor> maps;
  for (std::int64_t s : {64, 32, 16, 8}) {
    Tensor m = randn({2, 8, s, s}, TensorOptions(DType::Float32), gen);
    m.set_requires_grad(true);
    maps.push_back(m);
  }
  std::vector<Tensor> inputs = maps;
  inputs.push_back(cast_copy(from_vector<double>({10, 10, 60, 70, 100, 50, 250, 200, 0, 0, 256, 256}, {3, 4}), DType::Float32));
  inputs.push_back(cast_copy(from_vector<double>({5, 5, 20, 30, 30, 40, 200, 220}, {2, 4}), DType::Float32));
  testing::expect_parity(
      "multiscale_roi_align",
      [&](const std::vector<Tensor>& in) {
        detection::FeatureMaps f;
        for (int l = 0; l < 4; ++l) f.push_back({std::to_string(l), in[static_cast<std::size_t>(l)]});
        detection::MultiScaleRoIAlign pooler({"0", "1", "2", "3"}, {7, 7}, 2);
        return pooler.forward(f, {in[4], in[5]}, {{256, 256}, {256, 256}});
      },
      inputs, Tolerance{1e-5, 1e-5});
}

}  // namespace
}  // namespace anima
