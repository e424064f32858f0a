// CPU-vs-CUDA parity of conv2d (ConvAlgorithm::Cudnn, ::ImplicitGemm and Auto on CUDA against the
// CPU's Auto) and conv_transpose2d: outputs and the gradients of input, weight and bias, on odd
// shapes (stride > kernel, groups, depthwise, padding 2, dilation 2, batch 1 and > 1, channels not
// a multiple of 8, tiles of the implicit GEMM cut at every edge). Skipped without a CUDA device.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/generator.hpp>
#include <anima/ops/conv.hpp>
#include <anima/ops/factory.hpp>

#include "parity.hpp"

namespace anima {
namespace {

using testing::expect_parity;
using testing::Tolerance;

// float32: each output or gradient is a sum of up to ~1700 products of O(1) randoms (|sum| ~ 40);
// CPU and GPU sum in different orders (and cuDNN may use Winograd/FFT, whose transforms add rounding),
// so elements differ by up to ~1e-5·|terms|·sqrt(K): atol 2e-4 plus rtol 1e-4 covers that with margin.
constexpr Tolerance kConvF32{1e-4, 2e-4};
// float64: the same sums at 2^-52; 1e-9 leaves room for FFT/Winograd transforms.
constexpr Tolerance kConvF64{1e-9, 1e-9};

struct Case {
  const char* name;
  std::int64_t N, C, H, W, O, kh, kw, s, p, d, groups;
};

const std::vector<Case> kCases = {
    {"basic_3x3", 2, 3, 9, 11, 5, 3, 3, 1, 1, 1, 1},
    {"pad2_dil2_stride2", 2, 5, 13, 10, 7, 3, 2, 2, 2, 2, 1},
    {"stride_gt_kernel_groups3", 3, 6, 9, 10, 9, 2, 2, 3, 0, 1, 3},
    {"depthwise_mult2", 2, 6, 9, 7, 12, 3, 3, 2, 1, 1, 6},
    {"depthwise_k5_dil2", 1, 10, 12, 12, 10, 5, 5, 1, 2, 2, 10},
    {"pointwise", 2, 13, 5, 6, 11, 1, 1, 1, 0, 1, 1},
    {"tiles_cut_on_every_edge", 2, 20, 13, 13, 70, 3, 3, 1, 1, 1, 1},  // O/g = 70, N·P = 338, K = 180
    {"resnet_like_7x7_s2", 1, 3, 33, 31, 16, 7, 7, 2, 3, 1, 1},
};

Conv2dOptions options(const Case& c) {
  Conv2dOptions o;
  o.stride = {c.s, c.s};
  o.padding = {c.p, c.p};
  o.dilation = {c.d, c.d};
  o.groups = c.groups;
  return o;
}

std::vector<Tensor> inputs(const Case& c, DType dt, bool with_bias, std::uint64_t seed) {
  Generator g(seed);
  TensorOptions o = TensorOptions(dt).with_requires_grad();
  std::vector<Tensor> v;
  v.reserve(3);
  v.push_back(rand({c.N, c.C, c.H, c.W}, o, g, -1.0, 1.0));
  v.push_back(rand({c.O, c.C / c.groups, c.kh, c.kw}, o, g, -1.0, 1.0));
  if (with_bias) v.push_back(rand({c.O}, o, g, -1.0, 1.0));
  return v;
}

// The CPU side runs Auto (its own im2col / depthwise); the CUDA side runs `alg`.
void check_conv2d(ConvAlgorithm alg, DType dt, Tolerance tol) {
  for (const auto& c : kCases)
    for (bool with_bias : {true, false}) {
      const Conv2dOptions base = options(c);
      auto f = [&](const std::vector<Tensor>& v) {
        Conv2dOptions o = base;
        o.algorithm = v[0].device().is_cuda() ? alg : ConvAlgorithm::Auto;
        return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), o);
      };
      expect_parity(std::string("conv2d ") + conv_algorithm_name(alg) + " " + c.name + (with_bias ? " bias" : ""), f,
                    inputs(c, dt, with_bias, 3), tol);
    }
}

TEST(CudaConvParity, Conv2dCudnn) {
  ANIMA_REQUIRE_CUDA();
  check_conv2d(ConvAlgorithm::Cudnn, DType::Float32, kConvF32);
}

TEST(CudaConvParity, Conv2dAutoIsCudnn) {
  ANIMA_REQUIRE_CUDA();
  check_conv2d(ConvAlgorithm::Auto, DType::Float32, kConvF32);
}

TEST(CudaConvParity, Conv2dImplicitGemm) {  // forward ours; backward on cuDNN
  ANIMA_REQUIRE_CUDA();
  check_conv2d(ConvAlgorithm::ImplicitGemm, DType::Float32, kConvF32);
}

TEST(CudaConvParity, Conv2dFloat64) {
  ANIMA_REQUIRE_CUDA();
  check_conv2d(ConvAlgorithm::Cudnn, DType::Float64, kConvF64);
  check_conv2d(ConvAlgorithm::ImplicitGemm, DType::Float64, kConvF64);
}

TEST(CudaConvParity, ConvTranspose2d) {
  ANIMA_REQUIRE_CUDA();
  struct T {
    const char* name;
    std::int64_t N, Cin, H, W, Cout, k, s, p, op, d, groups;
  };
  const std::vector<T> cases = {
      {"mask_head_k2_s2", 2, 8, 7, 7, 5, 2, 2, 0, 0, 1, 1},
      {"k3_s2_p1_outpad1", 1, 4, 5, 6, 6, 3, 2, 1, 1, 1, 1},
      {"groups2_dil2", 2, 4, 4, 5, 6, 3, 1, 1, 0, 2, 2},
      {"depthwise", 1, 6, 5, 5, 6, 3, 2, 1, 1, 1, 6},
  };
  for (const auto& c : cases)
    for (bool with_bias : {true, false}) {
      ConvTranspose2dOptions o;
      o.stride = {c.s, c.s};
      o.padding = {c.p, c.p};
      o.output_padding = {c.op, c.op};
      o.dilation = {c.d, c.d};
      o.groups = c.groups;
      Generator g(5);
      TensorOptions to = TensorOptions().with_requires_grad();
      std::vector<Tensor> in;  // built by push_back: GCC 12 -Warray-bounds misfires on {a, b} + push_back
      in.reserve(3);
      in.push_back(rand({c.N, c.Cin, c.H, c.W}, to, g, -1.0, 1.0));
      in.push_back(rand({c.Cin, c.Cout / c.groups, c.k, c.k}, to, g, -1.0, 1.0));
      if (with_bias) in.push_back(rand({c.Cout}, to, g, -1.0, 1.0));
      auto f = [&](const std::vector<Tensor>& v) { return conv_transpose2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), o); };
      expect_parity(std::string("conv_transpose2d ") + c.name + (with_bias ? " bias" : ""), f, in, kConvF32);
    }
}

TEST(CudaConvParity, CpuOnlyAlgorithmsAreRejectedOnCuda) {
  ANIMA_REQUIRE_CUDA();
  Tensor x = device_copy(zeros({1, 2, 5, 5}), Device::cuda(0)), w = device_copy(zeros({3, 2, 3, 3}), Device::cuda(0));
  for (ConvAlgorithm a : {ConvAlgorithm::Reference, ConvAlgorithm::Im2colGemm}) {
    Conv2dOptions o;
    o.algorithm = a;
    try {
      conv2d(x, w, Tensor(), o);
      ADD_FAILURE() << "expected an Error for " << conv_algorithm_name(a) << " on CUDA";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("CPU tensors only"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace anima
