// anima/data/image_folder.hpp — the index of an image classification folder, as torchvision's
// ImageFolder builds it (datasets.folder.find_classes and make_dataset, torchvision 0.14):
//
//   root/<class>/.../<file>
//   classes: the names of root's sub-folders (symbolic links followed), sorted by their bytes;
//            class index = position in that list. Files directly in root are not samples.
//   samples: for each class in order, every folder under root/<class> (itself and its sub-folders at
//            any depth, links followed) sorted by its full path string, and in each the file names
//            sorted; a file is a sample when its name ends, ignoring ASCII case, with one of the
//            extensions (torchvision's IMG_EXTENSIONS by default).
// Sorting is by bytes, which for UTF-8 names is Python's code-point order. A class folder without
// any sample is an error (as torchvision's), naming the classes and the extensions. A folder reached
// twice through links is walked once (torchvision would loop forever).
// Only the index lives here; decoding the images is the caller's (the CLI uses stb_image).
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <filesystem>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <anima/core/error.hpp>

namespace anima::data {

// torchvision's IMG_EXTENSIONS.
inline std::vector<std::string> image_extensions() {
  return {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"};
}

struct ImageFolderSample {
  std::filesystem::path path;
  int label = 0;
};

class ImageFolder {
 public:
  explicit ImageFolder(const std::filesystem::path& root, std::vector<std::string> extensions = image_extensions())
      : root_(root), extensions_(std::move(extensions)) {
    namespace fs = std::filesystem;
    std::error_code ec;
    ANIMA_CHECK(fs::is_directory(root_, ec), "ImageFolder", "'", root_.string(), "' is not a folder");
    for (const fs::directory_entry& e : fs::directory_iterator(root_, ec))
      if (std::error_code ec2; e.is_directory(ec2)) classes_.push_back(e.path().filename().string());
    ANIMA_CHECK(!ec, "ImageFolder", "cannot list '", root_.string(), "': ", ec.message());
    ANIMA_CHECK(!classes_.empty(), "ImageFolder", "no class folder in '", root_.string(), "'");
    std::sort(classes_.begin(), classes_.end());
    std::vector<std::string> empty;
    for (std::size_t c = 0; c < classes_.size(); ++c) {
      const std::size_t before = samples_.size();
      add_class(static_cast<int>(c));
      if (samples_.size() == before) empty.push_back(classes_[c]);
    }
    if (!empty.empty()) {
      std::string names, exts;
      for (const auto& n : empty) names += (names.empty() ? "" : ", ") + n;
      for (const auto& x : extensions_) exts += (exts.empty() ? "" : ", ") + x;
      fail("ImageFolder", "'", root_.string(), "': no image file for the classes ", names,
           " (supported extensions: ", exts, ")");
    }
  }

  const std::filesystem::path& root() const { return root_; }
  const std::vector<std::string>& classes() const { return classes_; }
  const std::vector<ImageFolderSample>& samples() const { return samples_; }
  std::size_t size() const { return samples_.size(); }
  // Samples per class.
  std::vector<std::size_t> class_counts() const {
    std::vector<std::size_t> n(classes_.size(), 0);
    for (const auto& s : samples_) ++n[static_cast<std::size_t>(s.label)];
    return n;
  }

  // Whether `name` ends with one of the extensions, ignoring ASCII case (torchvision lower()s it).
  bool has_extension(const std::string& name) const {
    for (const std::string& ext : extensions_) {
      if (name.size() < ext.size()) continue;
      bool same = true;
      for (std::size_t i = 0; i < ext.size() && same; ++i)
        same = std::tolower(static_cast<unsigned char>(name[name.size() - ext.size() + i])) ==
               std::tolower(static_cast<unsigned char>(ext[i]));
      if (same) return true;
    }
    return false;
  }

 private:
  void add_class(int label) {
    namespace fs = std::filesystem;
    std::vector<std::string> folders;  // full path strings, as os.walk's roots
    std::set<fs::path> seen;
    collect_folders(root_ / classes_[static_cast<std::size_t>(label)], folders, seen);
    std::sort(folders.begin(), folders.end());
    for (const std::string& folder : folders) {
      std::vector<std::string> names;
      std::error_code ec;
      for (const fs::directory_entry& e : fs::directory_iterator(folder, ec))
        if (std::error_code ec2; !e.is_directory(ec2)) names.push_back(e.path().filename().string());
      ANIMA_CHECK(!ec, "ImageFolder", "cannot list '", folder, "': ", ec.message());
      std::sort(names.begin(), names.end());
      for (const std::string& n : names)
        if (has_extension(n)) samples_.push_back({fs::path(folder) / n, label});
    }
  }

  static void collect_folders(const std::filesystem::path& dir, std::vector<std::string>& out,
                              std::set<std::filesystem::path>& seen) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path real = fs::canonical(dir, ec);
    if (ec || !seen.insert(real).second) return;
    out.push_back(dir.string());
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec))
      if (std::error_code ec2; e.is_directory(ec2)) collect_folders(e.path(), out, seen);
    ANIMA_CHECK(!ec, "ImageFolder", "cannot list '", dir.string(), "': ", ec.message());
  }

  std::filesystem::path root_;
  std::vector<std::string> extensions_;
  std::vector<std::string> classes_;
  std::vector<ImageFolderSample> samples_;
};

}  // namespace anima::data
