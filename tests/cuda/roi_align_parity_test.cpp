// tests/cuda/roi_align_parity_test.cpp — RoIAlign / RoIPool / MultiScaleRoIAlign: CPU (reference
// kernels) vs every CUDA version, forward and backward, on boxes inside, partly outside, degenerate and
// inverted; the deterministic backwards (gather, the default, and fixed point) give identical bits over
// repeated runs; the gather backward gives the same bits as its CPU implementation
// (kernels::cpu::roi_align_backward_gather: the same tables, whether the plan is built on the host or on
// the device, same order of additions, explicit fma, IEEE division); invalid RoIs on CUDA give zeros and no gradient
// (the documented safe result). Skips
// without a GPU.
// Tolerances: float64: the same formulas in another order of additions: 1e-12 relative + 1e-12
// absolute for v1 / v2 / atomic / gather; the fixed-point backward rounds each contribution to M·2^-43
// or finer (M = max|gy| ~ 4, K·PH·PW <= 2^18, see kernels/cuda/roi_align.cuh), so it gets 1e-9 absolute.
// float32 outputs: sums of <= 4·grid² products per output: 1e-5 relative + 1e-5 absolute.
// float32 input gradients: an element sums up to several hundred contributions share·w (share =
// gy / count) of mixed sign from many overlapping RoIs, and the float32 sides differ in two ways, both
// bounded by sums of magnitudes, not by |result| (small after cancellation: the H100 showed cpu
// 0.438314855 vs cuda 0.438297540, 1.7e-5 apart, while every CUDA version agreed to 5e-7):
//  (1) summation order: <= (terms)·u·S_i, S_i = Σ |share·w| (the float64 backward of |gy|; weights
//      are >= 0); we allow 1e-5·S_i (n·u for n ~ 170 terms);
//  (2) the float32 sample coordinates (nvcc may contract start + p·bin into an fma, g++ does not): a
//      few roundings of values <= M (M = max over RoIs of |start| + |size| + 1 in map pixels) move each
//      tap weight by <= 8·u·M; we allow 8·u·M·T_i, T_i = Σ |share| over the taps touching element i.
// So |cuda - cpu| <= 1e-6 + 1e-5·S_i + 8·2^-24·M·T_i. The H100 case (aligned, sampling 2, 14x14,
// element 2673) has S_i = 151, T_i = 169, M = 31.5: allowed 4e-3; the float64 value is 0.438297128, so
// the CPU float32 reference (0.438314855, off by 1.2e-7·S_i) was the inaccurate side, not CUDA. (The
// allowance is 2.7e-5·S_i there; the CPU float32 kernels use under 3% of it on this case.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/detection/multiscale_roi_align.hpp>
#include <anima/kernels/cpu/roi_align.hpp>
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
      0, 2.0,  3.0,  12.5, 14.0, 1, -6.0, -4.0, 5.0,  7.0, 1, 15.0, 10.0, 30.0, 25.0, 0, -10.0, -10.0, 40.0, 40.0,
      1, 4.0,  4.0,  4.0,  9.0,  0, 3.0,  8.0,  11.0, 8.0, 1, 7.0,  7.0,  7.0,  7.0,  0, 9.0,   9.0,   5.0,  6.0,
      1, 21.9, 17.9, 22.0, 18.0, 0, 0.3,  0.7,  1.1,  1.6, 0, 1.0,  1.0,  20.0, 16.0, 1, 0.0,   0.0,   22.0, 18.0,
  };
  return cast_copy(from_vector<double>(r, {static_cast<std::int64_t>(r.size() / 5), 5}), dtype);
}

struct Case {
  bool aligned;
  std::int64_t sampling;
  std::array<std::int64_t, 2> out;
};

const Case kCases[] = {{false, -1, {3, 4}}, {false, 0, {7, 7}},  {false, 2, {7, 7}},
                       {true, -1, {3, 4}},  {true, 2, {14, 14}}, {true, 3, {2, 5}}};

const CudaRoiAlignBackwardAlgorithm kCudaBackwards[] = {
    CudaRoiAlignBackwardAlgorithm::Atomic, CudaRoiAlignBackwardAlgorithm::Deterministic,
    CudaRoiAlignBackwardAlgorithm::FixedPoint, CudaRoiAlignBackwardAlgorithm::DeterministicDevicePlan};

// S_i = Σ |contributions| to each input-gradient element: the float64 reference backward of |gy|.
std::vector<double> contribution_bound(const Tensor& gy, const Tensor& rois, const kernels::RoiAlignGeometry& g) {
  std::vector<double> a = to_vector<double>(gy), r = to_vector<double>(rois);
  for (double& v : a) v = std::fabs(v);
  std::vector<double> s(static_cast<std::size_t>(g.batch * g.channels * g.height * g.width));
  kernels::cpu::roi_align_backward_reference(a.data(), r.data(), g, s.data());
  return s;
}

// T_i = Σ |gy| / count over every inside sample tap touching element i, and M (see the header).
std::vector<double> tap_mass(const Tensor& gy, const Tensor& rois, const kernels::RoiAlignGeometry& g, double& m) {
  const std::vector<double> a = to_vector<double>(gy), r = to_vector<double>(rois);
  const std::int64_t C = g.channels, H = g.height, W = g.width, PH = g.pooled_h, PW = g.pooled_w;
  std::vector<double> t(static_cast<std::size_t>(g.batch * C * H * W));
  m = 1;
  for (std::int64_t k = 0; k < g.num_rois; ++k) {
    const kernels::RoiBox<double> box = kernels::roi_align_box(r.data() + k * 5, g);
    if (!box.valid) continue;
    m = std::max({m, std::fabs(box.y.start) + std::fabs(box.y.bin * PH) + 1,
                  std::fabs(box.x.start) + std::fabs(box.x.bin * PW) + 1});
    for (std::int64_t ph = 0; ph < PH; ++ph)
      for (std::int64_t pw = 0; pw < PW; ++pw)
        for (std::int64_t iy = 0; iy < box.y.grid; ++iy)
          for (std::int64_t ix = 0; ix < box.x.grid; ++ix) {
            const auto ty = kernels::bilinear_tap(kernels::roi_sample_coord(box.y, ph, iy), H);
            const auto tx = kernels::bilinear_tap(kernels::roi_sample_coord(box.x, pw, ix), W);
            if (!ty.inside || !tx.inside) continue;
            for (std::int64_t c = 0; c < C; ++c) {
              const double share =
                  std::fabs(a[static_cast<std::size_t>(((k * C + c) * PH + ph) * PW + pw)]) / box.count;
              double* plane = t.data() + (box.batch * C + c) * H * W;
              for (std::int64_t yy : {ty.lo, ty.hi})
                for (std::int64_t xx : {tx.lo, tx.hi}) plane[yy * W + xx] += share;
            }
          }
  }
  return t;
}

void run_parity(DType dtype) {
  Generator gen(21);
  // 37 channels: more than two v2 channel tiles, the last one partial (and not a multiple of the
  // gather's 4 channels per thread).
  Tensor x = randn({2, 37, 9, 11}, TensorOptions(dtype), gen);
  Tensor rois = parity_rois(dtype);
  const RoiAlignAlgorithms cpu{{CpuRoiAlignForwardAlgorithm::Reference, CpuRoiAlignBackwardAlgorithm::Reference}, {}};
  for (const Case& c : kCases) {
    kernels::RoiAlignGeometry g;
    g.batch = 2;
    g.channels = 37;
    g.height = 9;
    g.width = 11;
    g.num_rois = rois.shape()[0];
    g.pooled_h = c.out[0];
    g.pooled_w = c.out[1];
    g.spatial_scale = 0.5;
    g.sampling_ratio = c.sampling;
    g.aligned = c.aligned;
    Generator ggen(99);
    const Tensor gy = randn({g.num_rois, 37, c.out[0], c.out[1]}, TensorOptions(dtype), ggen);
    const std::vector<double> bound = contribution_bound(gy, rois, g);
    double m = 1;
    const std::vector<double> mass = tap_mass(gy, rois, g, m);
    Tensor x_cpu = detach(x);
    x_cpu.set_requires_grad(true);
    const Tensor y_cpu = roi_align(x_cpu, rois, c.out, 0.5, c.sampling, c.aligned, cpu);
    backward(y_cpu, gy);
    const std::vector<double> gx_cpu = to_vector<double>(x_cpu.grad());
    for (auto fwd : {CudaRoiAlignForwardAlgorithm::V1, CudaRoiAlignForwardAlgorithm::V2})
      for (auto bwd : kCudaBackwards) {
        SCOPED_TRACE(::testing::Message() << "aligned " << c.aligned << " sampling " << c.sampling << " "
                                          << roi_align_algorithm_name(fwd) << " " << roi_align_algorithm_name(bwd));
        Tolerance tol = dtype == DType::Float64 ? Tolerance{1e-12, 1e-12} : Tolerance{1e-5, 1e-5};
        if (dtype == DType::Float64 && bwd == CudaRoiAlignBackwardAlgorithm::FixedPoint) tol.atol = 1e-9;
        Tensor x_cuda = device_copy(x, Device::cuda(0));
        x_cuda.set_requires_grad(true);
        const Tensor y_cuda = roi_align(x_cuda, device_copy(rois, Device::cuda(0)), c.out, 0.5, c.sampling, c.aligned,
                                        RoiAlignAlgorithms{{}, {fwd, bwd}});
        expect_close("roi_align output", y_cpu, y_cuda, tol);
        backward(y_cuda, device_copy(gy, Device::cuda(0)));
        const std::vector<double> gx_cuda = to_vector<double>(x_cuda.grad());
        ASSERT_EQ(gx_cpu.size(), gx_cuda.size());
        int reported = 0;
        for (std::size_t i = 0; i < gx_cpu.size(); ++i) {
          const double err = std::fabs(gx_cpu[i] - gx_cuda[i]);
          const double allowed = dtype == DType::Float64 ? tol.atol + tol.rtol * std::fabs(gx_cpu[i])
                                                         : 1e-6 + 1e-5 * bound[i] + 8 * 0x1p-24 * m * mass[i];
          if (!(err <= allowed) && reported++ < 5)
            ADD_FAILURE() << "roi_align grad of input 0 element " << i << ": cpu " << gx_cpu[i] << ", cuda "
                          << gx_cuda[i] << ", allowed " << allowed << " (S_i " << bound[i] << ", T_i " << mass[i]
                          << ", M " << m << ")";
        }
      }
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
  for (auto fwd : {CudaRoiAlignForwardAlgorithm::V1, CudaRoiAlignForwardAlgorithm::V2})
    for (auto bwd : kCudaBackwards)
      testing::expect_parity(
          "roi_align_big_grid",
          [&](const std::vector<Tensor>& in) {
            return roi_align(in[0], in[1], {1, 1}, 1.0, 0, false,
                             in[0].device().is_cuda() ? RoiAlignAlgorithms{{}, {fwd, bwd}} : RoiAlignAlgorithms{});
          },
          {x, rois}, Tolerance{1e-4, 1e-5});
}

// Heavily overlapping boxes on two images: many contributions (atomics, for the other versions) per pixel.
std::vector<double> overlapping_rois(int count) {
  std::vector<double> r;
  for (int k = 0; k < count; ++k) {
    const double x1 = (k * 7) % 13, y1 = (k * 5) % 11;
    r.insert(r.end(), {static_cast<double>(k % 2), x1, y1, x1 + 8 + k % 9, y1 + 6 + k % 7});
  }
  return r;
}

TEST(RoiAlignParity, DeterministicBackwardSameBits) {
  ANIMA_REQUIRE_CUDA();
  Generator gen(8);
  Tensor x = device_copy(randn({2, 64, 32, 32}, TensorOptions(DType::Float32), gen), Device::cuda(0));
  Tensor rois =
      device_copy(cast_copy(from_vector<double>(overlapping_rois(300), {300, 5}), DType::Float32), Device::cuda(0));
  Tensor gy = device_copy(randn({300, 64, 7, 7}, TensorOptions(DType::Float32), gen), Device::cuda(0));
  for (auto bwd : {CudaRoiAlignBackwardAlgorithm::Deterministic, CudaRoiAlignBackwardAlgorithm::FixedPoint,
                   CudaRoiAlignBackwardAlgorithm::DeterministicDevicePlan}) {
    SCOPED_TRACE(roi_align_algorithm_name(bwd));
    const RoiAlignAlgorithms det{{}, {CudaRoiAlignForwardAlgorithm::V2, bwd}};
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
}

// The CUDA gather and its CPU implementation read the same tables (the plan built on the host by the
// same code, or on the device by the same per-RoI functions: anima/kernels/roi_align_gather_device_plan.hpp)
// and add in the same order with explicit fma and IEEE division: equal values, both dtypes. (A
// mismatch would mean the device contracted or reordered something the CPU did not.) Three plan
// sources: the rois read back from the device, host_rois given to roi_align, and the device plan
// (CudaDeterministicDevicePlan; with the adaptive grid it falls back to the host plan). Two maps: a
// small one (37x41, 50 channels: partial tiles; the kernel takes one channel per thread) and a larger
// one (128x128, 34 channels: 4 channels per thread, the last tile partial).
template <class T>
void gather_same_as_cpu_gather(DType dtype, std::int64_t C, std::int64_t H, std::int64_t W, double scale) {
  Generator gen(31);
  const std::int64_t K = 300;
  const Tensor rois = cast_copy(from_vector<double>(overlapping_rois(static_cast<int>(K)), {K, 5}), dtype);
  const Tensor gy = randn({K, C, 7, 7}, TensorOptions(dtype), gen);
  for (std::int64_t sampling : {std::int64_t{2}, std::int64_t{0}})
    for (bool aligned : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "C " << C << " H " << H << " W " << W << " sampling " << sampling
                                        << " aligned " << aligned);
      kernels::RoiAlignGeometry g;
      g.batch = 2;
      g.channels = C;
      g.height = H;
      g.width = W;
      g.num_rois = K;
      g.pooled_h = g.pooled_w = 7;
      g.spatial_scale = scale;
      g.sampling_ratio = sampling;
      g.aligned = aligned;
      const std::vector<T> gy_h = to_vector<T>(gy), rois_h = to_vector<T>(rois);
      std::vector<T> expected(static_cast<std::size_t>(2 * C * H * W));
      kernels::cpu::roi_align_backward_gather(gy_h.data(), rois_h.data(), g, expected.data(), default_parallel());
      std::size_t nonzero = 0;
      for (T v : expected) nonzero += v != T(0);
      ASSERT_GT(nonzero, expected.size() / 50) << "the RoIs should cover a good part of the map";
      for (int source = 0; source < 3; ++source) {
        const char* names[] = {"rois read back", "host_rois given", "device plan"};
        SCOPED_TRACE(names[source]);
        Tensor xi = device_copy(zeros({2, C, H, W}, TensorOptions(dtype)), Device::cuda(0));
        xi.set_requires_grad(true);
        const auto bwd = source == 2 ? CudaRoiAlignBackwardAlgorithm::DeterministicDevicePlan
                                     : CudaRoiAlignBackwardAlgorithm::Deterministic;
        backward(roi_align(xi, device_copy(rois, Device::cuda(0)), source == 1 ? rois : Tensor(), {7, 7}, scale,
                           sampling, aligned, RoiAlignAlgorithms{{}, {CudaRoiAlignForwardAlgorithm::V2, bwd}}),
                 device_copy(gy, Device::cuda(0)));
        const std::vector<T> got = to_vector<T>(xi.grad());
        ASSERT_EQ(got.size(), expected.size());
        int reported = 0;
        for (std::size_t i = 0; i < got.size(); ++i)
          if (!(got[i] == expected[i]) && reported++ < 5)
            ADD_FAILURE() << "gx element " << i << ": cuda " << got[i] << ", cpu gather " << expected[i];
      }
    }
}

TEST(RoiAlignParity, GatherSameAsCpuGatherFloat32) {
  ANIMA_REQUIRE_CUDA();
  gather_same_as_cpu_gather<float>(DType::Float32, 50, 37, 41, 0.5);
  gather_same_as_cpu_gather<float>(DType::Float32, 34, 128, 128, 4.0);
}

TEST(RoiAlignParity, GatherSameAsCpuGatherFloat64) {
  ANIMA_REQUIRE_CUDA();
  gather_same_as_cpu_gather<double>(DType::Float64, 50, 37, 41, 0.5);
  gather_same_as_cpu_gather<double>(DType::Float64, 34, 128, 128, 4.0);
}

TEST(RoiAlignParity, InvalidRoisGiveZerosOnCuda) {
  ANIMA_REQUIRE_CUDA();
  Tensor x = device_copy(ones({2, 3, 6, 6}, TensorOptions(DType::Float32)), Device::cuda(0));
  x.set_requires_grad(true);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor rois = device_copy(
      cast_copy(from_vector<double>({5, 1, 1, 4, 4, -1, 1, 1, 4, 4, 0, nan, 1, 4, 4, 1, 1, 1, 4, 4}, {4, 5}),
                DType::Float32),
      Device::cuda(0));
  for (auto fwd : {CudaRoiAlignForwardAlgorithm::V1, CudaRoiAlignForwardAlgorithm::V2})
    for (auto bwd : kCudaBackwards) {
      Tensor xi = detach(x);
      xi.set_requires_grad(true);
      Tensor y = roi_align(xi, rois, {2, 2}, 1.0, 2, false, RoiAlignAlgorithms{{}, {fwd, bwd}});
      const auto v = to_vector<float>(y);
      for (std::size_t i = 0; i < 3 * 3 * 4; ++i) EXPECT_EQ(v[i], 0.0f) << "invalid RoI output " << i;
      for (std::size_t i = 3 * 3 * 4; i < v.size(); ++i) EXPECT_FLOAT_EQ(v[i], 1.0f);
      backward(y, device_copy(ones({4, 3, 2, 2}, TensorOptions(DType::Float32)), Device::cuda(0)));
      const auto g = to_vector<float>(xi.grad());
      double image0 = 0, image1 = 0;
      for (std::size_t i = 0; i < g.size() / 2; ++i) image0 += g[i];
      for (std::size_t i = g.size() / 2; i < g.size(); ++i) image1 += g[i];
      EXPECT_EQ(image0, 0.0);              // only the invalid RoIs pointed at image 0
      EXPECT_NEAR(image1, 3 * 4.0, 1e-4);  // the valid RoI: 3 channels x 4 bins x total weight 1
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
        "roi_pool",
        [&](const std::vector<Tensor>& in) {
          return roi_pool(in[0], in[1], {3, 2}, 0.5);
        },
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
  inputs.push_back(
      cast_copy(from_vector<double>({10, 10, 60, 70, 100, 50, 250, 200, 0, 0, 256, 256}, {3, 4}), DType::Float32));
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
