// anima/io/binary_file.hpp — a read-only binary file whose every read is bounded by the file's size.
//
// The weight-file parsers (zip_reader.hpp, pth.hpp) read sizes and offsets from untrusted bytes; they
// go through BinaryFile, which checks `offset + length <= size()` (without overflow) before reading or
// allocating anything, and reports a short file as an anima::Error naming the op, the file and what
// was being read ("anima::load_pth: a.pth: truncated: storage \"3\" needs 4096 bytes at offset 812,
// the file has 1000 bytes").
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <anima/core/error.hpp>

namespace anima::io {

class BinaryFile {
 public:
  BinaryFile(const std::string& path, const char* op) : path_(path), op_(op), in_(path, std::ios::binary) {
    if (!in_) fail(op_, path_, ": cannot open the file for reading (does it exist?)");
    in_.seekg(0, std::ios::end);
    const std::streamoff end = in_.tellg();
    if (end < 0) fail(op_, path_, ": cannot determine the file size");
    size_ = static_cast<std::uint64_t>(end);
    in_.seekg(0, std::ios::beg);
  }

  std::uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  const char* op() const { return op_; }

  // True when [offset, offset + length) lies inside the file.
  bool contains(std::uint64_t offset, std::uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }

  // Reads `length` bytes at `offset` into dst; `what` names the bytes for the error message.
  void read_at(std::uint64_t offset, void* dst, std::uint64_t length, const std::string& what) {
    if (!contains(offset, length))
      fail(op_, path_, ": truncated or corrupt: ", what, " needs ", length, " bytes at offset ", offset,
           ", the file has ", size_, " bytes");
    if (length == 0) return;
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset), std::ios::beg);
    in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(length));
    if (!in_) fail(op_, path_, ": reading ", what, " (", length, " bytes at offset ", offset, ") failed");
  }

  std::vector<unsigned char> read_vector(std::uint64_t offset, std::uint64_t length, const std::string& what) {
    if (!contains(offset, length))
      fail(op_, path_, ": truncated or corrupt: ", what, " needs ", length, " bytes at offset ", offset,
           ", the file has ", size_, " bytes");
    std::vector<unsigned char> bytes(static_cast<std::size_t>(length));
    read_at(offset, bytes.data(), length, what);
    return bytes;
  }

 private:
  std::string path_;
  const char* op_;
  std::ifstream in_;
  std::uint64_t size_ = 0;
};

// Little-endian integers from a byte buffer (the caller has bounded `p`).
inline std::uint16_t le_u16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
inline std::uint32_t le_u32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
inline std::uint64_t le_u64(const unsigned char* p) {
  return static_cast<std::uint64_t>(le_u32(p)) | (static_cast<std::uint64_t>(le_u32(p + 4)) << 32);
}

}  // namespace anima::io
