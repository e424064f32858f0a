// The deterministic fill (anima/nn/deterministic_fill.hpp) against tools/golden/nets.py's numpy
// implementation: tests/golden/data/nets_fill.safetensors holds tensors of every kind filled by the
// script. Tolerance: none — the specification uses only exactly rounded operations, so every value
// must have the same bits (a whole-network golden test would otherwise compare two different nets).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/io/json_reader.hpp>
#include <anima/io/safetensors.hpp>
#include <anima/io/state_dict.hpp>
#include <anima/nn/deterministic_fill.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/view.hpp>

#include "../core/expect_error.hpp"
#include "../golden/golden_file.hpp"

namespace anima {
namespace {

const testing::GoldenFile& fixture() { return testing::golden("nets_fill.safetensors"); }

const Tensor& stored(const std::string& name) { return fixture().at(name); }

// Same dtype, shape and bytes.
void expect_same_bits(const Tensor& actual, const Tensor& expected, const std::string& what) {
  ASSERT_EQ(dtype_name(actual.dtype()), std::string(dtype_name(expected.dtype()))) << what;
  ASSERT_EQ(shape_str(actual.shape()), shape_str(expected.shape())) << what;
  const Tensor a = contiguous_copy(actual), e = contiguous_copy(expected);
  const std::size_t bytes = static_cast<std::size_t>(a.numel()) * element_size(a.dtype());
  const auto* pa = static_cast<const unsigned char*>(a.raw_data());
  const auto* pe = static_cast<const unsigned char*>(e.raw_data());
  std::size_t first = bytes;
  for (std::size_t i = 0; i < bytes && first == bytes; ++i)
    if (pa[i] != pe[i]) first = i;
  EXPECT_EQ(first, bytes) << what << ": first differing element " << first / element_size(a.dtype());
}

TEST(DeterministicFill, HashAndUniformMatchTheScript) {
  const std::int64_t h = stored("_fnv1a64/conv1.weight").data<std::int64_t>()[0];
  EXPECT_EQ(static_cast<std::uint64_t>(h), nn::fnv1a64("conv1.weight"));
  const Tensor u = stored("_u/conv1.weight");
  ASSERT_EQ(u.numel(), 16);
  for (std::int64_t i = 0; i < 16; ++i)
    EXPECT_EQ(nn::fill_uniform(nn::fnv1a64("conv1.weight"), static_cast<std::uint64_t>(i)), u.data<double>()[i])
        << "u_" << i;
  // FNV-1a-64's published test vectors: "" -> offset basis, "a" -> 0xaf63dc4c8601ec8c.
  EXPECT_EQ(nn::fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(nn::fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
}

// Every tensor of the fixture, filled here from its name, shape and dtype alone, has the same bits.
TEST(DeterministicFill, EveryKindIsBitExact) {
  const std::vector<std::string> names = fixture().list("names");
  ASSERT_GE(names.size(), 10u);
  io::StateDict sd;
  for (const std::string& n : names) {
    const Tensor& e = stored(n);
    sd.insert(n, full(e.shape(), 12345.0, TensorOptions(e.dtype())));  // overwritten by the fill
  }
  nn::deterministic_fill(sd);
  for (const auto& item : sd.items()) expect_same_bits(item.second, stored(item.first), item.first);
}

// Single elements of a 4096 x 25088 weight (too big to store): around the script's chunk boundary and
// at the end, computed element by element with the same per-element function the fill uses.
TEST(DeterministicFill, ElementsOfAHugeTensor) {
  const std::string name = "classifier.0.weight";
  const Tensor index = stored("_elements/" + name + "/index"), value = stored("_elements/" + name + "/value");
  const Tensor shape = stored("_elements/" + name + "/shape");
  const std::int64_t fan_in = shape.data<std::int64_t>()[1];
  const double b = std::sqrt(6.0 / static_cast<double>(fan_in));
  const Tensor probe = empty({2, 2});
  ASSERT_EQ(static_cast<int>(nn::fill_kind(name, probe)), static_cast<int>(nn::FillKind::FanInUniform));
  const std::uint64_t h = nn::fnv1a64(name);
  for (std::int64_t k = 0; k < index.numel(); ++k) {
    const auto i = static_cast<std::uint64_t>(index.data<std::int64_t>()[k]);
    const float got = static_cast<float>(nn::fill_value(nn::FillKind::FanInUniform, h, i, b));
    const float want = value.data<float>()[k];
    EXPECT_EQ(0, std::memcmp(&got, &want, sizeof got)) << "element " << i << ": " << got << " vs " << want;
  }
}

// The fill writes through views: a strided (transposed) destination gets the values of its own
// row-major index order, and a state_dict entry shares storage with the tensor it names.
TEST(DeterministicFill, WritesInPlaceThroughViews) {
  const Tensor base = zeros({4, 3});
  const Tensor t = transpose(base, 0, 1);  // [3, 4], not contiguous
  nn::deterministic_fill("x.weight", t);
  const Tensor want = zeros({3, 4});
  nn::deterministic_fill("x.weight", want);
  expect_same_bits(contiguous_copy(t), want, "transposed view");
  // The base sees the values (written in place, not into a copy).
  EXPECT_EQ(to_vector<float>(base)[1], to_vector<float>(want)[4]);  // base[0][1] = t[1][0] = want[1][0]
}

TEST(DeterministicFill, ValuesFollowTheSpecification) {
  io::StateDict sd;
  sd.insert("a.weight", zeros({64, 32, 3, 3}));
  sd.insert("a.bias", zeros({64}));
  sd.insert("bn.weight", zeros({64}));
  sd.insert("layer1.0.bn3.weight", zeros({64}));
  sd.insert("bn.running_mean", zeros({64}));
  sd.insert("bn.running_var", zeros({64}));
  sd.insert("bn.num_batches_tracked", full({}, 7.0, TensorOptions(DType::Int64)));
  nn::deterministic_fill(sd);
  auto range = [&](const std::string& n, double lo, double hi) {
    double mn = 1e30, mx = -1e30;
    for (float v : to_vector<float>(sd.at(n))) {
      mn = std::min<double>(mn, v);
      mx = std::max<double>(mx, v);
    }
    EXPECT_GE(mn, lo) << n;
    EXPECT_LT(mx, hi) << n;
    EXPECT_LT(mn, mx) << n << " is constant";
  };
  const double b = std::sqrt(6.0 / (32 * 9));
  range("a.weight", -b, b);
  range("a.bias", -1.0 / 16, 1.0 / 16);
  range("bn.weight", 0.875, 1.125);
  range("layer1.0.bn3.weight", 0.875 / 4, 1.125 / 4);
  range("bn.running_mean", -0.125, 0.125);
  range("bn.running_var", 0.5, 1.5);
  EXPECT_EQ(sd.at("bn.num_batches_tracked").data<std::int64_t>()[0], 0);
  // Each name gives different numbers.
  EXPECT_NE(to_vector<float>(sd.at("bn.weight"))[0], to_vector<float>(sd.at("layer1.0.bn3.weight"))[0] * 4);
}

TEST(DeterministicFill, RejectsOtherDtypes) {
  testing::expect_error([] { nn::deterministic_fill("mask", zeros({3}, TensorOptions(DType::Bool))); },
                        {"deterministic_fill", "mask", "bool"});
  testing::expect_error([] { nn::deterministic_fill("x", Tensor()); }, {"deterministic_fill", "undefined"});
}

}  // namespace
}  // namespace anima
