// anima/io/safetensors.hpp — read and write safetensors files (Hugging Face's tensor file format).
//
// Format (https://github.com/huggingface/safetensors):
//   bytes [0, 8)          N, the header length, unsigned 64-bit little-endian
//   bytes [8, 8 + N)      a JSON object, UTF-8, possibly padded with trailing spaces:
//                           { "__metadata__": { "key": "value", ... },          (optional, strings only)
//                             "name": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, ... }
//   bytes [8 + N, EOF)    the data section; a tensor's bytes are [begin, end) relative to its start,
//                           row-major, little-endian.
//
// Reading is strict, like the reference implementation, and bounds every size it reads before it
// allocates anything from it: the header length against the file size, each shape's element count
// against the data section (no overflow), data_offsets inside the data section and equal to
// dtype size x element count, and the tensors tiling the data section exactly (no overlaps, no gaps).
// Every failure is an anima::Error naming the file and what was expected versus found.
//
// dtypes: F32, F64, I64, BOOL load as themselves; F16 and BF16 are converted to float32; I8, I16, I32
// and U8 are widened to int64. Other safetensors dtypes (U16, U32, U64, F8_*) are reported as
// unsupported. Writing stores Float32, Float64, Int64, Bool, Float16 and BFloat16 tensors as F32, F64,
// I64, BOOL, F16, BF16; tensors on another device are copied to the host first. A file is written to
// a temporary name in the same folder and renamed over `path` only once complete (io/atomic_file.hpp).
//
// Byte order: the data section is little-endian; tensors are copied as they are in memory, so the
// reader and the writer refuse to run on a big-endian host.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/dtype.hpp>
#include <anima/core/error.hpp>
#include <anima/core/shape.hpp>
#include <anima/core/tensor.hpp>
#include <anima/io/atomic_file.hpp>
#include <anima/io/json_reader.hpp>

namespace anima::io {

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

namespace detail {

// The largest header we accept (the reference implementation's limit): a bad length field must not
// make us allocate gigabytes.
constexpr std::uint64_t kSafetensorsMaxHeader = 100u * 1000u * 1000u;
constexpr std::size_t kSafetensorsMaxRank = 32;

inline bool host_is_little_endian() {
  const std::uint16_t probe = 1;
  unsigned char first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

// IEEE 754 binary16 -> binary32, exact (subnormals, infinities and NaN included).
inline float half_bits_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1Fu;
  std::uint32_t mantissa = h & 0x3FFu;
  std::uint32_t bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mantissa <<= 1;
      } while ((mantissa & 0x400u) == 0);
      bits = sign | (static_cast<std::uint32_t>(127 - 15 - e) << 23) | ((mantissa & 0x3FFu) << 13);
    }
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// bfloat16 is the top half of a float32.
inline float bfloat16_bits_to_float(std::uint16_t b) {
  const std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// How a safetensors dtype is stored in the file and which anima dtype it loads as.
struct SafetensorsDType {
  const char* name;
  std::size_t file_bytes;  // bytes per element in the file
  DType loads_as;
};

inline const SafetensorsDType* safetensors_dtype(const std::string& name) {
  static const SafetensorsDType table[] = {
      {"F32", 4, DType::Float32}, {"F64", 8, DType::Float64},  {"I64", 8, DType::Int64}, {"BOOL", 1, DType::Bool},
      {"F16", 2, DType::Float32}, {"BF16", 2, DType::Float32}, {"I32", 4, DType::Int64}, {"I16", 2, DType::Int64},
      {"I8", 1, DType::Int64},    {"U8", 1, DType::Int64},
  };
  for (const auto& d : table)
    if (name == d.name) return &d;
  return nullptr;
}

inline const char* safetensors_dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::Bool: return "BOOL";
    case DType::Float16: return "F16";
    case DType::BFloat16: return "BF16";
  }
  return nullptr;
}

struct SafetensorsEntry {
  std::string name;
  const SafetensorsDType* dtype = nullptr;
  Shape shape;
  std::uint64_t begin = 0, end = 0;
};

// Widens `n` little-endian integers of type From (in `bytes`) to int64.
template <class From>
void widen_to_int64(const unsigned char* bytes, std::int64_t* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    From v;
    std::memcpy(&v, bytes + i * static_cast<std::int64_t>(sizeof(From)), sizeof(From));
    out[i] = static_cast<std::int64_t>(v);
  }
}

}  // namespace detail

// Reads every tensor of a safetensors file into CPU tensors (F16/BF16 -> float32, small ints -> int64).
inline SafetensorsFile load_safetensors(const std::string& path) {
  constexpr const char* op = "load_safetensors";
  ANIMA_CHECK(detail::host_is_little_endian(), op, path, ": safetensors data is little-endian; this host is not");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(op, path, ": cannot open the file for reading");
  in.seekg(0, std::ios::end);
  const std::streamoff end_pos = in.tellg();
  if (end_pos < 0) fail(op, path, ": cannot determine the file size");
  const auto file_size = static_cast<std::uint64_t>(end_pos);
  in.seekg(0, std::ios::beg);
  if (file_size < 8)
    fail(op, path, ": expected at least 8 bytes (the header length), found a file of ", file_size, " bytes");

  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  if (!in) fail(op, path, ": cannot read the 8-byte header length");
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > file_size - 8)
    fail(op, path, ": header length ", header_len, " runs past the end of the file (expected at most ", file_size - 8,
         " bytes after the length field, the file has ", file_size, " bytes)");
  if (header_len > detail::kSafetensorsMaxHeader)
    fail(op, path, ": header length ", header_len, " exceeds the limit of ", detail::kSafetensorsMaxHeader, " bytes");
  if (header_len < 2)
    fail(op, path, ": expected a JSON object header of at least 2 bytes, found ", header_len, " bytes");

  std::string header(static_cast<std::size_t>(header_len), '\0');
  in.read(&header[0], static_cast<std::streamsize>(header_len));
  if (!in) fail(op, path, ": cannot read the ", header_len, "-byte header");
  const JsonValue root = parse_json(header, op, path);
  if (!root.is_object()) fail(op, path, ": expected the header to be a JSON object, found ", json_kind_name(root.kind));

  const std::uint64_t data_size = file_size - 8 - header_len;
  const std::uint64_t data_start = 8 + header_len;
  SafetensorsFile result;
  std::vector<detail::SafetensorsEntry> entries;
  for (const auto& member : root.members) {
    const std::string& name = member.first;
    const JsonValue& v = member.second;
    if (name == "__metadata__") {
      if (!v.is_object())
        fail(op, path, ": expected \"__metadata__\" to be an object of strings, found ", json_kind_name(v.kind));
      for (const auto& m : v.members) {
        if (!m.second.is_string())
          fail(op, path, ": expected \"__metadata__\" value \"", m.first, "\" to be a string, found ",
               json_kind_name(m.second.kind));
        result.metadata[m.first] = m.second.text;
      }
      continue;
    }
    const std::string where = "tensor \"" + name + "\"";
    if (!v.is_object())
      fail(op, path, ": ", where, ": expected an object {dtype, shape, data_offsets}, found ", json_kind_name(v.kind));
    for (const auto& m : v.members)
      if (m.first != "dtype" && m.first != "shape" && m.first != "data_offsets")
        fail(op, path, ": ", where, ": expected only the keys dtype, shape and data_offsets, found \"", m.first, "\"");
    const JsonValue* dtype = v.find("dtype");
    const JsonValue* shape = v.find("shape");
    const JsonValue* offsets = v.find("data_offsets");
    if (!dtype || !shape || !offsets)
      fail(op, path, ": ", where, ": expected the keys dtype, shape and data_offsets, one is missing");
    if (!dtype->is_string())
      fail(op, path, ": ", where, ": expected dtype to be a string, found ", json_kind_name(dtype->kind));

    detail::SafetensorsEntry e;
    e.name = name;
    e.dtype = detail::safetensors_dtype(dtype->text);
    if (!e.dtype)
      fail(op, path, ": ", where, ": unsupported dtype \"", dtype->text,
           "\" (expected one of F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
    if (!shape->is_array())
      fail(op, path, ": ", where, ": expected shape to be an array, found ", json_kind_name(shape->kind));
    if (shape->items.size() > detail::kSafetensorsMaxRank)
      fail(op, path, ": ", where, ": expected at most ", detail::kSafetensorsMaxRank, " dimensions, found ",
           shape->items.size());
    // Element count bounded by what the data section can hold, so it can never overflow.
    const std::uint64_t max_numel = data_size / e.dtype->file_bytes;
    std::uint64_t numel = 1;
    bool any_zero = false;
    bool too_big = false;
    for (std::size_t i = 0; i < shape->items.size(); ++i) {
      const std::uint64_t d =
          json_as_uint64(shape->items[i], static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()), op,
                         path, where + " shape[" + std::to_string(i) + "]");
      e.shape.push_back(static_cast<std::int64_t>(d));
      if (d == 0) any_zero = true;
      if (!too_big && d != 0 && numel > max_numel / d) too_big = true;
      if (!too_big) numel *= d;
    }
    if (any_zero)
      numel = 0;
    else if (too_big)
      fail(op, path, ": ", where, ": shape ", shape_str(e.shape), " of ", dtype->text,
           " needs more bytes than the whole data section holds (", data_size, " bytes)");

    if (!offsets->is_array() || offsets->items.size() != 2)
      fail(op, path, ": ", where, ": expected data_offsets to be an array [begin, end], found ",
           offsets->is_array() ? std::to_string(offsets->items.size()) + " items"
                               : std::string(json_kind_name(offsets->kind)));
    e.begin =
        json_as_uint64(offsets->items[0], data_size, op, path, where + " data_offsets[0] (within the data section)");
    e.end =
        json_as_uint64(offsets->items[1], data_size, op, path, where + " data_offsets[1] (within the data section)");
    if (e.end < e.begin)
      fail(op, path, ": ", where, ": data_offsets [", e.begin, ", ", e.end, "] end before they begin");
    const std::uint64_t expected_bytes = numel * e.dtype->file_bytes;
    if (e.end - e.begin != expected_bytes)
      fail(op, path, ": ", where, ": dtype ", dtype->text, " and shape ", shape_str(e.shape), " need ", expected_bytes,
           " bytes, but data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin);
    entries.push_back(std::move(e));
  }

  // The tensors tile the data section: sorted by offset, each begins where the previous one ended.
  std::vector<const detail::SafetensorsEntry*> order;
  for (const auto& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const detail::SafetensorsEntry* a, const detail::SafetensorsEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t covered = 0;
  const detail::SafetensorsEntry* previous = nullptr;
  for (const auto* e : order) {
    if (e->begin < covered)
      fail(op, path, ": tensor \"", e->name, "\" data_offsets [", e->begin, ", ", e->end, "] overlap tensor \"",
           previous->name, "\" [", previous->begin, ", ", previous->end, "]");
    if (e->begin > covered)
      fail(op, path, ": tensor \"", e->name, "\" data_offsets begin at ", e->begin, ", expected ", covered,
           " (the data section has a gap of unused bytes)");
    covered = e->end;
    previous = e;
  }
  if (covered != data_size)
    fail(op, path, ": the tensors cover ", covered, " bytes of the data section, expected all ", data_size,
         " bytes (the file has trailing bytes)");

  std::vector<unsigned char> scratch;
  for (const auto& e : entries) {
    Tensor t = Tensor::empty(e.shape, TensorOptions(e.dtype->loads_as));
    const std::uint64_t bytes = e.end - e.begin;
    const bool direct = element_size(e.dtype->loads_as) == e.dtype->file_bytes;
    unsigned char* dst = static_cast<unsigned char*>(t.raw_data());
    if (!direct) {
      scratch.resize(static_cast<std::size_t>(bytes));
      dst = scratch.data();
    }
    if (bytes > 0) {
      in.seekg(static_cast<std::streamoff>(data_start + e.begin), std::ios::beg);
      in.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(bytes));
      if (!in)
        fail(op, path, ": tensor \"", e.name, "\": expected ", bytes, " bytes at offset ", data_start + e.begin,
             ", the file is shorter (truncated while reading?)");
    }
    const std::int64_t n = t.numel();
    const std::string dname = e.dtype->name;
    if (dname == "BOOL") {
      for (std::int64_t i = 0; i < n; ++i)
        if (dst[i] > 1)
          fail(op, path, ": tensor \"", e.name, "\": BOOL element ", i, " is ", static_cast<int>(dst[i]),
               ", expected 0 or 1");
    } else if (dname == "F16" || dname == "BF16") {
      float* out = t.data<float>();
      for (std::int64_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, dst + 2 * i, 2);
        out[i] = dname == "F16" ? detail::half_bits_to_float(h) : detail::bfloat16_bits_to_float(h);
      }
    } else if (dname == "I32") {
      detail::widen_to_int64<std::int32_t>(dst, t.data<std::int64_t>(), n);
    } else if (dname == "I16") {
      detail::widen_to_int64<std::int16_t>(dst, t.data<std::int64_t>(), n);
    } else if (dname == "I8") {
      detail::widen_to_int64<std::int8_t>(dst, t.data<std::int64_t>(), n);
    } else if (dname == "U8") {
      detail::widen_to_int64<std::uint8_t>(dst, t.data<std::int64_t>(), n);
    }
    result.tensors[e.name] = t;
  }
  return result;
}

// Writes `tensors` (any device, any layout) and `metadata` to `path`, atomically (temp file + rename).
inline void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                             const std::map<std::string, std::string>& metadata = {}) {
  constexpr const char* op = "save_safetensors";
  ANIMA_CHECK(detail::host_is_little_endian(), op, path, ": safetensors data is little-endian; this host is not");
  // Host-side, contiguous copies, in name order; the header lists them with their offsets.
  std::vector<std::pair<std::string, Tensor>> host;
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (auto it = metadata.begin(); it != metadata.end(); ++it) {
      if (it != metadata.begin()) header += ",";
      header += json_quote(it->first) + ":" + json_quote(it->second);
    }
    header += "}";
    first = false;
  }
  std::uint64_t offset = 0;
  for (const auto& kv : tensors) {
    const std::string& name = kv.first;
    ANIMA_CHECK(name != "__metadata__", op, path, ": \"__metadata__\" is reserved and cannot name a tensor");
    ANIMA_CHECK(kv.second.defined(), op, path, ": tensor \"", name, "\" is undefined");
    Tensor t = kv.second;
    if (!t.device().is_cpu()) t = device_copy(t, Device::cpu());
    if (!t.is_contiguous()) t = contiguous_copy(t);
    const char* dname = detail::safetensors_dtype_name(t.dtype());
    ANIMA_CHECK(dname != nullptr, op, path, ": tensor \"", name,
                "\" has a dtype safetensors cannot store: ", dtype_name(t.dtype()));
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * element_size(t.dtype());
    if (!first) header += ",";
    first = false;
    header += json_quote(name) + ":{\"dtype\":\"" + dname + "\",\"shape\":[";
    for (std::size_t i = 0; i < t.shape().size(); ++i) header += (i ? "," : "") + std::to_string(t.shape()[i]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    offset += bytes;
    host.emplace_back(name, t);
  }
  header += "}";
  // Pad the header with spaces so the data section starts 8-byte aligned (as the reference writer does).
  while (header.size() % 8 != 0) header += ' ';

  write_file_atomic(path, op, [&](std::ostream& out) {
    unsigned char len_bytes[8];
    std::uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) {
      len_bytes[i] = static_cast<unsigned char>(n & 0xFF);
      n >>= 8;
    }
    out.write(reinterpret_cast<const char*>(len_bytes), 8);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& kv : host) {
      const Tensor& t = kv.second;
      const auto bytes = static_cast<std::streamsize>(static_cast<std::size_t>(t.numel()) * element_size(t.dtype()));
      if (bytes > 0) out.write(static_cast<const char*>(t.raw_data()), bytes);
    }
  });
}

}  // namespace anima::io
