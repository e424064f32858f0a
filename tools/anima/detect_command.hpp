// tools/anima/detect_command.hpp — `anima detect`: instance segmentation with Mask R-CNN.
//
//   anima detect --weights FILE [--min-size 800 --max-size 1333 | --square 1280] [--score 0.5]
//                [--mask-threshold 0.5] [--labels FILE] [--device cpu|cuda[:N]] [--batch N] [--json]
//                [--coco-results OUT.json] [--overlay DIR] IMAGE...
//
// FILE: a Mask R-CNN checkpoint with torchvision's names (any torchvision version: .pth or safetensors,
// anima/nets/maskrcnn/checkpoint.hpp), loaded strictly; the architecture (R50-FPN or MobileNetV2-FPN,
// the widths) and the class count (background included) are read from its tensors, so COCO's 91
// classes, fine-tuned heads and the light detectors `anima train detector --backbone mobilenet_v2`
// writes all load.
// Resizing: torchvision's (shorter side --min-size unless the longer would pass --max-size) or, with
// --square S, the longer side to S in an S x S canvas (anima/nets/maskrcnn/transform.hpp). With none
// of them, weights that `anima train detector --square S` wrote run at S (their metadata "square"),
// any others at 800 / 1333.
// Class names, indexed by label id (0 = background), the first that applies:
//   --labels FILE        one name per line: either one per class with the background first (as many
//                        lines as the head has classes), or without the background (one line fewer:
//                        line k names label id k + 1);
//   safetensors metadata "labels": a JSON list of strings, the same two lengths accepted;
//   91 classes           torchvision's COCO_V1 category names ("__background__", "person", ..., with
//                        "N/A" for COCO's unused ids);
//   otherwise            "class_<id>".
// Only detections with score >= --score are reported (the model itself keeps scores > 0.05, at most
// 100 per image, torchvision's defaults). Masks are binarised as prob > --mask-threshold (strictly
// greater, as torchvision's COCO evaluation does with 0.5).
// Output (stdout): one line per detection, tab-separated: file, label, score, x1, y1, x2, y2 (the box
// in the original image's pixels). --json prints instead
//   [{"file", "width", "height", "detections": [{"label", "label_id", "score", "box": [x1, y1, x2, y2],
//     "mask": {"size": [h, w], "counts": "..."}}]}]
// with the binarised mask as COCO compressed RLE (anima/io/coco_rle.hpp). --coco-results OUT.json
// writes COCO's results list, [{"image_id", "category_id", "bbox": [x, y, w, h], "score",
// "segmentation": {"size", "counts"}}], image_id = the image's position among the IMAGE arguments,
// counting from 1, category_id = the label id. --overlay DIR writes each image as DIR/<stem>.png
// (DIR/<stem>_<position>.png when two images share a stem) with the masks tinted, the boxes drawn and
// "<label> <score>" written above each box (stb_easy_font, no cairo: the command stays in the light
// executable).
// --device cuda moves the model and the images to the GPU (the CUDA plugin); detections come back to
// the host. --batch N images go through each forward (default 1; images of different sizes are padded
// to a common size, as torchvision batches them, which can change the detections by float32 rounding).
// Failures: every image is checked (exists, has an image header stb_image knows) and the weights are
// loaded before anything is written; stdout and --coco-results are written only once every image is
// done (the results file atomically); each overlay is written atomically once its image is done. Errors
// (missing or undecodable images, weights that are no Mask R-CNN checkpoint or whose heads disagree, bad
// labels files) are anima::Errors naming the file: one message, exit status 2 (main.cpp's convention).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <stb/stb_image_write.h>

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif
#include <stb/stb_easy_font.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/error.hpp>
#include <anima/io/atomic_file.hpp>
#include <anima/io/coco_rle.hpp>
#include <anima/io/safetensors.hpp>
#include <anima/io/weights_file.hpp>
#include <anima/nets/maskrcnn/mask_rcnn.hpp>
#include <anima/nn/inference.hpp>
#include <anima/nn/init.hpp>
#include <anima/ops/copy_ops.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/view.hpp>

#include "device_option.hpp"
#include "image_file.hpp"
#include "labels_file.hpp"

namespace anima::cli {

struct DetectOptions {
  std::string weights;
  std::vector<std::string> images;
  std::int64_t min_size = 0, max_size = 0;  // 0: not given (resolve_detector_size)
  std::int64_t square = 0;                  // > 0: square mode with this side
  double score = 0.5;
  double mask_threshold = 0.5;
  std::string labels;
  std::string device = "cpu";
  int batch = 1;
  bool json = false;
  std::string coco_results;
  std::string overlay;
};

struct Detection {
  std::int64_t label_id = 0;
  std::string label;
  double score = 0;
  std::array<double, 4> box{};  // x1, y1, x2, y2
  io::CocoRle mask;
};

struct DetectResult {
  std::string file;
  std::int64_t width = 0, height = 0;
  std::vector<Detection> detections;  // by decreasing score
};

// torchvision's COCO_V1 categories (torchvision/models/_meta.py _COCO_CATEGORIES): label id -> name.
inline const std::vector<std::string>& coco_category_names() {
  static const std::vector<std::string> names = {"__background__",
                                                 "person",
                                                 "bicycle",
                                                 "car",
                                                 "motorcycle",
                                                 "airplane",
                                                 "bus",
                                                 "train",
                                                 "truck",
                                                 "boat",
                                                 "traffic light",
                                                 "fire hydrant",
                                                 "N/A",
                                                 "stop sign",
                                                 "parking meter",
                                                 "bench",
                                                 "bird",
                                                 "cat",
                                                 "dog",
                                                 "horse",
                                                 "sheep",
                                                 "cow",
                                                 "elephant",
                                                 "bear",
                                                 "zebra",
                                                 "giraffe",
                                                 "N/A",
                                                 "backpack",
                                                 "umbrella",
                                                 "N/A",
                                                 "N/A",
                                                 "handbag",
                                                 "tie",
                                                 "suitcase",
                                                 "frisbee",
                                                 "skis",
                                                 "snowboard",
                                                 "sports ball",
                                                 "kite",
                                                 "baseball bat",
                                                 "baseball glove",
                                                 "skateboard",
                                                 "surfboard",
                                                 "tennis racket",
                                                 "bottle",
                                                 "N/A",
                                                 "wine glass",
                                                 "cup",
                                                 "fork",
                                                 "knife",
                                                 "spoon",
                                                 "bowl",
                                                 "banana",
                                                 "apple",
                                                 "sandwich",
                                                 "orange",
                                                 "broccoli",
                                                 "carrot",
                                                 "hot dog",
                                                 "pizza",
                                                 "donut",
                                                 "cake",
                                                 "chair",
                                                 "couch",
                                                 "potted plant",
                                                 "bed",
                                                 "N/A",
                                                 "dining table",
                                                 "N/A",
                                                 "N/A",
                                                 "toilet",
                                                 "N/A",
                                                 "tv",
                                                 "laptop",
                                                 "mouse",
                                                 "remote",
                                                 "keyboard",
                                                 "cell phone",
                                                 "microwave",
                                                 "oven",
                                                 "toaster",
                                                 "sink",
                                                 "refrigerator",
                                                 "N/A",
                                                 "book",
                                                 "clock",
                                                 "vase",
                                                 "scissors",
                                                 "teddy bear",
                                                 "hair drier",
                                                 "toothbrush"};
  return names;
}

// `names` (from `source`) as one name per label id: as many as the classes (background first) or one
// fewer (no background: "__background__" is put in front).
inline std::vector<std::string> names_per_label_id(std::vector<std::string> names, std::int64_t classes,
                                                   const std::string& source) {
  const auto n = static_cast<std::int64_t>(names.size());
  if (n == classes - 1) names.insert(names.begin(), "__background__");
  ANIMA_CHECK(static_cast<std::int64_t>(names.size()) == classes, "detect", "'", source, "' has ", n,
              " labels but the checkpoint has ", classes, " classes (background included): give ", classes,
              " names with the background first, or ", classes - 1, " without it");
  return names;
}

// The class names by label id (see the file comment for the order of sources).
inline std::vector<std::string> detect_class_names(std::int64_t classes, const std::string& labels_file,
                                                   const std::map<std::string, std::string>& metadata,
                                                   const std::string& weights) {
  if (!labels_file.empty()) return names_per_label_id(read_labels_file(labels_file, "detect"), classes, labels_file);
  if (auto it = metadata.find("labels"); it != metadata.end()) {
    std::vector<std::string> names;
    try {
      names = nlohmann::json::parse(it->second).get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
      fail("detect", "'", weights, "': the metadata \"labels\" is not a JSON list of strings: ", e.what());
    }
    return names_per_label_id(std::move(names), classes, weights + "' metadata \"labels");
  }
  if (classes == static_cast<std::int64_t>(coco_category_names().size())) return coco_category_names();
  std::vector<std::string> names;
  for (std::int64_t i = 0; i < classes; ++i) names.push_back(i == 0 ? "__background__" : "class_" + std::to_string(i));
  return names;
}

struct RgbImage {
  int width = 0, height = 0;
  std::vector<unsigned char> pixels;  // row-major RGB
};

inline RgbImage load_detect_image(const std::string& path) {
  data::ImageU8 rgb = load_rgb(path, "detect");
  RgbImage im;
  im.width = rgb.width;
  im.height = rgb.height;
  im.pixels = std::move(rgb.pixels);
  return im;
}

// [3, H, W] float32 in [0, 1] (the input Mask R-CNN's transform expects).
inline Tensor image_tensor(const RgbImage& im) {
  const std::size_t plane = static_cast<std::size_t>(im.width) * im.height;
  std::vector<float> v(3 * plane);
  for (std::size_t p = 0; p < plane; ++p)
    for (std::size_t c = 0; c < 3; ++c) v[c * plane + p] = static_cast<float>(im.pixels[p * 3 + c]) / 255.0f;
  return from_vector<float>(v, {3, im.height, im.width});
}

// Mask R-CNN's resizing: square mode with side `square` when > 0, else torchvision's (min_size, max_size).
inline nets::maskrcnn::TransformOptions resize_options(std::int64_t min_size, std::int64_t max_size,
                                                       std::int64_t square, const char* op) {
  nets::maskrcnn::TransformOptions t;
  if (square > 0) {
    t.mode = nets::maskrcnn::ResizeMode::Square;
    t.square_side = square;
  } else {
    ANIMA_CHECK(min_size > 0 && max_size > 0, op, "--min-size and --max-size must be positive");
    t.min_size = min_size;
    t.max_size = max_size;
  }
  return t;
}

// The safetensors metadata of `path` ({} for other formats).
inline std::map<std::string, std::string> weights_metadata(const std::string& path) {
  if (io::detect_weights_format(path) != io::WeightsFormat::Safetensors) return {};
  return io::load_safetensors(path).metadata;
}

// The square side the detector at `path` was trained at (its metadata "square", which `anima train
// detector --square S` writes), else `otherwise`.
inline int trained_square_side(const std::string& path, int otherwise, const char* op) {
  const std::map<std::string, std::string> metadata = weights_metadata(path);
  const auto it = metadata.find("square");
  if (it == metadata.end()) return otherwise;
  char* end = nullptr;
  const long side = std::strtol(it->second.c_str(), &end, 10);
  ANIMA_CHECK(end != it->second.c_str() && *end == '\0' && side >= 32 && side <= 16384, op, "'", path,
              "' has metadata square '", it->second, "', expected a side of 32 to 16384 pixels");
  return static_cast<int>(side);
}

// The resizing `detect` and `eval detector` run with, resolved in place: --square, or --min-size and
// --max-size, as given; with none of them, a detector trained in square mode (its metadata "square")
// runs at its training side and any other at torchvision's 800 / 1333.
inline void resolve_detector_size(DetectOptions& o, const char* op) {
  if (o.square > 0 || o.min_size > 0 || o.max_size > 0) {
    if (o.square == 0) {
      if (o.min_size == 0) o.min_size = 800;
      if (o.max_size == 0) o.max_size = 1333;
    }
    return;
  }
  o.square = trained_square_side(o.weights, 0, op);
  if (o.square == 0) {
    o.min_size = 800;
    o.max_size = 1333;
  }
}

// The model for the checkpoint at `path`, with its safetensors metadata (empty for .pth). A checkpoint
// that `anima train detector` wrote says in its metadata "frozen_bn_eps" which eps its
// FrozenBatchNorm2d layers trained with (1e-5 from ImageNet weights; torchvision's COCO models use 0).
inline std::shared_ptr<nets::maskrcnn::MaskRCNN> load_maskrcnn(const std::string& path,
                                                               const nets::maskrcnn::MaskRcnnOptions& options,
                                                               std::map<std::string, std::string>& metadata) {
  io::StateDict sd;
  if (io::detect_weights_format(path) == io::WeightsFormat::Safetensors) {
    io::SafetensorsFile f = io::load_safetensors(path);
    metadata = f.metadata;
    for (auto& kv : f.tensors) sd.insert(kv.first, kv.second);
  } else {
    sd = io::load_weights(path);
  }
  nets::maskrcnn::MaskRcnnOptions with_eps = options;
  if (auto it = metadata.find("frozen_bn_eps"); it != metadata.end()) {
    char* end = nullptr;
    with_eps.frozen_bn_eps = std::strtod(it->second.c_str(), &end);
    ANIMA_CHECK(end != it->second.c_str() && *end == '\0' && with_eps.frozen_bn_eps >= 0, "detect", "'", path,
                "' has metadata frozen_bn_eps '", it->second, "', expected a number >= 0");
  }
  std::shared_ptr<nets::maskrcnn::MaskRCNN> model;
  try {
    nn::SkipInitGuard skip;  // every value is overwritten by the weights
    model = nets::maskrcnn::maskrcnn_from_state_dict(sd, with_eps, path);
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.find(path) != std::string::npos) throw;
    fail("detect", "the weights in '", path, "' do not fit Mask R-CNN (R50-FPN or MobileNetV2-FPN): ", what);
  }
  model->train(false);
  return model;
}

// ---- overlay drawing -----------------------------------------------------------------------------

inline std::array<unsigned char, 3> label_colour(std::int64_t id) {
  static const unsigned char palette[][3] = {{230, 25, 75},  {60, 180, 75},   {255, 225, 25}, {0, 130, 200},
                                             {245, 130, 48}, {145, 30, 180},  {70, 240, 240}, {240, 50, 230},
                                             {210, 245, 60}, {250, 190, 212}, {0, 128, 128},  {170, 110, 40}};
  const auto& c = palette[static_cast<std::size_t>(id) % (sizeof palette / sizeof palette[0])];
  return {c[0], c[1], c[2]};
}

inline void fill_rect(RgbImage& im, int x0, int y0, int x1, int y1, std::array<unsigned char, 3> c) {
  x0 = std::max(x0, 0), y0 = std::max(y0, 0), x1 = std::min(x1, im.width), y1 = std::min(y1, im.height);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) {
      unsigned char* p = &im.pixels[(static_cast<std::size_t>(y) * im.width + x) * 3];
      p[0] = c[0], p[1] = c[1], p[2] = c[2];
    }
}

// `text` at (x, y) (top-left), stb_easy_font's segments scaled by `scale`, on a filled background.
inline void draw_text(RgbImage& im, int x, int y, std::string text, int scale, std::array<unsigned char, 3> fg,
                      std::array<unsigned char, 3> bg) {
  if (text.size() > 80) text.resize(80);
  stb_easy_font_spacing(0);
  const int tw = stb_easy_font_width(&text[0]) * scale, th = stb_easy_font_height(&text[0]) * scale;
  fill_rect(im, x, y, x + tw + 2 * scale, y + th + scale, bg);
  struct Vertex {
    float x, y, z;
    unsigned char colour[4];
  };
  std::vector<Vertex> buffer(text.size() * 270 / sizeof(Vertex) + 64);
  unsigned char white[4] = {255, 255, 255, 255};
  const int quads =
      stb_easy_font_print(0, 0, &text[0], white, buffer.data(), static_cast<int>(buffer.size() * sizeof(Vertex)));
  for (int q = 0; q < quads; ++q) {
    const Vertex* v = &buffer[static_cast<std::size_t>(q) * 4];
    const float qx0 = std::min(v[0].x, v[2].x), qx1 = std::max(v[0].x, v[2].x);
    const float qy0 = std::min(v[0].y, v[2].y), qy1 = std::max(v[0].y, v[2].y);
    fill_rect(im, x + scale + static_cast<int>(qx0 * scale), y + scale + static_cast<int>(qy0 * scale),
              x + scale + static_cast<int>(qx1 * scale), y + scale + static_cast<int>(qy1 * scale), fg);
  }
}

// The image with its detections: masks tinted (half the label's colour), boxes outlined, labels above.
inline void draw_detections(RgbImage& im, const DetectResult& r) {
  const int thick = std::max(1, std::min(im.width, im.height) / 250);
  const int scale = std::max(1, std::min(im.width, im.height) / 300);
  for (auto it = r.detections.rbegin(); it != r.detections.rend(); ++it) {  // best drawn last, on top
    const auto c = label_colour(it->label_id);
    const std::vector<std::uint8_t> m = io::coco_rle_decode(it->mask);
    for (std::size_t p = 0; p < m.size(); ++p)
      if (m[p])
        for (int k = 0; k < 3; ++k)
          im.pixels[p * 3 + k] = static_cast<unsigned char>((im.pixels[p * 3 + k] + c[k] + 1) / 2);
  }
  for (auto it = r.detections.rbegin(); it != r.detections.rend(); ++it) {
    const auto c = label_colour(it->label_id);
    const int x1 = static_cast<int>(std::floor(it->box[0])), y1 = static_cast<int>(std::floor(it->box[1]));
    const int x2 = static_cast<int>(std::ceil(it->box[2])), y2 = static_cast<int>(std::ceil(it->box[3]));
    fill_rect(im, x1, y1, x2, y1 + thick, c);
    fill_rect(im, x1, y2 - thick, x2, y2, c);
    fill_rect(im, x1, y1, x1 + thick, y2, c);
    fill_rect(im, x2 - thick, y1, x2, y2, c);
    char score[16];
    std::snprintf(score, sizeof score, " %.2f", it->score);
    const int text_h = 12 * scale;
    draw_text(im, x1, y1 - text_h >= 0 ? y1 - text_h : y1, it->label + score, scale, {255, 255, 255}, c);
  }
}

// Where the overlay of image `index` goes: DIR/<stem>.png, or DIR/<stem>_<index + 1>.png when another
// image has the same stem.
inline std::vector<std::filesystem::path> overlay_paths(const std::string& dir,
                                                        const std::vector<std::string>& images) {
  namespace fs = std::filesystem;
  std::map<std::string, int> stems;
  for (const auto& f : images) ++stems[fs::path(f).stem().string()];
  std::vector<fs::path> out;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::string stem = fs::path(images[i]).stem().string();
    out.push_back(fs::path(dir) / (stems[stem] > 1 ? stem + "_" + std::to_string(i + 1) + ".png" : stem + ".png"));
    std::error_code ec;
    ANIMA_CHECK(!fs::equivalent(out.back(), images[i], ec), "detect", "the overlay of '", images[i],
                "' would overwrite it: choose another --overlay folder");
  }
  return out;
}

inline void write_overlay(const std::filesystem::path& path, const RgbImage& im) {
  io::AtomicFile file(path, "detect");
  ANIMA_CHECK(stbi_write_png(file.temp_path().c_str(), im.width, im.height, 3, im.pixels.data(), im.width * 3) != 0,
              "detect", "cannot write the overlay '", path.string(), "' (is the folder writable?)");
  file.commit();
}

// ---- the command ---------------------------------------------------------------------------------

// The detections of image `d` (on the host) with score >= options.score.
inline DetectResult collect_detections(const std::string& file, const RgbImage& im,
                                       const nets::maskrcnn::ImageDetections& d, const DetectOptions& o,
                                       const std::vector<std::string>& names) {
  DetectResult r;
  r.file = file;
  r.width = im.width;
  r.height = im.height;
  const std::vector<float> boxes = to_vector<float>(d.boxes), scores = to_vector<float>(d.scores);
  const std::vector<std::int64_t> labels = to_vector<std::int64_t>(d.labels);
  const std::size_t plane = static_cast<std::size_t>(im.width) * im.height;
  std::vector<float> masks;
  std::size_t kept = 0;
  while (kept < scores.size() && static_cast<double>(scores[kept]) >= o.score) ++kept;
  // Scores decrease, so the kept detections are the first `kept`; only their masks come to the host.
  ANIMA_CHECK(std::is_sorted(scores.begin(), scores.end(), [](float a, float b) { return a > b; }), "detect",
              "the detections of '", file, "' are not sorted by score");
  if (kept > 0) masks = to_vector<float>(narrow(d.masks, 0, 0, static_cast<std::int64_t>(kept)));
  std::vector<std::uint8_t> binary(plane);
  for (std::size_t k = 0; k < kept; ++k) {
    ANIMA_CHECK(std::isfinite(scores[k]), "detect", "the net gave a non-finite score for '", file,
                "' (NaN or infinity in the weights '", o.weights, "'?)");
    Detection det;
    det.label_id = labels[k];
    det.label = det.label_id >= 0 && det.label_id < static_cast<std::int64_t>(names.size())
                    ? names[static_cast<std::size_t>(det.label_id)]
                    : "class_" + std::to_string(det.label_id);
    det.score = scores[k];
    for (int c = 0; c < 4; ++c) det.box[static_cast<std::size_t>(c)] = boxes[k * 4 + static_cast<std::size_t>(c)];
    const float* m = masks.data() + k * plane;
    for (std::size_t p = 0; p < plane; ++p) binary[p] = static_cast<double>(m[p]) > o.mask_threshold ? 1 : 0;
    det.mask = io::coco_rle_encode(binary, im.height, im.width);
    r.detections.push_back(std::move(det));
  }
  return r;
}

// The detections of `images` by `model` (in eval mode, on `device`), o.batch images per forward, with
// score >= o.score and masks binarised at o.mask_threshold; `on_image` (optional) sees each image, by
// its position, with its result as soon as it is done.
inline std::vector<DetectResult> run_detector(
    nets::maskrcnn::MaskRCNN& model, const std::vector<std::string>& names, const std::vector<std::string>& images,
    const DetectOptions& o, Device device,
    const std::function<void(std::size_t, RgbImage&, const DetectResult&)>& on_image = {}) {
  NoGradGuard no_grad;
  std::vector<DetectResult> results;
  for (std::size_t first = 0; first < images.size(); first += static_cast<std::size_t>(o.batch)) {
    const std::size_t last = std::min(images.size(), first + static_cast<std::size_t>(o.batch));
    std::vector<RgbImage> ims;
    std::vector<Tensor> xs;
    for (std::size_t i = first; i < last; ++i) {
      ims.push_back(load_detect_image(images[i]));
      xs.push_back(device.is_cuda() ? to(image_tensor(ims.back()), device) : image_tensor(ims.back()));
    }
    std::vector<nets::maskrcnn::ImageDetections> dets = model.detect(xs);
    ANIMA_CHECK(dets.size() == xs.size(), "detect", "the model returned ", dets.size(), " results for ", xs.size(),
                " images");
    for (std::size_t k = 0; k < dets.size(); ++k) {
      nets::maskrcnn::ImageDetections& d = dets[k];
      if (device.is_cuda()) {
        d.boxes = to(d.boxes, Device::cpu());
        d.scores = to(d.scores, Device::cpu());
        d.labels = to(d.labels, Device::cpu());
      }
      // Masks stay where they are until collect_detections narrows them to the kept rows.
      results.push_back(collect_detections(images[first + k], ims[k], d, o, names));
      if (on_image) on_image(first + k, ims[k], results.back());
    }
  }
  return results;
}

inline std::vector<DetectResult> detect_images(DetectOptions o) {
  namespace fs = std::filesystem;
  resolve_detector_size(o, "detect");
  ANIMA_CHECK(!o.images.empty(), "detect", "no images given");
  ANIMA_CHECK(o.batch > 0, "detect", "--batch must be positive, got ", o.batch);
  ANIMA_CHECK(o.score >= 0 && o.score <= 1, "detect", "--score must be in [0, 1], got ", o.score);
  ANIMA_CHECK(o.mask_threshold >= 0 && o.mask_threshold <= 1, "detect", "--mask-threshold must be in [0, 1], got ",
              o.mask_threshold);
  const Device device = parse_device_option(o.device, "detect");
  nets::maskrcnn::MaskRcnnOptions options;
  options.transform = resize_options(o.min_size, o.max_size, o.square, "detect");

  // Everything that can be checked before running is checked before anything is written.
  for (const auto& f : o.images) check_image_file(f, "detect");
  std::vector<fs::path> overlays;
  if (!o.overlay.empty()) overlays = overlay_paths(o.overlay, o.images);
  require_device(device, "detect");
  std::map<std::string, std::string> metadata;
  NoGradGuard no_grad;
  auto model = load_maskrcnn(o.weights, options, metadata);
  const std::vector<std::string> names = detect_class_names(model->num_classes(), o.labels, metadata, o.weights);
  if (device.is_cuda()) model->to(device);
  nn::prepare_inference(*model);  // eval-only from here: batch norms folded, weights packed once
  if (!o.overlay.empty()) {
    std::error_code ec;
    fs::create_directories(o.overlay, ec);
    ANIMA_CHECK(fs::is_directory(o.overlay), "detect", "cannot create the overlay folder '", o.overlay, "'");
  }

  return run_detector(*model, names, o.images, o, device, [&](std::size_t i, RgbImage& im, const DetectResult& r) {
    if (o.overlay.empty()) return;
    draw_detections(im, r);
    write_overlay(overlays[i], im);
  });
}

inline nlohmann::json rle_json(const io::CocoRle& r) { return {{"size", {r.height, r.width}}, {"counts", r.counts}}; }

inline std::string detect_json(const std::vector<DetectResult>& results) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : results) {
    nlohmann::json j;
    j["file"] = r.file;
    j["width"] = r.width;
    j["height"] = r.height;
    j["detections"] = nlohmann::json::array();
    for (const auto& d : r.detections)
      j["detections"].push_back({{"label", d.label},
                                 {"label_id", d.label_id},
                                 {"score", d.score},
                                 {"box", {d.box[0], d.box[1], d.box[2], d.box[3]}},
                                 {"mask", rle_json(d.mask)}});
    out.push_back(j);
  }
  return out.dump(2);
}

// COCO's results format; image_id = position in the argument list + 1.
inline std::string coco_results_json(const std::vector<DetectResult>& results) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < results.size(); ++i)
    for (const auto& d : results[i].detections)
      out.push_back({{"image_id", static_cast<std::int64_t>(i) + 1},
                     {"category_id", d.label_id},
                     {"bbox", {d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]}},
                     {"score", d.score},
                     {"segmentation", rle_json(d.mask)}});
  return out.dump();
}

inline void print_detect_text(const std::vector<DetectResult>& results) {
  for (const auto& r : results)
    for (const auto& d : r.detections)
      std::printf("%s\t%s\t%.4f\t%.1f\t%.1f\t%.1f\t%.1f\n", r.file.c_str(), d.label.c_str(), d.score, d.box[0],
                  d.box[1], d.box[2], d.box[3]);
}

// Runs the command: detections, then --coco-results, then stdout.
inline int run_detect(const DetectOptions& o) {
  const std::vector<DetectResult> results = detect_images(o);
  if (!o.coco_results.empty()) {
    const std::string text = coco_results_json(results);
    io::write_file_atomic(o.coco_results, text.data(), text.size(), "detect");
  }
  if (o.json)
    std::printf("%s\n", detect_json(results).c_str());
  else
    print_detect_text(results);
  return 0;
}

// Registers `anima detect`; its exit status goes to `status`.
inline CLI::App* add_detect_command(CLI::App& app, int& status) {
  auto opts = std::make_shared<DetectOptions>();
  CLI::App* cmd = app.add_subcommand("detect", "find and segment objects with Mask R-CNN (boxes, labels, masks)");
  cmd->add_option("--weights", opts->weights,
                  "Mask R-CNN weights (R50-FPN or MobileNetV2-FPN): torchvision .pth or safetensors")
      ->required();
  auto* min_size = cmd->add_option("--min-size", opts->min_size,
                                   "shorter side after resizing (default 800, or the weights' square side)")
                       ->check(CLI::PositiveNumber);
  auto* max_size = cmd->add_option("--max-size", opts->max_size, "longest side allowed after resizing (default 1333)")
                       ->check(CLI::PositiveNumber);
  auto* square = cmd->add_option("--square", opts->square,
                                 "resize the longer side to S in an S x S canvas instead (default: the side the "
                                 "weights were trained at, when they were trained in square mode)")
                     ->check(CLI::PositiveNumber);
  square->excludes(min_size)->excludes(max_size);
  cmd->add_option("--score", opts->score, "report detections with score >= this (default 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--mask-threshold", opts->mask_threshold, "mask pixels: probability > this (default 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--labels", opts->labels, "class names, one per line (background first, or without it)");
  cmd->add_option("--device", opts->device, "cpu (default), cuda or cuda:N");
  cmd->add_option("--batch", opts->batch, "images per forward (default 1)")->check(CLI::PositiveNumber);
  cmd->add_flag("--json", opts->json, "print JSON with COCO RLE masks");
  cmd->add_option("--coco-results", opts->coco_results, "write COCO's results list (JSON) to this file");
  cmd->add_option("--overlay", opts->overlay, "write each image with its detections drawn as DIR/<stem>.png");
  cmd->add_option("images", opts->images, "image files")->required();
  cmd->callback([opts, &status] { status = run_detect(*opts); });
  return cmd;
}

}  // namespace anima::cli
