// tests/golden/golden_file.hpp — one committed fixture file (tests/golden/data/<file> by default), its
// tensors and metadata looked up by name; a missing name fails the test with the file's path.
// golden(file) loads each fixture once per test binary.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/io/json_reader.hpp>
#include <anima/io/safetensors.hpp>

namespace anima::testing {

class GoldenFile {
 public:
  explicit GoldenFile(const std::string& file, const std::string& dir = ANIMA_GOLDEN_DIR)
      : path_(dir + "/" + file), f_(io::load_safetensors(path_)) {}

  bool has(const std::string& name) const { return f_.tensors.count(name) > 0; }
  const Tensor& at(const std::string& name) const {
    auto it = f_.tensors.find(name);
    if (it == f_.tensors.end()) fail("golden", path_, " has no tensor ", name);
    return it->second;
  }
  // Tensor `name`'s elements as float64 or int64 values (a tensor of that dtype).
  std::vector<double> doubles(const std::string& name) const { return to_vector<double>(at(name)); }
  std::vector<std::int64_t> int64s(const std::string& name) const { return to_vector<std::int64_t>(at(name)); }
  // Metadata entry `key`, a JSON list of strings.
  std::vector<std::string> list(const std::string& key) const {
    auto it = f_.metadata.find(key);
    if (it == f_.metadata.end()) fail("golden", path_, " has no metadata ", key);
    std::vector<std::string> out;
    for (const auto& v : io::parse_json(it->second, "golden", path_).items) out.push_back(v.text);
    return out;
  }

 private:
  std::string path_;
  io::SafetensorsFile f_;
};

// The committed fixture `file`, loaded on first use and kept for the test binary's life.
inline const GoldenFile& golden(const std::string& file) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<const GoldenFile>> loaded;
  const std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<const GoldenFile>& f = loaded[file];
  if (!f) f = std::make_unique<const GoldenFile>(file);
  return *f;
}

}  // namespace anima::testing
