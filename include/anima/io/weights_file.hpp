// anima/io/weights_file.hpp — one entry point for weight files: load_weights(path) reads a safetensors
// file or a PyTorch checkpoint (.pth, zip or legacy format) into a StateDict, choosing the reader by
// the file's first bytes (never by its extension); save_weights_safetensors writes a StateDict as
// safetensors, atomically.
//
// Detection (content sniffing), in this order:
//   an 8-byte little-endian length N followed by '{'      -> safetensors (safetensors.hpp)
//   "PK\x03\x04" (or "PK\x05\x06", an empty zip)          -> the torch >= 1.6 zip checkpoint (pth.hpp)
//   0x80 0x02..0x05 (pickle PROTO), e.g. 0x80 0x02 0x8a 0x0a 0x6c 0xfc 0x9c 0x46 0xf9 0x20 ...
//                                                         -> the legacy checkpoint (pth.hpp): protocol 2,
//                                                            LONG1 of the magic number
// Anything else (or a file that cannot be opened) is an anima::Error naming the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <system_error>
#include <utility>

#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/io/pth.hpp>
#include <anima/io/safetensors.hpp>
#include <anima/io/state_dict.hpp>

namespace anima::io {

enum class WeightsFormat { Safetensors, PthZip, PthLegacy, Unknown };

inline const char* weights_format_name(WeightsFormat f) {
  switch (f) {
    case WeightsFormat::Safetensors: return "safetensors";
    case WeightsFormat::PthZip: return "pytorch zip checkpoint";
    case WeightsFormat::PthLegacy: return "pytorch legacy checkpoint";
    case WeightsFormat::Unknown: return "unknown";
  }
  return "unknown";
}

// Which reader a file needs, from its first bytes. Throws when the file cannot be opened.
inline WeightsFormat detect_weights_format(const std::string& path) {
  constexpr const char* op = "load_weights";
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(op, path, ": a folder, not a weight file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(op, path, ": cannot open the file for reading (does it exist?)");
  unsigned char b[16] = {};
  in.read(reinterpret_cast<char*>(b), sizeof b);
  const std::streamsize n = in.gcount();
  // safetensors first: its length field may begin with 0x80 (a 640-byte header is 80 02 00 ...), but a
  // legacy pickle's byte 8 is inside the magic number (0xf9 at protocol 2) or a FRAME length, and a
  // zip's is the compression method (0 or 8), never '{'.
  if (n >= 9 && b[8] == '{') return WeightsFormat::Safetensors;
  if (n >= 4 && b[0] == 'P' && b[1] == 'K' && ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6)))
    return WeightsFormat::PthZip;
  if (n >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5) return WeightsFormat::PthLegacy;  // pickle PROTO 2..5
  return WeightsFormat::Unknown;
}

// Reads any supported weight file into a StateDict. safetensors keeps the file's tensor names as they
// are (in name order); .pth files go through load_pth (nested "state_dict"/"model" dicts unwrapped,
// "module." prefixes stripped, file order kept).
inline StateDict load_weights(const std::string& path) {
  switch (detect_weights_format(path)) {
    case WeightsFormat::Safetensors: {
      SafetensorsFile f = load_safetensors(path);
      StateDict sd;
      for (auto& kv : f.tensors) sd.insert(kv.first, kv.second);
      return sd;
    }
    case WeightsFormat::PthZip:
    case WeightsFormat::PthLegacy: return load_pth(path);
    case WeightsFormat::Unknown: break;
  }
  fail("load_weights", path,
       ": not a weight file anima can read (expected safetensors, a PyTorch zip checkpoint starting with "
       "\"PK\", or a legacy PyTorch checkpoint starting with a pickle header 0x80)");
}

// Writes `sd` as safetensors (atomically: temporary file + rename). Float16/BFloat16 tensors are
// stored as such; everything else as save_safetensors stores it.
inline void save_weights_safetensors(const std::string& path, const StateDict& sd,
                                     const std::map<std::string, std::string>& metadata = {}) {
  std::map<std::string, Tensor> tensors;
  for (const auto& item : sd.items()) tensors.emplace(item.first, item.second);
  save_safetensors(path, tensors, metadata);
}

}  // namespace anima::io
