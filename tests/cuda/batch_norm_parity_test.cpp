// CPU-vs-CUDA parity of batch_norm2d and frozen_batch_norm2d (anima/ops/batch_norm.hpp): outputs,
// input / weight / bias gradients, and the running statistics after a training step (skipped without
// a CUDA device). Inputs float32, Philox uniforms.
#include <gtest/gtest.h>

#include <vector>

#include <anima/core/copy.hpp>
#include <anima/ops/batch_norm.hpp>
#include <anima/ops/factory.hpp>

#include "parity.hpp"

namespace anima {
namespace {

using testing::expect_close;
using testing::expect_parity;
using testing::Tolerance;

Tensor input(const Shape& s, std::uint64_t seed, double lo, double hi, bool grad = true) {
  Generator g(seed);
  return rand(s, TensorOptions().with_requires_grad(grad), g, lo, hi);
}

// The statistics are summed in double on both sides (sequential on the CPU, a tree on the GPU), so the
// float mean/var agree to ~1 ulp; y = x·α + β may be one FMA on the GPU: a few ulps of |y| <= ~5.
// Gradients: dx combines Σdy, Σdy·x̂ (double) with float products: relative 1e-5, absolute 1e-5 for
// values near 0; dw, db are float roundings of double sums over up to 25K values: relative 1e-5.
constexpr Tolerance kBn{1e-5, 1e-5};

TEST(CudaParity, BatchNorm2dTrainingAndEval) {
  ANIMA_REQUIRE_CUDA();
  for (Shape s : {Shape{1, 3, 5, 7}, Shape{4, 13, 3, 3}, Shape{8, 64, 28, 28}, Shape{2, 67, 1, 9}}) {
    const std::int64_t C = s[1];
    const Tensor x = input(s, 1, -2, 3), w = input({C}, 2, 0.5, 1.5), b = input({C}, 3, -1, 1);
    const Tensor rm = input({C}, 4, -0.5, 0.5, false), rv = input({C}, 5, 0.5, 2, false);
    for (bool training : {true, false}) {
      expect_parity("batch_norm2d " + shape_str(s) + (training ? " training" : " eval"),
                    [&](auto& in) { return batch_norm2d(in[0], in[1], in[2], in[3], in[4], training, 0.1, 1e-5); },
                    {x, w, b, rm, rv}, kBn);
      expect_parity("batch_norm2d affine=false " + shape_str(s),
                    [&](auto& in) { return batch_norm2d(in[0], Tensor(), Tensor(), in[1], in[2], training); },
                    {x, rm, rv}, kBn);
    }
    // Running statistics after one training step (momentum 0.1, unbiased variance).
    Tensor rm_cpu = contiguous_copy(rm), rv_cpu = contiguous_copy(rv);
    Tensor rm_gpu = device_copy(rm, Device::cuda(0)), rv_gpu = device_copy(rv, Device::cuda(0));
    batch_norm2d(detach(x), w, b, rm_cpu, rv_cpu, true);
    batch_norm2d(device_copy(x, Device::cuda(0)), device_copy(w, Device::cuda(0)), device_copy(b, Device::cuda(0)),
                 rm_gpu, rv_gpu, true);
    expect_close("running_mean", rm_cpu, rm_gpu, kBn);
    expect_close("running_var", rv_cpu, rv_gpu, kBn);
  }
}

TEST(CudaParity, FrozenBatchNorm2d) {
  ANIMA_REQUIRE_CUDA();
  const Shape s{2, 256, 14, 14};
  const std::int64_t C = s[1];
  const Tensor x = input(s, 11, -2, 2);
  const Tensor w = input({C}, 12, 0.5, 1.5, false), b = input({C}, 13, -1, 1, false);
  const Tensor rm = input({C}, 14, -0.5, 0.5, false), rv = input({C}, 15, 0.5, 2, false);
  expect_parity("frozen_batch_norm2d", [](auto& in) { return frozen_batch_norm2d(in[0], in[1], in[2], in[3], in[4]); },
                {x, w, b, rm, rv}, kBn);
}

}  // namespace
}  // namespace anima
