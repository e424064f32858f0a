// CPU-vs-CUDA parity of every core op (skipped without a CUDA device). Inputs are float32 unless
// noted, drawn with Philox; each group states its tolerance.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/ops/copy_ops.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/matmul.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

#include "parity.hpp"

namespace anima {
namespace {

using testing::expect_parity;
using testing::Tolerance;

Tensor input(const Shape& s, std::uint64_t seed, double lo = -1.0, double hi = 1.0, bool grad = true) {
  Generator g(seed);
  return rand(s, TensorOptions().with_requires_grad(grad), g, lo, hi);
}

// Elementwise float32: CUDA's expf/logf/powf are within 2 ulps of correctly rounded, the CPU's
// libm within 1: a relative 1e-6 (~8 ulps at 2^-23) covers both plus the gradient's extra multiply.
constexpr Tolerance kElementwise{1e-6, 1e-7};
// pow's gradients chain powf, logf and two products (CUDA's powf is within 4 ulps, the host's within
// 1): measured on an H100 1.8e-6 relative apart, so pow is held to 1e-5 (~80 ulps at 2^-23).
constexpr Tolerance kPow{1e-5, 1e-7};

TEST(CudaParity, UnaryOps) {
  ANIMA_REQUIRE_CUDA();
  Tensor x = input({37, 65}, 1, -2, 2), pos = input({37, 65}, 2, 0.1, 3);
  expect_parity("neg", [](auto& in) { return neg(in[0]); }, {x}, kElementwise);
  expect_parity("exp", [](auto& in) { return exp(in[0]); }, {x}, kElementwise);
  expect_parity("log", [](auto& in) { return log(in[0]); }, {pos}, kElementwise);
  expect_parity("sqrt", [](auto& in) { return sqrt(in[0]); }, {pos}, kElementwise);
  expect_parity("abs", [](auto& in) { return abs(in[0]); }, {x}, kElementwise);
  expect_parity("pow_scalar", [](auto& in) { return pow(in[0], 1.7); }, {pos}, kPow);
  expect_parity("clamp", [](auto& in) { return clamp(in[0], -0.5, 0.75); }, {x}, kElementwise);
  expect_parity("relu", [](auto& in) { return relu(in[0]); }, {x}, kElementwise);
}

TEST(CudaParity, BinaryOpsWithBroadcasting) {
  ANIMA_REQUIRE_CUDA();
  Tensor a = input({7, 1, 33}, 3, 0.5, 2), b = input({5, 1}, 4, 0.5, 2);
  expect_parity("add", [](auto& in) { return in[0] + in[1]; }, {a, b}, kElementwise);
  expect_parity("sub", [](auto& in) { return in[0] - in[1]; }, {a, b}, kElementwise);
  expect_parity("mul", [](auto& in) { return in[0] * in[1]; }, {a, b}, kElementwise);
  expect_parity("div", [](auto& in) { return in[0] / in[1]; }, {a, b}, kElementwise);
  expect_parity("pow", [](auto& in) { return pow(in[0], in[1]); }, {a, b}, kPow);
  expect_parity("maximum", [](auto& in) { return maximum(in[0], in[1]); }, {a, b}, kElementwise);
  expect_parity("minimum", [](auto& in) { return minimum(in[0], in[1]); }, {a, b}, kElementwise);
  expect_parity("scalar_ops", [](auto& in) { return (2.0 - in[0]) * 3.0 / (in[1] + 1.0); }, {a, b}, kElementwise);
}

TEST(CudaParity, ComparisonsAndWhere) {
  ANIMA_REQUIRE_CUDA();
  Tensor a = input({9, 17}, 5, -1, 1, false), b = input({17}, 6, -1, 1, false);
  // Comparisons are exact: bools must match bit for bit.
  expect_parity("eq", [](auto& in) { return eq(in[0], in[0]); }, {a}, {0, 0});
  expect_parity("ne", [](auto& in) { return ne(in[0], in[1]); }, {a, b}, {0, 0});
  expect_parity("lt", [](auto& in) { return lt(in[0], in[1]); }, {a, b}, {0, 0});
  expect_parity("le", [](auto& in) { return le(in[0], in[1]); }, {a, b}, {0, 0});
  expect_parity("gt", [](auto& in) { return gt(in[0], in[1]); }, {a, b}, {0, 0});
  expect_parity("ge", [](auto& in) { return ge(in[0], in[1]); }, {a, b}, {0, 0});
  Tensor x = input({9, 17}, 7), y = input({17}, 8);
  expect_parity("where", [](auto& in) { return where(gt(in[0], in[1]), in[0], in[1]); }, {x, y}, kElementwise);
}

TEST(CudaParity, Reductions) {
  ANIMA_REQUIRE_CUDA();
  // Sums: the CPU accumulates in double; a float32 tree on the GPU differs by O(log n · eps · Σ|x|).
  // With n <= 1e5 and |x| <= 1: rtol 1e-5 relative to the result, atol 1e-4 for results near 0.
  constexpr Tolerance kSum{1e-5, 1e-4};
  Tensor x = input({31, 47, 5}, 9), big = input({100003}, 10);
  expect_parity("sum_all", [](auto& in) { return sum(in[0]); }, {x}, kSum);
  expect_parity("sum_long", [](auto& in) { return sum(in[0]); }, {big}, kSum);
  expect_parity("sum_dim1", [](auto& in) { return sum(in[0], {1}); }, {x}, kSum);
  expect_parity("sum_dims02_keep", [](auto& in) { return sum(in[0], {0, 2}, true); }, {x}, kSum);
  expect_parity("mean_dim", [](auto& in) { return mean(in[0], {-1}); }, {x}, kSum);
  expect_parity("mean_all", [](auto& in) { return mean(in[0]); }, {x}, kSum);
  // max/min/argmax pick an element: exact.
  expect_parity("max_all", [](auto& in) { return max(in[0]); }, {x}, {0, 0});
  expect_parity("min_all", [](auto& in) { return min(in[0]); }, {x}, {0, 0});
  expect_parity("max_dim", [](auto& in) { return max(in[0], 1).values; }, {x}, {0, 0});
  expect_parity("min_dim", [](auto& in) { return min(in[0], 0, true).values; }, {x}, {0, 0});
  expect_parity("max_dim_indices", [](auto& in) { return max(in[0], 1).indices; }, {x}, {0, 0});
  expect_parity("argmax", [](auto& in) { return argmax(in[0], 2); }, {x}, {0, 0});
  expect_parity("argmin", [](auto& in) { return argmin(in[0], 0); }, {x}, {0, 0});
  expect_parity("argmax_all", [](auto& in) { return argmax(in[0]); }, {big}, {0, 0});
}

TEST(CudaParity, Matmul) {
  ANIMA_REQUIRE_CUDA();
  // cuBLAS may use a different summation order (and TF32 is off by default for cuBLAS SGEMM):
  // error grows like K · 2^-24 · Σ|a||b|; K <= 257 with |x| <= 1 -> rtol 1e-4, atol 1e-4.
  constexpr Tolerance kGemm{1e-4, 1e-4};
  Tensor a = input({65, 257}, 11), b = input({257, 33}, 12);
  expect_parity("matmul_2d", [](auto& in) { return matmul(in[0], in[1]); }, {a, b}, kGemm);
  expect_parity("matmul_transposed", [](auto& in) { return matmul(in[0], transpose(in[1], 0, 1)); },
                {a, input({33, 257}, 13)}, kGemm);
  expect_parity("matmul_batched_broadcast", [](auto& in) { return matmul(in[0], in[1]); },
                {input({2, 1, 7, 19}, 14), input({3, 19, 5}, 15)}, kGemm);
  expect_parity("matmul_vec", [](auto& in) { return matmul(in[0], in[1]); }, {input({19}, 16), input({19, 4}, 17)}, kGemm);
  expect_parity("dot", [](auto& in) { return matmul(in[0], in[1]); }, {input({19}, 18), input({19}, 19)}, kGemm);
  expect_parity("bmm", [](auto& in) { return bmm(in[0], in[1]); }, {input({4, 9, 8}, 20), input({4, 8, 3}, 21)}, kGemm);
}

TEST(CudaParity, ViewsAndCopies) {
  ANIMA_REQUIRE_CUDA();
  constexpr Tolerance kExact{0, 0};  // pure data movement (and the gradients add at most one term)
  Tensor x = input({4, 6, 5}, 22);
  expect_parity("reshape", [](auto& in) { return reshape(in[0], {6, -1}) * 2.0; }, {x}, kExact);
  expect_parity("reshape_of_transpose", [](auto& in) { return reshape(transpose(in[0], 0, 2), {-1}) * 2.0; }, {x}, kExact);
  expect_parity("permute", [](auto& in) { return contiguous(permute(in[0], {2, 0, 1})) * 2.0; }, {x}, kExact);
  expect_parity("slice", [](auto& in) { return slice(in[0], 1, 1, 6, 2) * 2.0; }, {x}, kExact);
  expect_parity("narrow", [](auto& in) { return narrow(in[0], 2, 1, 3) * 2.0; }, {x}, kExact);
  expect_parity("squeeze_unsqueeze", [](auto& in) { return squeeze(unsqueeze(in[0], 1), 1) * 2.0; }, {x}, kExact);
  expect_parity("expand", [](auto& in) { return expand(narrow(in[0], 0, 0, 1), {3, 6, 5}) * 2.0; }, {x}, kExact);
  expect_parity("flatten", [](auto& in) { return flatten(in[0], 1) * 2.0; }, {x}, kExact);
  expect_parity("clone", [](auto& in) { return clone(in[0]) * 2.0; }, {x}, kExact);
  expect_parity("to_float64", [](auto& in) { return to(in[0], DType::Float64); }, {x}, kExact);
  expect_parity("to_int64", [](auto& in) { return to(in[0] * 10.0, DType::Int64); }, {x}, kExact);
  expect_parity("to_bool", [](auto& in) { return to(in[0], DType::Bool); }, {x}, kExact);
}

TEST(CudaParity, FactoriesAndPhilox) {
  ANIMA_REQUIRE_CUDA();
  const TensorOptions on_gpu = TensorOptions().with_device(Device::cuda(0));
  EXPECT_EQ(to_vector<float>(zeros({3, 4}, on_gpu)), to_vector<float>(zeros({3, 4})));
  EXPECT_EQ(to_vector<float>(full({5}, 2.5, on_gpu)), to_vector<float>(full({5}, 2.5)));
  EXPECT_EQ(to_vector<std::int64_t>(arange(0, 10, 3, on_gpu.with_dtype(DType::Int64))),
            (std::vector<std::int64_t>{0, 3, 6, 9}));
  // Uniform draws are bit-identical across backends (integer Philox + exact scaling).
  for (DType t : {DType::Float32, DType::Float64}) {
    Generator g1(42), g2(42);
    EXPECT_EQ(to_vector<double>(rand({1000}, TensorOptions(t), g1)), to_vector<double>(rand({1000}, on_gpu.with_dtype(t), g2)));
  }
  // Normal draws go through log/cos: the device's and the host's libm agree to a few ulps.
  Generator g1(7), g2(7);
  testing::expect_close("randn", randn({4096}, TensorOptions(), g1), randn({4096}, on_gpu, g2), {1e-5, 1e-6});
}

TEST(CudaParity, TransfersAndAllocatorStats) {
  ANIMA_REQUIRE_CUDA();
  Tensor host = input({123, 77}, 23, -1, 1, false);
  Tensor back = to(to(host, Device::cuda(0)), Device::cpu());
  EXPECT_EQ(to_vector<float>(back), to_vector<float>(host));
  const MemoryStats before = memory_stats(Device::cuda(0));
  {
    Tensor t = zeros({1 << 20}, TensorOptions().with_device(Device::cuda(0)));
    const MemoryStats during = memory_stats(Device::cuda(0));
    EXPECT_GE(during.current_bytes, before.current_bytes + (4u << 20));
    EXPECT_GE(during.peak_bytes, during.current_bytes);
    EXPECT_GE(during.reserved_bytes, during.current_bytes);
  }
  EXPECT_EQ(memory_stats(Device::cuda(0)).current_bytes, before.current_bytes);
}

TEST(CudaParity, MixingDevicesIsAnError) {
  ANIMA_REQUIRE_CUDA();
  Tensor a = zeros({2, 3}), b = zeros({2, 3}, TensorOptions().with_device(Device::cuda(0)));
  try {
    add(a, b);
    FAIL() << "expected anima::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("anima::add"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cuda:0"), std::string::npos) << msg;
  }
  EXPECT_THROW(matmul(a, transpose(b, 0, 1)), Error);
  EXPECT_THROW(zeros({2}, TensorOptions().with_device(Device::cuda(cuda_device_count()))), Error);
}

}  // namespace
}  // namespace anima
