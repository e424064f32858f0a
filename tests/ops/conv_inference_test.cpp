// conv2d_prepared (anima/ops/conv_inference.hpp): conv -> batch norm (fixed statistics) -> activation
// folded into one convolution, its weights packed once on the CPU, against the same chain as separate
// ops computed in float64 on the CPU. The prepared op has no backward, so these are forward checks;
// conv2d's own backward is tested in conv_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <anima/kernels/cpu/gemm_packed.hpp>
#include <anima/ops/activation.hpp>
#include <anima/ops/batch_norm.hpp>
#include <anima/ops/conv.hpp>
#include <anima/ops/conv_inference.hpp>

#include "ops/backend_harness.hpp"

namespace anima {
namespace conv_inference_test {

using namespace testing;  // tests/ops/backend_harness.hpp and the helpers it includes

struct FoldCase {
  const char* name;
  std::int64_t N, C, H, W, O, k, s, p, groups;
};

// The shapes the nets run: pointwise, 3x3 (stride 1 and 2), a 7x7 stem, grouped, depthwise (its own
// kernel, no packing), a batch split over the threads, and tiles cut on every edge of the GEMM
// (O = 70: not a multiple of any micro-tile height; K = 20·9 = 180).
const std::vector<FoldCase> kFoldCases = {
    {"pointwise", 2, 13, 5, 6, 11, 1, 1, 0, 1},
    {"3x3_s1", 1, 8, 9, 7, 12, 3, 1, 1, 1},
    {"3x3_s2", 3, 6, 11, 10, 9, 3, 2, 1, 1},
    {"stem_7x7_s2", 1, 3, 33, 31, 16, 7, 2, 3, 1},
    {"groups2", 1, 8, 9, 9, 10, 3, 1, 1, 2},
    {"depthwise", 2, 6, 9, 7, 6, 3, 1, 1, 6},
    {"batch_split_over_threads", 5, 17, 15, 13, 19, 3, 1, 1, 1},
    {"tiles_cut_on_every_edge", 2, 20, 13, 13, 70, 3, 1, 1, 1},
};

Conv2dOptions fold_options(const FoldCase& c) {
  Conv2dOptions o;
  o.stride = {c.s, c.s};
  o.padding = {c.p, c.p};
  o.groups = c.groups;
  return o;
}

struct Inputs {
  Tensor x, w, b, gamma, beta, mean, var;
};

Inputs inputs_of(const FoldCase& c, DType dt, std::uint64_t seed) {
  Inputs in;
  in.x = uniform({c.N, c.C, c.H, c.W}, seed, -1, 1, dt, false);
  in.w = uniform({c.O, c.C / c.groups, c.k, c.k}, seed + 1, -1, 1, dt, false);
  in.b = uniform({c.O}, seed + 2, -1, 1, dt, false);
  in.gamma = uniform({c.O}, seed + 3, 0.5, 2, dt, false);
  in.beta = uniform({c.O}, seed + 4, -1, 1, dt, false);
  in.mean = uniform({c.O}, seed + 5, -1, 1, dt, false);
  in.var = uniform({c.O}, seed + 6, 0.1, 3, dt, false);
  return in;
}

constexpr double kEps = 1e-5;

// The per-channel scale and shift of the norm, as nn/conv_norm_act.hpp computes them.
void scale_shift(const Inputs& in, Tensor& scale, Tensor& shift) {
  scale = mul(in.gamma, div(ones_like(in.var), sqrt(add(in.var, kEps))));
  shift = sub(in.beta, mul(in.mean, scale));
}

// act(norm(conv(x))) as separate ops, float64, CPU.
Tensor chain_reference(const FoldCase& c, const Inputs& in, bool bias, bool norm, ConvActivation act) {
  auto f64 = [](const Tensor& t) { return cast_copy(t, DType::Float64); };
  Tensor y = conv2d(f64(in.x), f64(in.w), bias ? f64(in.b) : Tensor(), fold_options(c));
  if (norm) y = batch_norm2d(y, f64(in.gamma), f64(in.beta), f64(in.mean), f64(in.var), false, 0.1, kEps);
  if (act == ConvActivation::Relu) y = relu(y);
  if (act == ConvActivation::Relu6) y = relu6(y);
  return y;
}

// float32: the conv's own tolerance (conv_test.cpp: 2e-5 CPU, 1e-4 CUDA) doubled, for the extra rounding
// of each folded weight w·scale (one float32 rounding per product, relative 6e-8, summed over K <= 588
// products of the same magnitude as the output's scale). float64: 1e-12 on both, the same argument.
Tolerance fold_tolerance(DType dt, Device d) {
  if (dt == DType::Float64) return {d.is_cuda() ? 1e-9 : 1e-12};
  return {d.is_cuda() ? 2e-4 : 4e-5};
}

ANIMA_BACKEND_SUITE(Conv2dPrepared);

TEST_P(Conv2dPrepared, MatchesConvNormActivationChain) {
  NoGradGuard no_grad;
  for (const auto& c : kFoldCases)
    for (DType dt : {DType::Float64, DType::Float32})
      for (bool bias : {true, false})
        for (bool norm : {true, false})
          for (ConvActivation act : {ConvActivation::None, ConvActivation::Relu, ConvActivation::Relu6}) {
            const Inputs in = inputs_of(c, dt, 11);
            Tensor scale, shift;
            if (norm) scale_shift(in, scale, shift);
            const PreparedConv2d prep =
                prepare_conv2d(to_backend(in.w), bias ? to_backend(in.b) : Tensor(), fold_options(c),
                               norm ? to_backend(scale) : Tensor(), norm ? to_backend(shift) : Tensor(), act);
            const Tensor got = conv2d_prepared(to_backend(in.x), prep);
            expect_close(std::string(c.name) + " " + dtype_name(dt) + (bias ? " bias" : "") + (norm ? " norm" : "") +
                             " " + kernels::conv_activation_name(act),
                         got, chain_reference(c, in, bias, norm, act), fold_tolerance(dt, device()));
          }
}

// ReLU6 clamps at both ends and a NaN stays NaN (as relu / relu6): weights 0 and bias b give the
// output b exactly, clamped.
TEST_P(Conv2dPrepared, ActivationClampsAndKeepsNaN) {
  NoGradGuard no_grad;
  const Tensor x = to_backend(uniform({1, 2, 3, 3}, 1, -1, 1, DType::Float32));
  const Tensor w = zeros({4, 2, 1, 1}, options());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor b = to_backend(from_vector<float>({-2.f, 3.f, 9.f, nan}, {4}));
  const std::vector<float> expect_relu = {0.f, 3.f, 9.f, nan}, expect_relu6 = {0.f, 3.f, 6.f, nan};
  for (ConvActivation act : {ConvActivation::Relu, ConvActivation::Relu6}) {
    const Tensor y = conv2d_prepared(x, prepare_conv2d(w, b, Conv2dOptions(), Tensor(), Tensor(), act));
    const std::vector<float> v = to_vector<float>(y);
    const std::vector<float>& e = act == ConvActivation::Relu ? expect_relu : expect_relu6;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::size_t o = i / 9;
      if (std::isnan(e[o])) {
        EXPECT_TRUE(std::isnan(v[i])) << kernels::conv_activation_name(act) << " channel " << o;
      } else {
        EXPECT_EQ(v[i], e[o]) << kernels::conv_activation_name(act) << " channel " << o;
      }
    }
  }
}

TEST_P(Conv2dPrepared, Errors) {
  const FoldCase c = kFoldCases[1];
  const Inputs in = inputs_of(c, DType::Float32, 3);
  const PreparedConv2d prep = prepare_conv2d(to_backend(in.w), Tensor(), fold_options(c), Tensor(), Tensor());
  expect_error([&] { conv2d_prepared(to_backend(in.x), PreparedConv2d()); }, {"conv2d_prepared", "not prepared"});
  Tensor needs_grad = to_backend(in.x);
  needs_grad.set_requires_grad(true);
  expect_error([&] { conv2d_prepared(needs_grad, prep); }, {"conv2d_prepared", "requires grad", "no backward"});
  expect_error([&] { conv2d_prepared(to_backend(uniform({1, 5, 9, 7}, 1, -1, 1, DType::Float32, false)), prep); },
               {"conv2d_prepared", "[1, 5, 9, 7]", "expects 8"});
  expect_error([&] { conv2d_prepared(to_backend(cast_copy(in.x, DType::Float64)), prep); },
               {"conv2d_prepared", "float64", "float32"});
  expect_error([&] { conv2d_prepared(to_backend(zeros({8, 9, 7}, TensorOptions())), prep); },
               {"conv2d_prepared", "4-D", "[8, 9, 7]"});
  expect_error([&] { prepare_conv2d(to_backend(in.w), to_backend(zeros({3}, TensorOptions())), fold_options(c), Tensor(), Tensor()); },
               {"prepare_conv2d", "[12]", "[3]"});
  expect_error([&] { prepare_conv2d(to_backend(in.w), Tensor(), fold_options(c), to_backend(in.gamma), Tensor()); },
               {"prepare_conv2d", "both"});
}

// CPU only (the packing is the CPU GEMM's). For each micro-kernel: without a norm the prepared conv is
// bitwise conv2d (the packed weights are the values the GEMM would pack itself); once another micro-kernel
// is selected, the packed weights are refused with a message saying what to do.
TEST(Conv2dPreparedCpu, PackedForAnotherGemmIsRefusedAndPreparedAgainMatchesConv2d) {
  using kernels::cpu::GemmIsa;
  NoGradGuard no_grad;
  const FoldCase c = kFoldCases[7];
  const Inputs in = inputs_of(c, DType::Float32, 5);
  for (GemmIsa isa : {GemmIsa::avx512f, GemmIsa::avx2_fma, GemmIsa::portable}) {
    if (!kernels::cpu::gemm_packed_force_isa(isa)) continue;
    const PreparedConv2d prep = prepare_conv2d(in.w, in.b, fold_options(c), Tensor(), Tensor());
    ASSERT_TRUE(prep.packed.defined()) << "the im2col algorithm packs its weights";
    const Tensor got = conv2d_prepared(in.x, prep);
    const Tensor plain = conv2d(in.x, in.w, in.b, fold_options(c));
    EXPECT_EQ(to_vector<float>(got), to_vector<float>(plain)) << kernels::cpu::gemm_packed_isa();
    const GemmIsa other = isa == GemmIsa::portable ? GemmIsa::avx2_fma : GemmIsa::portable;
    if (kernels::cpu::gemm_packed_force_isa(other))
      expect_error([&] { conv2d_prepared(in.x, prep); }, {"conv2d_prepared", "packed for", "prepare the convolution again"});
  }
  kernels::cpu::gemm_packed_force_isa(GemmIsa::automatic);
}

}  // namespace conv_inference_test
}  // namespace anima
