// tests/synth/synth_test.cpp — the synthetic data generator (tools/synth/) and `anima frames`.
//
// Checks that the annotations match the drawn pixels (the face drawn alone, in mask mode and in
// colour on a flat background, against the rasterised polygon), that the labels are balanced, that
// one seed gives identical bytes (and frame k does not depend on the number of frames), that the
// VIA and COCO files parse back, that face crops are 256x256 with a black background, and that
// `anima frames` on a generated video returns the expected frames and timestamps while a truncated
// video gives an error naming the file.
#include <gtest/gtest.h>

#include <cairo.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <stb/stb_image.h>

#include <anima/core/error.hpp>
#include <anima/data/detection_annotations.hpp>

#include "anima/frames_extract.hpp"
#include "synth/dataset.hpp"

namespace fs = std::filesystem;
using namespace anima::synth;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("anima_synth_test_" + std::to_string(::getpid())) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// IoU of two 0/1 masks of the same size.
double mask_iou(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  long long inter = 0, uni = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    inter += a[i] & b[i];
    uni += a[i] | b[i];
  }
  return uni ? static_cast<double>(inter) / uni : 1.0;
}

// A width x height RGB24 cairo surface that faces are drawn on one at a time.
class FaceCanvas {
 public:
  FaceCanvas(int width, int height)
      : width_(width),
        height_(height),
        surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height)),
        cr_(cairo_create(surface_)) {}
  FaceCanvas(const FaceCanvas&) = delete;
  FaceCanvas& operator=(const FaceCanvas&) = delete;
  ~FaceCanvas() {
    cairo_destroy(cr_);
    cairo_surface_destroy(surface_);
  }

  // Fills the canvas with (r, g, b), draws `f` alone in `mode`, and returns its outline clipped to the canvas.
  Polygon draw_alone(const FaceStyle& f, RenderMode mode, double r, double g, double b) {
    cairo_set_source_rgb(cr_, r, g, b);
    cairo_paint(cr_);
    const Polygon outline = clip_to_rect(draw_face(cr_, f, mode), width_, height_);
    cairo_surface_flush(surface_);
    return outline;
  }

  // A 0/1 mask of the pixels p (0xRRGGBB) for which is_face(p) holds.
  template <class IsFace>
  std::vector<std::uint8_t> mask(IsFace is_face) const {
    std::vector<std::uint8_t> out(static_cast<std::size_t>(width_) * height_);
    const unsigned char* data = cairo_image_surface_get_data(surface_);
    const int stride = cairo_image_surface_get_stride(surface_);
    for (int y = 0; y < height_; ++y)
      for (int x = 0; x < width_; ++x) {
        const std::uint32_t p = *reinterpret_cast<const std::uint32_t*>(data + y * stride + 4 * x) & 0xFFFFFF;
        out[static_cast<std::size_t>(y) * width_ + x] = is_face(p);
      }
    return out;
  }

 private:
  int width_, height_;
  cairo_surface_t* surface_;
  cairo_t* cr_;
};

// A face of every class, with rotation, head turn and (for some) a cut by the border.
std::vector<FaceStyle> test_faces(int width, int height) {
  std::vector<FaceStyle> faces;
  int k = 0;
  for (Character c : kCharacters)
    for (Emotion e : kEmotions)
      for (int rep = 0; rep < 2; ++rep, ++k) {
        Rng rng(5, static_cast<std::uint64_t>(k), Purpose::Face);
        FaceStyle f = sample_face_style(rng, c, e);
        f.height = height * (rep == 0 ? 0.7 : 0.35);
        f.cx = width * (rep == 0 ? 0.5 : 0.1);  // the second one is cut by the left border
        f.cy = height * 0.5;
        faces.push_back(f);
      }
  return faces;
}

}  // namespace

TEST(SynthFaces, MaskRenderMatchesOutlinePolygon) {
  // Drawn in mask mode (white on black): the bright pixels are the face.
  const int w = 320, h = 240;
  FaceCanvas canvas(w, h);
  for (const FaceStyle& f : test_faces(w, h)) {
    const Polygon poly = canvas.draw_alone(f, RenderMode::Mask, 0, 0, 0);
    const std::vector<std::uint8_t> drawn = canvas.mask([](std::uint32_t p) { return (p & 0xFF) > 127; });
    const double iou = mask_iou(drawn, rasterize_polygon(poly, w, h));
    EXPECT_GT(iou, 0.98) << face_class_name(f.who, f.emotion) << " at " << f.cx;
    // The polygon's area is the drawn area.
    long long count = 0;
    for (auto v : drawn) count += v;
    EXPECT_NEAR(polygon_area(poly), static_cast<double>(count), 0.03 * count);
  }
}

TEST(SynthFaces, ColourRenderMatchesOutlinePolygon) {
  // Drawn in colour on a flat magenta background: the changed pixels are the face, its outline
  // stroke and the whiskers that reach past the head, so the IoU is high but not 1.
  const int w = 320, h = 240;
  FaceCanvas canvas(w, h);
  for (const FaceStyle& f : test_faces(w, h)) {
    const Polygon poly = canvas.draw_alone(f, RenderMode::Color, 1, 0, 1);
    const std::vector<std::uint8_t> drawn = canvas.mask([](std::uint32_t p) { return p != 0xFF00FF; });
    EXPECT_GT(mask_iou(drawn, rasterize_polygon(poly, w, h)), 0.85) << face_class_name(f.who, f.emotion);
  }
}

TEST(SynthScene, LabelsAreBalancedAndVaried) {
  OutlineContext scratch;
  std::array<int, 8> per_class{};
  std::array<int, 4> per_count{};
  int faces = 0, truncated = 0, occluded = 0;
  for (std::uint64_t i = 0; i < 300; ++i) {
    const FrameSpec spec = sample_frame(3, i, 640, 360, scratch.get());
    ASSERT_LE(spec.faces.size(), 3u);
    ++per_count[spec.faces.size()];
    for (const FaceInstance& f : spec.faces) {
      ++per_class[(class_id(f.style.who) - 1) * 4 + static_cast<int>(f.style.emotion)];
      ++faces;
      truncated += f.visible_fraction < 0.999;
      occluded += !f.occluders.empty();
      EXPECT_GE(f.visible_fraction, 0.55);
      const double rel = f.style.height / 360.0;
      EXPECT_GE(rel, 0.04 - 1e-9);
      EXPECT_LE(rel, 0.6 + 1e-9);
    }
  }
  ASSERT_GT(faces, 300);
  const double mean = faces / 8.0;
  for (int c = 0; c < 8; ++c) {
    EXPECT_GT(per_class[c], 0.6 * mean) << "class " << c;
    EXPECT_LT(per_class[c], 1.4 * mean) << "class " << c;
  }
  for (int n = 0; n < 4; ++n) EXPECT_GT(per_count[n], 10) << n << " characters";
  EXPECT_GT(truncated, 10);
  EXPECT_GT(occluded, 10);
}

class SynthDataset : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(temp_dir("dataset"));
    SynthOptions o;
    o.seed = 11;
    o.frames = 6;
    o.width = 320;
    o.height = 180;
    o.faces = true;
    o.quiet = true;
    o.out = *root_ / "a";
    generate_dataset(o);
    o.out = *root_ / "b";
    generate_dataset(o);
    o.out = *root_ / "short";
    o.frames = 3;
    generate_dataset(o);
    o.out = *root_ / "other_seed";
    o.seed = 12;
    generate_dataset(o);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
  }
  static fs::path* root_;
};
fs::path* SynthDataset::root_ = nullptr;

TEST_F(SynthDataset, SameSeedSameBytes) {
  const fs::path a = *root_ / "a", b = *root_ / "b";
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(a)) {
    if (!entry.is_regular_file()) continue;
    const fs::path rel = fs::relative(entry.path(), a);
    ASSERT_TRUE(fs::exists(b / rel)) << rel;
    EXPECT_EQ(read_bytes(entry.path()), read_bytes(b / rel)) << rel;
    ++files;
    EXPECT_EQ(entry.path().filename().string().rfind(".", 0), std::string::npos) << "temporary file left: " << rel;
  }
  EXPECT_GT(files, 6 + 3);
  // Frame k is the same whatever the number of frames.
  for (const char* name : {"frame_000000.jpg", "frame_000002.jpg"})
    EXPECT_EQ(read_bytes(a / "frames" / name), read_bytes(*root_ / "short" / "frames" / name));
  EXPECT_NE(read_bytes(a / "frames" / "frame_000000.jpg"),
            read_bytes(*root_ / "other_seed" / "frames" / "frame_000000.jpg"));
}

TEST_F(SynthDataset, ViaAndCocoParseBackAndAgree) {
  const fs::path a = *root_ / "a";
  const auto via = nlohmann::json::parse(read_bytes(a / "via_region_data.json"));
  const auto coco = nlohmann::json::parse(read_bytes(a / "coco_instances.json"));
  ASSERT_EQ(via.size(), 6u);
  std::size_t regions = 0;
  for (const auto& [key, entry] : via.items()) {
    const std::string file = entry.at("filename");
    EXPECT_EQ(key, file + std::to_string(entry.at("size").get<std::uint64_t>()));
    EXPECT_EQ(entry.at("size").get<std::uint64_t>(), fs::file_size(a / "frames" / file));
    for (const auto& r : entry.at("regions")) {
      const auto& s = r.at("shape_attributes");
      EXPECT_EQ(s.at("name"), "polygon");
      const auto& xs = s.at("all_points_x");
      const auto& ys = s.at("all_points_y");
      ASSERT_EQ(xs.size(), ys.size());
      ASSERT_GE(xs.size(), 3u);
      for (std::size_t i = 0; i < xs.size(); ++i) {
        EXPECT_GE(xs[i].get<double>(), 0.0);
        EXPECT_LE(xs[i].get<double>(), 320.0);
        EXPECT_GE(ys[i].get<double>(), 0.0);
        EXPECT_LE(ys[i].get<double>(), 180.0);
      }
      const std::string ch = r.at("region_attributes").at("character");
      const std::string em = r.at("region_attributes").at("emotion");
      EXPECT_TRUE(ch == "tom" || ch == "jerry");
      EXPECT_TRUE(em == "happy" || em == "sad" || em == "angry" || em == "surprise");
      ++regions;
    }
  }
  EXPECT_EQ(coco.at("images").size(), 6u);
  EXPECT_EQ(coco.at("annotations").size(), regions);
  EXPECT_EQ(coco.at("categories").size(), 2u);
  for (const auto& ann : coco.at("annotations")) {
    const auto& bbox = ann.at("bbox");
    const auto& seg = ann.at("segmentation").at(0);
    double x0 = 1e9, x1 = -1e9;
    for (std::size_t i = 0; i < seg.size(); i += 2) {
      x0 = std::min(x0, seg[i].get<double>());
      x1 = std::max(x1, seg[i].get<double>());
    }
    EXPECT_NEAR(bbox[0].get<double>(), x0, 0.11);
    EXPECT_NEAR(bbox[2].get<double>(), x1 - x0, 0.21);
    EXPECT_GT(ann.at("area").get<double>(), 0.0);
  }
  // labels.csv: a header and one row per region.
  std::istringstream csv(read_bytes(a / "labels.csv"));
  std::string line;
  std::size_t rows = 0;
  std::getline(csv, line);
  EXPECT_EQ(line.rfind("file,face,character,class_id,emotion", 0), 0u);
  while (std::getline(csv, line)) rows += !line.empty();
  EXPECT_EQ(rows, regions);
  // One masked 256x256 crop per region, with a black corner.
  std::size_t crops = 0;
  for (const auto& entry : fs::recursive_directory_iterator(a / "faces")) {
    if (!entry.is_regular_file()) continue;
    int w = 0, h = 0, n = 0;
    unsigned char* px = stbi_load(entry.path().c_str(), &w, &h, &n, 3);
    ASSERT_NE(px, nullptr) << entry.path();
    EXPECT_EQ(w, 256);
    EXPECT_EQ(h, 256);
    ++crops;
    stbi_image_free(px);
  }
  EXPECT_EQ(crops, regions);
}

// The library's readers (anima/data/detection_annotations.hpp) on what the generator wrote: VIA and
// COCO give the same images, classes, labels and boxes (COCO's bbox is rounded to 0.1 px apart from
// the polygon's extent).
TEST_F(SynthDataset, LibraryReadersAgreeOnViaAndCoco) {
  const fs::path a = *root_ / "a";
  const auto via = anima::data::read_via(a / "via_region_data.json", a / "frames", "character", {"tom", "jerry"});
  const auto coco = anima::data::read_coco(a / "coco_instances.json", a / "frames");
  EXPECT_EQ(coco.classes, (std::vector<std::string>{"tom", "jerry"}));
  ASSERT_EQ(via.images.size(), coco.images.size());
  std::size_t instances = 0;
  for (std::size_t i = 0; i < via.images.size(); ++i) {
    EXPECT_EQ(via.images[i].file, coco.images[i].file);
    EXPECT_TRUE(fs::exists(coco.images[i].file));
    ASSERT_EQ(via.images[i].instances.size(), coco.images[i].instances.size()) << via.images[i].file;
    for (std::size_t j = 0; j < via.images[i].instances.size(); ++j) {
      const auto& v = via.images[i].instances[j];
      const auto& c = coco.images[i].instances[j];
      EXPECT_EQ(v.label, c.label);
      for (int k = 0; k < 4; ++k) EXPECT_NEAR(v.box[k], c.box[k], 0.21) << via.images[i].file << " box " << j;
      ++instances;
    }
  }
  EXPECT_GT(instances, 6u);
  EXPECT_TRUE(via.notes.empty() && coco.notes.empty());
}

TEST(SynthVideo, FramesExtractsEveryNthWithTimestampsAndRejectsTruncated) {
  const fs::path dir = temp_dir("video");
  const VideoSpec v = sample_video(4, 0, 160, 96, 24, 2.0);
  ASSERT_EQ(v.frames, 48);
  write_video(v, dir / "v.mp4", dir / "v.timeline.json");
  const auto timeline = nlohmann::json::parse(read_bytes(dir / "v.timeline.json"));
  ASSERT_EQ(timeline.at("timeline").size(), 48u);
  EXPECT_EQ(timeline.at("timeline")[0].at("faces").size(), v.tracks.size());

  anima::cli::FramesOptions o;
  o.video = (dir / "v.mp4").string();
  o.out = (dir / "frames").string();
  o.every = 15;
  o.quiet = true;
  const anima::cli::FramesReport r = anima::cli::extract_frames(o);
  EXPECT_EQ(r.written, 4);  // frames 0, 15, 30, 45
  EXPECT_EQ(r.seen, 48);
  EXPECT_EQ(r.skipped, 0);
  EXPECT_DOUBLE_EQ(r.fps, 24.0);
  for (const char* name : {"frame_000000_000000000ms.jpg", "frame_000015_000000625ms.jpg",
                           "frame_000030_000001250ms.jpg", "frame_000045_000001875ms.jpg"}) {
    int w = 0, h = 0, n = 0;
    unsigned char* px = stbi_load((dir / "frames" / name).c_str(), &w, &h, &n, 3);
    ASSERT_NE(px, nullptr) << name;
    EXPECT_EQ(w, 160);
    EXPECT_EQ(h, 96);
    stbi_image_free(px);
  }
  const std::string csv = read_bytes(dir / "frames" / "frames.csv");
  EXPECT_NE(csv.find("frame_000015_000000625ms.jpg,15,0.625000"), std::string::npos) << csv;

  // A truncated copy: an anima::Error that names the file.
  const std::string bytes = read_bytes(dir / "v.mp4");
  const fs::path cut = dir / "cut.mp4";
  { std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2)); }
  o.video = cut.string();
  o.out = (dir / "cut_frames").string();
  try {
    anima::cli::extract_frames(o);
    FAIL() << "a truncated video was read without an error";
  } catch (const anima::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.mp4"), std::string::npos) << e.what();
  }
  o.video = (dir / "missing.mp4").string();
  EXPECT_THROW(anima::cli::extract_frames(o), anima::Error);
  fs::remove_all(dir);
}

// --video-stills: every k-th frame decoded back from the MP4 joins the annotated frames, with the
// timeline's faces (same count and boxes), the same pixels `anima frames` extracts, and face crops.
TEST(SynthVideo, StillsFromTheVideosCarryTheTimelineFaces) {
  const fs::path dir = temp_dir("video_stills");
  SynthOptions o;
  o.seed = 5;
  o.frames = 2;
  o.width = 160;
  o.height = 96;
  o.videos = 1;
  o.seconds = 1;
  o.video_stills = 8;
  o.faces = true;
  o.quiet = true;
  o.out = dir;
  const SynthReport r = generate_dataset(o);
  EXPECT_EQ(r.frames, 2);
  EXPECT_EQ(r.video_stills, 3);  // frames 0, 8, 16 of 24
  const auto timeline = nlohmann::json::parse(read_bytes(dir / "videos" / "video_000.timeline.json")).at("timeline");
  const auto via = anima::data::read_via(dir / "via_region_data.json", dir / "frames", "character", {"tom", "jerry"});
  ASSERT_EQ(via.images.size(), 5u);
  std::size_t regions = 0;
  for (const auto& image : via.images) regions += image.instances.size();

  anima::cli::FramesOptions extract;
  extract.video = (dir / "videos" / "video_000.mp4").string();
  extract.out = (dir / "extracted").string();
  extract.every = 8;
  extract.quiet = true;
  anima::cli::extract_frames(extract);
  std::vector<fs::path> extracted;
  for (const auto& entry : fs::directory_iterator(dir / "extracted"))
    if (entry.path().extension() == ".jpg") extracted.push_back(entry.path());
  std::sort(extracted.begin(), extracted.end());
  ASSERT_EQ(extracted.size(), 3u);
  for (int s = 0; s < 3; ++s) {
    const int frame = 8 * s;
    const fs::path still = dir / "frames" / video_still_name("video_000", frame);
    const auto& image = via.images[2 + s];
    EXPECT_EQ(fs::path(image.file).filename(), still.filename());
    const auto& faces = timeline.at(frame).at("faces");
    ASSERT_EQ(image.instances.size(), faces.size()) << still;
    ASSERT_GT(faces.size(), 0u);
    for (std::size_t j = 0; j < faces.size(); ++j) {
      const auto& box = faces[j].at("box");  // x, y, w, h; the reader's box is x0, y0, x1, y1
      EXPECT_NEAR(image.instances[j].box[0], box[0].get<double>(), 0.21) << still << " face " << j;
      EXPECT_NEAR(image.instances[j].box[2], box[0].get<double>() + box[2].get<double>(), 0.31) << still;
      EXPECT_EQ(image.instances[j].label, faces[j].at("character") == "tom" ? 1 : 2) << still;
    }
    // The still is the decoded video frame: within JPEG noise of what `anima frames` extracts.
    int w = 0, h = 0, n = 0, w2 = 0, h2 = 0;
    unsigned char* a = stbi_load(still.c_str(), &w, &h, &n, 3);
    unsigned char* b = stbi_load(extracted[s].c_str(), &w2, &h2, &n, 3);
    ASSERT_TRUE(a && b) << still;
    ASSERT_EQ(w, 160);
    ASSERT_EQ(h, 96);
    ASSERT_EQ(w2, w);
    ASSERT_EQ(h2, h);
    double diff = 0;
    for (int i = 0; i < w * h * 3; ++i) diff += std::abs(int{a[i]} - int{b[i]});
    EXPECT_LT(diff / (w * h * 3), 4.0) << still;  // both JPEG (q95 and the extractor's) of one frame
    stbi_image_free(a);
    stbi_image_free(b);
  }
  std::size_t crops = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir / "faces")) crops += entry.is_regular_file();
  EXPECT_EQ(crops, regions);
  fs::remove_all(dir);
}
