// tests/io/atomic_file_test.cpp — anima/io/atomic_file.hpp: the destination appears whole or not at
// all, the temporary file never outlives the write, and failures are Errors naming the op and file.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include <anima/io/atomic_file.hpp>

#include "core/expect_error.hpp"

namespace anima {
namespace {

namespace fs = std::filesystem;
using anima::testing::expect_error;

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("anima_atomic_file_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The number of entries in the folder (the destination plus any leftover temporary file).
  int entries() const {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir_)) {
      (void)e;
      ++n;
    }
    return n;
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  fs::path dir_;
};

TEST_F(AtomicFileTest, WritesAndReplacesWithoutLeftovers) {
  const fs::path p = dir_ / "a.bin";
  io::write_file_atomic(p, "hello", 5, "test");
  EXPECT_EQ(read(p), "hello");
  io::write_file_atomic(p, "x", 1, "test");  // renamed over the existing file
  EXPECT_EQ(read(p), "x");
  io::write_file_atomic(dir_ / "empty.bin", nullptr, 0, "test");
  EXPECT_EQ(fs::file_size(dir_ / "empty.bin"), 0u);
  EXPECT_EQ(entries(), 2);
}

TEST_F(AtomicFileTest, TemporaryNameIsHiddenBesideTheDestinationWithItsExtension) {
  const fs::path a = io::AtomicFile::temporary_path_for(dir_ / "clip.mp4");
  const fs::path b = io::AtomicFile::temporary_path_for(dir_ / "clip.mp4");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.parent_path(), dir_);
  EXPECT_EQ(a.extension(), ".mp4");
  EXPECT_EQ(a.filename().string().rfind(".clip.tmp-", 0), 0u) << a;
}

TEST_F(AtomicFileTest, UncommittedFileIsRemovedAndCommitRenames) {
  const fs::path p = dir_ / "v.mp4";
  {
    io::AtomicFile f(p, "test");
    std::ofstream(f.temp_path()) << "partial";
    EXPECT_EQ(entries(), 1);
  }
  EXPECT_EQ(entries(), 0);
  {
    io::AtomicFile f(p, "test");
    std::ofstream(f.temp_path()) << "whole";
    f.commit();
  }
  EXPECT_EQ(read(p), "whole");
  EXPECT_EQ(entries(), 1);
}

TEST_F(AtomicFileTest, FailuresNameTheOpAndFileAndLeaveNothing) {
  expect_error([&] { io::write_file_atomic(dir_ / "missing" / "x.bin", "a", 1, "test_op"); },
               {"anima::test_op: ", (dir_ / "missing" / "x.bin").string(), "cannot open the temporary file"});
  fs::create_directories(dir_ / "folder.bin");  // a folder cannot be replaced by a file
  expect_error([&] { io::write_file_atomic(dir_ / "folder.bin", "a", 1, "test_op"); },
               {"anima::test_op: ", "folder.bin", "cannot rename the temporary file"});
  EXPECT_THROW(io::write_file_atomic(dir_ / "w.bin", "test_op",
                                     [](std::ostream& os) {
                                       os << "half";
                                       throw std::runtime_error("writer failed");
                                     }),
               std::runtime_error);
  EXPECT_EQ(entries(), 1);  // folder.bin only
}

// What a killed writer leaves (its temporary file) is recognised and removed; nothing else is.
TEST_F(AtomicFileTest, RemovesOnlyStaleTemporaries) {
  const fs::path left = io::AtomicFile::temporary_path_for(dir_ / "checkpoint_last.safetensors");
  const fs::path left_no_ext = io::AtomicFile::temporary_path_for(dir_ / "README");
  for (const fs::path& p : {left, left_no_ext}) std::ofstream(p) << "half";
  const char* keep[] = {"checkpoint_last.safetensors", ".hidden", ".x.tmp-", ".x.tmp-12-", ".x.tmp-a-1.png",
                        "x.tmp-1-2.png", ".x.tmp-1-2png"};
  for (const char* name : keep) std::ofstream(dir_ / name) << "keep";
  fs::create_directories(dir_ / ".sub.tmp-1-2.png");  // a folder, whatever its name
  EXPECT_TRUE(io::AtomicFile::is_temporary_name(left.filename().string()));
  EXPECT_TRUE(io::AtomicFile::is_temporary_name(left_no_ext.filename().string()));
  EXPECT_EQ(io::remove_stale_temporaries(dir_), 2);
  EXPECT_FALSE(fs::exists(left));
  EXPECT_FALSE(fs::exists(left_no_ext));
  for (const char* name : keep) EXPECT_TRUE(fs::exists(dir_ / name)) << name;
  EXPECT_TRUE(fs::exists(dir_ / ".sub.tmp-1-2.png"));
  EXPECT_EQ(io::remove_stale_temporaries(dir_ / "missing"), 0);
}

}  // namespace
}  // namespace anima
