// anima::data::ImageFolder against torchvision 0.14's ImageFolder on a folder tree with awkward names
// (tools/golden/image_folder.py -> tests/golden/data/image_folder.json): the same classes and the same
// samples in the same order. Plus the refusals (no folder, no class, an empty class) and link loops.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <anima/data/image_folder.hpp>
#include <anima/io/json_reader.hpp>

#include "../core/expect_error.hpp"

namespace anima {
namespace {

namespace fs = std::filesystem;
using testing::contains;
using testing::error_of;

// A fresh folder under the system's temporary folder, removed afterwards.
class TempTree {
 public:
  TempTree() {
    const auto tick = std::chrono::steady_clock::now().time_since_epoch().count();
    root_ = fs::temp_directory_path() / ("anima_image_folder_" + std::to_string(tick));
    fs::create_directories(root_);
  }
  ~TempTree() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const fs::path& root() const { return root_; }
  void file(const std::string& relative) const {
    const fs::path p = root_ / fs::u8path(relative);
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "x";
  }

 private:
  fs::path root_;
};

io::JsonValue golden() {
  const std::string path = std::string(ANIMA_GOLDEN_DIR) + "/image_folder.json";
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return io::parse_json(text, "test", path);
}

TEST(ImageFolder, SameClassesAndOrderAsTorchvision) {
  const io::JsonValue g = golden();
  TempTree tree;
  for (const auto& f : g.find("files")->items) tree.file(f.text);
  const data::ImageFolder folder(tree.root());

  std::vector<std::string> want_classes;
  for (const auto& c : g.find("classes")->items) want_classes.push_back(c.text);
  EXPECT_EQ(folder.classes(), want_classes);

  std::vector<std::pair<std::string, int>> want, got;
  for (const auto& s : g.find("samples")->items) want.emplace_back(s.items[0].text, std::stoi(s.items[1].text));
  for (const auto& s : folder.samples())
    got.emplace_back(s.path.lexically_relative(tree.root()).generic_u8string(), s.label);
  EXPECT_EQ(got, want);
  ASSERT_GE(want.size(), 20u);  // the fixture exercises every rule

  const std::vector<std::size_t> counts = folder.class_counts();
  ASSERT_EQ(counts.size(), want_classes.size());
  EXPECT_EQ(counts[0], 6u);  // Sad: every extension, in upper and lower case
}

TEST(ImageFolder, ExtensionsIgnoreCaseAndCanBeChosen) {
  TempTree tree;
  tree.file("a/x.PnG");
  tree.file("a/y.gif");
  tree.file("b/z.gif");
  EXPECT_TRUE(contains(error_of([&] { data::ImageFolder f(tree.root()); }), "no image file for the classes b"));
  const data::ImageFolder gifs(tree.root(), {".gif"});
  ASSERT_EQ(gifs.size(), 2u);
  EXPECT_EQ(gifs.samples()[0].path.filename(), "y.gif");
  EXPECT_EQ(gifs.samples()[1].label, 1);
}

TEST(ImageFolder, RefusalsNameTheFolder) {
  TempTree tree;
  const std::string missing = (tree.root() / "nope").string();
  EXPECT_TRUE(contains(error_of([&] { data::ImageFolder f(missing); }), "'" + missing + "' is not a folder"));
  tree.file("loose.png");
  EXPECT_TRUE(contains(error_of([&] { data::ImageFolder f(tree.root()); }), "no class folder in"));
  tree.file("happy/h.png");
  fs::create_directories(tree.root() / "sad");
  tree.file("sad/readme.txt");
  const std::string e = error_of([&] { data::ImageFolder f(tree.root()); });
  EXPECT_TRUE(contains(e, "no image file for the classes sad")) << e;
  EXPECT_TRUE(contains(e, ".webp")) << e;
}

TEST(ImageFolder, LinkLoopsAreWalkedOnce) {
  TempTree tree;
  tree.file("cls/a.png");
  tree.file("cls/sub/b.png");
  std::error_code ec;
  fs::create_directory_symlink(tree.root() / "cls", tree.root() / "cls" / "sub" / "loop", ec);
  if (ec) GTEST_SKIP() << "cannot create a symbolic link here: " << ec.message();
  const data::ImageFolder folder(tree.root());
  ASSERT_EQ(folder.size(), 2u);
  EXPECT_EQ(folder.samples()[0].path.filename(), "a.png");
  EXPECT_EQ(folder.samples()[1].path.filename(), "b.png");
}

}  // namespace
}  // namespace anima
