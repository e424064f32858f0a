// VIA and COCO annotation readers (anima/data/detection_annotations.hpp) on small files written here:
// every VIA flavour (2.x export, 2.x project, 1.x) and shape, COCO polygons, compressed and
// uncompressed RLE, crowd flags, category order, dropped empty boxes, and the errors that name the
// file and the JSON place; read_detection_annotations telling the two formats apart.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <anima/data/detection_annotations.hpp>

#include "../core/expect_error.hpp"

namespace anima {
namespace {

namespace fs = std::filesystem;
using testing::contains;
using testing::error_of;

class Annotations : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("anima_annotations_" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }
  fs::path dir_;
};

const char* const kViaRegions = R"([
  {"shape_attributes": {"name": "polygon", "all_points_x": [10, 30, 20], "all_points_y": [5, 5, 25]},
   "region_attributes": {"character": "tom", "emotion": "happy"}},
  {"shape_attributes": {"name": "rect", "x": 40, "y": 50, "width": 10, "height": 20},
   "region_attributes": {"character": "jerry"}},
  {"shape_attributes": {"name": "circle", "cx": 100, "cy": 100, "r": 8},
   "region_attributes": {"character": "jerry"}},
  {"shape_attributes": {"name": "point", "cx": 1, "cy": 1}, "region_attributes": {"character": "tom"}}
])";

void expect_via_contents(const data::DetectionAnnotations& a, const fs::path& dir) {
  EXPECT_EQ(a.classes, (std::vector<std::string>{"jerry", "tom"}));  // sorted
  ASSERT_EQ(a.images.size(), 2u);
  EXPECT_EQ(a.images[0].file, dir / "a.png");
  EXPECT_EQ(a.images[1].file, dir / "b.png");
  EXPECT_TRUE(a.images[1].instances.empty()) << "an image without regions stays";
  const auto& in = a.images[0].instances;
  ASSERT_EQ(in.size(), 3u);
  EXPECT_EQ(in[0].label, 2);  // tom
  EXPECT_EQ(in[0].box, (std::array<double, 4>{10, 5, 30, 25}));
  EXPECT_EQ(in[1].label, 1);  // jerry
  EXPECT_EQ(in[1].box, (std::array<double, 4>{40, 50, 50, 70}));
  EXPECT_EQ(in[1].polygons.at(0).size(), 8u);
  EXPECT_NEAR(in[2].box[0], 92.0, 1e-9);
  EXPECT_NEAR(in[2].box[3], 108.0, 1e-9);
  EXPECT_EQ(in[2].polygons.at(0).size(), 64u);
  ASSERT_EQ(a.notes.size(), 1u);
  EXPECT_TRUE(contains(a.notes[0], "is a point, skipped"));
}

TEST_F(Annotations, ViaTwoExportProjectAndOne) {
  const std::string images = R"("a.png123": {"filename": "a.png", "size": 123, "regions": )" +
                             std::string(kViaRegions) +
                             R"(, "file_attributes": {}}, "b.png9": {"filename": "b.png", "size": 9, "regions": []})";
  expect_via_contents(data::read_via(write("export.json", "{" + images + "}"), dir_), dir_);
  expect_via_contents(data::read_detection_annotations(dir_ / "export.json", dir_), dir_);
  expect_via_contents(
      data::read_via(write("project.json", R"({"_via_settings": {}, "_via_img_metadata": {)" + images + "}}"), dir_),
      dir_);
  // VIA 1.x: regions as an object keyed by index.
  std::string one = kViaRegions;
  one = "{\"0\": " + one.substr(one.find('{'));
  std::size_t k = 1;
  for (std::size_t at = one.find("},\n  {"); at != std::string::npos; at = one.find("},\n  {", at + 1))
    one.replace(at, 6, "}, \"" + std::to_string(k++) + "\": {");
  one.back() = '}';
  expect_via_contents(
      data::read_via(write("v1.json", R"({"a.png123": {"fileref": "", "filename": "a.png", "regions": )" + one +
                                          R"(}, "b.png9": {"filename": "b.png", "regions": {}}})"),
                     dir_),
      dir_);
  // Classes given: their order; an unknown name is an error.
  const auto given = data::read_via(dir_ / "export.json", dir_, "character", {"tom", "jerry", "spike"});
  EXPECT_EQ(given.images[0].instances[0].label, 1);
  EXPECT_TRUE(contains(error_of([&] { data::read_via(dir_ / "export.json", dir_, "character", {"tom"}); }),
                       "is of class \"jerry\", not one of the classes given"));
  EXPECT_TRUE(contains(error_of([&] { data::read_via(dir_ / "export.json", dir_, "mood"); }),
                       "region_attributes has no \"mood\""));
}

TEST_F(Annotations, CocoPolygonsRleCrowdAndCategoryOrder) {
  const fs::path f = write("coco.json", R"({
    "images": [{"id": 7, "file_name": "x.jpg", "width": 4, "height": 3},
               {"id": 9, "file_name": "y.jpg", "width": 4, "height": 3}],
    "categories": [{"id": 5, "name": "jerry"}, {"id": 2, "name": "tom"}],
    "annotations": [
      {"id": 1, "image_id": 7, "category_id": 5, "bbox": [0, 0, 2, 3], "iscrowd": 0,
       "segmentation": [[0, 0, 2, 0, 2, 3, 0, 3]]},
      {"id": 2, "image_id": 7, "category_id": 2, "bbox": [1, 1, 2, 1], "iscrowd": 1,
       "segmentation": {"size": [3, 4], "counts": [4, 2, 6]}},
      {"id": 3, "image_id": 7, "category_id": 2, "bbox": [1, 0, 1, 1], "area": 1,
       "segmentation": {"size": [3, 4], "counts": "318"}},
      {"id": 4, "image_id": 7, "category_id": 2, "bbox": [3, 3, 0, 4], "segmentation": []}]})");
  const auto a = data::read_coco(f, dir_);
  EXPECT_EQ(a.classes, (std::vector<std::string>{"tom", "jerry"}));  // by category id: 2, 5
  ASSERT_EQ(a.images.size(), 2u);
  EXPECT_EQ(a.images[0].image_id, 7);
  EXPECT_EQ(a.images[0].width, 4);
  EXPECT_EQ(a.images[0].file, dir_ / "x.jpg");
  EXPECT_TRUE(a.images[1].instances.empty());
  const auto& in = a.images[0].instances;
  ASSERT_EQ(in.size(), 3u) << "the empty box is dropped";
  EXPECT_EQ(in[0].label, 2);
  EXPECT_EQ(in[0].box, (std::array<double, 4>{0, 0, 2, 3}));
  EXPECT_EQ(in[0].polygons.size(), 1u);
  EXPECT_FALSE(in[0].iscrowd);
  EXPECT_EQ(in[1].label, 1);
  EXPECT_TRUE(in[1].iscrowd);
  ASSERT_TRUE(in[1].rle.has_value());
  EXPECT_EQ(io::coco_rle_runs_from_string(in[1].rle->counts), (std::vector<std::int64_t>{4, 2, 6}));
  EXPECT_FALSE(in[0].area.has_value());
  ASSERT_TRUE(in[2].area.has_value());
  EXPECT_EQ(*in[2].area, 1.0);  // as the file says
  ASSERT_TRUE(in[2].rle.has_value());
  EXPECT_EQ(io::coco_rle_runs_from_string(in[2].rle->counts), (std::vector<std::int64_t>{3, 1, 8}));
  ASSERT_EQ(a.notes.size(), 1u);
  EXPECT_TRUE(contains(a.notes[0], "annotations[3] has an empty box"));
  // Either format through one reader, told apart by content.
  EXPECT_EQ(data::read_detection_annotations(f, dir_).classes, a.classes);
  EXPECT_EQ(data::read_detection_annotations(f, dir_).images[0].instances.size(), 3u);
}

TEST_F(Annotations, ErrorsNameTheFileAndThePlace) {
  const std::string images = R"("images": [{"id": 1, "file_name": "x.jpg", "width": 4, "height": 3}],
                                 "categories": [{"id": 1, "name": "tom"}])";
  auto coco = [&](const std::string& annotations) {
    return data::read_coco(write("bad.json", "{" + images + ", \"annotations\": [" + annotations + "]}"), dir_);
  };
  EXPECT_TRUE(contains(error_of([&] { coco(R"({"image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]})"); }),
                       "annotations[0] is of image 2, not in \"images\""));
  EXPECT_TRUE(contains(error_of([&] { coco(R"({"image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1]})"); }),
                       "has category 3, not in \"categories\""));
  EXPECT_TRUE(contains(error_of([&] { coco(R"({"image_id": 1, "category_id": 1, "bbox": [0, 0, 1]})"); }),
                       "annotations[0].bbox has 3 numbers, expected 4"));
  EXPECT_TRUE(contains(error_of([&] {
                         coco(R"({"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1],
                                  "segmentation": {"size": [3, 4], "counts": [4, 2]}})");
                       }),
                       "runs sum to 6, expected 3 x 4"));
  EXPECT_TRUE(contains(error_of([&] { coco(R"({"image_id": 1, "category_id": 1, "bbox": "x"})"); }),
                       "annotations[0].bbox must be an array"));
  // Numbers that would be undefined behaviour or terabytes if cast or allocated blindly.
  const std::pair<const char*, const char*> hostile[] = {
      {R"({"image_id": 1.5, "category_id": 1, "bbox": [0, 0, 1, 1]})",
       "annotations[0].image_id is 1.5, expected an integer"},
      {R"({"image_id": 1e300, "category_id": 1, "bbox": [0, 0, 1, 1]})", "annotations[0].image_id is 1e300"},
      {R"({"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": -4})", "annotations[0].area is -4"},
      {R"({"image_id": 1, "category_id": 1, "bbox": [-1, 0, 1, 1]})",
       "annotations[0].bbox[0] is -1, expected a pixel coordinate from 0 to 1048576"},
      {R"({"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "segmentation": [[0, 0, 2, 0, 1e9, 3]]})",
       "annotations[0].segmentation[0][4] is 1e9"},
      {R"({"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1],
           "segmentation": {"size": [1e12, 1e12], "counts": [1]}})",
       "segmentation.size[0] is 1e12"},
      {R"({"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1],
           "segmentation": {"size": [3, 4], "counts": [4, -2, 10]}})",
       "segmentation.counts[1] is -2"},
      {R"({"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1],
           "segmentation": {"size": [3, 4], "counts": "______________0"}})",
       "segmentation.counts is not a COCO compressed RLE"},
      {R"({"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1],
           "segmentation": {"size": [3, 4], "counts": "_____0"}})",
       "annotations[0].segmentation.counts run 0 is"},
  };
  for (const auto& h : hostile) EXPECT_TRUE(contains(error_of([&] { coco(h.first); }), h.second)) << h.first;
  EXPECT_TRUE(contains(error_of([&] { data::read_coco(write("cut.json", "{\"images\": ["), dir_); }), "cut.json"));
  EXPECT_TRUE(contains(error_of([&] { data::read_coco(dir_ / "missing.json", dir_); }), "cannot open"));
  EXPECT_TRUE(contains(error_of([&] {
                         data::read_via(write("v.json", R"({"a": {"filename": "a.png", "regions": [
                           {"shape_attributes": {"name": "polygon", "all_points_x": [1, 2], "all_points_y": [1, 2]},
                            "region_attributes": {"character": "tom"}}]}})"),
                                        dir_);
                       }),
                       "has 2 x and 2 y coordinates"));
  EXPECT_TRUE(contains(error_of([&] {
                         data::read_via(write("w.json", R"({"a": {"filename": "a.png", "regions": [
                           {"shape_attributes": {"name": "spline"}, "region_attributes": {"character": "tom"}}]}})"),
                                        dir_);
                       }),
                       "has shape \"spline\""));
}

}  // namespace
}  // namespace anima
