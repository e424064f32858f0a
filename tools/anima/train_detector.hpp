// tools/anima/train_detector.hpp — `anima train detector`: trains Mask R-CNN (R50-FPN, or a light
// MobileNetV2-FPN) on annotated frames (VIA or COCO), resumably, and exports the best epoch's weights
// for `anima detect`.
//
//   anima train detector (--data FILE | --via FILE | --coco FILE) [--label-attribute character] --images DIR
//       --out RUN_DIR [--weights COCO_OR_IMAGENET.pth] [--val FILE --val-images DIR | --val-fraction 0.1]
//       [--min-size 800 --max-size 1333 | --square S] [--hflip 0.5] [--trainable-layers 3]
//       [--rois-per-image 512] [--anchors-per-image 256]
//       [--backbone resnet50|mobilenet_v2] [--fpn-channels 256] [--box-head 1024] [--mask-head 256]
//       [the shared options, train_options.hpp]
//   anima train detector --resume RUN_DIR
// Defaults of the shared options here: --epochs 12 --batch 2 --lr 0.005 --weight-decay 1e-4
// --schedule multistep --milestones 8,11 --warmup-steps 1000 (torchvision's detection recipe scaled to
// one machine: SGD with momentum 0.9, a linear warmup from lr/1000 in the first epoch, the rate ÷ 10 at
// two thirds and eleven twelfths of the run).
//
// The classes are the annotations' (anima/data/detection_annotations.hpp; labels 1..K, 0 the
// background), so the model has K + 1 classes. --weights:
//   a Mask R-CNN checkpoint (torchvision's COCO model, or weights this command wrote): loaded whole;
//     its two predictors are replaced (torchvision's initialisation) when its class count is not K + 1;
//   an ImageNet ResNet-50 (torchvision's resnet50 .pth): the backbone's body, with FrozenBatchNorm2d at
//     eps 1e-5 as torchvision builds it; the FPN, the RPN and the heads start from their initialisation;
//   none: everything from torchvision's initialisation, except that each bottleneck's last
//     FrozenBatchNorm2d scale starts at 0.2 (a ResNet whose frozen norms are all identities would
//     multiply its activations at every block; 0.2 keeps the blocks near the identity yet learning).
// --trainable-layers k: the last k of layer4, layer3, layer2, layer1, conv1 train (torchvision's rule;
// the FPN, the RPN and the heads always train); default 3.
// --backbone mobilenet_v2 builds a light Mask R-CNN instead (nets/maskrcnn/mobilenet_v2_body.hpp): a
// MobileNetV2 body with BatchNorm2d, from its initialisation (or from --weights of a detector of the
// same architecture); --trainable-layers counts its 6 stages (default: all 6 without --weights, 3 with).
// --fpn-channels F, --box-head R and --mask-head M set the widths: FPN maps and RPN conv F, box head
// fc6/fc7 R, the mask head's four convs and its transposed conv M (torchvision's: 256, 1024, 256).
// A checkpoint records all of this in its tensors' shapes: `anima detect` and `anima analyze` rebuild
// the model from it.
// Validation: --val FILE (its images in --val-images, default --images), else the last --val-fraction
// of the annotated images in file order (consecutive frames of a video are near copies of each other:
// a tail keeps them on one side). Each epoch the model detects on the validation images (score > 0.05,
// 100 per image, masks at 0.5, as `anima eval detector`) and COCO's box and mask AP are computed
// (anima/metrics/coco_eval.hpp); the best epoch is the highest mask AP.
// Each training image: decoded, flipped horizontally with probability --hflip (its boxes and masks
// with it; Philox draw from the sample's seed), as [3, H, W] in [0, 1]; its non-crowd objects are the
// targets (boxes, labels, masks rasterised as pycocotools does); crowd regions are left out (the
// model has no notion of them). Mask R-CNN's own transform then normalises and resizes. The loss is
// the sum of the five terms (anima/nets/maskrcnn/mask_rcnn.hpp), their epoch means in metrics.jsonl.
// RUN_DIR: as `anima train classifier`'s (training_loop.hpp): config.json, checkpoint_last and
// checkpoint_best, metrics.jsonl (epochs: train_loss and its five terms, val_box_ap, val_box_ap50,
// val_mask_ap, val_mask_ap50), report.html with loss.png, ap.png and lr.png, and weights.safetensors
// (the best model, with metadata "labels" (the class names), "frozen_bn_eps" and, with --square,
// "square", the side `anima analyze` then letterboxes to), what `anima detect` and `anima eval detector`
// read.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <anima/autograd/engine.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/generator.hpp>
#include <anima/data/data_loader.hpp>
#include <anima/data/detection_annotations.hpp>
#include <anima/data/image_transforms.hpp>
#include <anima/io/weights_file.hpp>
#include <anima/nets/maskrcnn/mask_rcnn.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>

#include "classify_command.hpp"
#include "detect_command.hpp"
#include "eval_detector.hpp"
#include "train_options.hpp"

namespace anima::cli {

struct TrainDetectorOptions {
  TrainRunOptions run;
  std::string data, via, coco, label_attribute = "character", images, val, val_images;
  double val_fraction = 0.1;
  std::int64_t min_size = 800, max_size = 1333, square = 0;
  double hflip = 0.5;
  int trainable_layers = -1;  // -1: the backbone's default (see the file comment)
  std::int64_t rois_per_image = 512, anchors_per_image = 256;
  std::string backbone = "resnet50";
  std::int64_t fpn_channels = 256, box_head = 1024, mask_head = 256;

  TrainDetectorOptions() {
    run.epochs = 12;
    run.batch = 2;
    run.lr = 0.005;
    run.schedule = "multistep";
    run.milestones = {8, 11};
    run.warmup_steps = 1000;
  }
};

// Calls visit(name, field) for each detector setting (not the shared ones): one list for both
// directions of config.json.
template <typename Options, typename Visit>
void visit_detector_settings(Options& o, Visit&& visit) {
  visit("data", o.data), visit("via", o.via), visit("coco", o.coco), visit("label_attribute", o.label_attribute);
  visit("images", o.images), visit("val", o.val), visit("val_images", o.val_images);
  visit("val_fraction", o.val_fraction), visit("min_size", o.min_size), visit("max_size", o.max_size);
  visit("square", o.square), visit("hflip", o.hflip), visit("trainable_layers", o.trainable_layers);
  visit("rois_per_image", o.rois_per_image), visit("anchors_per_image", o.anchors_per_image);
}

// The architecture settings, which a configuration written before they existed lacks (their defaults,
// torchvision's R50-FPN, are what such a run trained).
template <typename Options, typename Visit>
void visit_detector_architecture(Options& o, Visit&& visit) {
  visit("backbone", o.backbone), visit("fpn_channels", o.fpn_channels), visit("box_head", o.box_head);
  visit("mask_head", o.mask_head);
}

// --trainable-layers as the run uses it: -1 resolved to the backbone's default.
inline int resolved_trainable_layers(const TrainDetectorOptions& o) {
  if (o.trainable_layers >= 0) return o.trainable_layers;
  return o.backbone == "mobilenet_v2" && o.run.weights.empty() ? nets::maskrcnn::MobileNetV2Body::kStages : 3;
}

inline nlohmann::json train_detector_options_json(const TrainDetectorOptions& o) {
  nlohmann::json j = run_options_json(o.run);
  visit_detector_settings(o, [&](const char* name, const auto& field) { j[name] = field; });
  visit_detector_architecture(o, [&](const char* name, const auto& field) { j[name] = field; });
  return j;
}

inline TrainDetectorOptions train_detector_options_from_json(const nlohmann::json& j, const std::string& where) {
  TrainDetectorOptions o;
  try {
    run_options_from_json(j, o.run);
    visit_detector_settings(o, [&](const char* name, auto& field) { j.at(name).get_to(field); });
    visit_detector_architecture(o, [&](const char* name, auto& field) {
      if (j.contains(name)) j.at(name).get_to(field);
    });
  } catch (const nlohmann::json::exception& e) {
    fail("train", "'", where, "' is not a detector training configuration: ", e.what());
  }
  return o;
}

inline void check_train_detector_options(const TrainDetectorOptions& o) {
  check_run_options(o.run);
  ANIMA_CHECK(o.data.empty() + o.via.empty() + o.coco.empty() == 2, "train",
              "give the annotations with --data FILE (VIA or COCO), --via FILE or --coco FILE (one)");
  ANIMA_CHECK(!o.images.empty(), "train", "--images DIR (the folder of the annotated images) is required");
  ANIMA_CHECK(o.val_fraction > 0 && o.val_fraction < 1, "train", "--val-fraction must be in (0, 1), got ",
              o.val_fraction);
  ANIMA_CHECK(o.hflip >= 0 && o.hflip <= 1, "train", "--hflip must be a probability, got ", o.hflip);
  ANIMA_CHECK(o.backbone == "resnet50" || o.backbone == "mobilenet_v2", "train",
              "--backbone must be resnet50 or mobilenet_v2, got '", o.backbone, "'");
  const int most = o.backbone == "resnet50" ? 5 : nets::maskrcnn::MobileNetV2Body::kStages;
  ANIMA_CHECK(o.trainable_layers >= -1 && o.trainable_layers <= most, "train", "--trainable-layers must be 0..", most,
              " for ", o.backbone, ", got ", o.trainable_layers);
  ANIMA_CHECK(o.fpn_channels >= 1 && o.box_head >= 1 && o.mask_head >= 1, "train",
              "--fpn-channels, --box-head and --mask-head must be >= 1");
  ANIMA_CHECK(o.rois_per_image >= 1 && o.anchors_per_image >= 1, "train",
              "--rois-per-image and --anchors-per-image must be >= 1");
}

// One training image as the model takes it.
struct DetectionSample {
  std::vector<float> pixels;  // [3, H, W] in [0, 1]
  int width = 0, height = 0;
  std::vector<float> boxes;          // [G, 4]
  std::vector<std::int64_t> labels;  // [G]
  std::vector<float> masks;          // [G, H, W] 0/1
};

struct DetectionBatch {
  std::vector<DetectionSample> samples;
  std::vector<std::string> unreadable;  // errors of the images left out (--skip-unreadable)
};

// Image `im` of the annotations, decoded, flipped when `flip`, with its non-crowd objects as targets.
inline DetectionSample detection_sample(const data::AnnotatedImage& im, bool flip) {
  data::ImageU8 rgb = load_rgb(im.file.string(), "train");
  ANIMA_CHECK((im.width == 0 || im.width == rgb.width) && (im.height == 0 || im.height == rgb.height), "train", "'",
              im.file.string(), "' is ", rgb.width, "x", rgb.height, ", its annotations say ", im.width, "x",
              im.height);
  if (flip) rgb = data::hflip(rgb);
  DetectionSample s;
  s.width = rgb.width, s.height = rgb.height;
  const std::size_t plane = static_cast<std::size_t>(rgb.width) * rgb.height;
  s.pixels.resize(3 * plane);
  for (std::size_t p = 0; p < plane; ++p)
    for (std::size_t c = 0; c < 3; ++c) s.pixels[c * plane + p] = static_cast<float>(rgb.pixels[p * 3 + c]) / 255.0f;
  for (const data::AnnotatedInstance& inst : im.instances) {
    if (inst.iscrowd) continue;
    data::ImageU8 mask(rgb.width, rgb.height, 1);
    mask.pixels = data::instance_mask(inst, rgb.height, rgb.width, im.file);
    std::vector<double> box(inst.box.begin(), inst.box.end());
    if (flip) mask = data::hflip(mask), box = data::hflip_boxes(box, rgb.width);
    s.boxes.insert(s.boxes.end(), box.begin(), box.end());
    s.labels.push_back(inst.label);
    for (std::uint8_t v : mask.pixels) s.masks.push_back(v != 0 ? 1.0f : 0.0f);
  }
  return s;
}

// The annotated images split into training and validation sets (see the file comment).
struct DetectionSplits {
  data::DetectionAnnotations train, val;
};

inline DetectionSplits detection_splits(const TrainDetectorOptions& o) {
  auto read = [&](const std::string& file, const std::string& images) {
    data::DetectionAnnotations a = !o.data.empty() ? data::read_detection_annotations(file, images, o.label_attribute)
                                   : o.via.empty() ? data::read_coco(file, images)
                                                   : data::read_via(file, images, o.label_attribute);
    for (const std::string& note : a.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
    return a;
  };
  DetectionSplits s;
  const std::string& file = !o.data.empty() ? o.data : o.via.empty() ? o.coco : o.via;
  s.train = read(file, o.images);
  if (!o.val.empty()) {
    s.val = read(o.val, o.val_images.empty() ? o.images : o.val_images);
    ANIMA_CHECK(s.val.classes == s.train.classes, "train", "'", o.val, "' has other classes than '", file, "'");
  } else {
    const std::size_t n = s.train.images.size();
    ANIMA_CHECK(n >= 2, "train", "'", file, "' annotates ", n,
                " image(s): at least 2 are needed to keep some for "
                "validation (or give --val)");
    const std::size_t held =
        std::clamp<std::size_t>(static_cast<std::size_t>(std::ceil(o.val_fraction * static_cast<double>(n))), 1, n - 1);
    s.val.classes = s.train.classes;
    s.val.images.assign(s.train.images.end() - static_cast<std::ptrdiff_t>(held), s.train.images.end());
    s.train.images.resize(n - held);
  }
  ANIMA_CHECK(!s.train.classes.empty(), "train", "'", file, "' names no class");
  check_class_count(o.run, s.train.classes.size(), file);
  auto objects = [](const data::DetectionAnnotations& a) {
    std::size_t k = 0;
    for (const auto& im : a.images)
      for (const auto& inst : im.instances) k += inst.iscrowd ? 0 : 1;
    return k;
  };
  ANIMA_CHECK(objects(s.train) > 0, "train", "the training images of '", file, "' have no annotated object");
  ANIMA_CHECK(objects(s.val) > 0, "train",
              "the validation images have no annotated object: the mask AP that "
              "chooses the best epoch needs some (give --val, or a larger --val-fraction)");
  return s;
}

// FNV-1a over the annotated images' names, sizes and objects.
inline std::string detection_fingerprint(const data::DetectionAnnotations& a) {
  std::vector<std::string> parts;
  for (const auto& im : a.images) {
    std::error_code ec;
    parts.push_back(im.file.filename().string() + ":" + std::to_string(std::filesystem::file_size(im.file, ec)));
    for (const auto& inst : im.instances) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "%d %.1f %.1f %.1f %.1f", inst.label, inst.box[0], inst.box[1], inst.box[2],
                    inst.box[3]);
      parts.push_back(buf);
    }
  }
  return fnv_fingerprint(parts);
}

// Mask R-CNN as a task of the training loop (training_loop.hpp).
class DetectorTask {
 public:
  using Batch = DetectionBatch;

  DetectorTask(const TrainDetectorOptions& o, std::shared_ptr<nets::maskrcnn::MaskRCNN> model,
               const DetectionSplits& data)
      : o_(o), model_(std::move(model)), data_(data), device_(parse_device_option(o.run.device, "train")) {
    names_ = {"__background__"};
    names_.insert(names_.end(), data.train.classes.begin(), data.train.classes.end());
  }

  const char* tag() const { return "maskrcnn/1"; }
  const char* best_metric() const { return "val_mask_ap"; }
  std::size_t train_size() const { return data_.train.images.size(); }

  DetectionBatch make_batch(const data::BatchRequest& r) const {
    DetectionBatch b;
    for (std::size_t index : r.indices) {
      const std::uint64_t seed = data::sample_seed(o_.run.seed, r.epoch, index);
      try {
        b.samples.push_back(detection_sample(data_.train.images[index], philox_uniform(seed, 0, 0) < o_.hflip));
      } catch (const Error& e) {
        if (!o_.run.skip_unreadable) throw;
        b.unreadable.push_back(e.what());
      }
    }
    return b;
  }

  bool train_step(DetectionBatch& batch, TrainProgress& p, double& loss_value) {
    if (batch.samples.empty()) return false;
    std::vector<Tensor> images;
    std::vector<nets::maskrcnn::DetectionTarget> targets;
    for (const DetectionSample& s : batch.samples) {
      const std::int64_t g = static_cast<std::int64_t>(s.labels.size());
      nets::maskrcnn::DetectionTarget t;
      t.boxes = from_vector(s.boxes, {g, 4});
      t.labels = from_vector(s.labels, {g});
      t.masks = from_vector(s.masks, {g, s.height, s.width});
      Tensor x = from_vector(s.pixels, {3, s.height, s.width});
      if (device_.is_cuda())
        x = to(x, device_), t = {to(t.boxes, device_), to(t.labels, device_), to(t.masks, device_)};
      images.push_back(std::move(x));
      targets.push_back(std::move(t));
    }
    const nets::maskrcnn::MaskRcnnLosses l = model_->losses(images, targets);
    const Tensor total = l.total();
    backward(total);
    loss_value = item<double>(total);
    ANIMA_CHECK(std::isfinite(loss_value), "train", "the loss of step ", p.step + 1,
                " is not finite (try a lower --lr or a longer --warmup-steps)");
    const std::pair<const char*, const Tensor*> terms[] = {{"loss_objectness", &l.loss_objectness},
                                                           {"loss_rpn_box_reg", &l.loss_rpn_box_reg},
                                                           {"loss_classifier", &l.loss_classifier},
                                                           {"loss_box_reg", &l.loss_box_reg},
                                                           {"loss_mask", &l.loss_mask}};
    for (const auto& term : terms)
      if (term.second->defined()) p.epoch_sums[term.first] += item<double>(*term.second);
    return true;
  }

  nlohmann::json epoch_fields(const TrainProgress& p) const {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& kv : p.epoch_sums) j["train_" + kv.first] = kv.second / static_cast<double>(p.epoch_steps);
    return j;
  }

  nlohmann::json validate() {
    model_->eval();
    DetectOptions d;
    d.score = 0.0;
    d.mask_threshold = 0.5;
    std::vector<std::string> files;
    for (const auto& im : data_.val.images) files.push_back(im.file.string());
    const DetectorEvaluation e = evaluate_detections(data_.val, run_detector(*model_, names_, files, d, device_));
    return {{"val_box_ap", e.bbox.ap},
            {"val_box_ap50", e.bbox.ap50},
            {"val_mask_ap", e.segm.ap},
            {"val_mask_ap50", e.segm.ap50}};
  }

  void export_best() const {
    const nlohmann::json labels = data_.train.classes;
    char eps[32];
    std::snprintf(eps, sizeof eps, "%.17g", model_->options.frozen_bn_eps);
    std::map<std::string, std::string> metadata{{"labels", labels.dump()}, {"frozen_bn_eps", eps}};
    if (o_.square > 0) metadata["square"] = std::to_string(o_.square);  // the side `anima analyze` defaults to
    io::save_weights_safetensors((std::filesystem::path(o_.run.out) / "weights.safetensors").string(),
                                 model_->state_dict(), metadata);
  }

 private:
  const TrainDetectorOptions& o_;
  std::shared_ptr<nets::maskrcnn::MaskRCNN> model_;
  const DetectionSplits& data_;
  Device device_;
  std::vector<std::string> names_;
};

// True when `sd` is torchvision's ImageNet ResNet-50 (a classifier: conv1 ... layer4, fc).
inline bool is_imagenet_resnet50(const io::StateDict& sd) {
  return sd.contains("fc.weight") && sd.contains("conv1.weight") && sd.contains("layer4.2.bn3.weight") &&
         !sd.contains("layer4.3.conv1.weight");
}

// The Mask R-CNN a detector run starts from (see the file comment), with `classes` + 1 classes.
inline std::shared_ptr<nets::maskrcnn::MaskRCNN> initial_detector(const TrainDetectorOptions& o,
                                                                  nets::maskrcnn::MaskRcnnOptions options,
                                                                  std::int64_t classes) {
  options.num_classes = classes + 1;
  if (!o.run.weights.empty()) {
    const io::StateDict sd = io::load_weights(o.run.weights);
    if (is_imagenet_resnet50(sd)) {
      ANIMA_CHECK(options.backbone == nets::maskrcnn::BackboneKind::ResNet50, "train", "'", o.run.weights,
                  "' is an ImageNet ResNet-50, which only --backbone resnet50 can start from");
      options.frozen_bn_eps = 1e-5;
      auto model = std::make_shared<nets::maskrcnn::MaskRCNN>(options);
      io::StateDict full = model->state_dict();
      for (const auto& item : sd.items()) {
        if (item.first.rfind("fc.", 0) == 0 || item.first.find("num_batches_tracked") != std::string::npos) continue;
        const std::string name = "backbone.body." + item.first;
        ANIMA_CHECK(full.contains(name), "train", "'", o.run.weights, "' has '", item.first,
                    "', which ResNet-50 has not");
        full.set(name, item.second);
      }
      model->load_state_dict(full);
      return model;
    }
  }
  if (!o.run.weights.empty()) {
    std::map<std::string, std::string> metadata;
    auto model = load_maskrcnn(o.run.weights, options, metadata);
    if (model->num_classes() != classes + 1) model->replace_predictors(classes + 1);
    return model;
  }
  options.frozen_bn_eps = 1e-5;
  auto model = std::make_shared<nets::maskrcnn::MaskRCNN>(options);
  NoGradGuard no_grad;
  const io::StateDict parameters = model->state_dict();
  for (const auto& item : parameters.items())
    if (item.first.find(".bn3.weight") != std::string::npos) copy_into(item.second, mul(item.second, 0.2));
  return model;
}

// With --weights of a detector, the run trains that checkpoint's architecture: --backbone and the widths
// take its values; one given with another value than its default and the checkpoint's is an error.
inline void adopt_checkpoint_architecture(TrainDetectorOptions& o) {
  if (o.run.weights.empty()) return;
  const io::StateDict sd = io::load_weights(o.run.weights);
  if (is_imagenet_resnet50(sd)) return;
  const nets::maskrcnn::MaskRcnnArchitecture a = nets::maskrcnn::maskrcnn_architecture(
      nets::maskrcnn::canonical_maskrcnn_state_dict(sd, o.run.weights), o.run.weights);
  const TrainDetectorOptions defaults;
  const auto adopt = [&](const char* option, auto& value, const auto& default_value, const auto& checkpoint_value) {
    ANIMA_CHECK(value == default_value || value == checkpoint_value, "train", option, " ", value, " does not fit '",
                o.run.weights, "', whose model has ", checkpoint_value);
    value = checkpoint_value;
  };
  adopt("--backbone", o.backbone, defaults.backbone, std::string(a.mobilenet_v2_body ? "mobilenet_v2" : "resnet50"));
  adopt("--fpn-channels", o.fpn_channels, defaults.fpn_channels, a.fpn_channels);
  adopt("--box-head", o.box_head, defaults.box_head, a.representation_size);
  const bool uniform_mask_head =
      a.mask_layers.size() == 4 && a.mask_dim_reduced == a.mask_layers[0] &&
      std::all_of(a.mask_layers.begin(), a.mask_layers.end(), [&](std::int64_t c) { return c == a.mask_layers[0]; });
  ANIMA_CHECK(uniform_mask_head, "train", "'", o.run.weights,
              "' has a mask head other than four convolutions and a transposed convolution of one width");
  adopt("--mask-head", o.mask_head, defaults.mask_head, a.mask_dim_reduced);
}

inline int train_detector(TrainDetectorOptions o) {
  const bool resuming = !o.run.resume.empty();
  if (resuming) o = resumed_options<TrainDetectorOptions>(o, train_detector_options_from_json);
  if (!resuming) adopt_checkpoint_architecture(o);  // first: --trainable-layers is checked against its body
  check_train_detector_options(o);
  const DetectionSplits data = detection_splits(o);
  const Device device = parse_device_option(o.run.device, "train");
  require_device(device, "train");
  nets::maskrcnn::MaskRcnnOptions options;
  options.transform = resize_options(o.min_size, o.max_size, o.square, "train");
  options.backbone = nets::maskrcnn::parse_backbone(o.backbone);
  options.fpn_channels = o.fpn_channels;
  options.roi_heads.representation_size = o.box_head;
  options.roi_heads.mask_layers.assign(4, o.mask_head);
  options.roi_heads.mask_dim_reduced = o.mask_head;
  options.trainable_layers = resolved_trainable_layers(o);
  options.roi_heads.batch_size_per_image = o.rois_per_image;
  options.rpn.batch_size_per_image = o.anchors_per_image;
  if (!resuming)
    start_run_folder(
        o.run.out,
        {{"task", "detector"},
         {"settings", train_detector_options_json(o)},
         {"source_commit", o.run.source_commit.empty() ? "unknown" : o.run.source_commit},
         {"classes", data.train.classes},
         {"train_samples", data.train.images.size()},
         {"val_samples", data.val.images.size()},
         {"data_fingerprint", {{"train", detection_fingerprint(data.train)}, {"val", detection_fingerprint(data.val)}}},
         {"best_metric", "val_mask_ap"},
         {"quality", {{"file", "ap.png"}, {"title", "Validation AP"}, {"unit", "AP"}}}});
  manual_seed(o.run.seed);
  auto model = initial_detector(o, options, static_cast<std::int64_t>(data.train.classes.size()));
  if (device.is_cuda()) model->to(device);
  DetectorTask task(o, model, data);
  return train_task(o.run, task, model, trainable_parameters(*model), resuming);
}

// Registers `detector` under `anima train`; the exit status goes to `status`.
inline CLI::App* add_train_detector_command(CLI::App& train, int& status, const std::string& source_commit) {
  auto o = std::make_shared<TrainDetectorOptions>();
  o->run.source_commit = source_commit;
  CLI::App* cmd = train.add_subcommand(
      "detector", "train Mask R-CNN (R50-FPN or MobileNetV2-FPN) on annotated images (VIA or COCO)");
  cmd->add_option("--data", o->data, "annotations: a VIA project or a COCO instances JSON (told apart by content)");
  cmd->add_option("--via", o->via, "VIA project or annotation JSON");
  cmd->add_option("--coco", o->coco, "COCO instances JSON");
  cmd->add_option("--label-attribute", o->label_attribute, "VIA: the region attribute naming the class")
      ->capture_default_str();
  cmd->add_option("--images", o->images, "the folder of the annotated images");
  cmd->add_option("--weights", o->run.weights,
                  "start from torchvision's COCO Mask R-CNN, an ImageNet ResNet-50 .pth, or a detector's weights");
  cmd->add_option("--val", o->val, "validation annotations (same format; default: the last --val-fraction)");
  cmd->add_option("--val-images", o->val_images, "the folder of the validation images (default --images)");
  cmd->add_option("--val-fraction", o->val_fraction, "without --val: the share of images held out, from the end")
      ->capture_default_str();
  add_run_options(cmd, o->run);
  cmd->add_option("--min-size", o->min_size, "shorter side after resizing")->capture_default_str();
  cmd->add_option("--max-size", o->max_size, "longest side after resizing")->capture_default_str();
  cmd->add_option("--square", o->square, "square mode: the longer side to S in an S x S canvas");
  cmd->add_option("--hflip", o->hflip, "probability of flipping an image horizontally")->capture_default_str();
  cmd->add_option("--trainable-layers", o->trainable_layers,
                  "body stages that train, from the deepest (resnet50 0..5, default 3; mobilenet_v2 0..6, default "
                  "6 without --weights, 3 with)");
  cmd->add_option("--backbone", o->backbone, "the body: resnet50 (Mask R-CNN R50-FPN) or mobilenet_v2 (light)")
      ->capture_default_str();
  cmd->add_option("--fpn-channels", o->fpn_channels, "channels of the FPN maps (and the RPN conv)")
      ->capture_default_str();
  cmd->add_option("--box-head", o->box_head, "width of the box head's two fully connected layers")
      ->capture_default_str();
  cmd->add_option("--mask-head", o->mask_head, "channels of the mask head's convolutions")->capture_default_str();
  cmd->add_option("--rois-per-image", o->rois_per_image, "RoIs sampled per image for the box and mask heads")
      ->capture_default_str();
  cmd->add_option("--anchors-per-image", o->anchors_per_image, "anchors sampled per image for the RPN's loss")
      ->capture_default_str();
  cmd->callback([o, &status] {
    if (o->run.resume.empty())
      ANIMA_CHECK(
          (!o->data.empty() || !o->via.empty() || !o->coco.empty()) && !o->images.empty() && !o->run.out.empty(),
          "train", "--data (or --via or --coco), --images and --out are required (or --resume RUN_DIR)");
    status = train_detector(*o);
  });
  return cmd;
}

}  // namespace anima::cli
