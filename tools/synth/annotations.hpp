// tools/synth/annotations.hpp — the frames' ground truth in three formats:
//   via_region_data.json  VGG Image Annotator 2 export: { "<file><size>": { filename, size,
//                         regions: [ { shape_attributes: { name: "polygon", all_points_x, all_points_y },
//                         region_attributes: { character, emotion } } ], file_attributes: {} } }
//   coco_instances.json   COCO instances: images, annotations (segmentation polygon, bbox [x, y, w, h],
//                         area, category_id 1 tom / 2 jerry, iscrowd 0, plus emotion), categories
//   labels.csv            one row per face: file, face, character, class_id, emotion, face_class,
//                         intensity, x, y, w, h, area, truncated, occluded
// Polygons are the face outlines clipped to the image (see characters.hpp for what the outline is),
// in pixels, rounded to 0.1. Occluders in front of a face are not subtracted from its polygon, as
// an annotator outlines the face; the `occluded` column says when one is there.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "classes.hpp"
#include "image_io.hpp"
#include "scene.hpp"

namespace anima::synth {

inline double round1(double v) { return std::round(v * 10.0) / 10.0; }

struct AnnotatedFace {
  Character who;
  Emotion emotion;
  double intensity;
  Polygon polygon;
  Box box;
  double area;
  bool truncated, occluded;
};

struct AnnotatedFrame {
  std::string file_name;
  std::uint64_t file_size = 0;
  int width = 0, height = 0;
  std::vector<AnnotatedFace> faces;
};

class AnnotationSet {
 public:
  void add(const std::string& file_name, std::uint64_t file_size, const FrameSpec& spec) {
    AnnotatedFrame f{file_name, file_size, spec.width, spec.height, {}};
    for (const FaceInstance& face : spec.faces) {
      Polygon p;
      for (const Point& q : face.polygon) p.push_back({round1(q.x), round1(q.y)});
      f.faces.push_back({face.style.who, face.style.emotion, face.style.intensity, std::move(p), face.box, face.area,
                         face.visible_fraction < 0.999, !face.occluders.empty()});
    }
    frames_.push_back(std::move(f));
  }
  const std::vector<AnnotatedFrame>& frames() const { return frames_; }

  nlohmann::ordered_json via_json() const {
    nlohmann::ordered_json root = nlohmann::ordered_json::object();
    for (const AnnotatedFrame& f : frames_) {
      nlohmann::ordered_json entry;
      entry["filename"] = f.file_name;
      entry["size"] = f.file_size;
      entry["regions"] = nlohmann::ordered_json::array();
      for (const AnnotatedFace& face : f.faces) {
        nlohmann::ordered_json xs = nlohmann::ordered_json::array(), ys = nlohmann::ordered_json::array();
        for (const Point& q : face.polygon) {
          xs.push_back(q.x);
          ys.push_back(q.y);
        }
        nlohmann::ordered_json region;
        region["shape_attributes"] = {{"name", "polygon"}, {"all_points_x", xs}, {"all_points_y", ys}};
        region["region_attributes"] = {{"character", character_label(face.who)},
                                       {"emotion", emotion_name(face.emotion)}};
        entry["regions"].push_back(region);
      }
      entry["file_attributes"] = nlohmann::ordered_json::object();
      root[f.file_name + std::to_string(f.file_size)] = entry;
    }
    return root;
  }

  nlohmann::ordered_json coco_json() const {
    nlohmann::ordered_json root;
    root["info"] = {{"description", "anima synthetic cartoon faces"}, {"version", "1"}};
    root["images"] = nlohmann::ordered_json::array();
    root["annotations"] = nlohmann::ordered_json::array();
    int image_id = 0, ann_id = 0;
    for (const AnnotatedFrame& f : frames_) {
      ++image_id;
      root["images"].push_back(
          {{"id", image_id}, {"file_name", f.file_name}, {"width", f.width}, {"height", f.height}});
      for (const AnnotatedFace& face : f.faces) {
        nlohmann::ordered_json seg = nlohmann::ordered_json::array();
        for (const Point& q : face.polygon) {
          seg.push_back(q.x);
          seg.push_back(q.y);
        }
        nlohmann::ordered_json a;
        a["id"] = ++ann_id;
        a["image_id"] = image_id;
        a["category_id"] = class_id(face.who);
        a["segmentation"] = nlohmann::ordered_json::array({seg});
        a["area"] = round1(face.area);
        a["bbox"] = {round1(face.box.x), round1(face.box.y), round1(face.box.w), round1(face.box.h)};
        a["iscrowd"] = 0;
        a["emotion"] = emotion_name(face.emotion);
        a["emotion_id"] = static_cast<int>(face.emotion);
        root["annotations"].push_back(a);
      }
    }
    root["categories"] = nlohmann::ordered_json::array();
    for (Character c : kCharacters)
      root["categories"].push_back({{"id", class_id(c)}, {"name", character_label(c)}, {"supercategory", "face"}});
    root["emotions"] = nlohmann::ordered_json::array();
    for (Emotion e : kEmotions) root["emotions"].push_back({{"id", static_cast<int>(e)}, {"name", emotion_name(e)}});
    return root;
  }

  std::string labels_csv() const {
    std::ostringstream os;
    os << "file,face,character,class_id,emotion,face_class,intensity,x,y,w,h,area,truncated,occluded\n";
    for (const AnnotatedFrame& f : frames_)
      for (std::size_t k = 0; k < f.faces.size(); ++k) {
        const AnnotatedFace& a = f.faces[k];
        os << f.file_name << ',' << k << ',' << character_label(a.who) << ',' << class_id(a.who) << ','
           << emotion_name(a.emotion) << ',' << face_class_name(a.who, a.emotion) << ','
           << round1(a.intensity * 100) / 100 << ',' << round1(a.box.x) << ',' << round1(a.box.y) << ','
           << round1(a.box.w) << ',' << round1(a.box.h) << ',' << round1(a.area) << ',' << (a.truncated ? 1 : 0) << ','
           << (a.occluded ? 1 : 0) << '\n';
      }
    return os.str();
  }

  void write(const std::filesystem::path& dir) const {
    write_file_atomic(dir / "via_region_data.json", via_json().dump() + "\n");
    write_file_atomic(dir / "coco_instances.json", coco_json().dump() + "\n");
    write_file_atomic(dir / "labels.csv", labels_csv());
  }

 private:
  std::vector<AnnotatedFrame> frames_;
};

}  // namespace anima::synth
