// conv2d / conv_transpose2d on the CPU: every fast kernel (im2col + packed GEMM, direct depthwise)
// against the loop reference on odd shapes, forward and both backward passes; conv_transpose2d
// against an independent scatter loop; float64 gradcheck of every differentiable input for every
// algorithm; argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/ops/conv.hpp>
#include <anima/ops/factory.hpp>

#include "expect_error.hpp"

namespace anima {
namespace {

struct ConvCase {
  const char* name;
  std::int64_t N, C, H, W, O, kh, kw, s, p, d, groups;
};

// Odd sizes, stride > kernel, groups, depthwise (multiplier 1 and 2), padding >= 2, dilation 2,
// batch 1 and > 1, channels not a multiple of 8, pointwise, kernel == padded input.
const std::vector<ConvCase> kCases = {
    {"basic_3x3", 1, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1},
    {"pad2_dil2_stride2", 2, 5, 11, 8, 7, 3, 2, 2, 2, 2, 1},
    {"stride_gt_kernel_groups3", 3, 6, 9, 10, 9, 2, 2, 3, 0, 1, 3},
    {"depthwise_mult2", 2, 6, 9, 7, 12, 3, 3, 2, 1, 1, 6},
    {"depthwise_k5_dil2", 1, 10, 8, 8, 10, 5, 5, 1, 2, 2, 10},
    {"depthwise_3x3_s1", 3, 5, 7, 6, 5, 3, 3, 1, 1, 1, 5},
    {"depthwise_3x3_s2_pad2_narrow", 2, 4, 5, 2, 8, 3, 3, 2, 2, 1, 4},  // W = 2: no interior column
    {"pointwise", 2, 13, 5, 6, 11, 1, 1, 1, 0, 1, 1},
    {"pointwise_stride2", 1, 9, 7, 7, 4, 1, 1, 2, 0, 1, 1},
    {"kernel_equals_padded_input", 1, 2, 3, 4, 3, 5, 6, 1, 1, 1, 1},
    {"batch_split_over_threads", 5, 17, 15, 13, 19, 3, 3, 1, 1, 1, 1},
    {"groups2_batch1_threaded_gemm", 1, 18, 20, 21, 22, 3, 3, 1, 1, 1, 2},
};

Conv2dOptions options(const ConvCase& c, ConvAlgorithm a) {
  Conv2dOptions o;
  o.stride = {c.s, c.s};
  o.padding = {c.p, c.p};
  o.dilation = {c.d, c.d};
  o.groups = c.groups;
  o.algorithm = a;
  return o;
}

bool is_depthwise(const ConvCase& c) { return c.groups == c.C && c.groups > 1 && c.O % c.C == 0; }

struct Results {
  Tensor y, dx, dw, db;
};

Results run(const ConvCase& c, ConvAlgorithm a, DType dt, std::uint64_t seed = 1) {
  Generator gen(seed);
  TensorOptions o = TensorOptions(dt).with_requires_grad();
  Tensor x = randn({c.N, c.C, c.H, c.W}, o, gen);
  Tensor w = randn({c.O, c.C / c.groups, c.kh, c.kw}, o, gen);
  Tensor b = randn({c.O}, o, gen);
  Tensor y = conv2d(x, w, b, options(c, a));
  Tensor up = randn(y.shape(), TensorOptions(dt), gen);
  backward(y, up);
  return {y, x.grad(), w.grad(), b.grad()};
}

// max |a - b| <= tol · max(1, max |b|)
void expect_near_all(const std::string& what, const Tensor& a, const Tensor& b, double tol) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  const auto va = to_vector<double>(a), vb = to_vector<double>(b);
  double scale = 1.0, err = 0.0;
  for (double v : vb) scale = std::max(scale, std::fabs(v));
  for (std::size_t i = 0; i < va.size(); ++i) err = std::max(err, std::fabs(va[i] - vb[i]));
  EXPECT_LE(err, tol * scale) << what << ": max abs error " << err << " (scale " << scale << ")";
}

void expect_same_results(const std::string& what, const Results& a, const Results& ref, double tol) {
  expect_near_all(what + " y", a.y, ref.y, tol);
  expect_near_all(what + " dx", a.dx, ref.dx, tol);
  expect_near_all(what + " dw", a.dw, ref.dw, tol);
  expect_near_all(what + " db", a.db, ref.db, tol);
}

TEST(Conv2d, OutputShape) {
  Tensor x = zeros({2, 4, 13, 10}), w = zeros({6, 2, 3, 2});
  Conv2dOptions o;
  o.stride = {2, 3};
  o.padding = {1, 2};
  o.dilation = {2, 1};
  o.groups = 2;
  // Ho = (13 + 2 - 2·2 - 1)/2 + 1 = 6, Wo = (10 + 4 - 1 - 1)/3 + 1 = 5
  EXPECT_EQ(conv2d(x, w, Tensor(), o).shape(), (Shape{2, 6, 6, 5}));
}

TEST(Conv2d, SmallExampleByHand) {
  // x = 1..9 as 3x3, w = [[1, 0], [0, -1]]: y[i][j] = x[i][j] - x[i+1][j+1] = -4 everywhere, + bias 0.5.
  Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  Tensor w = from_vector<double>({1, 0, 0, -1}, {1, 1, 2, 2});
  Tensor b = from_vector<double>({0.5}, {1});
  for (ConvAlgorithm a : {ConvAlgorithm::Reference, ConvAlgorithm::Im2colGemm}) {
    Conv2dOptions o;
    o.algorithm = a;
    EXPECT_EQ(to_vector<double>(conv2d(x, w, b, o)), (std::vector<double>{-3.5, -3.5, -3.5, -3.5}));
  }
}

// Float64: the fast kernels only reassociate sums, so they agree with the loops to ~K·eps.
TEST(Conv2d, FastKernelsMatchReferenceFloat64) {
  for (const auto& c : kCases) {
    const Results ref = run(c, ConvAlgorithm::Reference, DType::Float64);
    expect_same_results(std::string(c.name) + " im2col", run(c, ConvAlgorithm::Im2colGemm, DType::Float64), ref, 1e-12);
    expect_same_results(std::string(c.name) + " auto", run(c, ConvAlgorithm::Auto, DType::Float64), ref, 1e-12);
    if (is_depthwise(c))
      expect_same_results(std::string(c.name) + " depthwise", run(c, ConvAlgorithm::Depthwise, DType::Float64), ref,
                          1e-12);
  }
}

// Float32 (the SIMD micro-kernels): sums of up to a few thousand O(1) terms accumulate ~1e-5
// relative rounding against a float64 reference.
TEST(Conv2d, FastKernelsMatchReferenceFloat32) {
  for (const auto& c : kCases) {
    const Results ref = run(c, ConvAlgorithm::Reference, DType::Float64);
    expect_same_results(std::string(c.name) + " im2col f32", run(c, ConvAlgorithm::Im2colGemm, DType::Float32), ref, 2e-5);
    if (is_depthwise(c))
      expect_same_results(std::string(c.name) + " depthwise f32", run(c, ConvAlgorithm::Depthwise, DType::Float32), ref,
                          2e-5);
  }
}

TEST(Conv2d, NonContiguousInputAndNoBias) {
  Generator gen(5);
  Tensor x = randn({2, 7, 6, 3}, TensorOptions(DType::Float64), gen);   // read as [2, 3, 7, 6] via permute
  Tensor w = randn({4, 3, 3, 3}, TensorOptions(DType::Float64), gen);
  Tensor xp = permute(x, {0, 3, 1, 2});
  Conv2dOptions o;
  o.padding = {1, 1};
  Tensor y = conv2d(xp, w, Tensor(), o);
  o.algorithm = ConvAlgorithm::Reference;
  expect_near_all("permuted", y, conv2d(contiguous_copy(xp), w, Tensor(), o), 1e-12);
}

TEST(Conv2d, GradcheckEveryAlgorithm) {
  // Small float64 problems; conv is bilinear, so central differences are exact up to rounding.
  struct G {
    ConvCase c;
    ConvAlgorithm a;
  };
  const std::vector<G> cases = {
      {{"ref", 2, 3, 5, 4, 4, 3, 2, 1, 1, 1, 1}, ConvAlgorithm::Reference},
      {{"im2col", 2, 3, 5, 4, 4, 3, 2, 1, 1, 1, 1}, ConvAlgorithm::Im2colGemm},
      {{"im2col_s2_d2_p2_g2", 1, 4, 7, 6, 6, 3, 3, 2, 2, 2, 2}, ConvAlgorithm::Im2colGemm},
      {{"im2col_pointwise", 2, 3, 3, 4, 5, 1, 1, 1, 0, 1, 1}, ConvAlgorithm::Im2colGemm},
      {{"depthwise", 2, 3, 6, 5, 6, 3, 3, 2, 1, 1, 3}, ConvAlgorithm::Depthwise},
      {{"depthwise_d2", 1, 4, 6, 6, 4, 3, 3, 1, 2, 2, 4}, ConvAlgorithm::Depthwise},
      {{"depthwise_3x3_s1", 2, 3, 5, 6, 3, 3, 3, 1, 1, 1, 3}, ConvAlgorithm::Depthwise},
  };
  for (const auto& g : cases) {
    for (bool with_bias : {true, false}) {
      Generator gen(7);
      TensorOptions o = TensorOptions(DType::Float64).with_requires_grad();
      const ConvCase& c = g.c;
      std::vector<Tensor> in;  // built by push_back: GCC 12 -Warray-bounds misfires on {a, b} + push_back
      in.reserve(3);
      in.push_back(randn({c.N, c.C, c.H, c.W}, o, gen));
      in.push_back(randn({c.O, c.C / c.groups, c.kh, c.kw}, o, gen));
      if (with_bias) in.push_back(randn({c.O}, o, gen));
      const Conv2dOptions opts = options(c, g.a);
      auto f = [&](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), opts); };
      const GradcheckResult r = gradcheck(f, in);
      EXPECT_TRUE(r.ok) << c.name << (with_bias ? " with bias: " : " without bias: ") << r.report;
    }
  }
}

struct TransposeCase {
  const char* name;
  std::int64_t N, Cin, H, W, Cout, kh, kw, s, p, op, d, groups;
};

const std::vector<TransposeCase> kTransposeCases = {
    {"mask_head_k2_s2", 2, 5, 4, 3, 3, 2, 2, 2, 0, 0, 1, 1},
    {"k3_s2_p1_outpad1", 1, 4, 5, 6, 6, 3, 3, 2, 1, 1, 1, 1},
    {"groups2_dil2", 2, 4, 4, 5, 6, 3, 2, 1, 1, 0, 2, 2},
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

// Independent definition: every input pixel scatters its weighted kernel into the output.
std::vector<double> transpose_scatter(const TransposeCase& c, const std::vector<double>& x, const std::vector<double>& w,
                                      const std::vector<double>& b, std::int64_t Ho, std::int64_t Wo) {
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

TEST(ConvTranspose2d, MatchesScatterDefinition) {
  for (const auto& c : kTransposeCases) {
    Generator gen(11);
    Tensor x = randn({c.N, c.Cin, c.H, c.W}, TensorOptions(DType::Float64), gen);
    Tensor w = randn({c.Cin, c.Cout / c.groups, c.kh, c.kw}, TensorOptions(DType::Float64), gen);
    Tensor b = randn({c.Cout}, TensorOptions(DType::Float64), gen);
    Tensor y = conv_transpose2d(x, w, b, transpose_options(c));
    const std::int64_t Ho = (c.H - 1) * c.s - 2 * c.p + c.d * (c.kh - 1) + c.op + 1;
    const std::int64_t Wo = (c.W - 1) * c.s - 2 * c.p + c.d * (c.kw - 1) + c.op + 1;
    ASSERT_EQ(y.shape(), (Shape{c.N, c.Cout, Ho, Wo})) << c.name;
    const auto expect = transpose_scatter(c, to_vector<double>(x), to_vector<double>(w), to_vector<double>(b), Ho, Wo);
    const auto got = to_vector<double>(y);
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expect[i], 1e-12) << c.name << " element " << i;
  }
}

TEST(ConvTranspose2d, Gradcheck) {
  for (const auto& c : kTransposeCases) {
    for (bool with_bias : {true, false}) {
      Generator gen(13);
      TensorOptions o = TensorOptions(DType::Float64).with_requires_grad();
      std::vector<Tensor> in;
      in.reserve(3);
      in.push_back(randn({c.N, c.Cin, c.H, c.W}, o, gen));
      in.push_back(randn({c.Cin, c.Cout / c.groups, c.kh, c.kw}, o, gen));
      if (with_bias) in.push_back(randn({c.Cout}, o, gen));
      const ConvTranspose2dOptions opts = transpose_options(c);
      auto f = [&](const std::vector<Tensor>& v) {
        return conv_transpose2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), opts);
      };
      const GradcheckResult r = gradcheck(f, in);
      EXPECT_TRUE(r.ok) << c.name << (with_bias ? " with bias: " : " without bias: ") << r.report;
    }
  }
}

// conv_transpose2d is the adjoint of conv2d: <conv2d(a, w), b> == <a, conv_transpose2d(b, w)>.
TEST(ConvTranspose2d, IsAdjointOfConv2d) {
  Generator gen(17);
  TensorOptions f64(DType::Float64);
  Tensor a = randn({2, 6, 9, 8}, f64, gen), w = randn({4, 3, 3, 3}, f64, gen);
  Conv2dOptions co;
  co.stride = {2, 2};
  co.padding = {1, 1};
  co.groups = 2;
  Tensor ya = conv2d(a, w, Tensor(), co);  // [2, 4, 5, 4]
  Tensor bb = randn(ya.shape(), f64, gen);
  ConvTranspose2dOptions to;
  to.stride = {2, 2};
  to.padding = {1, 1};
  to.output_padding = {0, 1};  // (5-1)·2 − 2 + 2 + 1 = 9, (4-1)·2 − 2 + 2 + 1 + 1 = 8
  to.groups = 2;
  Tensor tb = conv_transpose2d(bb, w, Tensor(), to);
  ASSERT_EQ(tb.shape(), a.shape());
  const auto va = to_vector<double>(a), vt = to_vector<double>(tb), vy = to_vector<double>(ya), vb = to_vector<double>(bb);
  double lhs = 0, rhs = 0;
  for (std::size_t i = 0; i < vy.size(); ++i) lhs += vy[i] * vb[i];
  for (std::size_t i = 0; i < va.size(); ++i) rhs += va[i] * vt[i];
  EXPECT_NEAR(lhs, rhs, 1e-9 * std::fabs(lhs));
}

using anima::testing::expect_error;

TEST(Conv2d, Errors) {
  const Tensor x = zeros({2, 3, 8, 8}), w = zeros({4, 3, 3, 3});
  expect_error([] { conv2d(zeros({2, 3, 8, 8}), zeros({4, 5, 3, 3})); },
               {"anima::conv2d", "[2, 3, 8, 8]", "[4, 5, 3, 3]", "expects 5"});
  expect_error([] { conv2d(zeros({1, 3, 4, 4}), zeros({2, 3, 7, 3})); }, {"anima::conv2d", "larger than the padded input"});
  expect_error([] {
    Conv2dOptions o;
    o.dilation = {3, 1};
    conv2d(zeros({1, 3, 6, 6}), zeros({2, 3, 3, 3}), Tensor(), o);  // dilated kernel 7 > 6
  }, {"anima::conv2d", "dilated 7x3"});
  expect_error([&] { Conv2dOptions o; o.stride = {0, 1}; conv2d(x, w, Tensor(), o); }, {"anima::conv2d", "stride"});
  expect_error([&] { Conv2dOptions o; o.stride = {1, -2}; conv2d(x, w, Tensor(), o); }, {"anima::conv2d", "stride"});
  expect_error([&] { Conv2dOptions o; o.dilation = {0, 1}; conv2d(x, w, Tensor(), o); }, {"anima::conv2d", "dilation"});
  expect_error([&] { Conv2dOptions o; o.padding = {-1, 0}; conv2d(x, w, Tensor(), o); }, {"anima::conv2d", "padding"});
  expect_error([&] { Conv2dOptions o; o.groups = 0; conv2d(x, w, Tensor(), o); }, {"anima::conv2d", "groups"});
  expect_error([] { Conv2dOptions o; o.groups = 2; conv2d(zeros({1, 3, 5, 5}), zeros({4, 1, 3, 3}), Tensor(), o); },
               {"anima::conv2d", "groups = 2", "3 channels"});
  expect_error([] { Conv2dOptions o; o.groups = 2; conv2d(zeros({1, 4, 5, 5}), zeros({3, 2, 3, 3}), Tensor(), o); },
               {"anima::conv2d", "groups = 2", "[3, 2, 3, 3]"});
  expect_error([&] { conv2d(zeros({3, 8, 8}), w); }, {"anima::conv2d", "4-D", "[3, 8, 8]"});
  expect_error([&] { conv2d(x, zeros({4, 3, 3})); }, {"anima::conv2d", "4-D", "[4, 3, 3]"});
  expect_error([&] { conv2d(x, zeros({4, 3, 3, 3}, DType::Float64)); }, {"anima::conv2d", "float32", "float64"});
  expect_error([&] { conv2d(x, w, zeros({5})); }, {"anima::conv2d", "bias", "[5]"});
  expect_error([&] { conv2d(x, w, zeros({4}, DType::Float64)); }, {"anima::conv2d", "bias"});
  expect_error([&] { Conv2dOptions o; o.algorithm = ConvAlgorithm::Depthwise; conv2d(x, w, Tensor(), o); },
               {"anima::conv2d", "Depthwise"});
  expect_error([&] { Conv2dOptions o; o.algorithm = ConvAlgorithm::Cudnn; conv2d(x, w, Tensor(), o); },
               {"Cudnn", "CUDA"});
  expect_error([&] { Conv2dOptions o; o.algorithm = ConvAlgorithm::ImplicitGemm; conv2d(x, w, Tensor(), o); },
               {"ImplicitGemm", "CUDA"});
  expect_error([] { conv2d(zeros({2, 3, 8, 8}, DType::Int64), zeros({4, 3, 3, 3}, DType::Int64)); },
               {"anima::conv2d", "float32 or float64"});
}

TEST(Conv2d, WrongDeviceFailsBeforeTouchingMemory) {
  // A fake CUDA tensor over a host pointer that must never be read: the device check comes first.
  float dummy[4] = {0, 0, 0, 0};
  Tensor fake = view_of_buffer(dummy, {2, 3, 8, 8}, Device::cuda(0));
  expect_error([&] { conv2d(fake, zeros({4, 3, 3, 3})); }, {"anima::conv2d", "cuda:0", "cpu"});
  Tensor fake_b = view_of_buffer(dummy, {4}, Device::cuda(0));
  expect_error([&] { conv2d(zeros({2, 3, 8, 8}), zeros({4, 3, 3, 3}), fake_b); }, {"anima::conv2d", "bias", "cuda:0"});
  expect_error([&] { conv_transpose2d(fake, zeros({3, 4, 3, 3})); }, {"anima::conv_transpose2d", "cuda:0"});
}

TEST(ConvTranspose2d, Errors) {
  expect_error([] { conv_transpose2d(zeros({1, 3, 4, 4}), zeros({4, 2, 2, 2})); },
               {"anima::conv_transpose2d", "[1, 3, 4, 4]", "[4, 2, 2, 2]"});
  expect_error([] {
    ConvTranspose2dOptions o;
    o.stride = {2, 2};
    o.output_padding = {2, 0};
    conv_transpose2d(zeros({1, 3, 4, 4}), zeros({3, 2, 2, 2}), Tensor(), o);
  }, {"anima::conv_transpose2d", "output_padding"});
  expect_error([] {
    ConvTranspose2dOptions o;
    o.padding = {3, 3};
    conv_transpose2d(zeros({1, 3, 2, 2}), zeros({3, 2, 2, 2}), Tensor(), o);  // (2-1) - 6 + 1 + 1 < 1
  }, {"anima::conv_transpose2d", "not positive"});
  expect_error([] {
    ConvTranspose2dOptions o;
    o.groups = 2;
    conv_transpose2d(zeros({1, 3, 4, 4}), zeros({3, 2, 2, 2}), Tensor(), o);
  }, {"anima::conv_transpose2d", "groups = 2"});
  expect_error([] { conv_transpose2d(zeros({1, 3, 4, 4}), zeros({3, 2, 2, 2}), zeros({3})); },
               {"anima::conv_transpose2d", "bias", "[2]"});
  expect_error([] { ConvTranspose2dOptions o; o.stride = {0, 1}; conv_transpose2d(zeros({1, 3, 4, 4}), zeros({3, 2, 2, 2}), Tensor(), o); },
               {"anima::conv_transpose2d", "stride"});
}

TEST(Conv2d, EmptyBatch) {
  Tensor x = zeros({0, 3, 5, 5}, TensorOptions(DType::Float64).with_requires_grad());
  Tensor w = ones({2, 3, 3, 3}, TensorOptions(DType::Float64).with_requires_grad());
  Tensor y = conv2d(x, w);
  EXPECT_EQ(y.shape(), (Shape{0, 2, 3, 3}));
  backward(y, zeros(y.shape(), DType::Float64));
  EXPECT_EQ(to_vector<double>(w.grad()), std::vector<double>(54, 0.0));
}

}  // namespace
}  // namespace anima
