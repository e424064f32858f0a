// anima/io/zip_reader.hpp — the part of the zip format PyTorch checkpoints use: a central directory of
// stored (uncompressed) entries, zip64 included. Reads the listing and an entry's bytes; nothing else.
//
// Layout (APPNOTE.TXT 6.3): [local header + data]... central directory, [zip64 end record, zip64
// locator], end-of-central-directory record (EOCD, last 22 + comment bytes). Sizes and offsets come
// from the central directory (so entries written with data descriptors, flag bit 3, whose local
// headers carry zero sizes, read correctly); the local header only says how far the data starts
// after it (name and extra field lengths, which differ from the central ones when PyTorch pads
// entries to 64-byte alignment). Fields of 0xFFFF / 0xFFFFFFFF are read from the zip64 records and
// the zip64 extra field (id 0x0001).
//
// Every offset and size is checked against the file before use; a compressed or encrypted entry, an
// entry whose data runs into the central directory, or a malformed record is an anima::Error naming
// the op, the file and the record. CRCs are not checked (PyTorch's own reader does; weight files are
// checked by their sha256, see weights/README.md).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/io/binary_file.hpp>

namespace anima::io {

struct ZipEntry {
  std::string name;
  std::uint16_t flags = 0;
  std::uint16_t method = 0;  // 0 stored, 8 deflate, ...
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;
  std::uint64_t local_header_offset = 0;
};

class ZipReader {
 public:
  // Reads the central directory of `file` (which must outlive the reader).
  explicit ZipReader(BinaryFile& file) : file_(file) { read_directory(); }

  const std::vector<ZipEntry>& entries() const { return entries_; }

  // nullptr when absent.
  const ZipEntry* find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second];
  }

  // Offset of the entry's data in the file, after checking that the entry is stored uncompressed and
  // unencrypted and that its data lies before the central directory.
  std::uint64_t data_offset(const ZipEntry& e) {
    if (e.flags & 1u) fail(op(), path(), ": zip entry \"", e.name, "\" is encrypted; expected a plain stored entry");
    if (e.method != 0)
      fail(op(), path(), ": zip entry \"", e.name, "\" is compressed (method ", e.method,
           e.method == 8 ? ", deflate" : "",
           "); PyTorch checkpoints store entries uncompressed (method 0) — re-save the file with torch.save");
    if (e.compressed_size != e.size)
      fail(op(), path(), ": zip entry \"", e.name, "\" is stored but its compressed size ", e.compressed_size,
           " differs from its size ", e.size);
    unsigned char h[30];
    file_.read_at(e.local_header_offset, h, 30, "the local header of zip entry \"" + e.name + "\"");
    if (le_u32(h) != 0x04034b50u)
      fail(op(), path(), ": zip entry \"", e.name, "\": expected a local header signature at offset ",
           e.local_header_offset, ", found 0x", hex32(le_u32(h)));
    const std::uint64_t start = e.local_header_offset + 30 + le_u16(h + 26) + le_u16(h + 28);
    if (start > cd_offset_ || e.size > cd_offset_ - start)
      fail(op(), path(), ": zip entry \"", e.name, "\": its ", e.size, " bytes at offset ", start,
           " run into the central directory at offset ", cd_offset_, " (corrupt or truncated archive)");
    return start;
  }

  std::vector<unsigned char> read(const ZipEntry& e) {
    const std::uint64_t start = data_offset(e);
    return file_.read_vector(start, e.size, "zip entry \"" + e.name + "\"");
  }

 private:
  const char* op() const { return file_.op(); }
  const std::string& path() const { return file_.path(); }

  static std::string hex32(std::uint32_t v) {
    static const char digits[] = "0123456789abcdef";
    std::string s(8, '0');
    for (int i = 7; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = digits[v & 0xF];
    return s;
  }

  [[noreturn]] void corrupt(const std::string& what) const {
    fail(op(), path(), ": not a valid zip archive (PyTorch checkpoint): ", what);
  }

  void read_directory() {
    const std::uint64_t size = file_.size();
    if (size < 22)
      corrupt("the file has " + std::to_string(size) + " bytes, fewer than an end-of-central-directory record (22)");
    // The EOCD record is the last 22 bytes plus a comment of at most 65535 bytes.
    const std::uint64_t tail_len = size < 22 + 65535 ? size : 22 + 65535;
    const std::uint64_t tail_start = size - tail_len;
    const std::vector<unsigned char> tail = file_.read_vector(tail_start, tail_len, "the end of the zip archive");
    std::uint64_t eocd = UINT64_MAX;
    for (std::uint64_t i = tail_len - 22 + 1; i-- > 0;) {
      const unsigned char* p = tail.data() + i;
      if (le_u32(p) == 0x06054b50u && le_u16(p + 20) == tail_len - i - 22) {
        eocd = tail_start + i;
        break;
      }
    }
    if (eocd == UINT64_MAX) corrupt("no end-of-central-directory record (truncated file?)");
    const unsigned char* e = tail.data() + (eocd - tail_start);
    std::uint64_t count = le_u16(e + 10);
    std::uint64_t cd_size = le_u32(e + 12);
    std::uint64_t cd_offset = le_u32(e + 16);
    std::uint64_t cd_limit = eocd;  // the central directory ends before this

    // zip64: a locator right before the EOCD points at the zip64 end record.
    if (eocd >= 20) {
      unsigned char loc[20];
      file_.read_at(eocd - 20, loc, 20, "the zip64 locator");
      if (le_u32(loc) == 0x07064b50u) {
        const std::uint64_t z = le_u64(loc + 8);
        unsigned char r[56];
        if (z > eocd - 20 || 56 > eocd - 20 - z)
          corrupt("the zip64 end record offset " + std::to_string(z) + " is out of range");
        file_.read_at(z, r, 56, "the zip64 end-of-central-directory record");
        if (le_u32(r) != 0x06064b50u) corrupt("expected the zip64 end record signature at offset " + std::to_string(z));
        count = le_u64(r + 32);
        cd_size = le_u64(r + 40);
        cd_offset = le_u64(r + 48);
        cd_limit = z;
      }
    }
    if (cd_offset > cd_limit || cd_size > cd_limit - cd_offset)
      corrupt("the central directory (" + std::to_string(cd_size) + " bytes at offset " + std::to_string(cd_offset) +
              ") lies outside the archive (truncated file?)");
    if (count > cd_size / 46)
      corrupt(std::to_string(count) + " entries cannot fit a central directory of " + std::to_string(cd_size) +
              " bytes");
    cd_offset_ = cd_offset;
    const std::vector<unsigned char> cd = file_.read_vector(cd_offset, cd_size, "the zip central directory");

    std::uint64_t pos = 0;
    entries_.reserve(static_cast<std::size_t>(count));
    for (std::uint64_t n = 0; n < count; ++n) {
      if (cd_size - pos < 46) corrupt("central directory entry " + std::to_string(n) + " is truncated");
      const unsigned char* p = cd.data() + pos;
      if (le_u32(p) != 0x02014b50u)
        corrupt("expected a central directory entry signature for entry " + std::to_string(n));
      ZipEntry z;
      z.flags = le_u16(p + 8);
      z.method = le_u16(p + 10);
      z.compressed_size = le_u32(p + 20);
      z.size = le_u32(p + 24);
      const std::uint64_t name_len = le_u16(p + 28), extra_len = le_u16(p + 30), comment_len = le_u16(p + 32);
      z.local_header_offset = le_u32(p + 42);
      if (cd_size - pos - 46 < name_len + extra_len + comment_len)
        corrupt("central directory entry " + std::to_string(n) + " runs past the directory's end");
      z.name.assign(reinterpret_cast<const char*>(p + 46), static_cast<std::size_t>(name_len));
      // zip64 extra field: the 64-bit values of the 32-bit fields that read 0xFFFFFFFF, in order.
      const unsigned char* x = p + 46 + name_len;
      std::uint64_t xpos = 0;
      while (extra_len - xpos >= 4) {
        const std::uint16_t id = le_u16(x + xpos), len = le_u16(x + xpos + 2);
        if (len > extra_len - xpos - 4) corrupt("the extra field of entry \"" + z.name + "\" is malformed");
        if (id == 0x0001) {
          const unsigned char* f = x + xpos + 4;
          std::uint64_t left = len;
          auto take = [&](std::uint64_t& field) {
            if (field != 0xFFFFFFFFu) return;
            if (left < 8) corrupt("the zip64 extra field of entry \"" + z.name + "\" is too short");
            field = le_u64(f);
            f += 8;
            left -= 8;
          };
          take(z.size);
          take(z.compressed_size);
          take(z.local_header_offset);
        }
        xpos += 4 + len;
      }
      pos += 46 + name_len + extra_len + comment_len;
      if (z.local_header_offset >= cd_offset)
        corrupt("entry \"" + z.name + "\" has its local header at offset " + std::to_string(z.local_header_offset) +
                ", at or after the central directory");
      if (!index_.emplace(z.name, entries_.size()).second) corrupt("the entry name \"" + z.name + "\" appears twice");
      entries_.push_back(std::move(z));
    }
  }

  BinaryFile& file_;
  std::vector<ZipEntry> entries_;
  std::map<std::string, std::size_t> index_;
  std::uint64_t cd_offset_ = 0;
};

}  // namespace anima::io
