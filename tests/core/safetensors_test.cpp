// The safetensors reader and writer: round trips of every dtype, a file written the way Python's
// safetensors writes it (hand-built bytes, and a committed fixture from tools/golden/ops.py), and a
// clear anima::Error naming the file for every kind of damage (truncation, a header length past EOF,
// offsets out of range / overlapping / inconsistent with the shape, bad JSON, unknown dtypes).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/io/json_reader.hpp>
#include <anima/io/safetensors.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/view.hpp>

namespace anima {
namespace {

namespace fs = std::filesystem;
using io::load_safetensors;
using io::save_safetensors;

std::string bytes_of(const void* p, std::size_t n) { return std::string(static_cast<const char*>(p), n); }

// Expects load_safetensors(path) to throw an anima::Error that names the file and contains `fragment`.
void expect_load_error(const std::string& path, const std::vector<std::string>& fragments) {
  try {
    load_safetensors(path);
    ADD_FAILURE() << "expected an anima::Error for " << path << " containing \"" << fragments.front() << "\"";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("anima::load_safetensors"), std::string::npos) << what;
    EXPECT_NE(what.find(path), std::string::npos) << "the message does not name the file: " << what;
    for (const auto& f : fragments)
      EXPECT_NE(what.find(f), std::string::npos) << "missing \"" << f << "\" in: " << what;
  }
}

// A fresh folder per test, removed at the end.
class Safetensors : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("anima_safetensors_" + std::string(info->name()) + "_" +
                                        std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes 8-byte length + header + data bytes, as a safetensors writer would.
  std::string write_raw(const std::string& name, const std::string& header, const std::string& data,
                        std::uint64_t header_len_field = std::numeric_limits<std::uint64_t>::max()) const {
    const std::string p = path(name);
    std::ofstream out(p, std::ios::binary);
    std::uint64_t n = header_len_field == std::numeric_limits<std::uint64_t>::max() ? header.size() : header_len_field;
    for (int i = 0; i < 8; ++i) {
      out.put(static_cast<char>(n & 0xFF));
      n >>= 8;
    }
    out << header << data;
    return p;
  }

  // A file (header and data) that load_safetensors must refuse with an Error containing `fragments`.
  struct Refused {
    std::string header;
    std::string data;
    std::vector<std::string> fragments;
  };
  // Writes case i as <stem><i>.safetensors and expects its refusal.
  void expect_refused(const std::string& stem, const std::vector<Refused>& cases) const {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      SCOPED_TRACE(cases[i].header);
      expect_load_error(write_raw(stem + std::to_string(i) + ".safetensors", cases[i].header, cases[i].data),
                        cases[i].fragments);
    }
  }

  fs::path dir_;
};

TEST_F(Safetensors, RoundTripEveryDtype) {
  std::map<std::string, Tensor> t;
  t["f32"] = from_vector<float>({1.5f, -2.f, 3.25f, 0.f, 1e-30f, -7.f}, {2, 3});
  t["f64"] = from_vector<double>({1.0 / 3.0, -2.5e300, 5e-320}, {3});
  t["i64"] = from_vector<std::int64_t>({-(std::int64_t(1) << 62), 7, 0, std::int64_t(1) << 40}, {2, 2});
  const bool flags[3] = {true, false, true};
  t["bool"] = from_buffer<bool>(flags, {3});
  t["scalar"] = from_vector<float>({4.f}, {});
  t["empty"] = zeros({0, 3});
  // float16 / bfloat16 tensors hold raw bits; they come back converted to float32.
  Tensor f16 = Tensor::empty({3}, DType::Float16);
  const std::uint16_t f16_bits[3] = {0x3C00 /*1*/, 0xC100 /*-2.5*/, 0x0001 /*2^-24*/};
  std::memcpy(f16.raw_data(), f16_bits, sizeof f16_bits);
  t["f16"] = f16;
  Tensor bf16 = Tensor::empty({2}, DType::BFloat16);
  const std::uint16_t bf16_bits[2] = {0x3FC0 /*1.5*/, 0xC020 /*-2.5*/};
  std::memcpy(bf16.raw_data(), bf16_bits, sizeof bf16_bits);
  t["bf16"] = bf16;
  // A non-contiguous view is written in row-major order.
  t["transposed"] = transpose(from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}), 0, 1);
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"quote\"back\\slash\n", "\x01 é"}};

  const std::string p = path("round.safetensors");
  save_safetensors(p, t, meta);
  const io::SafetensorsFile f = load_safetensors(p);
  EXPECT_EQ(f.metadata, meta);
  ASSERT_EQ(f.tensors.size(), t.size());
  EXPECT_EQ(f.tensors.at("f32").dtype(), DType::Float32);
  EXPECT_EQ(f.tensors.at("f32").shape(), (Shape{2, 3}));
  EXPECT_EQ(to_vector<float>(f.tensors.at("f32")), to_vector<float>(t["f32"]));
  EXPECT_EQ(f.tensors.at("f64").dtype(), DType::Float64);
  EXPECT_EQ(to_vector<double>(f.tensors.at("f64")), to_vector<double>(t["f64"]));
  EXPECT_EQ(f.tensors.at("i64").dtype(), DType::Int64);
  EXPECT_EQ(to_vector<std::int64_t>(f.tensors.at("i64")), to_vector<std::int64_t>(t["i64"]));
  EXPECT_EQ(f.tensors.at("bool").dtype(), DType::Bool);
  EXPECT_EQ(to_vector<bool>(f.tensors.at("bool")), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(f.tensors.at("scalar").shape(), Shape{});
  EXPECT_EQ(item<float>(f.tensors.at("scalar")), 4.f);
  EXPECT_EQ(f.tensors.at("empty").shape(), (Shape{0, 3}));
  EXPECT_EQ(f.tensors.at("f16").dtype(), DType::Float32);
  EXPECT_EQ(to_vector<float>(f.tensors.at("f16")), (std::vector<float>{1.f, -2.5f, std::ldexp(1.f, -24)}));
  EXPECT_EQ(f.tensors.at("bf16").dtype(), DType::Float32);
  EXPECT_EQ(to_vector<float>(f.tensors.at("bf16")), (std::vector<float>{1.5f, -2.5f}));
  EXPECT_EQ(f.tensors.at("transposed").shape(), (Shape{3, 2}));
  EXPECT_EQ(to_vector<float>(f.tensors.at("transposed")), (std::vector<float>{1, 4, 2, 5, 3, 6}));

  // Atomic write: only the destination is left in the folder (no temporary file).
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
  // The data section starts 8-byte aligned, as the reference writer pads the header with spaces.
  std::ifstream in(p, std::ios::binary);
  std::uint64_t header_len = 0;
  in.read(reinterpret_cast<char*>(&header_len), 8);
  EXPECT_EQ(header_len % 8, 0u);
  // Overwriting an existing file works (rename over it).
  save_safetensors(p, {{"only", zeros({1})}});
  EXPECT_EQ(load_safetensors(p).tensors.size(), 1u);
}

TEST_F(Safetensors, HandBuiltPythonLayout) {
  // What safetensors.torch.save_file writes: keys not in our order, 8-byte-aligned header padded with
  // spaces, the larger dtype first in the data section, __metadata__ among the tensors.
  const double d[2] = {0.25, -8.0};
  const float f[3] = {1.f, 2.f, 3.f};
  const std::string header =
      "{\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,28]},"
      "\"__metadata__\":{\"format\":\"pt\"},"
      "\"a\":{\"dtype\":\"F64\",\"shape\":[1,2],\"data_offsets\":[0,16]}}";
  std::string padded = header;
  while (padded.size() % 8) padded += ' ';
  const std::string p = write_raw("py.safetensors", padded, bytes_of(d, 16) + bytes_of(f, 12));
  const auto file = load_safetensors(p);
  EXPECT_EQ(file.metadata.at("format"), "pt");
  EXPECT_EQ(to_vector<double>(file.tensors.at("a")), (std::vector<double>{0.25, -8.0}));
  EXPECT_EQ(file.tensors.at("a").shape(), (Shape{1, 2}));
  EXPECT_EQ(to_vector<float>(file.tensors.at("b")), (std::vector<float>{1, 2, 3}));
}

#ifdef ANIMA_GOLDEN_DIR
TEST_F(Safetensors, CommittedPythonFixture) {
  // tests/golden/data/safetensors_dtypes.safetensors, written by tools/golden/ops.py (`dtypes`).
  const auto file = load_safetensors(std::string(ANIMA_GOLDEN_DIR) + "/safetensors_dtypes.safetensors");
  EXPECT_EQ(file.metadata.at("format"), "pt");
  EXPECT_EQ(file.metadata.at("note"), "written by tools/golden/ops.py \xc3\xa9");  // \u00e9 decoded to UTF-8
  const auto& t = file.tensors;
  EXPECT_EQ(to_vector<float>(t.at("f32")), (std::vector<float>{1.5f, -2.f, 3.25f, 0.f, 1e-3f, -7.f}));
  EXPECT_EQ(to_vector<double>(t.at("f64")), (std::vector<double>{1.0 / 3.0, -2.5e300, 5e-320}));
  const auto h = to_vector<float>(t.at("f16"));
  ASSERT_EQ(h.size(), 6u);
  EXPECT_EQ(h[0], 1.f);
  EXPECT_EQ(h[1], -2.5f);
  EXPECT_EQ(h[2], 65504.f);               // largest half
  EXPECT_EQ(h[3], std::ldexp(1.f, -14));  // smallest normal half
  EXPECT_EQ(h[4], std::ldexp(1.f, -24));  // smallest subnormal half
  EXPECT_TRUE(std::isinf(h[5]) && h[5] > 0);
  const auto b = to_vector<float>(t.at("bf16"));
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0], 1.f);
  EXPECT_EQ(b[1], -2.5f);
  EXPECT_NEAR(b[2], 3.0e38f, 3.0e38f * 1e-2f);  // bf16 keeps 8 significant bits
  EXPECT_NEAR(b[3], 1.0e-3f, 1.0e-5f);
  EXPECT_EQ(to_vector<std::int64_t>(t.at("i64")),
            (std::vector<std::int64_t>{-(std::int64_t(1) << 62), 7, 0, std::int64_t(1) << 40}));
  EXPECT_EQ(t.at("i32").dtype(), DType::Int64);
  EXPECT_EQ(to_vector<std::int64_t>(t.at("i32")), (std::vector<std::int64_t>{-5, 2147483647}));
  EXPECT_EQ(to_vector<std::int64_t>(t.at("u8")), (std::vector<std::int64_t>{0, 255, 7}));
  EXPECT_EQ(to_vector<bool>(t.at("bool")), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(t.at("scalar").shape(), Shape{});
  EXPECT_EQ(t.at("empty").shape(), (Shape{0, 3}));
}
#endif

TEST_F(Safetensors, MissingOrTinyFile) {
  expect_load_error(path("does_not_exist.safetensors"), {"cannot open"});
  const std::string p = path("tiny.safetensors");
  std::ofstream(p, std::ios::binary) << "abc";
  expect_load_error(p, {"at least 8 bytes", "3 bytes"});
}

TEST_F(Safetensors, HeaderLengthPastEndOfFile) {
  const std::string h = "{}      ";
  expect_load_error(write_raw("past.safetensors", h, "", 1000), {"header length 1000", "past the end"});
  // A huge length (a corrupt field) is refused before anything is allocated.
  expect_load_error(write_raw("huge.safetensors", h, "", std::uint64_t(1) << 60), {"past the end"});
}

TEST_F(Safetensors, TruncatedFile) {
  // Saved correctly, then cut: the tensor's offsets now run past the data section.
  const std::string p = path("cut.safetensors");
  save_safetensors(p, {{"a", zeros({4})}, {"w", zeros({4, 4})}});
  const auto full = fs::file_size(p);
  fs::resize_file(p, full - 10);
  expect_load_error(p, {"tensor \"w\"", "data_offsets[1]", "within the data section", "expected at most 70, found 80"});
  // Cut so far that even the element count of one tensor cannot fit.
  save_safetensors(p, {{"w", zeros({4, 4})}});
  fs::resize_file(p, fs::file_size(p) - 10);
  expect_load_error(p, {"tensor \"w\"", "[4, 4]", "more bytes than the whole data section holds (54 bytes)"});
  // Cut inside the header.
  fs::resize_file(p, 20);
  expect_load_error(p, {"past the end"});
}

TEST_F(Safetensors, OffsetsOutOfRange) {
  const float f[2] = {1, 2};
  expect_refused("offsets", {
                                {R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,80]}})",
                                 bytes_of(f, 8),
                                 {"tensor \"x\"", "data_offsets[1]", "expected at most 8", "found 80"}},
                                {R"({"x":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})",
                                 bytes_of(f, 8),
                                 {"tensor \"x\"", "end before they begin"}},
                                {R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[-1,7]}})",
                                 bytes_of(f, 8),
                                 {"non-negative integer", "-1"}},
                            });
}

TEST_F(Safetensors, OffsetsOverlapOrLeaveGaps) {
  const float f[4] = {1, 2, 3, 4};
  expect_refused(
      "layout",
      {
          {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
           R"("b":{"dtype":"F32","shape":[3],"data_offsets":[4,16]}})",
           bytes_of(f, 16),
           {"overlap", "\"a\"", "\"b\""}},
          {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
           bytes_of(f, 16),
           {"tensor \"b\"", "gap"}},
          {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", bytes_of(f, 16), {"cover 8 bytes", "16"}},
      });
}

TEST_F(Safetensors, OffsetsInconsistentWithShape) {
  const float f[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  expect_refused("shape",
                 {
                     {R"({"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}})",
                      bytes_of(f, 32),
                      {"tensor \"x\"", "[2, 3]", "need 24 bytes", "hold 16"}},
                     {R"({"x":{"dtype":"F64","shape":[4],"data_offsets":[0,16]}})",
                      bytes_of(f, 32),
                      {"F64", "need 32 bytes", "hold 16"}},
                     // A shape whose element count overflows 64 bits is caught before any multiplication overflows.
                     {R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,16]}})",
                      bytes_of(f, 16),
                      {"tensor \"x\"", "more bytes than the whole data section"}},
                     {R"({"x":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,16]}})",
                      bytes_of(f, 16),
                      {"shape[0]", "expected at most"}},
                 });
}

TEST_F(Safetensors, BadJson) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},}", "a string key"},  // trailing comma
      {"{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}", "',' or '}'"},      // unclosed
      {"{\"x\" {}}", "at byte 5 (line 1, column 6): expected ':' after an object key, found '{'"},
      {"{\n\"x\"\n{}}", "at byte 6 (line 3, column 1): expected ':' after an object key"},
      {"{\"x\":\"unterminated}", "closing '\"'"},
      {"{\"x\":tru}", "a JSON value"},
      {"{} {}", "end of the JSON text"},
      {"{\"a\":1,\"a\":2}", "duplicate key \"a\""},
      {"{\"a\":\"\\q\"}", "escape"},
      {"{\"a\":01}", "',' or '}' in an object"},
      {"[1, 2]", "expected the header to be a JSON object"},
      {"{\"a\":\"\xff\"}", "expected valid UTF-8, found byte 0xff"},
      {"{\"a\":\"\xc3\"}", "expected valid UTF-8"},          // truncated sequence
      {"{\"a\":\"\xc0\x80\"}", "expected valid UTF-8"},      // overlong NUL
      {"{\"a\":\"\xed\xa0\x80\"}", "expected valid UTF-8"},  // encoded surrogate
  };
  int i = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.first);
    expect_load_error(write_raw("json" + std::to_string(i++) + ".safetensors", c.first, ""), {c.second});
  }
  // Nesting is bounded (no stack overflow on hostile input).
  expect_load_error(write_raw("deep.safetensors", "{\"a\":" + std::string(200, '[') + std::string(200, ']') + "}", ""),
                    {"nesting at most 64 deep"});
}

TEST_F(Safetensors, BadEntries) {
  const float f[2] = {1, 2};
  const unsigned char bad_bool[2] = {1, 7};
  expect_refused(
      "entry",
      {
          {R"({"x":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})",
           bytes_of(f, 2),
           {"tensor \"x\"", "unsupported dtype \"F8_E4M3\"", "expected one of F32"}},
          {R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", bytes_of(f, 8), {"found \"extra\""}},
          {R"({"x":{"dtype":"F32","shape":[2]}})", bytes_of(f, 8), {"one is missing"}},
          {R"({"__metadata__":{"n":3}})", "", {"\"__metadata__\" value \"n\"", "a string", "a number"}},
          {R"({"x":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})",
           bytes_of(f, 8),
           {"shape[0]", "non-negative integer", "2.0"}},
          {R"({"x":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})",
           bytes_of(bad_bool, 2),
           {"BOOL element 1 is 7"}},
      });
}

TEST_F(Safetensors, SaveErrors) {
  try {
    save_safetensors(path("m.safetensors"), {{"__metadata__", zeros({1})}});
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("reserved"), std::string::npos) << e.what();
  }
  const std::string bad = path("no_such_folder/x.safetensors");
  try {
    save_safetensors(bad, {{"x", zeros({1})}});
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}

TEST(JsonReader, DecodesEscapesAndKeepsNumbers) {
  const auto v = io::parse_json(
      " {\"s\": \"a\\u00e9\\ud83d\\ude00\\n\", \"n\": [0, -1.5e3, 12], \"t\": true, \"z\": null} ", "test", "inline");
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.find("s")->text, "a\xc3\xa9\xf0\x9f\x98\x80\n");
  EXPECT_EQ(v.find("n")->items[1].text, "-1.5e3");
  EXPECT_EQ(io::json_as_uint64(v.find("n")->items[2], 100, "test", "inline", "n[2]"), 12u);
  EXPECT_THROW(io::json_as_uint64(v.find("n")->items[2], 11, "test", "inline", "n[2]"), Error);
  EXPECT_EQ(io::json_as_uint64(io::parse_json("18446744073709551615", "t", "s"),
                               std::numeric_limits<std::uint64_t>::max(), "t", "s", "max"),
            std::numeric_limits<std::uint64_t>::max());
  EXPECT_THROW(io::json_as_uint64(io::parse_json("18446744073709551616", "t", "s"),
                                  std::numeric_limits<std::uint64_t>::max(), "t", "s", "max"),
               Error);
  EXPECT_TRUE(v.find("t")->boolean);
  EXPECT_EQ(v.find("z")->kind, io::JsonValue::Kind::Null);
  EXPECT_EQ(io::parse_json(io::json_quote("q\"\\\x01"), "t", "s").text, "q\"\\\x01");
}

}  // namespace
}  // namespace anima
