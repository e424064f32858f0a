// conv2d / conv_transpose2d (anima/ops/conv.hpp) on every backend: each algorithm of the backend
// (CPU: Reference loops, im2col + packed GEMM, direct depthwise, Auto; CUDA: cuDNN, our implicit GEMM,
// Auto) against the float64 CPU loop reference on odd shapes (stride > kernel, groups, depthwise,
// padding 2, dilation 2, batch 1 and > 1, channels not a multiple of 8, pointwise, kernel == padded
// input, tiles of the implicit GEMM cut at every edge), forward and both backward passes, in float64
// and float32; a small example by hand; conv_transpose2d against an independent scatter loop and as
// the adjoint of conv2d; float64 gradcheck of every differentiable input for every algorithm; an empty
// batch; argument and device errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <anima/ops/conv.hpp>
#include <anima/ops/view.hpp>

#include "ops/backend_harness.hpp"

namespace anima {
namespace {

using namespace testing;  // tests/ops/backend_harness.hpp and the helpers it includes

struct ConvCase {
  const char* name;
  std::int64_t N, C, H, W, O, kh, kw, s, p, d, groups;
  bool gradcheck = false;  // small enough for central differences over every element
};

const std::vector<ConvCase> kCases = {
    {"basic_3x3", 1, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1},
    {"basic_3x3_batch2", 2, 3, 9, 11, 5, 3, 3, 1, 1, 1, 1},
    {"pad2_dil2_stride2", 2, 5, 11, 8, 7, 3, 2, 2, 2, 2, 1},
    {"pad2_dil2_stride2_13x10", 2, 5, 13, 10, 7, 3, 2, 2, 2, 2, 1},
    {"stride_gt_kernel_groups3", 3, 6, 9, 10, 9, 2, 2, 3, 0, 1, 3},
    {"depthwise_mult2", 2, 6, 9, 7, 12, 3, 3, 2, 1, 1, 6},
    {"depthwise_k5_dil2", 1, 10, 8, 8, 10, 5, 5, 1, 2, 2, 10},
    {"depthwise_k5_dil2_12x12", 1, 10, 12, 12, 10, 5, 5, 1, 2, 2, 10},
    {"depthwise_3x3_s1", 3, 5, 7, 6, 5, 3, 3, 1, 1, 1, 5},
    {"depthwise_3x3_s2_pad2_narrow", 2, 4, 5, 2, 8, 3, 3, 2, 2, 1, 4},  // W = 2: no interior column
    {"pointwise", 2, 13, 5, 6, 11, 1, 1, 1, 0, 1, 1},
    {"pointwise_stride2", 1, 9, 7, 7, 4, 1, 1, 2, 0, 1, 1},
    {"kernel_equals_padded_input", 1, 2, 3, 4, 3, 5, 6, 1, 1, 1, 1},
    {"batch_split_over_threads", 5, 17, 15, 13, 19, 3, 3, 1, 1, 1, 1},
    {"groups2_batch1_threaded_gemm", 1, 18, 20, 21, 22, 3, 3, 1, 1, 1, 2},
    {"tiles_cut_on_every_edge", 2, 20, 13, 13, 70, 3, 3, 1, 1, 1, 1},  // O/g = 70, N·P = 338, K = 180
    {"resnet_like_7x7_s2", 1, 3, 33, 31, 16, 7, 7, 2, 3, 1, 1},
    {"small_basic", 2, 3, 5, 4, 4, 3, 2, 1, 1, 1, 1, true},
    {"small_s2_d2_p2_g2", 1, 4, 7, 6, 6, 3, 3, 2, 2, 2, 2, true},
    {"small_pointwise", 2, 3, 3, 4, 5, 1, 1, 1, 0, 1, 1, true},
    {"small_depthwise", 2, 3, 6, 5, 6, 3, 3, 2, 1, 1, 3, true},
    {"small_depthwise_d2", 1, 4, 6, 6, 4, 3, 3, 1, 2, 2, 4, true},
    {"small_depthwise_3x3_s1", 2, 3, 5, 6, 3, 3, 3, 1, 1, 1, 3, true},
};

// One algorithm of one backend, with its name for the failure messages.
struct ConvChoice {
  std::string name;
  ConvAlgorithms algorithms;
};

const ConvAlgorithms kReference{CpuConvAlgorithm::Reference, CudaConvAlgorithm::Auto};

Conv2dOptions options_of(const ConvCase& c, const ConvAlgorithms& a) {
  Conv2dOptions o;
  o.stride = {c.s, c.s};
  o.padding = {c.p, c.p};
  o.dilation = {c.d, c.d};
  o.groups = c.groups;
  o.algorithms = a;
  return o;
}

bool is_depthwise(const ConvCase& c) { return c.groups == c.C && c.groups > 1 && c.O % c.C == 0; }

// The algorithms a backend offers for a case.
std::vector<ConvChoice> algorithms_for(Device d, const ConvCase& c) {
  std::vector<ConvChoice> v;
  if (d.is_cuda()) {
    for (CudaConvAlgorithm a : {CudaConvAlgorithm::Auto, CudaConvAlgorithm::Cudnn, CudaConvAlgorithm::ImplicitGemm})
      v.push_back({std::string("cuda ") + conv_algorithm_name(a), ConvAlgorithms{CpuConvAlgorithm::Auto, a}});
    return v;
  }
  for (CpuConvAlgorithm a :
       {CpuConvAlgorithm::Auto, CpuConvAlgorithm::Reference, CpuConvAlgorithm::Im2colGemm, CpuConvAlgorithm::Depthwise})
    if (a != CpuConvAlgorithm::Depthwise || is_depthwise(c))
      v.push_back({std::string("cpu ") + conv_algorithm_name(a), ConvAlgorithms{a, CudaConvAlgorithm::Auto}});
  return v;
}

// Tolerances against the float64 reference loops. Every CPU algorithm and our implicit GEMM only
// reassociate the sums; on CUDA cuDNN (Cudnn, Auto, and the backward of ImplicitGemm) may pick FFT or
// Winograd, whose transforms add rounding of their own.
//  - float64: sums of up to ~1700 products at 2^-53 agree to ~1e-13 of the scale: 1e-12; the
//    transforms: 1e-9.
//  - float32: the same sums at 2^-24 (~K·2^-24·|terms|/|scale| with K <= 1700): 2e-5; the transforms
//    lose up to ~5x more: 1e-4.
Tolerance conv_tolerance(DType dt, Device d) {
  if (dt == DType::Float64) return {d.is_cuda() ? 1e-9 : 1e-12};
  return {d.is_cuda() ? 1e-4 : 2e-5};
}

std::vector<Tensor> conv_inputs(const ConvCase& c, DType dt, bool with_bias, std::uint64_t seed) {
  std::vector<Tensor> v;  // built by push_back: GCC 12 -Warray-bounds misfires on {a, b} + push_back
  v.reserve(3);
  v.push_back(uniform({c.N, c.C, c.H, c.W}, seed, -1, 1, dt));
  v.push_back(uniform({c.O, c.C / c.groups, c.kh, c.kw}, seed + 1, -1, 1, dt));
  if (with_bias) v.push_back(uniform({c.O}, seed + 2, -1, 1, dt));
  return v;
}

ANIMA_BACKEND_SUITE(Conv2d);

TEST_P(Conv2d, OutputShape) {
  Tensor x = zeros({2, 4, 13, 10}, options()), w = zeros({6, 2, 3, 2}, options());
  Conv2dOptions o;
  o.stride = {2, 3};
  o.padding = {1, 2};
  o.dilation = {2, 1};
  o.groups = 2;
  // Ho = (13 + 2 - 2·2 - 1)/2 + 1 = 6, Wo = (10 + 4 - 1 - 1)/3 + 1 = 5
  EXPECT_EQ(conv2d(x, w, Tensor(), o).shape(), (Shape{2, 6, 6, 5}));
}

TEST_P(Conv2d, SmallExampleByHand) {
  // x = 1..9 as 3x3, w = [[1, 0], [0, -1]]: y[i][j] = x[i][j] - x[i+1][j+1] = -4 everywhere, + bias 0.5.
  // Sums of small integers are exact in any order; a transform-based cuDNN algorithm may round.
  Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}, options(DType::Float64));
  Tensor w = from_vector<double>({1, 0, 0, -1}, {1, 1, 2, 2}, options(DType::Float64));
  Tensor b = from_vector<double>({0.5}, {1}, options(DType::Float64));
  const ConvCase c{"by_hand", 1, 1, 3, 3, 1, 2, 2, 1, 0, 1, 1};
  for (const ConvChoice& a : algorithms_for(device(), c)) {
    const auto y = to_vector<double>(conv2d(x, w, b, options_of(c, a.algorithms)));
    ASSERT_EQ(y.size(), 4u) << a.name;
    for (double v : y) EXPECT_NEAR(v, -3.5, on_cpu() ? 0.0 : 1e-12) << a.name;
  }
}

// Every algorithm of the backend, forward and the gradients of input, weight and bias, against the
// CPU loops (CpuConvAlgorithm::Reference) in float64.
TEST_P(Conv2d, EveryAlgorithmMatchesFloat64Reference) {
  for (const auto& c : kCases)
    for (DType dt : {DType::Float64, DType::Float32})
      for (bool with_bias : {true, false})
        for (const ConvChoice& a : algorithms_for(device(), c)) {
          auto f = [&](const std::vector<Tensor>& v) {
            return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), options_of(c, a.algorithms));
          };
          auto reference = [&](const std::vector<Tensor>& v) {
            return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), options_of(c, kReference));
          };
          expect_matches_reference(
              std::string(c.name) + " " + a.name + " " + dtype_name(dt) + (with_bias ? " bias" : ""), f, reference,
              conv_inputs(c, dt, with_bias, 3), conv_tolerance(dt, device()));
        }
}

TEST_P(Conv2d, NonContiguousInputAndNoBias) {
  Conv2dOptions o;
  o.padding = {1, 1};
  const Tensor x = uniform({2, 7, 6, 3}, 5, -1, 1, DType::Float64);  // read as [2, 3, 7, 6] via permute
  const Tensor w = uniform({4, 3, 3, 3}, 6, -1, 1, DType::Float64);
  expect_matches_reference(
      "permuted",
      [&](auto& in) {
        return conv2d(permute(in[0], {0, 3, 1, 2}), in[1], Tensor(), o);
      },
      [&](auto& in) {
        Conv2dOptions r = o;
        r.algorithms = kReference;
        return conv2d(contiguous(permute(in[0], {0, 3, 1, 2})), in[1], Tensor(), r);
      },
      {x, w}, conv_tolerance(DType::Float64, device()));
}

TEST_P(Conv2d, GradcheckEveryAlgorithm) {
  // The small float64 cases; conv is bilinear, so central differences are exact up to rounding.
  for (const auto& c : kCases) {
    if (!c.gradcheck) continue;
    for (const ConvChoice& a : algorithms_for(device(), c))
      for (bool with_bias : {true, false}) {
        const std::vector<Tensor> in = conv_inputs(c, DType::Float64, with_bias, 7);
        const Conv2dOptions opts = options_of(c, a.algorithms);
        const std::string what = std::string(c.name) + " " + a.name + (with_bias ? " with bias" : " without bias");
        expect_gradcheck(
            what,
            [&](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), opts); }, in);
      }
  }
}

TEST_P(Conv2d, EmptyBatch) {
  Tensor x = zeros({0, 3, 5, 5}, options(DType::Float64).with_requires_grad());
  Tensor w = ones({2, 3, 3, 3}, options(DType::Float64).with_requires_grad());
  Tensor y = conv2d(x, w);
  EXPECT_EQ(y.shape(), (Shape{0, 2, 3, 3}));
  backward(y, zeros(y.shape(), options(DType::Float64)));
  EXPECT_EQ(to_vector<double>(w.grad()), std::vector<double>(54, 0.0));
}

TEST_P(Conv2d, Errors) {
  const TensorOptions o = options();
  const Tensor x = zeros({2, 3, 8, 8}, o), w = zeros({4, 3, 3, 3}, o);
  expect_error(
      [&] {
        conv2d(zeros({2, 3, 8, 8}, o), zeros({4, 5, 3, 3}, o));
      },
      {"anima::conv2d", "[2, 3, 8, 8]", "[4, 5, 3, 3]", "expects 5"});
  expect_error(
      [&] {
        conv2d(zeros({1, 3, 4, 4}, o), zeros({2, 3, 7, 3}, o));
      },
      {"anima::conv2d", "larger than the padded input"});
  expect_error(
      [&] {
        Conv2dOptions c;
        c.dilation = {3, 1};
        conv2d(zeros({1, 3, 6, 6}, o), zeros({2, 3, 3, 3}, o), Tensor(), c);  // dilated kernel 7 > 6
      },
      {"anima::conv2d", "dilated 7x3"});
  expect_error(
      [&] {
        Conv2dOptions c;
        c.stride = {0, 1};
        conv2d(x, w, Tensor(), c);
      },
      {"anima::conv2d", "stride"});
  expect_error(
      [&] {
        Conv2dOptions c;
        c.stride = {1, -2};
        conv2d(x, w, Tensor(), c);
      },
      {"anima::conv2d", "stride"});
  expect_error(
      [&] {
        Conv2dOptions c;
        c.dilation = {0, 1};
        conv2d(x, w, Tensor(), c);
      },
      {"anima::conv2d", "dilation"});
  expect_error(
      [&] {
        Conv2dOptions c;
        c.padding = {-1, 0};
        conv2d(x, w, Tensor(), c);
      },
      {"anima::conv2d", "padding"});
  expect_error(
      [&] {
        Conv2dOptions c;
        c.groups = 0;
        conv2d(x, w, Tensor(), c);
      },
      {"anima::conv2d", "groups"});
  expect_error(
      [&] {
        Conv2dOptions c;
        c.groups = 2;
        conv2d(zeros({1, 3, 5, 5}, o), zeros({4, 1, 3, 3}, o), Tensor(), c);
      },
      {"anima::conv2d", "groups = 2", "3 channels"});
  expect_error(
      [&] {
        Conv2dOptions c;
        c.groups = 2;
        conv2d(zeros({1, 4, 5, 5}, o), zeros({3, 2, 3, 3}, o), Tensor(), c);
      },
      {"anima::conv2d", "groups = 2", "[3, 2, 3, 3]"});
  expect_error([&] { conv2d(zeros({3, 8, 8}, o), w); }, {"anima::conv2d", "4-D", "[3, 8, 8]"});
  expect_error([&] { conv2d(x, zeros({4, 3, 3}, o)); }, {"anima::conv2d", "4-D", "[4, 3, 3]"});
  expect_error(
      [&] {
        conv2d(x, zeros({4, 3, 3, 3}, options(DType::Float64)));
      },
      {"anima::conv2d", "float32", "float64"});
  expect_error([&] { conv2d(x, w, zeros({5}, o)); }, {"anima::conv2d", "bias", "[5]"});
  expect_error([&] { conv2d(x, w, zeros({4}, options(DType::Float64))); }, {"anima::conv2d", "bias"});
  if (on_cpu())
    expect_error(
        [&] {
          Conv2dOptions c;
          c.algorithms.cpu = CpuConvAlgorithm::Depthwise;
          conv2d(x, w, Tensor(), c);
        },
        {"anima::conv2d", "Depthwise", "groups"});
  expect_error(
      [&] {
        conv2d(zeros({2, 3, 8, 8}, options(DType::Int64)), zeros({4, 3, 3, 3}, options(DType::Int64)));
      },
      {"anima::conv2d", "float32 or float64"});
}

// A backend runs its own field of ConvAlgorithms and ignores the other backend's: a CPU-only choice
// that does not fit the geometry (Depthwise on a dense conv) does not stop a CUDA conv, and a CUDA
// choice does not change what the CPU runs.
TEST_P(Conv2d, EachBackendReadsOnlyItsOwnChoice) {
  const ConvCase c{"dense", 1, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1};
  const std::vector<Tensor> in = conv_inputs(c, DType::Float64, true, 11);
  const ConvAlgorithms other = on_cpu() ? ConvAlgorithms{CpuConvAlgorithm::Auto, CudaConvAlgorithm::ImplicitGemm}
                                        : ConvAlgorithms{CpuConvAlgorithm::Depthwise, CudaConvAlgorithm::Auto};
  expect_matches_reference(
      "other backend's choice set",
      [&](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], v[2], options_of(c, other)); },
      [&](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], v[2], options_of(c, kReference)); }, in,
      conv_tolerance(DType::Float64, device()));
}

TEST(ConvAlgorithms, SupportsStatesTheGeometryLimits) {
  kernels::Conv2dGeometry dense, depthwise;
  dense.C = 4, dense.O = 8, dense.groups = 1;
  depthwise.C = 4, depthwise.O = 8, depthwise.groups = 4;
  for (CpuConvAlgorithm a : {CpuConvAlgorithm::Auto, CpuConvAlgorithm::Reference, CpuConvAlgorithm::Im2colGemm}) {
    EXPECT_TRUE(conv_supports(a, dense)) << conv_algorithm_name(a);
    EXPECT_TRUE(conv_supports(a, depthwise)) << conv_algorithm_name(a);
  }
  EXPECT_FALSE(conv_supports(CpuConvAlgorithm::Depthwise, dense));
  EXPECT_TRUE(conv_supports(CpuConvAlgorithm::Depthwise, depthwise));
  for (CudaConvAlgorithm a : {CudaConvAlgorithm::Auto, CudaConvAlgorithm::Cudnn, CudaConvAlgorithm::ImplicitGemm})
    EXPECT_TRUE(conv_supports(a, dense)) << conv_algorithm_name(a);
}

TEST_P(Conv2d, WrongDeviceFailsBeforeTouchingMemory) {
  // A tensor on the other device (on the CPU instance: a CUDA view of host memory that must never be
  // read): the device check comes first.
  const Tensor x_elsewhere = foreign({2, 3, 8, 8});
  expect_error([&] { conv2d(x_elsewhere, zeros({4, 3, 3, 3}, options())); }, {"anima::conv2d", "cuda:0", "cpu"});
  const Tensor b_elsewhere = foreign({4});
  expect_error(
      [&] {
        conv2d(zeros({2, 3, 8, 8}, options()), zeros({4, 3, 3, 3}, options()), b_elsewhere);
      },
      {"anima::conv2d", "bias", "cuda:0"});
  expect_error(
      [&] {
        conv_transpose2d(x_elsewhere, zeros({3, 4, 3, 3}, options()));
      },
      {"anima::conv_transpose2d", "cuda:0"});
}

struct TransposeCase {
  const char* name;
  std::int64_t N, Cin, H, W, Cout, kh, kw, s, p, op, d, groups;
};

const std::vector<TransposeCase> kTransposeCases = {
    {"mask_head_k2_s2", 2, 5, 4, 3, 3, 2, 2, 2, 0, 0, 1, 1},
    {"mask_head_k2_s2_8ch", 2, 8, 7, 7, 5, 2, 2, 2, 0, 0, 1, 1},
    {"k3_s2_p1_outpad1", 1, 4, 5, 6, 6, 3, 3, 2, 1, 1, 1, 1},
    {"groups2_dil2", 2, 4, 4, 5, 6, 3, 2, 1, 1, 0, 2, 2},
    {"groups2_dil2_square", 2, 4, 4, 5, 6, 3, 3, 1, 1, 0, 2, 2},
    {"depthwise", 1, 6, 5, 5, 6, 3, 3, 2, 1, 1, 1, 6},
    {"stride3_k2_outpad2", 1, 3, 3, 4, 2, 2, 2, 3, 0, 2, 1, 1},
};

ConvTranspose2dOptions transpose_options(const TransposeCase& c) {
  ConvTranspose2dOptions o;
  o.stride = {c.s, c.s};
  o.padding = {c.p, c.p};
  o.output_padding = {c.op, c.op};
  o.dilation = {c.d, c.d};
  o.groups = c.groups;
  return o;
}

std::vector<Tensor> transpose_inputs(const TransposeCase& c, DType dt, bool with_bias, std::uint64_t seed) {
  std::vector<Tensor> v;
  v.reserve(3);
  v.push_back(uniform({c.N, c.Cin, c.H, c.W}, seed, -1, 1, dt));
  v.push_back(uniform({c.Cin, c.Cout / c.groups, c.kh, c.kw}, seed + 1, -1, 1, dt));
  if (with_bias) v.push_back(uniform({c.Cout}, seed + 2, -1, 1, dt));
  return v;
}

// Independent definition: every input pixel scatters its weighted kernel into the output.
std::vector<double> transpose_scatter(const TransposeCase& c, const std::vector<double>& x,
                                      const std::vector<double>& w, const std::vector<double>& b, std::int64_t Ho,
                                      std::int64_t Wo) {
  std::vector<double> y(static_cast<std::size_t>(c.N * c.Cout * Ho * Wo), 0.0);
  const std::int64_t cin_g = c.Cin / c.groups, cout_g = c.Cout / c.groups;
  for (std::int64_t n = 0; n < c.N; ++n)
    for (std::int64_t co = 0; co < c.Cout; ++co)
      for (std::int64_t e = 0; e < Ho * Wo; ++e) y[static_cast<std::size_t>((n * c.Cout + co) * Ho * Wo + e)] = b[co];
  for (std::int64_t n = 0; n < c.N; ++n)
    for (std::int64_t ci = 0; ci < c.Cin; ++ci)
      for (std::int64_t ih = 0; ih < c.H; ++ih)
        for (std::int64_t iw = 0; iw < c.W; ++iw)
          for (std::int64_t cog = 0; cog < cout_g; ++cog)
            for (std::int64_t i = 0; i < c.kh; ++i)
              for (std::int64_t j = 0; j < c.kw; ++j) {
                const std::int64_t oh = ih * c.s - c.p + i * c.d, ow = iw * c.s - c.p + j * c.d;
                if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
                const std::int64_t co = (ci / cin_g) * cout_g + cog;
                y[static_cast<std::size_t>(((n * c.Cout + co) * Ho + oh) * Wo + ow)] +=
                    x[static_cast<std::size_t>(((n * c.Cin + ci) * c.H + ih) * c.W + iw)] *
                    w[static_cast<std::size_t>(((ci * cout_g + cog) * c.kh + i) * c.kw + j)];
              }
  return y;
}

ANIMA_BACKEND_SUITE(ConvTranspose2d);

TEST_P(ConvTranspose2d, MatchesScatterDefinition) {
  // float64, absolute: the same products summed in another order (1e-12); cuDNN may transform (1e-9).
  const double tol = on_cpu() ? 1e-12 : 1e-9;
  for (const auto& c : kTransposeCases) {
    const std::vector<Tensor> in = transpose_inputs(c, DType::Float64, true, 11);
    Tensor y = conv_transpose2d(to_backend(in[0]), to_backend(in[1]), to_backend(in[2]), transpose_options(c));
    const std::int64_t Ho = (c.H - 1) * c.s - 2 * c.p + c.d * (c.kh - 1) + c.op + 1;
    const std::int64_t Wo = (c.W - 1) * c.s - 2 * c.p + c.d * (c.kw - 1) + c.op + 1;
    ASSERT_EQ(y.shape(), (Shape{c.N, c.Cout, Ho, Wo})) << c.name;
    const auto expect =
        transpose_scatter(c, to_vector<double>(in[0]), to_vector<double>(in[1]), to_vector<double>(in[2]), Ho, Wo);
    const auto got = to_vector<double>(y);
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expect[i], tol) << c.name << " element " << i;
  }
}

TEST_P(ConvTranspose2d, MatchesFloat64Reference) {
  for (const auto& c : kTransposeCases)
    for (DType dt : {DType::Float64, DType::Float32})
      for (bool with_bias : {true, false}) {
        const ConvTranspose2dOptions o = transpose_options(c);
        expect_matches_reference(
            std::string(c.name) + " " + dtype_name(dt) + (with_bias ? " bias" : ""),
            [&](const std::vector<Tensor>& v) {
              return conv_transpose2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), o);
            },
            transpose_inputs(c, dt, with_bias, 5), conv_tolerance(dt, device()));
      }
}

TEST_P(ConvTranspose2d, Gradcheck) {
  for (const auto& c : kTransposeCases)
    for (bool with_bias : {true, false}) {
      const ConvTranspose2dOptions opts = transpose_options(c);
      expect_gradcheck(
          std::string(c.name) + (with_bias ? " with bias" : " without bias"),
          [&](const std::vector<Tensor>& v) {
            return conv_transpose2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), opts);
          },
          transpose_inputs(c, DType::Float64, with_bias, 13));
    }
}

// conv_transpose2d is the adjoint of conv2d: <conv2d(a, w), b> == <a, conv_transpose2d(b, w)>.
TEST_P(ConvTranspose2d, IsAdjointOfConv2d) {
  const Tensor a = to_backend(uniform({2, 6, 9, 8}, 17, -1, 1, DType::Float64, false));
  const Tensor w = to_backend(uniform({4, 3, 3, 3}, 18, -1, 1, DType::Float64, false));
  Conv2dOptions co;
  co.stride = {2, 2};
  co.padding = {1, 1};
  co.groups = 2;
  Tensor ya = conv2d(a, w, Tensor(), co);  // [2, 4, 5, 4]
  Tensor bb = to_backend(uniform(ya.shape(), 19, -1, 1, DType::Float64, false));
  ConvTranspose2dOptions to;
  to.stride = {2, 2};
  to.padding = {1, 1};
  to.output_padding = {0, 1};  // (5-1)·2 − 2 + 2 + 1 = 9, (4-1)·2 − 2 + 2 + 1 + 1 = 8
  to.groups = 2;
  Tensor tb = conv_transpose2d(bb, w, Tensor(), to);
  ASSERT_EQ(tb.shape(), a.shape());
  const auto va = to_vector<double>(a), vt = to_vector<double>(tb), vy = to_vector<double>(ya),
             vb = to_vector<double>(bb);
  double lhs = 0, rhs = 0;
  for (std::size_t i = 0; i < vy.size(); ++i) lhs += vy[i] * vb[i];
  for (std::size_t i = 0; i < va.size(); ++i) rhs += va[i] * vt[i];
  EXPECT_NEAR(lhs, rhs, 1e-9 * std::fabs(lhs));
}

TEST_P(ConvTranspose2d, Errors) {
  const TensorOptions o = options();
  expect_error(
      [&] {
        conv_transpose2d(zeros({1, 3, 4, 4}, o), zeros({4, 2, 2, 2}, o));
      },
      {"anima::conv_transpose2d", "[1, 3, 4, 4]", "[4, 2, 2, 2]"});
  expect_error(
      [&] {
        ConvTranspose2dOptions c;
        c.stride = {2, 2};
        c.output_padding = {2, 0};
        conv_transpose2d(zeros({1, 3, 4, 4}, o), zeros({3, 2, 2, 2}, o), Tensor(), c);
      },
      {"anima::conv_transpose2d", "output_padding"});
  expect_error(
      [&] {
        ConvTranspose2dOptions c;
        c.padding = {3, 3};
        conv_transpose2d(zeros({1, 3, 2, 2}, o), zeros({3, 2, 2, 2}, o), Tensor(), c);  // (2-1) - 6 + 1 + 1 < 1
      },
      {"anima::conv_transpose2d", "not positive"});
  expect_error(
      [&] {
        ConvTranspose2dOptions c;
        c.groups = 2;
        conv_transpose2d(zeros({1, 3, 4, 4}, o), zeros({3, 2, 2, 2}, o), Tensor(), c);
      },
      {"anima::conv_transpose2d", "groups = 2"});
  expect_error(
      [&] {
        conv_transpose2d(zeros({1, 3, 4, 4}, o), zeros({3, 2, 2, 2}, o), zeros({3}, o));
      },
      {"anima::conv_transpose2d", "bias", "[2]"});
  expect_error(
      [&] {
        ConvTranspose2dOptions c;
        c.stride = {0, 1};
        conv_transpose2d(zeros({1, 3, 4, 4}, o), zeros({3, 2, 2, 2}, o), Tensor(), c);
      },
      {"anima::conv_transpose2d", "stride"});
}

}  // namespace
}  // namespace anima
