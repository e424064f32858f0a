// The factories of anima/ops/factory.hpp (empty, zeros, ones, full, arange, rand, randn) on every
// backend, with the same Philox draws as the CPU's; transfers, allocator statistics and device mixing on
// every backend; and, on the CPU only (host memory and CPU code): from_vector / view_of_buffer, the CPU
// allocator's alignment and byte counting (anima/core/allocator.hpp), Philox 4x32-10
// (anima/kernels/philox.hpp) and printing (anima/core/print.hpp).
//
// Philox known answers: kat_vectors of the Random123 distribution (D. E. Shaw Research,
// Random123-1.09/examples/kat_vectors, lines "philox4x32 10 ..."), the reference implementation of
// Salmon et al., SC'11. Statistical tolerances are stated next to each check (6 sigma, so a correct
// generator fails with probability ~2e-9 per check; the seeds are fixed anyway, so these tests are
// deterministic).
#include <anima/core/allocator.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/generator.hpp>
#include <anima/core/print.hpp>
#include <anima/core/tensor.hpp>
#include <anima/core/view_meta.hpp>
#include <anima/kernels/philox.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/matmul.hpp>
#include <anima/ops/view.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "ops/backend_harness.hpp"

namespace {

using namespace anima;
using namespace anima::testing;  // tests/ops/backend_harness.hpp and the helpers it includes

ANIMA_BACKEND_SUITE(Factory);
ANIMA_BACKEND_SUITE(Arange);
ANIMA_BACKEND_SUITE(Random);
ANIMA_BACKEND_SUITE(Devices);

// ---------------------------------------------------------------------------------------------
// empty / zeros / ones / full

TEST_P(Factory, EmptyHasShapeDtypeContiguousStrides) {
  Tensor t = empty({2, 3, 4}, options(DType::Float64));
  EXPECT_EQ(t.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_EQ(t.dtype(), DType::Float64);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_TRUE(t.is_leaf());
  EXPECT_FALSE(t.requires_grad());
  EXPECT_EQ(t.device(), device());
}

TEST_P(Factory, ZeroDimAndZeroSizedShapes) {
  Tensor s = zeros({}, options(DType::Float32));
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(item<float>(s), 0.0f);

  Tensor e = ones({3, 0, 2}, options());
  EXPECT_EQ(e.numel(), 0);
  EXPECT_EQ(e.shape(), (Shape{3, 0, 2}));
  EXPECT_TRUE(to_vector<float>(e).empty());
}

TEST_P(Factory, ZerosOnesFullEveryDtype) {
  EXPECT_EQ(to_vector<float>(zeros({5}, options())), std::vector<float>(5, 0.0f));
  EXPECT_EQ(to_vector<double>(ones({2, 2}, options(DType::Float64))), std::vector<double>(4, 1.0));
  EXPECT_EQ(to_vector<double>(full({3}, -2.5, options(DType::Float64))), std::vector<double>(3, -2.5));
  EXPECT_EQ(to_vector<float>(full({3}, 0.1, options())), std::vector<float>(3, 0.1f));  // converted to float once
  EXPECT_EQ(to_vector<std::int64_t>(full({4}, 7.0, options(DType::Int64))), std::vector<std::int64_t>(4, 7));
  EXPECT_EQ(to_vector<bool>(full({2}, 3.0, options(DType::Bool))), std::vector<bool>(2, true));
  EXPECT_EQ(to_vector<bool>(zeros({2}, options(DType::Bool))), std::vector<bool>(2, false));
  Tensor z = zeros({2, 3}, options(DType::Int64));
  EXPECT_EQ(z.dtype(), DType::Int64);
}

TEST_P(Factory, RequiresGradOption) {
  Tensor t = ones({2}, options(DType::Float64).with_requires_grad());
  EXPECT_TRUE(t.requires_grad());
  EXPECT_TRUE(t.is_leaf());
  // Only floating tensors can require grad.
  expect_error([&] { zeros({2}, options(DType::Int64).with_requires_grad()); }, {"anima::set_requires_grad"});
}

TEST_P(Factory, NegativeSizeIsAnError) {
  expect_error([&] { zeros({2, -1}, options()); }, {"anima::empty", "[2, -1]"});
  EXPECT_THROW(empty({-3}, options()), Error);
  EXPECT_THROW(rand({4, -2}, options()), Error);
  float buffer[4] = {};
  EXPECT_THROW(view_of_buffer(buffer, {-1, 4}), Error);
}

// ---------------------------------------------------------------------------------------------
// arange

TEST_P(Arange, FloatDefault) {
  EXPECT_EQ(arange(5.0).dtype(), DType::Float32);  // the default options
  Tensor t = arange(0.0, 5.0, 1.0, options());
  EXPECT_EQ(t.dtype(), DType::Float32);
  EXPECT_EQ(t.shape(), (Shape{5}));
  EXPECT_EQ(to_vector<float>(t), (std::vector<float>{0, 1, 2, 3, 4}));
}

TEST_P(Arange, FractionalStep) {
  // 0, 0.25, ... < 1: four values, all exact in binary.
  Tensor t = arange(0.0, 1.0, 0.25, options(DType::Float64));
  EXPECT_EQ(to_vector<double>(t), (std::vector<double>{0.0, 0.25, 0.5, 0.75}));
  // A count that is not a whole number rounds up (torch.arange(0, 1, 0.3) has 4 elements).
  EXPECT_EQ(arange(0.0, 1.0, 0.3, options(DType::Float64)).numel(), 4);
}

TEST_P(Arange, Int64AndNegativeStep) {
  Tensor t = arange(2.0, 9.0, 3.0, options(DType::Int64));
  EXPECT_EQ(t.dtype(), DType::Int64);
  EXPECT_EQ(to_vector<std::int64_t>(t), (std::vector<std::int64_t>{2, 5, 8}));
  // ceil((-5 - 5) / -3) = 4 values: 5, 2, -1, -4.
  Tensor d = arange(5.0, -5.0, -3.0, options(DType::Int64));
  EXPECT_EQ(to_vector<std::int64_t>(d), (std::vector<std::int64_t>{5, 2, -1, -4}));
  Tensor f = arange(1.0, -1.0, -0.5, options(DType::Float64));
  EXPECT_EQ(to_vector<double>(f), (std::vector<double>{1.0, 0.5, 0.0, -0.5}));
}

TEST_P(Arange, EmptyRange) {
  EXPECT_EQ(arange(3.0, 3.0, 1.0, options()).numel(), 0);
  EXPECT_EQ(arange(5.0, 0.0, 1.0, options()).shape(), (Shape{0}));  // wrong direction for the step
  EXPECT_EQ(arange(0.0, 5.0, -1.0, options(DType::Int64)).numel(), 0);
}

TEST_P(Arange, StepZeroIsAnError) {
  expect_error([&] { arange(0.0, 5.0, 0.0, options()); }, {"anima::arange", "step"});
  EXPECT_THROW(arange(0.0, INFINITY, 1.0, options()), Error);
}

// ---------------------------------------------------------------------------------------------
// from_vector / view_of_buffer (CPU only: they copy from or borrow host memory)

TEST(FromVector, CopiesTheValues) {
  std::vector<double> src = {1, 2, 3, 4, 5, 6};
  Tensor t = from_vector(src, {2, 3});
  EXPECT_EQ(t.dtype(), DType::Float64);
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  src[0] = 100.0;  // the tensor owns a copy
  src[5] = -1.0;
  EXPECT_EQ(to_vector<double>(t), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_NE(t.data<double>(), src.data());
  EXPECT_TRUE(t.storage()->owns_memory());

  Tensor i = from_vector<std::int64_t>({-3, 4}, {2});
  EXPECT_EQ(i.dtype(), DType::Int64);
  EXPECT_EQ(to_vector<std::int64_t>(i), (std::vector<std::int64_t>{-3, 4}));
}

TEST(FromVector, CountMismatchIsAnError) {
  expect_error([] { from_vector<float>({1, 2, 3}, {2, 2}); }, {"anima::from_vector", "[2, 2]", "3"});
}

TEST(ViewOfBuffer, DoesNotCopy) {
  std::vector<float> buffer = {1, 2, 3, 4, 5, 6};
  Tensor t = view_of_buffer(buffer.data(), {3, 2});
  EXPECT_EQ(t.data<float>(), buffer.data());
  EXPECT_FALSE(t.storage()->owns_memory());
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  // Writes to the buffer show in the tensor ...
  buffer[4] = 50.0f;
  EXPECT_EQ(to_vector<float>(t)[4], 50.0f);
  // ... and writes through the tensor land in the buffer.
  t.data<float>()[1] = -7.0f;
  EXPECT_EQ(buffer[1], -7.0f);
  // A view of the view still writes through.
  Tensor col = view_meta::slice(t, 1, 1, 2);  // [3, 1]: elements 1, 3, 5
  EXPECT_EQ(to_vector<float>(col), (std::vector<float>{-7, 4, 6}));
}

TEST(ViewOfBuffer, BorrowedMemoryIsNotCounted) {
  std::vector<double> buffer(1000, 0.0);
  const std::size_t before = memory_stats(Device::cpu()).current_bytes;
  {
    Tensor t = view_of_buffer(buffer.data(), {1000});
    EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, before);
  }
  EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, before);  // and never freed by the tensor
  EXPECT_EQ(buffer.size(), 1000u);
}

// ---------------------------------------------------------------------------------------------
// Allocator (CPU only: the CPU allocator's alignment and byte counting)

TEST(Allocator, FreshTensorsAre64ByteAligned) {
  // Odd sizes so the allocator cannot get alignment by luck of size classes.
  for (std::int64_t n : {1, 3, 17, 63, 65, 1000, 4097}) {
    for (DType dt : {DType::Float32, DType::Float64, DType::Int64, DType::Bool}) {
      Tensor t = empty({n}, dt);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64, 0u) << "n=" << n << " " << dtype_name(dt);
    }
  }
  Tensor z = zeros({7, 3});
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(z.raw_data()) % CpuAllocator::kAlignment, 0u);
  Tensor r = rand({5});
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(r.raw_data()) % 64, 0u);
}

TEST(Allocator, MemoryStatsFollowTensorLifetime) {
  // current_bytes counts the bytes asked for (not the 64-byte rounding): 1000 floats = 4000 bytes.
  // Nothing else allocates on this thread between the readings, and tests run one at a time.
  const std::size_t before = memory_stats(Device::cpu()).current_bytes;
  {
    Tensor t = empty({1000}, DType::Float32);
    MemoryStats during = memory_stats(Device::cpu());
    EXPECT_EQ(during.current_bytes, before + 4000);
    EXPECT_GE(during.peak_bytes, during.current_bytes);
    {
      Tensor view = view_meta::transpose(view_meta::with_geometry(t, {10, 100}, {100, 1}, 0), 0, 1);
      EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, before + 4000);  // views allocate nothing
      t = Tensor();                                                         // the view keeps the storage alive
      EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, before + 4000);
    }
    EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, before);  // last view gone: freed
    Tensor u = empty({10}, DType::Float64);
    EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, before + 80);
  }
  EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, before);
}

// ---------------------------------------------------------------------------------------------
// Philox 4x32-10 known answers (Random123 kat_vectors; CPU only: the shared host/device function on the
// host)

struct PhiloxKat {
  std::uint32_t ctr[4];
  std::uint32_t key[2];
  std::uint32_t expected[4];
};

TEST(Philox, Random123KnownAnswers) {
  const PhiloxKat kats[] = {
      {{0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u},
       {0x00000000u, 0x00000000u},
       {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
      {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
       {0xffffffffu, 0xffffffffu},
       {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
      {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
       {0xa4093822u, 0x299f31d0u},
       {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
  };
  for (const auto& k : kats) {
    const kernels::Philox4x32 r = kernels::philox4x32_10(k.ctr[0], k.ctr[1], k.ctr[2], k.ctr[3], k.key[0], k.key[1]);
    for (int w = 0; w < 4; ++w)
      EXPECT_EQ(r.v[w], k.expected[w]) << "word " << w << " for counter " << std::hex << k.ctr[0] << " key "
                                       << k.key[0];
  }
}

TEST(Philox, BlockUsesOffsetPlusIndexAsCounterAndSeedAsKey) {
  const std::uint64_t seed = 0x0123456789abcdefull, offset = 0xfffffffeull;
  const kernels::Philox4x32 a = kernels::philox_block(seed, offset, 3);  // counter 0x1'00000001
  const kernels::Philox4x32 b = kernels::philox4x32_10(1u, 1u, 0u, 0u, 0x89abcdefu, 0x01234567u);
  for (int w = 0; w < 4; ++w) EXPECT_EQ(a.v[w], b.v[w]);
}

// ---------------------------------------------------------------------------------------------
// rand / randn

TEST_P(Random, RandIsInUnitIntervalWithMeanHalf) {
  constexpr std::int64_t n = 100000;
  for (DType dt : {DType::Float32, DType::Float64}) {
    Generator gen(1234);
    Tensor t = rand({n}, options(dt), gen);
    EXPECT_EQ(t.dtype(), dt);
    const std::vector<double> v = to_vector<double>(t);
    double sum = 0.0, lo = 1.0, hi = 0.0;
    for (double x : v) {
      sum += x;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    EXPECT_GE(lo, 0.0);
    EXPECT_LT(hi, 1.0);
    // U(0,1): variance 1/12, so the mean of n draws has sigma = sqrt(1/(12 n)) = 9.1e-4; allow 6 sigma.
    const double sigma = std::sqrt(1.0 / (12.0 * n));
    EXPECT_NEAR(sum / n, 0.5, 6 * sigma) << dtype_name(dt);
    // The draws spread over the interval: 1e5 uniform draws leave no gap near either end wider
    // than 1e-3 except with probability (1 - 1e-3)^1e5 ~ e^-100.
    EXPECT_LT(lo, 1e-3);
    EXPECT_GT(hi, 1.0 - 1e-3);
  }
}

TEST_P(Random, RandRange) {
  Generator gen(9);
  const std::vector<double> v = to_vector<double>(rand({10000}, options(DType::Float64), gen, -3.0, 5.0));
  for (double x : v) {
    ASSERT_GE(x, -3.0);
    ASSERT_LT(x, 5.0);
  }
}

TEST_P(Random, RandRangeExcludesHighEndInFloat32) {
  // rand promises [lo, hi). Element 38471471 of the stream (seed 0, offset 0) has
  // word0 >> 8 == 0xFFFFFF, i.e. the largest float uniform u = 1 - 2^-24 (found by scanning
  // philox_block(0, 0, i); the premise is checked below). With lo = 1, hi = 2:
  // 1 + 1 * (1 - 2^-24) = 2 - 2^-24 is halfway between 2 - 2^-23 and 2 and rounds to even: 2 == hi.
  constexpr std::uint64_t kIndex = 38471471;
  ASSERT_EQ(kernels::philox_block(0, 0, kIndex).v[0] >> 8, 0xFFFFFFu);
  ASSERT_EQ(kernels::philox_uniform<float>(0, 0, kIndex), 1.0f - std::ldexp(1.0f, -24));
  Generator gen(0);
  gen.advance(kIndex);
  const float v = item<float>(rand({1}, options(DType::Float32), gen, 1.0, 2.0));
  EXPECT_GE(v, 1.0f);
  EXPECT_LT(v, 2.0f) << "rand(lo=1, hi=2) returned hi";
}

TEST_P(Random, RandnMeanZeroStdOne) {
  constexpr std::int64_t n = 100000;
  for (DType dt : {DType::Float32, DType::Float64}) {
    Generator gen(42);
    const std::vector<double> v = to_vector<double>(randn({n}, options(dt), gen));
    double sum = 0.0, sq = 0.0;
    for (double x : v) sum += x;
    const double mean = sum / n;
    for (double x : v) sq += (x - mean) * (x - mean);
    const double stddev = std::sqrt(sq / (n - 1));
    // Mean of n standard normals: sigma = 1/sqrt(n) = 3.2e-3. Sample std: sigma ~ 1/sqrt(2n) = 2.2e-3.
    // 6 sigma for both.
    EXPECT_NEAR(mean, 0.0, 6.0 / std::sqrt(double(n))) << dtype_name(dt);
    EXPECT_NEAR(stddev, 1.0, 6.0 / std::sqrt(2.0 * n)) << dtype_name(dt);
    for (double x : v) ASSERT_TRUE(std::isfinite(x));
  }
}

TEST_P(Random, RandnMeanAndStdArguments) {
  Generator a(5), b(5);
  const std::vector<double> z = to_vector<double>(randn({100}, options(DType::Float64), a));
  const std::vector<double> s = to_vector<double>(randn({100}, options(DType::Float64), b, 3.0, 2.0));
  // Same counters: s = 3 + 2 z up to one rounding of each operation (|3 + 2z| < 20, so 1e-13 is ample).
  for (std::size_t i = 0; i < z.size(); ++i) EXPECT_NEAR(s[i], 3.0 + 2.0 * z[i], 1e-13);
}

TEST_P(Random, SameSeedSameValues) {
  Generator a(77), b(77);
  EXPECT_EQ(to_vector<float>(rand({1000}, options(), a)), to_vector<float>(rand({1000}, options(), b)));
  EXPECT_EQ(to_vector<double>(randn({3, 7}, options(DType::Float64), a)),
            to_vector<double>(randn({3, 7}, options(DType::Float64), b)));
}

TEST_P(Random, DifferentSeedsDiffer) {
  Generator a(1), b(2);
  const std::vector<float> va = to_vector<float>(rand({1000}, options(), a));
  const std::vector<float> vb = to_vector<float>(rand({1000}, options(), b));
  int equal = 0;
  for (std::size_t i = 0; i < va.size(); ++i) equal += va[i] == vb[i];
  // Two independent 24-bit uniforms coincide with probability 2^-24: expect 0 of 1000.
  EXPECT_LE(equal, 1);
}

TEST_P(Random, OffsetAdvancesSoDrawsDiffer) {
  Generator gen(3);
  EXPECT_EQ(gen.offset(), 0u);
  Tensor first = rand({100}, options(DType::Float64), gen);
  EXPECT_EQ(gen.offset(), 100u);
  Tensor second = rand({100}, options(DType::Float64), gen);
  EXPECT_EQ(gen.offset(), 200u);
  const std::vector<double> a = to_vector<double>(first), b = to_vector<double>(second);
  EXPECT_NE(a, b);
  // Counter-based: one draw of 200 from a fresh generator is the two draws of 100 end to end.
  Generator fresh(3);
  std::vector<double> both = to_vector<double>(rand({200}, options(DType::Float64), fresh));
  std::vector<double> concat = a;
  concat.insert(concat.end(), b.begin(), b.end());
  EXPECT_EQ(both, concat);
  // manual_seed rewinds.
  gen.manual_seed(3);
  EXPECT_EQ(gen.offset(), 0u);
  EXPECT_EQ(to_vector<double>(rand({100}, options(DType::Float64), gen)), a);
}

TEST_P(Random, ValuesMatchPhiloxElementwise) {
  Generator gen(0xabcdef);
  gen.advance(17);
  const std::vector<float> v = to_vector<float>(rand({50}, options(), gen));
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], kernels::philox_uniform<float>(0xabcdef, 17, i)) << i;
}

TEST_P(Random, IntegerDtypeIsAnError) {
  expect_error([&] { rand({3}, options(DType::Int64)); }, {"anima::random", "int64"});
}

TEST_P(Random, RequiresGradLeaf) {
  Generator gen(1);
  Tensor t = randn({2, 2}, options(DType::Float64).with_requires_grad(), gen);
  EXPECT_TRUE(t.requires_grad());
  EXPECT_TRUE(t.is_leaf());
}

TEST_P(Random, SameDrawsAsTheCpu) {
  // Uniform draws are bit-identical across backends (integer Philox + exact scaling).
  for (DType t : {DType::Float32, DType::Float64}) {
    Generator g1(42), g2(42);
    EXPECT_EQ(to_vector<double>(rand({1000}, TensorOptions(t), g1)), to_vector<double>(rand({1000}, options(t), g2)));
  }
  // Normal draws go through log/cos: the device's and the host's libm agree to a few ulps (float32:
  // 1e-5 of the scale, the largest of 4096 draws being ~4).
  Generator g1(7), g2(7);
  anima::testing::expect_close("randn", randn({4096}, options(), g2), randn({4096}, TensorOptions(), g1),
                               anima::testing::Tolerance{1e-5});
}

// ---------------------------------------------------------------------------------------------
// Devices: transfers, allocator statistics, mixing devices

TEST_P(Devices, TransfersAndAllocatorStats) {
  const Tensor host = anima::testing::uniform({123, 77}, 23, -1, 1, DType::Float32, false);
  const Tensor back = to(to(host, device()), Device::cpu());
  EXPECT_EQ(to_vector<float>(back), to_vector<float>(host));
  const MemoryStats before = memory_stats(device());
  {
    const Tensor t = zeros({1 << 20}, options());
    const MemoryStats during = memory_stats(device());
    EXPECT_GE(during.current_bytes, before.current_bytes + (4u << 20));
    EXPECT_GE(during.peak_bytes, during.current_bytes);
    EXPECT_GE(during.reserved_bytes, during.current_bytes);
  }
  EXPECT_EQ(memory_stats(device()).current_bytes, before.current_bytes);
}

TEST_P(Devices, MixingDevicesIsAnError) {
  const Tensor a = zeros({2, 3}, options()), b = foreign({2, 3});
  expect_error([&] { add(a, b); }, {"anima::add", "cuda:0"});
  EXPECT_THROW(matmul(a, transpose(b, 0, 1)), Error);
  // A CUDA device that does not exist.
  EXPECT_THROW(zeros({2}, TensorOptions().with_device(Device::cuda(cuda_device_count()))), Error);
}

// ---------------------------------------------------------------------------------------------
// Printing (CPU only: the host formatting)

TEST(RandomPermutation, IsAPhiloxFisherYatesShuffle) {
  for (std::int64_t n : {0, 1, 2, 17, 100}) {
    const std::vector<std::int64_t> order = random_permutation(n, 0x5eed, 3ull << 32);
    std::vector<std::int64_t> expected(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) expected[static_cast<std::size_t>(i)] = i;
    for (std::int64_t i = n - 1; i > 0; --i) {
      const double u = kernels::philox_uniform<double>(0x5eed, 3ull << 32, static_cast<std::uint64_t>(i));
      std::swap(expected[static_cast<std::size_t>(i)], expected[static_cast<std::size_t>(u * double(i + 1))]);
    }
    EXPECT_EQ(order, expected) << "n " << n;
  }
  EXPECT_NE(random_permutation(100, 1, 0), random_permutation(100, 2, 0));
}

TEST(Print, ShowsValuesShapeDtype) {
  Tensor t = from_vector<double>({1.5, -2.25, 3.0, 4.0}, {2, 2});
  const std::string s = to_string(t);
  EXPECT_TRUE(contains(s, "1.5")) << s;
  EXPECT_TRUE(contains(s, "-2.25")) << s;
  EXPECT_TRUE(contains(s, "3")) << s;
  EXPECT_TRUE(contains(s, "shape=[2, 2]")) << s;
  EXPECT_TRUE(contains(s, "dtype=float64")) << s;
  EXPECT_TRUE(contains(s, "device=cpu")) << s;
  EXPECT_FALSE(contains(s, "...")) << s;
  std::ostringstream os;
  os << t;
  EXPECT_EQ(os.str(), s);
}

TEST(Print, IntegersAndBools) {
  const std::string s = to_string(from_vector<std::int64_t>({7, -8, 9}, {3}));
  EXPECT_TRUE(contains(s, "[7, -8, 9]")) << s;
  EXPECT_TRUE(contains(s, "dtype=int64")) << s;
  const std::string b = to_string(full({2}, 1.0, DType::Bool));
  EXPECT_TRUE(contains(b, "[1, 1]")) << b;
  EXPECT_TRUE(contains(b, "dtype=bool")) << b;
}

TEST(Print, ElidesLongDims) {
  // 100, 101, ..., 109: shows the three values at each end only.
  Tensor t = arange(100.0, 110.0, 1.0, DType::Int64);
  const std::string s = to_string(t);
  EXPECT_TRUE(contains(s, "...")) << s;
  for (const char* shown : {"100", "101", "102", "107", "108", "109"}) EXPECT_TRUE(contains(s, shown)) << s;
  for (const char* hidden : {"103", "104", "105", "106"}) EXPECT_FALSE(contains(s, hidden)) << s;
  EXPECT_TRUE(contains(s, "shape=[10]")) << s;

  // A long leading dim elides rows.
  Tensor m = view_meta::with_geometry(arange(200.0, 216.0, 1.0, DType::Int64), {8, 2}, {2, 1}, 0);
  const std::string sm = to_string(m);
  EXPECT_TRUE(contains(sm, "...")) << sm;
  EXPECT_TRUE(contains(sm, "[200, 201]")) << sm;
  EXPECT_TRUE(contains(sm, "[214, 215]")) << sm;
  EXPECT_FALSE(contains(sm, "207")) << sm;

  // Six or fewer are printed in full.
  EXPECT_FALSE(contains(to_string(arange(6.0)), "..."));
}

TEST(Print, ScalarEmptyAndRequiresGrad) {
  const std::string s = to_string(full({}, 2.5, DType::Float64));
  EXPECT_TRUE(contains(s, "2.5")) << s;
  EXPECT_TRUE(contains(s, "shape=[]")) << s;
  // A 0-dim integer prints as an integer, as its 1-D form does (not "1.23457e+08").
  const std::string i = to_string(full({}, 123456789.0, DType::Int64));
  EXPECT_TRUE(contains(i, "tensor(123456789,")) << i;
  const std::string e = to_string(zeros({0, 3}));
  EXPECT_TRUE(contains(e, "[]")) << e;
  EXPECT_TRUE(contains(e, "shape=[0, 3]")) << e;
  const std::string g = to_string(ones({1}, TensorOptions(DType::Float64).with_requires_grad()));
  EXPECT_TRUE(contains(g, "requires_grad")) << g;
  EXPECT_EQ(to_string(Tensor()), "Tensor(undefined)");
}

}  // namespace
