// tools/anima/crops_command.hpp — `anima crops`: the classifiers' training data cut from annotated
// frames, as the paper cuts it, or as its ablations do.
//
//   anima crops --data FILE [--images DIR] --out DIR [--cut mask|box|frame] [--size 256]
//               [--label-attribute emotion,character] [--split 70,15,15] [--seed 1]
//
// FILE: VIA or COCO annotations (data::read_detection_annotations tells them apart); the images are
// in --images (default: the annotation file's folder). Every region becomes one image of --size x
// --size, by --cut:
//   mask    the frame multiplied by the region's binary mask, cropped to its box (the paper's input;
//           data::masked_face_crop)
//   box     the box alone, background kept (data::box_face_crop)
//   frame   the whole frame, letterboxed (data::letterboxed_frame): the unsegmented ablation
// Its class: VIA, the region attributes of --label-attribute joined by "_" in that order
// ("happy_tom" for emotion,character: `anima synth`'s class names); COCO, the category's name.
// Its split is drawn from --seed, the image's file name and the region's index (--split percentages
// of train, val and test), so the same region lands in the same split whatever the cut: the three
// cuts of a region are always compared on the same footing.
// Output, an ImageFolder that `anima train classifier` and `anima eval classifier` read:
//   DIR/{train,val,test}/<class>/<image stem>_<region>.png    (every class folder in every split)
//   DIR/crops.csv    file,split,class,image,region,x1,y1,x2,y2
// each file written to a temporary name and renamed. Errors (bad annotations, an unreadable image, a
// region without the attribute) are anima::Errors naming the file: exit status 2.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <stb/stb_image_write.h>

#include <anima/core/error.hpp>
#include <anima/data/detection_annotations.hpp>
#include <anima/data/face_crop.hpp>
#include <anima/io/atomic_file.hpp>

#include "image_file.hpp"
#include "progress_line.hpp"

namespace anima::cli {

struct CropsOptions {
  std::string data, images, out;
  std::string cut = "mask";
  int size = 256;
  std::vector<std::string> label_attributes{"emotion", "character"};
  std::vector<double> split{70, 15, 15};
  std::uint64_t seed = 1;
  bool quiet = false;
};

struct CropsReport {
  std::map<std::string, std::map<std::string, int>> counts;  // split -> class -> crops
  int images = 0, crops = 0;
};

// The split of region `region` of `image`: a 64-bit mix of the seed, the file name and the index.
inline const char* crop_split(std::uint64_t seed, const std::string& image, std::size_t region,
                              const std::vector<double>& split) {
  std::uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : image) h = (h ^ c) * 1099511628211ull;
  h ^= region + 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  h ^= h >> 31;
  const double u = static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
  const double total = split[0] + split[1] + split[2];
  return u * total < split[0] ? "train" : u * total < split[0] + split[1] ? "val" : "test";
}

inline void write_png_atomic(const std::filesystem::path& path, const data::ImageU8& im, const char* op) {
  io::AtomicFile file(path, op);
  ANIMA_CHECK(stbi_write_png(file.temp_path().c_str(), im.width, im.height, 3, im.pixels.data(), im.width * 3) != 0,
              op, "cannot write '", path.string(), "' (is the folder writable?)");
  file.commit();
}

inline CropsReport cut_crops(const CropsOptions& o) {
  namespace fs = std::filesystem;
  ANIMA_CHECK(o.cut == "mask" || o.cut == "box" || o.cut == "frame", "crops", "--cut must be mask, box or frame (got '",
              o.cut, "')");
  ANIMA_CHECK(o.size >= 8 && o.size <= 4096, "crops", "--size must be in [8, 4096], got ", o.size);
  ANIMA_CHECK(o.split.size() == 3 && o.split[0] >= 0 && o.split[1] >= 0 && o.split[2] >= 0 &&
                  o.split[0] + o.split[1] + o.split[2] > 0,
              "crops", "--split must be three non-negative percentages (train, val, test)");
  ANIMA_CHECK(!o.label_attributes.empty(), "crops", "--label-attribute needs at least one attribute");
  const fs::path image_dir = o.images.empty() ? fs::path(o.data).parent_path() : fs::path(o.images);
  // Per image, per region: its class name.
  const bool coco = data::is_coco_instances(o.data);
  const data::DetectionAnnotations annotations =
      coco ? data::read_coco(o.data, image_dir) : data::read_via(o.data, image_dir, o.label_attributes[0]);
  std::vector<std::vector<std::string>> classes(annotations.images.size());
  for (std::size_t i = 0; i < annotations.images.size(); ++i)
    for (const auto& inst : annotations.images[i].instances)
      classes[i].push_back(annotations.classes[static_cast<std::size_t>(inst.label - 1)]);
  if (!coco) {  // the other attributes joined on
    for (std::size_t a = 1; a < o.label_attributes.size(); ++a) {
      const data::DetectionAnnotations via = data::read_via(o.data, image_dir, o.label_attributes[a]);
      ANIMA_CHECK(via.images.size() == annotations.images.size(), "crops", "'", o.data, "' changed while it was read");
      for (std::size_t i = 0; i < via.images.size(); ++i)
        for (std::size_t k = 0; k < via.images[i].instances.size(); ++k)
          classes[i][k] += "_" + via.classes[static_cast<std::size_t>(via.images[i].instances[k].label - 1)];
    }
  }
  std::set<std::string> all_classes;
  for (const auto& c : classes) all_classes.insert(c.begin(), c.end());
  ANIMA_CHECK(!all_classes.empty(), "crops", "'", o.data, "' has no regions to cut");
  for (const char* split : {"train", "val", "test"})
    for (const std::string& c : all_classes) {
      std::error_code ec;
      fs::create_directories(fs::path(o.out) / split / c, ec);
      ANIMA_CHECK(fs::is_directory(fs::path(o.out) / split / c), "crops", "cannot create '",
                  (fs::path(o.out) / split / c).string(), "'");
    }
  CropsReport report;
  std::ostringstream csv;
  csv << "file,split,class,image,region,x1,y1,x2,y2\n";
  std::size_t total = 0;
  for (const auto& image : annotations.images) total += image.instances.size();
  ProgressLine progress("crops", total, "crops", o.quiet);
  for (std::size_t i = 0; i < annotations.images.size(); ++i) {
    const data::AnnotatedImage& image = annotations.images[i];
    if (image.instances.empty()) continue;
    const data::ImageU8 frame = load_rgb(image.file.string(), "crops");
    ++report.images;
    for (std::size_t k = 0; k < image.instances.size(); ++k) {
      const data::AnnotatedInstance& inst = image.instances[k];
      data::ImageU8 cut;
      if (o.cut == "mask")
        cut = data::masked_face_crop(frame, data::instance_mask(inst, frame.height, frame.width, image.file), inst.box,
                                     o.size);
      else if (o.cut == "box")
        cut = data::box_face_crop(frame, inst.box, o.size);
      else
        cut = data::letterboxed_frame(frame, o.size);
      const std::string name = image.file.filename().string();
      const char* split = crop_split(o.seed, name, k, o.split);
      const std::string file = std::string(split) + "/" + classes[i][k] + "/" + image.file.stem().string() + "_" +
                               std::to_string(k) + ".png";
      write_png_atomic(fs::path(o.out) / file, cut, "crops");
      char box[128];
      std::snprintf(box, sizeof box, "%.2f,%.2f,%.2f,%.2f", inst.box[0], inst.box[1], inst.box[2], inst.box[3]);
      csv << file << ',' << split << ',' << classes[i][k] << ',' << name << ',' << k << ',' << box << '\n';
      ++report.counts[split][classes[i][k]];
      ++report.crops;
      progress.update(static_cast<std::size_t>(report.crops));
    }
  }
  const std::string text = csv.str();
  io::write_file_atomic(fs::path(o.out) / "crops.csv", text.data(), text.size(), "crops");
  return report;
}

// Registers `anima crops`; its exit status goes to `status`.
inline CLI::App* add_crops_command(CLI::App& app, int& status) {
  auto opts = std::make_shared<CropsOptions>();
  CLI::App* cmd =
      app.add_subcommand("crops", "cut annotated regions into a classifier's image folder (masked, box or whole frame)");
  cmd->add_option("--data", opts->data, "VIA or COCO annotations")->required();
  cmd->add_option("--images", opts->images, "the images' folder (default: the annotation file's)");
  cmd->add_option("--out", opts->out, "the image folder to write (train/, val/, test/)")->required();
  cmd->add_option("--cut", opts->cut, "mask (the paper's), box or frame")->check(CLI::IsMember({"mask", "box", "frame"}));
  cmd->add_option("--size", opts->size, "side of every crop (default 256)");
  cmd->add_option("--label-attribute", opts->label_attributes,
                  "VIA region attributes naming the class, joined by _ (default emotion,character)")
      ->delimiter(',');
  cmd->add_option("--split", opts->split, "train,val,test percentages (default 70,15,15)")->delimiter(',');
  cmd->add_option("--seed", opts->seed, "seed of the split");
  cmd->add_flag("--quiet", opts->quiet, "no progress line");
  cmd->callback([opts, &status] {
    const CropsReport r = cut_crops(*opts);
    std::printf("anima crops: %d crops (%s) of %d images in %s:", r.crops, opts->cut.c_str(), r.images,
                opts->out.c_str());
    for (const auto& [split, by_class] : r.counts) {
      int n = 0;
      for (const auto& [c, k] : by_class) n += k;
      std::printf(" %s %d", split.c_str(), n);
    }
    std::printf("\n");
    status = 0;
  });
  return cmd;
}

}  // namespace anima::cli
