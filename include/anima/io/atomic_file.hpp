// anima/io/atomic_file.hpp — writing a file so that no reader ever sees half of it: the bytes go to a
// temporary file in the destination's folder, which is renamed over the destination once complete
// (rename within one file system replaces the destination in one step). A process that fails or dies
// midway never leaves a partial file under the destination's name. There is no fsync, so what a power
// loss leaves is up to the file system.
//
//   AtomicFile out(path, "op");    // out.temp_path(): where to write (any writer: ofstream, OpenCV's VideoWriter)
//   ... write out.temp_path() ...
//   out.commit();                  // renames it over `path`; without commit, the temporary file is removed
//
//   write_file_atomic(path, data, size, "op");                       // bytes
//   write_file_atomic(path, "op", [&](std::ostream& os) { ... });    // a stream, checked after the callback
//   remove_stale_temporaries(dir);   // a process killed midway leaves its temporary file: a resumed
//                                    // job removes those of its folder before it writes again
//
// The temporary name is hidden, distinct for every call (steady-clock ticks and a counter), and keeps
// the destination's extension (writers such as OpenCV's pick the format from it): "dir/clip.mp4" is
// written as "dir/.clip.tmp-<ticks>-<n>.mp4". Every failure is an anima::Error naming the op and the
// destination.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>

#include <anima/core/error.hpp>

namespace anima::io {

class AtomicFile {
 public:
  // `op` names the caller in error messages ("anima::<op>: <path>: ...").
  AtomicFile(std::filesystem::path path, const char* op)
      : path_(std::move(path)), temp_(temporary_path_for(path_)), op_(op) {}
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  // Removes the temporary file unless commit() succeeded.
  ~AtomicFile() {
    if (committed_) return;
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }

  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& temp_path() const { return temp_; }
  const char* op() const { return op_; }

  // Renames the (closed) temporary file over the destination.
  void commit() {
    std::error_code ec;
    std::filesystem::rename(temp_, path_, ec);
    if (ec) {
      std::filesystem::remove(temp_, ec);
      fail(op_, path_.string(), ": cannot rename the temporary file ", temp_.string(), " to the destination");
    }
    committed_ = true;
  }

  // The hidden temporary name `path` is written under: same folder, same extension, distinct per call.
  static std::filesystem::path temporary_path_for(const std::filesystem::path& path) {
    static std::atomic<unsigned> counter{0};
    const auto ticks = static_cast<unsigned long long>(std::chrono::steady_clock::now().time_since_epoch().count());
    const std::string unique = std::to_string(ticks) + "-" + std::to_string(counter++);
    return path.parent_path() / ("." + path.stem().string() + ".tmp-" + unique + path.extension().string());
  }

  // Whether a file name has the form temporary_path_for gives: ".<stem>.tmp-<digits>-<digits><ext>".
  static bool is_temporary_name(const std::string& name) {
    if (name.size() < 2 || name[0] != '.') return false;
    const std::size_t tag = name.rfind(".tmp-");
    if (tag == std::string::npos || tag == 0) return false;
    std::size_t i = tag + 5, digits = 0;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i, ++digits;
    if (digits == 0 || i >= name.size() || name[i] != '-') return false;
    ++i, digits = 0;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i, ++digits;
    return digits > 0 && (i == name.size() || name[i] == '.');
  }

 private:
  std::filesystem::path path_, temp_;
  const char* op_;
  bool committed_ = false;
};

// Writes a file atomically through `write(std::ostream&)`, a binary stream on the temporary file;
// the stream is checked after `write` and after closing, so a full disk is an Error, not a short file.
template <class Write>
void write_file_atomic(const std::filesystem::path& path, const char* op, Write&& write) {
  AtomicFile file(path, op);
  const std::string dest = path.string(), temp = file.temp_path().string();
  std::ofstream out(file.temp_path(), std::ios::binary | std::ios::trunc);
  if (!out) fail(op, dest, ": cannot open the temporary file ", temp, " for writing (is the folder writable?)");
  std::forward<Write>(write)(static_cast<std::ostream&>(out));
  out.flush();
  if (!out) fail(op, dest, ": writing the temporary file ", temp, " failed (disk full?)");
  out.close();
  if (!out) fail(op, dest, ": closing the temporary file ", temp, " failed");
  file.commit();
}

// Writes `size` bytes at `data` to `path` atomically.
inline void write_file_atomic(const std::filesystem::path& path, const void* data, std::size_t size, const char* op) {
  write_file_atomic(path, op, [&](std::ostream& out) {
    if (size > 0) out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  });
}

// Removes the temporary files AtomicFile left in `dir` (not its subfolders) when a process writing
// there was killed before committing; returns how many. Only call it where no other process is
// writing into `dir` (its temporaries would go too). A missing folder removes nothing.
inline int remove_stale_temporaries(const std::filesystem::path& dir) {
  std::error_code ec;
  int removed = 0;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec) || !AtomicFile::is_temporary_name(it->path().filename().string())) continue;
    std::error_code remove_ec;
    if (std::filesystem::remove(it->path(), remove_ec)) ++removed;
  }
  return removed;
}

}  // namespace anima::io
