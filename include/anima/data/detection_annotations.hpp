// anima/data/detection_annotations.hpp — object annotations of images, read from the two formats the
// application meets: VGG Image Annotator (VIA) JSON and COCO instances JSON. Both give, per image,
// instances with a box, a class, a crowd flag and a segmentation (polygons, or a COCO RLE).
//
// VIA (read_via): a VIA 2.x project file ({"_via_img_metadata": {...}, ...}), a VIA 2.x annotation
//   export (that object alone: {"<file><size>": {"filename", "size", "regions": [...]}}), or a VIA 1.x
//   file (the same with "regions" an object {"0": {...}, ...}). Region shapes: polygon and polyline
//   (all_points_x / all_points_y), rect (x, y, width, height), circle (cx, cy, r) and ellipse (cx, cy,
//   rx, ry, theta: polygons of 32 vertices); "point" regions have no extent and are skipped (counted
//   in `notes`). The class is the region attribute `label_attribute` ("character" by default); the
//   classes are `classes` when given (an unknown name is an error), else the names found, sorted.
// COCO (read_coco): "images" (id, file_name, width, height), "annotations" (image_id, category_id,
//   bbox [x, y, w, h], iscrowd, area (optional: what COCO's evaluation bins by), segmentation: a list
//   of polygons [x0, y0, x1, y1, ...] or an RLE {"size": [h, w], "counts": "<compressed>" or [runs]}),
//   "categories" (id, name). Classes are the categories in increasing id order.
// Labels count from 1 (0 is the background, as torchvision's detection models expect); classes[l − 1]
// names label l. Boxes are [x1, y1, x2, y2] in pixels (x2 = x + w). An instance whose box has no area
// is dropped and counted in `notes` (torchvision's detection training rejects such boxes).
// Images are listed in file order; an image without instances stays (a negative example). Every
// malformed file is an anima::Error naming the file and the JSON place: wrong types, missing keys,
// polygons of fewer than 3 points, coordinates that are negative, not finite or past 2^20, ids and
// sizes that are not integers, RLE runs that do not add up to the mask. read_detection_annotations takes
// either, telling them apart by their content.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/io/coco_polygon.hpp>
#include <anima/io/coco_rle.hpp>
#include <anima/io/json_reader.hpp>

namespace anima::data {

struct AnnotatedInstance {
  std::array<double, 4> box{};  // x1, y1, x2, y2
  int label = 0;                // 1..K
  bool iscrowd = false;
  std::vector<std::vector<double>> polygons;  // each x0, y0, x1, y1, ... in pixels
  std::optional<io::CocoRle> rle;             // a COCO RLE segmentation instead of polygons
  std::optional<double> area;                 // COCO's "area" when the file gives one (pixels)
};

struct AnnotatedImage {
  std::filesystem::path file;
  std::int64_t image_id = 0;  // COCO's id; VIA: the position in the file, from 1
  int width = 0, height = 0;  // COCO's; 0 when the file does not say (VIA)
  std::vector<AnnotatedInstance> instances;
};

struct DetectionAnnotations {
  std::vector<std::string> classes;  // classes[l − 1] names label l
  std::vector<AnnotatedImage> images;
  std::vector<std::string> notes;  // what was skipped, and why
};

// The largest pixel coordinate, length or mask side an annotation may state (2^20): larger ones are
// errors rather than masks of terabytes.
constexpr double kMaxPixelCoordinate = 1 << 20;
// Ids span the integers a double holds exactly.
constexpr double kMaxJsonId = 9007199254740992.0;  // 2^53

namespace detail {

inline io::JsonValue read_json_file(const std::filesystem::path& path, const char* op) {
  std::ifstream in(path, std::ios::binary);
  ANIMA_CHECK(in.good(), op, "cannot open '", path.string(), "'");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return io::parse_json(text, op, path.string());
}

// Typed access to a JSON value at `where` (a JSON path for messages) in `file`.
class JsonAt {
 public:
  JsonAt(const char* op, const std::string& file) : op_(op), file_(file) {}

  const io::JsonValue& member(const io::JsonValue& v, const std::string& key, const std::string& where) const {
    ANIMA_CHECK(v.is_object(), op_, file_, ": ", where, " must be an object, found ", io::json_kind_name(v.kind));
    const io::JsonValue* m = v.find(key);
    if (m == nullptr) fail(op_, file_, ": ", where, " has no \"", key, "\"");
    return *m;
  }
  double number(const io::JsonValue& v, const std::string& where) const {
    ANIMA_CHECK(v.is_number(), op_, file_, ": ", where, " must be a number, found ", io::json_kind_name(v.kind));
    const double x = std::strtod(v.text.c_str(), nullptr);
    ANIMA_CHECK(std::isfinite(x), op_, file_, ": ", where, " is ", v.text, ", expected a finite number");
    return x;
  }
  // An integer in [lo, hi] (ids, sizes, run lengths: checked before any cast or allocation).
  std::int64_t integer(const io::JsonValue& v, const std::string& where, double lo, double hi) const {
    const double x = number(v, where);
    ANIMA_CHECK(x == std::floor(x) && x >= lo && x <= hi, op_, file_, ": ", where, " is ", v.text,
                ", expected an integer from ", static_cast<std::int64_t>(lo), " to ", static_cast<std::int64_t>(hi));
    return static_cast<std::int64_t>(x);
  }
  // A pixel coordinate or length: in [0, kMaxPixelCoordinate].
  double coordinate(const io::JsonValue& v, const std::string& where) const {
    const double x = number(v, where);
    ANIMA_CHECK(x >= 0 && x <= kMaxPixelCoordinate, op_, file_, ": ", where, " is ", v.text,
                ", expected a pixel coordinate from 0 to ", static_cast<std::int64_t>(kMaxPixelCoordinate));
    return x;
  }
  std::vector<double> coordinates(const io::JsonValue& v, const std::string& where) const {
    std::vector<double> out;
    const auto& items = array(v, where);
    for (std::size_t i = 0; i < items.size(); ++i)
      out.push_back(coordinate(items[i], where + "[" + std::to_string(i) + "]"));
    return out;
  }
  std::string string(const io::JsonValue& v, const std::string& where) const {
    ANIMA_CHECK(v.is_string(), op_, file_, ": ", where, " must be a string, found ", io::json_kind_name(v.kind));
    return v.text;
  }
  const std::vector<io::JsonValue>& array(const io::JsonValue& v, const std::string& where) const {
    ANIMA_CHECK(v.is_array(), op_, file_, ": ", where, " must be an array, found ", io::json_kind_name(v.kind));
    return v.items;
  }

 private:
  const char* op_;
  std::string file_;
};

inline std::array<double, 4> polygon_box(const std::vector<double>& xy) {
  std::array<double, 4> b = {INFINITY, INFINITY, -INFINITY, -INFINITY};
  for (std::size_t i = 0; i + 1 < xy.size(); i += 2) {
    b[0] = std::min(b[0], xy[i]), b[2] = std::max(b[2], xy[i]);
    b[1] = std::min(b[1], xy[i + 1]), b[3] = std::max(b[3], xy[i + 1]);
  }
  return b;
}

// An ellipse centred at (cx, cy) with radii rx, ry, rotated by theta (radians), as 32 vertices.
inline std::vector<double> ellipse_polygon(double cx, double cy, double rx, double ry, double theta) {
  std::vector<double> xy;
  for (int k = 0; k < 32; ++k) {
    const double a = 2.0 * M_PI * k / 32.0;
    const double x = rx * std::cos(a), y = ry * std::sin(a);
    xy.push_back(cx + x * std::cos(theta) - y * std::sin(theta));
    xy.push_back(cy + x * std::sin(theta) + y * std::cos(theta));
  }
  return xy;
}

inline bool has_area(const std::array<double, 4>& b) { return b[2] > b[0] && b[3] > b[1]; }

}  // namespace detail

inline DetectionAnnotations read_via(const std::filesystem::path& json, const std::filesystem::path& image_dir,
                                     const std::string& label_attribute = "character",
                                     std::vector<std::string> classes = {}) {
  const char* op = "read_via";
  const io::JsonValue root = detail::read_json_file(json, op);
  const detail::JsonAt at(op, json.string());
  ANIMA_CHECK(root.is_object(), op, json.string(), ": expected a VIA project or annotation object, found ",
              io::json_kind_name(root.kind));
  const io::JsonValue* entries = root.find("_via_img_metadata");
  if (entries == nullptr) entries = &root;
  ANIMA_CHECK(entries->is_object(), op, json.string(), ": \"_via_img_metadata\" must be an object");
  DetectionAnnotations out;
  const bool fixed_classes = !classes.empty();
  struct Pending {
    std::size_t image;
    std::string name;
    AnnotatedInstance instance;
  };
  std::vector<Pending> pending;
  std::int64_t id = 0;
  for (const auto& [key, entry] : entries->members) {
    const std::string where = "\"" + key + "\"";
    AnnotatedImage image;
    image.file = image_dir / at.string(at.member(entry, "filename", where), where + ".filename");
    image.image_id = ++id;
    const io::JsonValue& regions = at.member(entry, "regions", where);
    std::vector<const io::JsonValue*> list;
    if (regions.is_object())  // VIA 1.x: {"0": region, ...}
      for (const auto& r : regions.members) list.push_back(&r.second);
    else
      for (const auto& r : at.array(regions, where + ".regions")) list.push_back(&r);
    for (std::size_t r = 0; r < list.size(); ++r) {
      const std::string rw = where + ".regions[" + std::to_string(r) + "]";
      const io::JsonValue& shape = at.member(*list[r], "shape_attributes", rw);
      const std::string kind = at.string(at.member(shape, "name", rw + ".shape_attributes"), rw + ".name");
      auto num = [&](const char* k) {
        return at.coordinate(at.member(shape, k, rw + ".shape_attributes"), rw + "." + k);
      };
      AnnotatedInstance inst;
      if (kind == "polygon" || kind == "polyline") {
        const std::vector<double> xs = at.coordinates(at.member(shape, "all_points_x", rw), rw + ".all_points_x");
        const std::vector<double> ys = at.coordinates(at.member(shape, "all_points_y", rw), rw + ".all_points_y");
        ANIMA_CHECK(xs.size() == ys.size() && xs.size() >= 3, op, json.string(), ": ", rw, " has ", xs.size(),
                    " x and ", ys.size(), " y coordinates, expected the same number, at least 3");
        std::vector<double> xy;
        for (std::size_t i = 0; i < xs.size(); ++i) xy.push_back(xs[i]), xy.push_back(ys[i]);
        inst.polygons.push_back(xy);
      } else if (kind == "rect") {
        const double x = num("x"), y = num("y"), w = num("width"), h = num("height");
        inst.polygons.push_back({x, y, x + w, y, x + w, y + h, x, y + h});
      } else if (kind == "circle") {
        const double r0 = num("r");
        inst.polygons.push_back(detail::ellipse_polygon(num("cx"), num("cy"), r0, r0, 0.0));
      } else if (kind == "ellipse") {
        const io::JsonValue* theta = shape.find("theta");
        inst.polygons.push_back(detail::ellipse_polygon(num("cx"), num("cy"), num("rx"), num("ry"),
                                                        theta == nullptr ? 0.0 : at.number(*theta, rw + ".theta")));
      } else if (kind == "point") {
        out.notes.push_back(json.string() + ": " + rw + " is a point, skipped");
        continue;
      } else {
        fail(op, json.string(), ": ", rw, " has shape \"", kind,
             "\", expected polygon, polyline, rect, circle, ellipse or point");
      }
      inst.box = detail::polygon_box(inst.polygons[0]);
      const io::JsonValue& attrs = at.member(*list[r], "region_attributes", rw);
      const std::string name = at.string(at.member(attrs, label_attribute, rw + ".region_attributes"),
                                         rw + ".region_attributes." + label_attribute);
      if (!detail::has_area(inst.box)) {
        out.notes.push_back(json.string() + ": " + rw + " has no area, skipped");
        continue;
      }
      if (fixed_classes)
        ANIMA_CHECK(std::find(classes.begin(), classes.end(), name) != classes.end(), op, json.string(), ": ", rw,
                    " is of class \"", name, "\", not one of the classes given");
      else if (std::find(classes.begin(), classes.end(), name) == classes.end())
        classes.push_back(name);
      pending.push_back({out.images.size(), name, inst});
    }
    out.images.push_back(std::move(image));
  }
  if (!fixed_classes) std::sort(classes.begin(), classes.end());
  for (Pending& p : pending) {
    p.instance.label = static_cast<int>(std::find(classes.begin(), classes.end(), p.name) - classes.begin()) + 1;
    out.images[p.image].instances.push_back(std::move(p.instance));
  }
  out.classes = std::move(classes);
  return out;
}

inline DetectionAnnotations read_coco(const std::filesystem::path& json, const std::filesystem::path& image_dir) {
  const char* op = "read_coco";
  const io::JsonValue root = detail::read_json_file(json, op);
  const detail::JsonAt at(op, json.string());
  DetectionAnnotations out;
  std::map<std::int64_t, int> label_of;  // category id -> label
  {
    std::vector<std::pair<std::int64_t, std::string>> cats;
    const auto& list = at.array(at.member(root, "categories", "the file"), "categories");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string w = "categories[" + std::to_string(i) + "]";
      cats.emplace_back(at.integer(at.member(list[i], "id", w), w + ".id", -kMaxJsonId, kMaxJsonId),
                        at.string(at.member(list[i], "name", w), w + ".name"));
    }
    std::sort(cats.begin(), cats.end());
    for (std::size_t i = 0; i < cats.size(); ++i) {
      ANIMA_CHECK(i == 0 || cats[i].first != cats[i - 1].first, op, json.string(), ": category id ", cats[i].first,
                  " appears twice");
      label_of[cats[i].first] = static_cast<int>(i) + 1;
      out.classes.push_back(cats[i].second);
    }
  }
  std::map<std::int64_t, std::size_t> image_of;
  const auto& images = at.array(at.member(root, "images", "the file"), "images");
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::string w = "images[" + std::to_string(i) + "]";
    AnnotatedImage im;
    im.image_id = at.integer(at.member(images[i], "id", w), w + ".id", -kMaxJsonId, kMaxJsonId);
    im.file = image_dir / at.string(at.member(images[i], "file_name", w), w + ".file_name");
    im.width = static_cast<int>(at.integer(at.member(images[i], "width", w), w + ".width", 1, kMaxPixelCoordinate));
    im.height = static_cast<int>(at.integer(at.member(images[i], "height", w), w + ".height", 1, kMaxPixelCoordinate));
    ANIMA_CHECK(image_of.emplace(im.image_id, out.images.size()).second, op, json.string(), ": image id ", im.image_id,
                " appears twice");
    out.images.push_back(std::move(im));
  }
  const auto& anns = at.array(at.member(root, "annotations", "the file"), "annotations");
  for (std::size_t i = 0; i < anns.size(); ++i) {
    const std::string w = "annotations[" + std::to_string(i) + "]";
    const std::int64_t image_id =
        at.integer(at.member(anns[i], "image_id", w), w + ".image_id", -kMaxJsonId, kMaxJsonId);
    const std::int64_t cat =
        at.integer(at.member(anns[i], "category_id", w), w + ".category_id", -kMaxJsonId, kMaxJsonId);
    auto im = image_of.find(image_id);
    ANIMA_CHECK(im != image_of.end(), op, json.string(), ": ", w, " is of image ", image_id, ", not in \"images\"");
    auto label = label_of.find(cat);
    ANIMA_CHECK(label != label_of.end(), op, json.string(), ": ", w, " has category ", cat, ", not in \"categories\"");
    AnnotatedInstance inst;
    inst.label = label->second;
    const std::vector<double> b = at.coordinates(at.member(anns[i], "bbox", w), w + ".bbox");
    ANIMA_CHECK(b.size() == 4, op, json.string(), ": ", w, ".bbox has ", b.size(), " numbers, expected 4");
    inst.box = {b[0], b[1], b[0] + b[2], b[1] + b[3]};
    if (const io::JsonValue* crowd = anns[i].find("iscrowd")) inst.iscrowd = at.number(*crowd, w + ".iscrowd") != 0;
    if (const io::JsonValue* area = anns[i].find("area")) {
      inst.area = at.number(*area, w + ".area");
      ANIMA_CHECK(*inst.area >= 0, op, json.string(), ": ", w, ".area is ", area->text,
                  ", expected a pixel count >= 0");
    }
    if (const io::JsonValue* seg = anns[i].find("segmentation")) {
      if (seg->is_array()) {
        for (std::size_t p = 0; p < seg->items.size(); ++p) {
          std::vector<double> xy = at.coordinates(seg->items[p], w + ".segmentation[" + std::to_string(p) + "]");
          ANIMA_CHECK(xy.size() >= 6 && xy.size() % 2 == 0, op, json.string(), ": ", w, ".segmentation[", p, "] has ",
                      xy.size(), " numbers, expected x, y pairs of at least 3 points");
          inst.polygons.push_back(std::move(xy));
        }
      } else {
        const std::string sw = w + ".segmentation";
        const auto& size = at.array(at.member(*seg, "size", sw), sw + ".size");
        ANIMA_CHECK(size.size() == 2, op, json.string(), ": ", sw, ".size must be [height, width]");
        io::CocoRle rle;
        rle.height = at.integer(size[0], sw + ".size[0]", 1, kMaxPixelCoordinate);
        rle.width = at.integer(size[1], sw + ".size[1]", 1, kMaxPixelCoordinate);
        const std::int64_t area = rle.height * rle.width;
        const io::JsonValue& counts = at.member(*seg, "counts", sw);
        std::vector<std::int64_t> runs;
        if (counts.is_string()) {
          try {
            runs = io::coco_rle_runs_from_string(counts.text);
          } catch (const Error& e) {
            fail(op, json.string(), ": ", sw, ".counts is not a COCO compressed RLE (", e.what(), ")");
          }
          rle.counts = counts.text;
        } else {
          const auto& items = at.array(counts, sw + ".counts");
          for (std::size_t k = 0; k < items.size(); ++k)
            runs.push_back(
                at.integer(items[k], sw + ".counts[" + std::to_string(k) + "]", 0, static_cast<double>(area)));
          rle.counts = io::coco_rle_counts_string(runs);
        }
        // Each run within the mask, so the sum cannot overflow before it passes the area.
        std::int64_t total = 0;
        for (std::size_t k = 0; k < runs.size() && total <= area; ++k) {
          ANIMA_CHECK(runs[k] >= 0 && runs[k] <= area, op, json.string(), ": ", sw, ".counts run ", k, " is ", runs[k],
                      ", expected a length from 0 to ", rle.height, " x ", rle.width);
          total += runs[k];
        }
        ANIMA_CHECK(total == area, op, json.string(), ": ", sw, "'s runs sum to ", total > area ? "more than" : "",
                    total > area ? "" : std::to_string(total), ", expected ", rle.height, " x ", rle.width);
        inst.rle = rle;
      }
    }
    if (!detail::has_area(inst.box)) {
      out.notes.push_back(json.string() + ": " + w + " has an empty box, skipped");
      continue;
    }
    out.images[im->second].instances.push_back(std::move(inst));
  }
  return out;
}

// Annotations in either format, told apart by their content: a COCO instances file is an object with
// "images", "annotations" and "categories"; anything else is read as VIA.
inline bool is_coco_instances(const std::filesystem::path& json) {
  const io::JsonValue root = detail::read_json_file(json, "annotations");
  return root.is_object() && root.find("images") && root.find("annotations") && root.find("categories");
}

inline DetectionAnnotations read_detection_annotations(const std::filesystem::path& json,
                                                       const std::filesystem::path& image_dir,
                                                       const std::string& label_attribute = "character") {
  return is_coco_instances(json) ? read_coco(json, image_dir) : read_via(json, image_dir, label_attribute);
}

// The instance's mask in an image of h x w pixels, row-major (1 inside): its RLE decoded, else its
// polygons rasterised as pycocotools does (io/coco_polygon.hpp), else (no segmentation) its box as a
// polygon. An RLE of another size than the image is an error naming `file`.
inline std::vector<std::uint8_t> instance_mask(const AnnotatedInstance& inst, std::int64_t h, std::int64_t w,
                                               const std::filesystem::path& file) {
  if (inst.rle) {
    ANIMA_CHECK(inst.rle->height == h && inst.rle->width == w, "annotations", "the mask of an object of '",
                file.string(), "' is ", inst.rle->height, "x", inst.rle->width, ", the image ", h, "x", w);
    return io::coco_rle_decode(*inst.rle);
  }
  if (!inst.polygons.empty()) return io::coco_polygons_mask(inst.polygons, h, w);
  const double x1 = inst.box[0], y1 = inst.box[1], x2 = inst.box[2], y2 = inst.box[3];
  return io::coco_polygons_mask({{x1, y1, x2, y1, x2, y2, x1, y2}}, h, w);
}

}  // namespace anima::data
