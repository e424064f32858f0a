// tests/io/pth_test.cpp — the PyTorch checkpoint reader (anima/io/pth.hpp) and load_weights
// (anima/io/weights_file.hpp) against files torch.save wrote.
//
// Fixtures: tests/io/data, made by tools/golden/pth_fixtures.py (torch 1.13; see its docstring for
// what each file holds). Regenerate with `/usr/bin/python3 tools/golden/pth_fixtures.py`.
// Comparisons are exact (bit for bit): the reader copies bytes, and half/bfloat16 -> float32 and the
// integer widenings are exact conversions, done by torch (`.float()`, `.long()`) for the expected file.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>  // getpid: scratch names of parallel test processes differ

#include <anima/io/pth.hpp>
#include <anima/io/safetensors.hpp>
#include <anima/io/weights_file.hpp>

#include "core/expect_error.hpp"

namespace anima {
namespace {

std::string data(const std::string& name) { return std::string(ANIMA_TEST_DATA_DIR) + "/" + name; }

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const char* p, std::size_t n) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(p, static_cast<std::streamsize>(n));
}

// Every tensor of `expected_file` is in `sd` with the same dtype, shape and bytes, and `sd` has
// nothing else.
void expect_equal_to(const io::StateDict& sd, const std::string& expected_file) {
  const io::SafetensorsFile want = io::load_safetensors(data(expected_file));
  ASSERT_EQ(sd.size(), want.tensors.size()) << expected_file;
  for (const auto& kv : want.tensors) {
    const Tensor* got = sd.find(kv.first);
    ASSERT_NE(got, nullptr) << "missing " << kv.first;
    EXPECT_EQ(got->dtype(), kv.second.dtype()) << kv.first;
    ASSERT_EQ(got->shape(), kv.second.shape()) << kv.first;
    ASSERT_TRUE(got->is_contiguous()) << kv.first;
    const std::size_t bytes = static_cast<std::size_t>(got->numel()) * element_size(got->dtype());
    if (bytes > 0) {
      EXPECT_EQ(std::memcmp(got->raw_data(), kv.second.raw_data(), bytes), 0) << kv.first;
    }
  }
}

std::vector<std::string> names_of(const io::StateDict& sd) {
  std::vector<std::string> n;
  for (const auto& it : sd.items()) n.push_back(it.first);
  return n;
}

TEST(Pth, ZipAndLegacyStateDictsEqualTorch) {
  for (const char* f : {"small_zip.pth", "small_legacy.pth"}) {
    SCOPED_TRACE(f);
    expect_equal_to(io::load_pth(data(f)), "small_expected.safetensors");
    expect_equal_to(io::load_weights(data(f)), "small_expected.safetensors");
  }
}

TEST(Pth, PickleProtocol4) {
  for (const char* f : {"small_proto4_zip.pth", "small_proto4_legacy.pth"}) {
    SCOPED_TRACE(f);
    expect_equal_to(io::load_pth(data(f)), "small_expected.safetensors");
  }
}

TEST(Pth, ParameterRebuiltFromType) {
  expect_equal_to(io::load_pth(data("from_type_v2.pth")), "from_type_v2_expected.safetensors");
}

TEST(Pth, KeepsFileOrder) {
  const std::vector<std::string> want = {
      "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked",
      "4.weight", "4.bias"};
  EXPECT_EQ(names_of(io::load_pth(data("small_zip.pth"))), want);
  EXPECT_EQ(names_of(io::load_pth(data("small_legacy.pth"))), want);
}

TEST(Pth, NumBatchesTrackedIsInt64) {
  const io::StateDict sd = io::load_pth(data("small_zip.pth"));
  EXPECT_EQ(sd.at("1.num_batches_tracked").dtype(), DType::Int64);
  EXPECT_EQ(sd.at("1.num_batches_tracked").dim(), 0);
  EXPECT_EQ(*sd.at("1.num_batches_tracked").data<std::int64_t>(), 1);
}

TEST(Pth, DtypesViewsSharedStoragesAndStrides) {
  for (const char* f : {"dtypes_zip.pth", "dtypes_legacy.pth"}) {
    SCOPED_TRACE(f);
    const io::StateDict sd = io::load_pth(data(f));
    expect_equal_to(sd, "dtypes_expected.safetensors");
    EXPECT_EQ(sd.at("half").dtype(), DType::Float32);
    EXPECT_EQ(sd.at("bf16").dtype(), DType::Float32);
    EXPECT_EQ(sd.at("i8").dtype(), DType::Int64);
    EXPECT_EQ(sd.at("bool").dtype(), DType::Bool);
    EXPECT_EQ(sd.at("transposed").shape(), (Shape{5, 3}));
    EXPECT_EQ(sd.at("empty").shape(), (Shape{0, 3}));
  }
}

TEST(Pth, UnwrapsNestedCheckpointsAndStripsModulePrefix) {
  expect_equal_to(io::load_pth(data("nested_zip.pth")), "small_expected.safetensors");     // {"state_dict": ...}
  expect_equal_to(io::load_pth(data("nested_legacy.pth")), "small_expected.safetensors");  // {"model": ...}
}

TEST(Pth, Zip64AndDataDescriptors) {
  expect_equal_to(io::load_pth(data("zip64_dd.pth")), "small_expected.safetensors");
}

TEST(Pth, Python2LegacyFileWithStorageViews) {
  const io::StateDict sd = io::load_pth(data("py2_legacy.pth"));
  expect_equal_to(sd, "py2_expected.safetensors");
  EXPECT_EQ(names_of(sd), (std::vector<std::string>{"features.0.weight", "features.0.bias"}));
}

// Each corrupt or unsupported fixture, and the fragments its error must contain (besides the file name).
struct BadFile {
  const char* file;
  std::vector<std::string> fragments;
};

const std::vector<BadFile>& bad_files() {
  static const std::vector<BadFile> files = {
      {"bad_truncated_zip.pth", {"not a valid zip archive", "no end-of-central-directory record"}},
      {"bad_truncated_legacy_data.pth", {"truncated or corrupt", "storage '"}},
      {"bad_truncated_legacy_pickle.pth", {"pickle byte 27: truncated"}},
      {"bad_compressed.pth", {"is compressed (method 8, deflate)", "uncompressed"}},
      {"bad_magic_legacy.pth", {"magic number 0x1950a86a20f9469cfc6c"}},
      {"bad_count_legacy.pth", {"elements in the data section, expected"}},
      {"bad_module_object.pth", {"unsupported class 'torch.nn.modules"}},
      {"bad_protocol0.pth", {"unsupported pickle opcode 0x70 ('p')", "data.pkl"}},
      {"bad_not_a_dict.pth", {"expected the checkpoint to hold a dict of tensors", "found a list"}},
      {"bad_non_tensor.pth", {"state_dict entry \"epoch\" is an int, expected a tensor"}},
      {"bad_out_of_bounds.pth", {"_rebuild_tensor_v2", "reads element 99 of a storage of 10 elements"}},
      {"bad_offset_out_of_bounds.pth", {"at offset 8 reads element 11 of a storage of 10 elements"}},
      {"bad_storage_size.pth", {"has 36 bytes, expected 40"}},
      {"bad_missing_storage.pth", {"storage '0'", "has no zip entry"}},
      {"bad_huge_storage.pth", {"more than the whole file"}},
      {"bad_many_views.pth", {"more than 8 times the file"}},
      {"bad_bool.pth", {"bool element 1 is 2, expected 0 or 1"}},
      {"bad_complex.pth", {"unsupported class 'torch.ComplexFloatStorage'"}},
      {"bad_garbage.bin", {"not a PyTorch checkpoint"}},
  };
  return files;
}

TEST(Pth, CorruptFilesThrowErrorsNamingFileAndProblem) {
  for (const auto& b : bad_files()) {
    SCOPED_TRACE(b.file);
    std::vector<std::string> fragments = b.fragments;
    fragments.push_back("anima::load_pth");
    fragments.push_back(b.file);
    testing::expect_error([&] { io::load_pth(data(b.file)); }, fragments);
    // load_weights reaches the same reader (or says the format is unknown) and names the file too.
    testing::expect_error([&] { io::load_weights(data(b.file)); }, {b.file});
  }
}

TEST(WeightsFile, DetectsFormatsByContent) {
  EXPECT_EQ(io::detect_weights_format(data("small_zip.pth")), io::WeightsFormat::PthZip);
  EXPECT_EQ(io::detect_weights_format(data("small_legacy.pth")), io::WeightsFormat::PthLegacy);
  EXPECT_EQ(io::detect_weights_format(data("small_expected.safetensors")), io::WeightsFormat::Safetensors);
  EXPECT_EQ(io::detect_weights_format(data("bad_garbage.bin")), io::WeightsFormat::Unknown);
  testing::expect_error([] { io::load_weights(data("bad_garbage.bin")); },
                        {"anima::load_weights", "bad_garbage.bin", "not a weight file"});
  testing::expect_error([] { io::load_weights(data("no_such_file.pth")); },
                        {"anima::load_weights", "no_such_file.pth", "cannot open"});
  testing::expect_error([] { io::load_pth(data("no_such_file.pth")); },
                        {"anima::load_pth", "no_such_file.pth", "cannot open"});
}

// A safetensors header of 640 bytes has the length bytes 80 02 00 ..., which also begin a pickle.
TEST(WeightsFile, SafetensorsWhoseLengthLooksLikeAPickle) {
  std::string file(8, '\0');
  file[0] = static_cast<char>(0x80);
  file[1] = 0x02;
  file += "{}" + std::string(638, ' ');
  const std::string path = ::testing::TempDir() + "anima_len640.safetensors";
  write_bytes(path, file.data(), file.size());
  EXPECT_EQ(io::detect_weights_format(path), io::WeightsFormat::Safetensors);
  EXPECT_TRUE(io::load_weights(path).empty());
  std::remove(path.c_str());
}

TEST(WeightsFile, SafetensorsRoundTrip) {
  const io::StateDict sd = io::load_weights(data("dtypes_legacy.pth"));
  const std::string out = ::testing::TempDir() + "anima_weights_roundtrip.safetensors";
  io::save_weights_safetensors(out, sd, {{"source", "dtypes_legacy.pth"}});
  const io::StateDict back = io::load_weights(out);
  expect_equal_to(back, "dtypes_expected.safetensors");
  EXPECT_EQ(io::load_safetensors(out).metadata.at("source"), "dtypes_legacy.pth");
  std::remove(out.c_str());
}

// Loads a mutated file: must either succeed or throw anima::Error — never crash, never another
// exception (std::bad_alloc would mean an unbounded allocation). Run under
// -fsanitize=address,undefined to check for memory errors.
void load_must_not_crash(const std::string& path, const std::string& what) {
  try {
    (void)io::load_weights(path);
  } catch (const Error&) {
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": threw a non-anima exception: " << e.what();
  }
}

const char* const kValidFiles[] = {"small_zip.pth",           "small_legacy.pth",  "small_proto4_zip.pth",
                                   "small_proto4_legacy.pth", "dtypes_zip.pth",    "dtypes_legacy.pth",
                                   "nested_zip.pth",          "nested_legacy.pth", "zip64_dd.pth",
                                   "py2_legacy.pth",          "from_type_v2.pth"};

// Each mutation is written to a file and loaded (a few ms each on a shared machine), so by default
// the loops sample: every length/byte of the first 64 and then about 100 spread over the rest of each
// file. ANIMA_FUZZ_FULL=1 runs every length and every byte (for a sanitizer run).
// Scratch files for the mutations: /dev/shm when there is one (rewriting a file on this machine's disk
// takes ~5 ms, in tmpfs ~25 us), else gtest's temporary folder.
std::string fuzz_scratch(const std::string& name) {
  const std::string shm = "/dev/shm/" + name;
  if (std::FILE* f = std::fopen(shm.c_str(), "wb")) {
    std::fclose(f);
    return shm;
  }
  return ::testing::TempDir() + name;
}

bool fuzz_full() {
  const char* v = std::getenv("ANIMA_FUZZ_FULL");
  return v != nullptr && std::string(v) == "1";
}
std::vector<std::size_t> fuzz_positions(std::size_t size) {
  std::vector<std::size_t> pos;
  const std::size_t step = fuzz_full() ? 1 : (size > 64 ? (size - 64) / 100 + 1 : 1);
  for (std::size_t i = 0; i < size; i += (i < 64 ? 1 : step)) pos.push_back(i);
  if (!pos.empty() && pos.back() != size - 1) pos.push_back(size - 1);
  return pos;
}

TEST(PthFuzz, TruncatedFilesAlwaysFail) {
  const std::string tmp = fuzz_scratch("anima_pth_truncated_" + std::to_string(::getpid()) + ".pth");
  for (const char* f : kValidFiles) {
    const std::vector<char> bytes = read_bytes(data(f));
    ASSERT_FALSE(bytes.empty()) << f;
    for (std::size_t n : fuzz_positions(bytes.size())) {
      write_bytes(tmp, bytes.data(), n);
      // A strict prefix of a checkpoint is never a complete one: the reader must say so, naming the file.
      const std::string msg = testing::error_of([&] { (void)io::load_weights(tmp); });
      ASSERT_NE(msg, "<no error>") << f << " truncated to " << n << " bytes loaded without an error";
      ASSERT_TRUE(testing::contains(msg, tmp)) << msg;
    }
  }
  std::remove(tmp.c_str());
}

TEST(PthFuzz, FlippedBytesFailCleanlyOrLoad) {
  const std::string tmp = fuzz_scratch("anima_pth_flipped_" + std::to_string(::getpid()) + ".pth");
  std::uint32_t state = 12345u;  // xorshift: deterministic byte values
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  };
  for (const char* f : kValidFiles) {
    std::vector<char> bytes = read_bytes(data(f));
    for (std::size_t i : fuzz_positions(bytes.size())) {
      const char saved = bytes[i];
      for (int k = 0; k < 2; ++k) {  // all bits flipped, then one random value
        bytes[i] = k == 0 ? static_cast<char>(~saved) : static_cast<char>(next() & 0xFF);
        write_bytes(tmp, bytes.data(), bytes.size());
        load_must_not_crash(tmp, std::string(f) + " byte " + std::to_string(i));
      }
      bytes[i] = saved;
    }
  }
  std::remove(tmp.c_str());
}

// Several random bytes changed at once, and sometimes the end cut off: reaches states a single flip
// cannot (a length and the bytes it covers both wrong). 300 mutants per file (ANIMA_FUZZ_FULL: 3000).
TEST(PthFuzz, RandomMultiByteMutations) {
  const std::string tmp = fuzz_scratch("anima_pth_havoc_" + std::to_string(::getpid()) + ".pth");
  std::uint64_t state = 0x9E3779B97F4A7C15ull;  // splitmix64: deterministic
  auto next = [&] {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  const int rounds = fuzz_full() ? 3000 : 300;
  for (const char* f : kValidFiles) {
    const std::vector<char> original = read_bytes(data(f));
    for (int r = 0; r < rounds; ++r) {
      std::vector<char> bytes = original;
      const int changes = 1 + static_cast<int>(next() % 8);
      for (int c = 0; c < changes; ++c) bytes[next() % bytes.size()] = static_cast<char>(next() & 0xFF);
      if (next() % 4 == 0) bytes.resize(next() % bytes.size());
      write_bytes(tmp, bytes.data(), bytes.size());
      load_must_not_crash(tmp, std::string(f) + " mutant " + std::to_string(r));
    }
  }
  std::remove(tmp.c_str());
}

}  // namespace
}  // namespace anima
