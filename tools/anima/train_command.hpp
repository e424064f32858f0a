// tools/anima/train_command.hpp — `anima train classifier`: fine-tunes (or trains from scratch) an
// ImageNet-style classifier on a folder of labelled images, resumably.
//
//   anima train classifier --net NET --data DIR --out RUN_DIR [--weights FILE] [--image-size 224]
//       [--resize 256] [--freeze-backbone] [--color-jitter b,c,s,h] [the shared options]
//   anima train classifier --resume RUN_DIR
// The shared options (train_options.hpp): --epochs 30 --batch 32 --optimizer sgd|adam|adamw --lr 0.01
// --momentum 0.9 --weight-decay 1e-4 --schedule none|step|multistep|cosine --step-size 10 --milestones
// --gamma 0.1 --warmup-steps 0 --patience 0 --checkpoint-every 0 --workers 2 --seed 0 --device
// cpu|cuda[:N] --skip-unreadable --quiet.
//
// DIR holds train/ and val/ ImageFolders (the layout `anima synth --faces` writes); the classes are
// train/'s folders in sorted order and val/ must have the same. --weights starts from a checkpoint
// (torchvision's ImageNet .pth, say): its head is replaced when its class count differs; without it
// the net starts from torchvision's random initialisation (seeded by --seed).
// inception_v3 trains with its auxiliary classifier: loss = CE(logits) + 0.4 · CE(aux logits).
// Each epoch (the loop and the checkpoints: training_loop.hpp): the training images in a
// Philox-shuffled order, each augmented as torchvision's RandomResizedCrop(image-size) +
// RandomHorizontalFlip (+ ColorJitter with --color-jitter b,c,s,h) with its own seed
// (data::sample_seed); cross-entropy; then the validation split through the evaluation transform
// (resize, centre crop): loss and accuracy, the best epoch's being the highest val_accuracy.
// RUN_DIR receives (every file written to a temporary file and renamed):
//   config.json                  the settings, the classes, a fingerprint of the data and the source
//                                commit of the anima that started the run
//   checkpoint_last.safetensors  everything a resumed run needs: after every epoch, every
//                                --checkpoint-every steps, and on Ctrl-C (then the exit status is 130)
//   checkpoint_best.safetensors  the same, for the best validation accuracy so far
//   weights.safetensors          the best model alone (with the class names as metadata "labels" and
//                                the net's name as "net"),
//                                what `anima classify` and `anima eval classifier` read
//   report.html, loss.png, accuracy.png, lr.png   the run so far (tools/anima/train_report.hpp),
//                                rebuilt after every epoch
//   metrics.jsonl                one line per step {"type": "step", "step", "epoch", "loss", "lr"} and
//                                per epoch {"type": "epoch", "epoch", "train_loss", "train_accuracy",
//                                "val_loss", "val_accuracy", "lr", "seconds", "skipped"}
// --resume RUN_DIR continues from checkpoint_last with the saved settings (from the start when the run
// stopped before its first checkpoint). On the CPU a run stopped at any point (even by SIGKILL) and
// resumed ends with the same bits as one that was not stopped, whatever --workers.
// --patience N stops after N epochs without a better validation accuracy (0: never). A batch of a
// single image (the last one of an epoch, or what --skip-unreadable leaves) is not trained on: batch
// normalisation cannot train on one image.
// An image that cannot be decoded stops the run with an error naming it; with --skip-unreadable it is
// left out of its batch (and of validation), named on stderr and counted in the epoch's "skipped".
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/grad_mode.hpp>
#include <anima/core/error.hpp>
#include <anima/data/data_loader.hpp>
#include <anima/data/image_folder.hpp>
#include <anima/data/image_transforms.hpp>
#include <anima/data/imagenet_transforms.hpp>
#include <anima/io/weights_file.hpp>
#include <anima/nets/classifier.hpp>
#include <anima/nets/inception_v3.hpp>
#include <anima/nets/registry.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/loss.hpp>

#include "classify_command.hpp"
#include "train_detector.hpp"
#include "train_options.hpp"

namespace anima::cli {

struct TrainClassifierOptions {
  TrainRunOptions run;
  std::string net, data;
  int image_size = 224, resize = 256;
  bool freeze_backbone = false;
  data::ColorJitter jitter;  // torchvision's ColorJitter(brightness, contrast, saturation, hue); 0: off
};

inline nlohmann::json train_options_json(const TrainClassifierOptions& o) {
  nlohmann::json j = run_options_json(o.run);
  j.update({{"net", o.net},
            {"data", o.data},
            {"image_size", o.image_size},
            {"resize", o.resize},
            {"freeze_backbone", o.freeze_backbone},
            {"color_jitter", {o.jitter.brightness, o.jitter.contrast, o.jitter.saturation, o.jitter.hue}}});
  return j;
}

inline TrainClassifierOptions train_options_from_json(const nlohmann::json& j, const std::string& where) {
  TrainClassifierOptions o;
  try {
    run_options_from_json(j, o.run);
    j.at("net").get_to(o.net);
    j.at("data").get_to(o.data);
    j.at("image_size").get_to(o.image_size);
    j.at("resize").get_to(o.resize);
    j.at("freeze_backbone").get_to(o.freeze_backbone);
    const auto jitter = j.at("color_jitter").get<std::vector<double>>();
    if (jitter.size() != 4) throw nlohmann::json::other_error::create(501, "color_jitter needs 4 numbers", nullptr);
    o.jitter = {jitter[0], jitter[1], jitter[2], jitter[3]};
  } catch (const nlohmann::json::exception& e) {
    fail("train", "'", where, "' is not a classifier training configuration: ", e.what());
  }
  return o;
}

inline void check_train_options(const TrainClassifierOptions& o) {
  check_run_options(o.run);
  ANIMA_CHECK(o.image_size >= 8 && o.resize >= o.image_size, "train",
              "expected --image-size >= 8 and --resize >= --image-size");
  ANIMA_CHECK(o.jitter.brightness >= 0 && o.jitter.contrast >= 0 && o.jitter.saturation >= 0 && o.jitter.hue >= 0 &&
                  o.jitter.hue <= 0.5,
              "train", "--color-jitter amounts must be >= 0 (hue at most 0.5)");
}

// The fingerprint of an image folder: every sample's path (relative to the split), label and file size.
inline std::string data_fingerprint(const data::ImageFolder& folder) {
  std::vector<std::string> parts;
  for (const auto& s : folder.samples()) {
    std::error_code ec;
    parts.push_back(s.path.lexically_relative(folder.root()).generic_string());
    parts.push_back(std::to_string(s.label) + ":" + std::to_string(std::filesystem::file_size(s.path, ec)));
  }
  return fnv_fingerprint(parts);
}

struct TrainBatch {
  std::vector<float> pixels;  // [B, 3, S, S]
  std::vector<std::int64_t> labels;
  std::vector<std::string> unreadable;  // errors of the images left out (--skip-unreadable)
};

// The training view of sample `index` (data::random_resized_crop_flip with the sample's seed, then
// ColorJitter when `jitter` has any amount), normalised as ImageNet's, into out[3 · size · size].
inline void augment_into(const data::ImageFolder& folder, std::size_t index, std::uint64_t seed, int size,
                         const data::ColorJitter& jitter, float* out) {
  data::ImageU8 view =
      data::random_resized_crop_flip(load_rgb(folder.samples()[index].path.string(), "train"), size, seed);
  if (jitter.brightness > 0 || jitter.contrast > 0 || jitter.saturation > 0 || jitter.hue > 0)
    view = data::color_jitter(view, jitter, data::sample_seed(seed, 1, 0));
  const std::vector<float> v = to_vector<float>(data::to_normalized_tensor(view));
  std::copy(v.begin(), v.end(), out);
}

// The classifier as a task of the training loop (training_loop.hpp): cross-entropy on augmented
// batches, accuracy on the training batches and on the validation split.
class ClassifierTask {
 public:
  using Batch = TrainBatch;

  ClassifierTask(const TrainClassifierOptions& o, std::shared_ptr<nn::Module> model, const data::ImageFolder& train,
                 const data::ImageFolder& val)
      : o_(o),
        model_(std::move(model)),
        train_(train),
        val_(val),
        classes_(static_cast<int>(train.classes().size())),
        device_(parse_device_option(o.run.device, "train")) {}

  const char* tag() const { return "classifier/1"; }
  const char* best_metric() const { return "val_accuracy"; }
  std::size_t train_size() const { return train_.size(); }

  TrainBatch make_batch(const data::BatchRequest& r) const {
    const int size = o_.image_size;
    const std::size_t image_floats = static_cast<std::size_t>(3) * size * size;
    TrainBatch b;
    b.pixels.resize(r.indices.size() * image_floats);
    for (std::size_t k = 0; k < r.indices.size(); ++k) {
      try {
        augment_into(train_, r.indices[k], data::sample_seed(o_.run.seed, r.epoch, r.indices[k]), size, o_.jitter,
                     &b.pixels[b.labels.size() * image_floats]);
      } catch (const Error& e) {
        if (!o_.run.skip_unreadable) throw;
        b.unreadable.push_back(e.what());
        continue;
      }
      b.labels.push_back(train_.samples()[r.indices[k]].label);
    }
    b.pixels.resize(b.labels.size() * image_floats);
    return b;
  }

  // A batch of a single image (or none) is not trained on: batch normalisation cannot train on one.
  bool train_step(TrainBatch& batch, TrainProgress& p, double& loss_value) {
    const std::int64_t n = static_cast<std::int64_t>(batch.labels.size());
    if (n < 2) return false;
    const int size = o_.image_size;
    Tensor x = from_vector(batch.pixels, {n, 3, size, size});
    Tensor y = from_vector(batch.labels, {n});
    if (device_.is_cuda()) x = to(x, device_), y = to(y, device_);
    Tensor logits, loss;
    training_loss(x, y, logits, loss);
    backward(loss);
    loss_value = item<double>(loss);
    const std::vector<float> lv = to_vector<float>(logits);
    std::int64_t correct = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const float* row = &lv[static_cast<std::size_t>(i * classes_)];
      correct += std::max_element(row, row + classes_) - row == batch.labels[static_cast<std::size_t>(i)];
    }
    p.epoch_sums["correct"] += static_cast<double>(correct);
    p.epoch_sums["seen"] += static_cast<double>(n);
    return true;
  }

  nlohmann::json epoch_fields(const TrainProgress& p) const {
    const auto sum = [&](const char* key) {
      auto it = p.epoch_sums.find(key);
      return it == p.epoch_sums.end() ? 0.0 : it->second;
    };
    return {{"train_accuracy", sum("correct") / std::max(sum("seen"), 1.0)}};
  }

  // Loss and accuracy on the validation split (evaluation transform, eval mode).
  nlohmann::json validate() {
    model_->eval();
    LoadedClassifier c{model_, classes_, device_, o_.resize, o_.image_size};
    std::vector<std::string> files;
    for (const auto& s : val_.samples()) files.push_back(s.path.string());
    double loss_sum = 0.0;
    std::int64_t correct = 0;
    std::size_t read = 0;
    run_classifier(
        c, files, o_.run.batch,
        [&](std::size_t i, std::vector<float> logits) {
          const std::vector<double> p = softmax_probabilities(logits, files[i], o_.run.out);
          const int label = val_.samples()[i].label;
          loss_sum -= std::log(std::max(p[static_cast<std::size_t>(label)], 1e-300));
          correct += std::max_element(p.begin(), p.end()) - p.begin() == label;
          ++read;
        },
        o_.run.skip_unreadable ? std::function<void(std::size_t, const Error&)>([](std::size_t, const Error&) {})
                               : std::function<void(std::size_t, const Error&)>());
    ANIMA_CHECK(read > 0, "train", "no validation image could be read");
    return {{"val_loss", loss_sum / static_cast<double>(read)},
            {"val_accuracy", static_cast<double>(correct) / static_cast<double>(read)}};
  }

  void export_best() const {
    nlohmann::json labels = train_.classes();
    io::save_weights_safetensors((std::filesystem::path(o_.run.out) / "weights.safetensors").string(),
                                 model_->state_dict(),
                                 {{"labels", labels.dump()},
                                  {"net", o_.net},
                                  {"resize", std::to_string(o_.resize)},
                                  {"image_size", std::to_string(o_.image_size)}});
  }

 private:
  // The batch's logits and loss: cross-entropy; for inception_v3 with its auxiliary head, plus 0.4 ×
  // the auxiliary logits' cross-entropy (PyTorch's fine-tuning recipe for Inception v3).
  void training_loss(const Tensor& x, const Tensor& y, Tensor& logits, Tensor& loss) const {
    if (auto* inception = dynamic_cast<nets::Inception3*>(model_.get())) {
      const nets::InceptionOutputs out = inception->forward_with_aux(x);
      logits = out.logits;
      loss = cross_entropy(logits, y);
      if (out.aux_logits.defined()) loss = add(loss, mul(cross_entropy(out.aux_logits, y), 0.4));
      return;
    }
    logits = model_->forward(x);
    loss = cross_entropy(logits, y);
  }

  const TrainClassifierOptions& o_;
  std::shared_ptr<nn::Module> model_;
  const data::ImageFolder& train_;
  const data::ImageFolder& val_;
  int classes_;
  Device device_;
};

inline int train_classifier(TrainClassifierOptions o) {
  namespace fs = std::filesystem;
  const bool resuming = !o.run.resume.empty();
  if (resuming) o = resumed_options<TrainClassifierOptions>(o, train_options_from_json);
  check_train_options(o);
  const data::ImageFolder train(fs::path(o.data) / "train");
  const data::ImageFolder val(fs::path(o.data) / "val");
  ANIMA_CHECK(val.classes() == train.classes(), "train", "'", (fs::path(o.data) / "val").string(),
              "' has other class folders than '", (fs::path(o.data) / "train").string(), "'");
  const int classes = static_cast<int>(train.classes().size());
  ANIMA_CHECK(classes >= 2, "train", "'", (fs::path(o.data) / "train").string(), "' has fewer than two classes");
  check_class_count(o.run, train.classes().size(), (fs::path(o.data) / "train").string());
  const Device device = parse_device_option(o.run.device, "train");
  require_device(device, "train");
  if (!resuming)
    start_run_folder(o.run.out,
                     {{"task", "classifier"},
                      {"settings", train_options_json(o)},
                      {"source_commit", o.run.source_commit.empty() ? "unknown" : o.run.source_commit},
                      {"classes", train.classes()},
                      {"train_samples", train.size()},
                      {"val_samples", val.size()},
                      {"data_fingerprint", {{"train", data_fingerprint(train)}, {"val", data_fingerprint(val)}}},
                      {"best_metric", "val_accuracy"},
                      {"quality", {{"file", "accuracy.png"}, {"title", "Accuracy"}, {"unit", "accuracy"}}}});

  manual_seed(o.run.seed);
  std::shared_ptr<nn::Module> model;
  if (o.run.weights.empty()) {
    model = nets::make_net(o.net, classes);
  } else {
    const io::StateDict sd = io::load_weights(o.run.weights);
    model = build_classifier(o.net, sd, o.net == "inception_v3", o.run.weights);
    auto& net = dynamic_cast<nets::ImageClassifier&>(*model);
    if (net.num_classes() != classes) net.replace_classifier(classes);
  }
  if (o.freeze_backbone) dynamic_cast<nets::ImageClassifier&>(*model).freeze_backbone();
  if (device.is_cuda()) model->to(device);
  ClassifierTask task(o, model, train, val);
  return train_task(o.run, task, model, trainable_parameters(*model), resuming);
}

// Registers `classifier` under `anima train`; the exit status goes to `status`.
inline CLI::App* add_train_classifier_command(CLI::App& train, int& status, const std::string& source_commit) {
  auto o = std::make_shared<TrainClassifierOptions>();
  o->run.source_commit = source_commit;
  CLI::App* cmd = train.add_subcommand("classifier", "fine-tune an ImageNet-style classifier on an image folder");
  cmd->add_option("--net", o->net, "vgg16, vgg16_bn, resnet50, mobilenet_v2 or inception_v3")
      ->check(CLI::IsMember(nets::net_names()));
  cmd->add_option("--data", o->data, "a folder with train/ and val/, each a folder per class");
  cmd->add_option("--weights", o->run.weights, "start from these weights (e.g. torchvision's ImageNet .pth)");
  add_run_options(cmd, o->run);
  cmd->add_option("--image-size", o->image_size, "training crop and evaluation crop (default 224)");
  cmd->add_option("--resize", o->resize, "evaluation: shorter side before the crop (default 256)");
  cmd->add_flag("--freeze-backbone", o->freeze_backbone, "train the classifier head only");
  cmd->add_option_function<std::vector<double>>(
         "--color-jitter",
         [o](const std::vector<double>& v) {
           ANIMA_CHECK(v.size() == 4, "train", "--color-jitter takes brightness,contrast,saturation,hue, got ",
                       v.size(), " numbers");
           o->jitter = {v[0], v[1], v[2], v[3]};
         },
         "ColorJitter after the crop and flip: brightness,contrast,saturation,hue (e.g. 0.4,0.4,0.4,0.1)")
      ->delimiter(',');
  cmd->callback([o, &status] {
    if (o->run.resume.empty())
      ANIMA_CHECK(!o->net.empty() && !o->data.empty() && !o->run.out.empty(), "train",
                  "--net, --data and --out are required (or --resume RUN_DIR)");
    status = train_classifier(*o);
  });
  return cmd;
}

// Registers `anima train` with its `classifier` and `detector` subcommands; the exit status goes to
// `status`; `source_commit` (the build's git commit) is recorded in config.json.
inline CLI::App* add_train_command(CLI::App& app, int& status, const std::string& source_commit = "") {
  CLI::App* train = app.add_subcommand("train", "train a model on labelled data (resumable runs)");
  train->require_subcommand(1);
  add_train_classifier_command(*train, status, source_commit);
  add_train_detector_command(*train, status, source_commit);
  return train;
}

}  // namespace anima::cli
