// tools/anima/train_command.hpp — `anima train classifier`: fine-tunes (or trains from scratch) an
// ImageNet-style classifier on a folder of labelled images, resumably.
//
//   anima train classifier --net NET --data DIR --out RUN_DIR [--weights FILE] [--epochs 30]
//       [--batch 32] [--optimizer sgd|adam|adamw] [--lr 0.01] [--momentum 0.9] [--weight-decay 1e-4]
//       [--schedule none|step|cosine] [--step-size 10] [--gamma 0.1] [--image-size 224] [--resize 256]
//       [--freeze-backbone] [--color-jitter b,c,s,h] [--patience 0] [--skip-unreadable]
//       [--checkpoint-every 0] [--workers 2] [--seed 0] [--device cpu|cuda[:N]] [--quiet]
//   anima train classifier --resume RUN_DIR
//
// DIR holds train/ and val/ ImageFolders (the layout `anima synth --faces` writes); the classes are
// train/'s folders in sorted order and val/ must have the same. --weights starts from a checkpoint
// (torchvision's ImageNet .pth, say): its head is replaced when its class count differs; without it
// the net starts from torchvision's random initialisation (seeded by --seed).
// inception_v3 trains with its auxiliary classifier: loss = CE(logits) + 0.4 · CE(aux logits).
// Each epoch: the training images in a Philox-shuffled order (anima/data/data_loader.hpp), each
// augmented as torchvision's RandomResizedCrop(image-size) + RandomHorizontalFlip (+ ColorJitter with
// --color-jitter b,c,s,h), with its own seed (data::sample_seed); cross-entropy; the optimiser's step
// per batch; the schedule's step per epoch (step: lr · gamma every step-size epochs; cosine: to 0 over
// the epochs). Then the validation split through the evaluation transform (resize, centre crop): loss
// and accuracy.
// RUN_DIR receives (every file written to a temporary file and renamed):
//   config.json                  the settings, the classes, a fingerprint of the data and the source
//                                commit of the anima that started the run
//   checkpoint_last.safetensors  model ("model/<name>"), optimiser ("optim/<name>"), the running sums
//                                of the epoch ("run/..."), and in the metadata the step, the data
//                                loader's position, the random generator's offset, the schedule's
//                                state and the early-stopping state: after every epoch, every
//                                --checkpoint-every steps, and on Ctrl-C (then the exit status is 130)
//   checkpoint_best.safetensors  the same, for the best validation accuracy so far
//   weights.safetensors          the best model alone (with the class names as metadata "labels"),
//                                what `anima classify` and `anima eval classifier` read
//   report.html, loss.png, accuracy.png, lr.png   the run so far (tools/anima/train_report.hpp),
//                                rebuilt after every epoch
//   metrics.jsonl                one line per step {"type": "step", "step", "epoch", "loss", "lr"} and
//                                per epoch {"type": "epoch", "epoch", "train_loss", "train_accuracy",
//                                "val_loss", "val_accuracy", "lr", "seconds", "skipped"}
// --resume RUN_DIR continues from checkpoint_last with the saved settings (from the start when the run
// stopped before its first checkpoint). On the CPU a run stopped at any point (even by SIGKILL) and
// resumed ends with the same bits as one that was not stopped, whatever --workers: the order, the
// augmentations and dropout depend only on the seed and the position, all restored.
// --patience N stops after N epochs without a better validation accuracy (0: never). A batch of a
// single image (the last one of an epoch, or what --skip-unreadable leaves) is not trained on: batch
// normalisation cannot train on one image.
// An image that cannot be decoded stops the run with an error naming it; with --skip-unreadable it is
// left out of its batch (and of validation), named on stderr and counted in the epoch's "skipped".
// --kill-after-steps N (for testing the above) ends the process with SIGKILL after step N.
#pragma once

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/generator.hpp>
#include <anima/data/data_loader.hpp>
#include <anima/data/image_folder.hpp>
#include <anima/data/image_transforms.hpp>
#include <anima/data/imagenet_transforms.hpp>
#include <anima/io/atomic_file.hpp>
#include <anima/io/safetensors.hpp>
#include <anima/io/weights_file.hpp>
#include <anima/nets/classifier.hpp>
#include <anima/nets/inception_v3.hpp>
#include <anima/nets/registry.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/loss.hpp>
#include <anima/optim/adam.hpp>
#include <anima/optim/lr_scheduler.hpp>
#include <anima/optim/sgd.hpp>

#include "classify_command.hpp"
#include "media.hpp"
#include "progress_line.hpp"

namespace anima::cli {

struct TrainClassifierOptions {
  std::string net, data, out, weights;
  int epochs = 30, batch = 32, image_size = 224, resize = 256, workers = 2;
  std::string optimizer = "sgd";
  double lr = 0.01, momentum = 0.9, weight_decay = 1e-4;
  std::string schedule = "none";
  int step_size = 10;
  double gamma = 0.1;
  bool freeze_backbone = false;
  data::ColorJitter jitter;  // torchvision's ColorJitter(brightness, contrast, saturation, hue); 0: off
  int patience = 0, checkpoint_every = 0;
  std::uint64_t seed = 0;
  std::string device = "cpu";
  std::string resume;  // a RUN_DIR to continue
  bool quiet = false;
  int kill_after_steps = 0;
  std::string source_commit;     // the build's git commit, for config.json
  bool skip_unreadable = false;  // leave out images that cannot be decoded (else stop with an error)
};

inline nlohmann::json train_options_json(const TrainClassifierOptions& o) {
  return {{"net", o.net},
          {"data", o.data},
          {"weights", o.weights},
          {"epochs", o.epochs},
          {"batch", o.batch},
          {"image_size", o.image_size},
          {"resize", o.resize},
          {"workers", o.workers},
          {"optimizer", o.optimizer},
          {"lr", o.lr},
          {"momentum", o.momentum},
          {"weight_decay", o.weight_decay},
          {"schedule", o.schedule},
          {"step_size", o.step_size},
          {"gamma", o.gamma},
          {"freeze_backbone", o.freeze_backbone},
          {"color_jitter", {o.jitter.brightness, o.jitter.contrast, o.jitter.saturation, o.jitter.hue}},
          {"patience", o.patience},
          {"checkpoint_every", o.checkpoint_every},
          {"skip_unreadable", o.skip_unreadable},
          {"seed", o.seed},
          {"device", o.device}};
}

inline TrainClassifierOptions train_options_from_json(const nlohmann::json& j, const std::string& where) {
  TrainClassifierOptions o;
  try {
    j.at("net").get_to(o.net);
    j.at("data").get_to(o.data);
    j.at("weights").get_to(o.weights);
    j.at("epochs").get_to(o.epochs);
    j.at("batch").get_to(o.batch);
    j.at("image_size").get_to(o.image_size);
    j.at("resize").get_to(o.resize);
    j.at("workers").get_to(o.workers);
    j.at("optimizer").get_to(o.optimizer);
    j.at("lr").get_to(o.lr);
    j.at("momentum").get_to(o.momentum);
    j.at("weight_decay").get_to(o.weight_decay);
    j.at("schedule").get_to(o.schedule);
    j.at("step_size").get_to(o.step_size);
    j.at("gamma").get_to(o.gamma);
    j.at("freeze_backbone").get_to(o.freeze_backbone);
    const auto jitter = j.at("color_jitter").get<std::vector<double>>();
    if (jitter.size() != 4) throw nlohmann::json::other_error::create(501, "color_jitter needs 4 numbers", nullptr);
    o.jitter = {jitter[0], jitter[1], jitter[2], jitter[3]};
    j.at("patience").get_to(o.patience);
    j.at("checkpoint_every").get_to(o.checkpoint_every);
    j.at("skip_unreadable").get_to(o.skip_unreadable);
    j.at("seed").get_to(o.seed);
    j.at("device").get_to(o.device);
  } catch (const nlohmann::json::exception& e) {
    fail("train", "'", where, "' is not a training configuration: ", e.what());
  }
  return o;
}

inline void check_train_options(const TrainClassifierOptions& o) {
  ANIMA_CHECK(o.epochs >= 1 && o.batch >= 1 && o.image_size >= 8 && o.resize >= o.image_size && o.workers >= 0, "train",
              "expected --epochs >= 1, --batch >= 1, --image-size >= 8, --resize >= --image-size and "
              "--workers >= 0");
  ANIMA_CHECK(o.optimizer == "sgd" || o.optimizer == "adam" || o.optimizer == "adamw", "train",
              "--optimizer must be sgd, adam or adamw, got '", o.optimizer, "'");
  ANIMA_CHECK(o.schedule == "none" || o.schedule == "step" || o.schedule == "cosine", "train",
              "--schedule must be none, step or cosine, got '", o.schedule, "'");
  ANIMA_CHECK(o.jitter.brightness >= 0 && o.jitter.contrast >= 0 && o.jitter.saturation >= 0 && o.jitter.hue >= 0 &&
                  o.jitter.hue <= 0.5,
              "train", "--color-jitter amounts must be >= 0 (hue at most 0.5)");
  ANIMA_CHECK(o.lr > 0 && o.momentum >= 0 && o.weight_decay >= 0 && o.step_size >= 1 && o.gamma > 0, "train",
              "expected --lr > 0, --momentum >= 0, --weight-decay >= 0, --step-size >= 1, --gamma > 0");
}

// FNV-1a over every sample's path (relative to the split), label and file size: a changed data set
// changes it.
inline std::string data_fingerprint(const data::ImageFolder& folder) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  };
  for (const auto& s : folder.samples()) {
    std::error_code ec;
    mix(s.path.lexically_relative(folder.root()).generic_string());
    mix(std::to_string(s.label) + ":" + std::to_string(std::filesystem::file_size(s.path, ec)));
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
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
  data::ImageU8 view = data::random_resized_crop_flip(load_rgb(folder.samples()[index].path.string()), size, seed);
  if (jitter.brightness > 0 || jitter.contrast > 0 || jitter.saturation > 0 || jitter.hue > 0)
    view = data::color_jitter(view, jitter, data::sample_seed(seed, 1, 0));
  const std::vector<float> v = to_vector<float>(data::to_normalized_tensor(view));
  std::copy(v.begin(), v.end(), out);
}

// Reads a float64 scalar of a checkpoint.
inline double checkpoint_scalar(const io::SafetensorsFile& f, const std::string& name, const std::string& path) {
  auto it = f.tensors.find(name);
  ANIMA_CHECK(it != f.tensors.end(), "train", "'", path, "' has no '", name, "': not an anima training checkpoint");
  return item<double>(it->second);
}

inline std::string checkpoint_meta(const io::SafetensorsFile& f, const std::string& key, const std::string& path) {
  auto it = f.metadata.find(key);
  ANIMA_CHECK(it != f.metadata.end(), "train", "'", path, "' has no metadata '", key,
              "': not an anima training checkpoint");
  return it->second;
}

// The state a run carries from step to step besides the model and the optimiser.
struct TrainProgress {
  std::int64_t step = 0;
  data::LoaderPosition position;
  double epoch_loss_sum = 0.0;  // over the current epoch's steps so far
  std::int64_t epoch_steps = 0, epoch_correct = 0, epoch_seen = 0, epoch_skipped = 0;
  double best_accuracy = -1.0;
  std::int64_t best_epoch = -1, bad_epochs = 0;
};

template <class Optimizer, class Scheduler>
class ClassifierTrainer {
 public:
  ClassifierTrainer(const TrainClassifierOptions& o, std::shared_ptr<nn::Module> model, Optimizer& opt,
                    Scheduler* sched, const data::ImageFolder& train, const data::ImageFolder& val)
      : o_(o),
        model_(std::move(model)),
        opt_(opt),
        sched_(sched),
        train_(train),
        val_(val),
        classes_(static_cast<int>(train.classes().size())) {}

  io::StateDict checkpoint_tensors() const {
    io::StateDict sd;
    const io::StateDict model_sd = model_->state_dict(), optim_sd = opt_.state_dict();
    for (const auto& item : model_sd.items()) sd.insert("model/" + item.first, contiguous_copy(item.second));
    for (const auto& item : optim_sd.items()) sd.insert("optim/" + item.first, item.second);
    sd.insert("run/epoch_loss_sum", full({}, p_.epoch_loss_sum, TensorOptions(DType::Float64)));
    sd.insert("run/best_accuracy", full({}, p_.best_accuracy, TensorOptions(DType::Float64)));
    return sd;
  }

  void save_checkpoint(const std::string& name) const {
    nlohmann::json sched = nullptr;
    if (sched_ != nullptr) {
      const optim::LRSchedulerState s = sched_->state();
      sched = {{"last_epoch", s.last_epoch}, {"base_lrs", s.base_lrs}, {"last_lrs", s.last_lrs}};
    }
    const std::map<std::string, std::string> meta = {{"anima_checkpoint", "classifier/1"},
                                                     {"step", std::to_string(p_.step)},
                                                     {"loader_epoch", std::to_string(p_.position.epoch)},
                                                     {"loader_batch", std::to_string(p_.position.batch)},
                                                     {"generator_offset", std::to_string(default_generator().offset())},
                                                     {"epoch_correct", std::to_string(p_.epoch_correct)},
                                                     {"epoch_seen", std::to_string(p_.epoch_seen)},
                                                     {"epoch_skipped", std::to_string(p_.epoch_skipped)},
                                                     {"epoch_steps", std::to_string(p_.epoch_steps)},
                                                     {"best_epoch", std::to_string(p_.best_epoch)},
                                                     {"bad_epochs", std::to_string(p_.bad_epochs)},
                                                     {"scheduler", sched.dump()}};
    io::save_weights_safetensors((std::filesystem::path(o_.out) / name).string(), checkpoint_tensors(), meta);
  }

  void load_checkpoint(const std::string& path) {
    const io::SafetensorsFile f = io::load_safetensors(path);
    ANIMA_CHECK(f.metadata.count("anima_checkpoint") != 0, "train", "'", path, "' is not an anima training checkpoint");
    io::StateDict model_sd, optim_sd;
    for (const auto& t : f.tensors) {
      if (t.first.rfind("model/", 0) == 0) model_sd.insert(t.first.substr(6), t.second);
      if (t.first.rfind("optim/", 0) == 0) optim_sd.insert(t.first.substr(6), t.second);
    }
    model_->load_state_dict(model_sd);
    opt_.load_state_dict(optim_sd);
    auto integer = [&](const char* key) { return std::stoll(checkpoint_meta(f, key, path)); };
    p_.step = integer("step");
    p_.position = {static_cast<std::uint64_t>(integer("loader_epoch")),
                   static_cast<std::uint64_t>(integer("loader_batch"))};
    p_.epoch_correct = integer("epoch_correct");
    p_.epoch_seen = integer("epoch_seen");
    p_.epoch_skipped = integer("epoch_skipped");
    p_.epoch_steps = integer("epoch_steps");
    p_.best_epoch = integer("best_epoch");
    p_.bad_epochs = integer("bad_epochs");
    p_.epoch_loss_sum = checkpoint_scalar(f, "run/epoch_loss_sum", path);
    p_.best_accuracy = checkpoint_scalar(f, "run/best_accuracy", path);
    default_generator().manual_seed(o_.seed);
    default_generator().advance(static_cast<std::uint64_t>(integer("generator_offset")));
    if (sched_ != nullptr) {
      const nlohmann::json s = nlohmann::json::parse(checkpoint_meta(f, "scheduler", path));
      optim::LRSchedulerState st;
      st.last_epoch = s.at("last_epoch").get<std::int64_t>();
      st.base_lrs = s.at("base_lrs").get<std::vector<double>>();
      st.last_lrs = s.at("last_lrs").get<std::vector<double>>();
      sched_->load_state(st);
    }
  }

  const TrainProgress& progress() const { return p_; }

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

  // Runs until the last epoch, early stopping, Ctrl-C (returns 130) or the test kill.
  int run(const std::atomic<bool>& interrupted) {
    data::DataLoaderOptions lo;
    lo.batch_size = static_cast<std::size_t>(o_.batch);
    lo.seed = o_.seed;
    lo.workers = o_.workers;
    const int size = o_.image_size;
    const std::size_t image_floats = static_cast<std::size_t>(3) * size * size;
    data::DataLoader<TrainBatch> loader(train_.size(), lo, [&](const data::BatchRequest& r) {
      TrainBatch b;
      b.pixels.resize(r.indices.size() * image_floats);
      for (std::size_t k = 0; k < r.indices.size(); ++k) {
        try {
          augment_into(train_, r.indices[k], data::sample_seed(o_.seed, r.epoch, r.indices[k]), size, o_.jitter,
                       &b.pixels[b.labels.size() * image_floats]);
        } catch (const Error& e) {
          if (!o_.skip_unreadable) throw;
          b.unreadable.push_back(e.what());
          continue;
        }
        b.labels.push_back(train_.samples()[r.indices[k]].label);
      }
      b.pixels.resize(b.labels.size() * image_floats);
      return b;
    });
    loader.seek(p_.position);
    const Device device = parse_device_option(o_.device, "train");
    std::ofstream metrics(std::filesystem::path(o_.out) / "metrics.jsonl", std::ios::app);
    while (static_cast<int>(loader.position().epoch) < o_.epochs) {
      const auto t0 = std::chrono::steady_clock::now();
      const std::uint64_t epoch = loader.position().epoch;
      model_->train();
      ProgressLine bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o_.epochs),
                       loader.batches_per_epoch(), "batches", o_.quiet);
      while (auto batch = loader.next()) {
        for (const std::string& why : batch->unreadable)
          if (!o_.quiet) std::fprintf(stderr, "skipped: %s\n", why.c_str());
        p_.epoch_skipped += static_cast<std::int64_t>(batch->unreadable.size());
        const std::int64_t n = static_cast<std::int64_t>(batch->labels.size());
        if (n < 2) {  // batch norm cannot train on one image (nor on none): no step
          p_.position = loader.position();
          continue;
        }
        Tensor x = from_vector(batch->pixels, {n, 3, size, size});
        Tensor y = from_vector(batch->labels, {n});
        if (device.is_cuda()) x = to(x, device), y = to(y, device);
        opt_.zero_grad();
        Tensor logits, loss;
        training_loss(x, y, logits, loss);
        backward(loss);
        opt_.step();
        const double l = item<double>(loss);
        const std::vector<float> lv = to_vector<float>(logits);
        for (std::int64_t i = 0; i < n; ++i) {
          const float* row = &lv[static_cast<std::size_t>(i * classes_)];
          p_.epoch_correct += std::max_element(row, row + classes_) - row == batch->labels[static_cast<std::size_t>(i)];
        }
        p_.epoch_seen += n;
        p_.epoch_loss_sum += l;
        ++p_.epoch_steps;
        ++p_.step;
        p_.position = loader.position();
        metrics << nlohmann::json{{"type", "step"},
                                  {"step", p_.step},
                                  {"epoch", epoch + 1},
                                  {"loss", l},
                                  {"lr", opt_.group(0).lr}}
                       .dump()
                << "\n"
                << std::flush;
        char detail[64];
        std::snprintf(detail, sizeof detail, "loss %.4f", l);
        bar.update(p_.position.batch, detail);
        if (o_.checkpoint_every > 0 && p_.step % o_.checkpoint_every == 0)
          save_checkpoint("checkpoint_last.safetensors");
        if (o_.kill_after_steps > 0 && p_.step == o_.kill_after_steps) raise(SIGKILL);
        if (interrupted.load()) {
          save_checkpoint("checkpoint_last.safetensors");
          std::fprintf(stderr, "\ninterrupted: saved %s/checkpoint_last.safetensors (resume with --resume %s)\n",
                       o_.out.c_str(), o_.out.c_str());
          return 130;
        }
      }
      // The epoch is over: the loader stands at the next epoch's start.
      ANIMA_CHECK(p_.epoch_steps > 0, "train", "no training image of epoch ", epoch + 1, " could be read");
      const double train_loss = p_.epoch_loss_sum / static_cast<double>(p_.epoch_steps);
      const double train_accuracy = static_cast<double>(p_.epoch_correct) / static_cast<double>(p_.epoch_seen);
      const double lr = opt_.group(0).lr;
      if (sched_ != nullptr) sched_->step();
      double val_loss = 0.0, val_accuracy = 0.0;
      validate(device, val_loss, val_accuracy);
      p_.position = loader.position();
      p_.epoch_loss_sum = 0.0;
      const std::int64_t skipped = p_.epoch_skipped;
      p_.epoch_steps = p_.epoch_correct = p_.epoch_seen = p_.epoch_skipped = 0;
      const bool better = val_accuracy > p_.best_accuracy;
      if (better) {
        p_.best_accuracy = val_accuracy;
        p_.best_epoch = static_cast<std::int64_t>(epoch);
        p_.bad_epochs = 0;
      } else {
        ++p_.bad_epochs;
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      metrics << nlohmann::json{{"type", "epoch"},
                                {"epoch", epoch + 1},
                                {"train_loss", train_loss},
                                {"train_accuracy", train_accuracy},
                                {"val_loss", val_loss},
                                {"val_accuracy", val_accuracy},
                                {"lr", lr},
                                {"seconds", seconds},
                                {"skipped", skipped}}
                     .dump()
              << "\n"
              << std::flush;
      if (!o_.quiet)
        std::fprintf(stderr, "epoch %llu/%d: train loss %.4f accuracy %.4f, val loss %.4f accuracy %.4f%s\n",
                     static_cast<unsigned long long>(epoch + 1), o_.epochs, train_loss, train_accuracy, val_loss,
                     val_accuracy, better ? " (best)" : "");
      save_checkpoint("checkpoint_last.safetensors");
      if (better) {
        save_checkpoint("checkpoint_best.safetensors");
        nlohmann::json labels = train_.classes();
        io::save_weights_safetensors((std::filesystem::path(o_.out) / "weights.safetensors").string(),
                                     model_->state_dict(), {{"labels", labels.dump()}});
      }
      media_plugin().train_report(o_.out);
      if (o_.patience > 0 && p_.bad_epochs >= o_.patience) {
        if (!o_.quiet) std::fprintf(stderr, "early stop: no better validation accuracy for %d epochs\n", o_.patience);
        break;
      }
    }
    return 0;
  }

 private:
  // Loss and accuracy on the validation split (evaluation transform, eval mode).
  void validate(Device device, double& loss, double& accuracy) {
    model_->eval();
    LoadedClassifier c{model_, classes_, device, o_.resize, o_.image_size};
    std::vector<std::string> files;
    for (const auto& s : val_.samples()) files.push_back(s.path.string());
    double loss_sum = 0.0;
    std::int64_t correct = 0;
    std::size_t read = 0;
    run_classifier(
        c, files, o_.batch,
        [&](std::size_t i, std::vector<float> logits) {
          const std::vector<double> p = softmax_probabilities(logits, files[i], o_.out);
          const int label = val_.samples()[i].label;
          loss_sum -= std::log(std::max(p[static_cast<std::size_t>(label)], 1e-300));
          correct += std::max_element(p.begin(), p.end()) - p.begin() == label;
          ++read;
        },
        o_.skip_unreadable ? std::function<void(std::size_t, const Error&)>([](std::size_t, const Error&) {})
                           : std::function<void(std::size_t, const Error&)>());
    ANIMA_CHECK(read > 0, "train", "no validation image could be read");
    loss = loss_sum / static_cast<double>(read);
    accuracy = static_cast<double>(correct) / static_cast<double>(read);
    model_->train();
  }

  const TrainClassifierOptions& o_;
  std::shared_ptr<nn::Module> model_;
  Optimizer& opt_;
  Scheduler* sched_;
  const data::ImageFolder& train_;
  const data::ImageFolder& val_;
  int classes_;
  TrainProgress p_;
};

namespace detail {
inline std::atomic<bool>& train_interrupted() {
  static std::atomic<bool> flag{false};
  return flag;
}
inline void on_train_sigint(int) { train_interrupted().store(true); }
}  // namespace detail

// Keeps only the metrics lines a checkpoint at `step` has seen (steps <= step, epochs <= epochs_done).
inline void truncate_metrics(const std::filesystem::path& path, std::int64_t step, std::uint64_t epochs_done) {
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;  // a line cut by a kill
    const bool keep = j.value("type", "") == "step" ? j.value("step", std::int64_t{0}) <= step
                                                    : j.value("epoch", std::uint64_t{0}) <= epochs_done;
    if (keep) kept += line + "\n";
  }
  in.close();
  io::write_file_atomic(path.string(), kept.data(), kept.size(), "train");
}

template <class Optimizer>
int train_with(const TrainClassifierOptions& o, std::shared_ptr<nn::Module> model, Optimizer& opt,
               const data::ImageFolder& train, const data::ImageFolder& val, bool resuming) {
  std::unique_ptr<optim::LRScheduler<Optimizer>> sched;
  if (o.schedule == "step") sched = std::make_unique<optim::StepLR<Optimizer>>(opt, o.step_size, o.gamma);
  if (o.schedule == "cosine") sched = std::make_unique<optim::CosineAnnealingLR<Optimizer>>(opt, o.epochs, 0.0);
  ClassifierTrainer<Optimizer, optim::LRScheduler<Optimizer>> trainer(o, model, opt, sched.get(), train, val);
  const std::filesystem::path last = std::filesystem::path(o.out) / "checkpoint_last.safetensors";
  if (resuming && std::filesystem::exists(last)) {
    trainer.load_checkpoint(last.string());
    truncate_metrics(std::filesystem::path(o.out) / "metrics.jsonl", trainer.progress().step,
                     trainer.progress().position.epoch);
  } else if (resuming) {  // stopped before its first checkpoint: it starts over
    truncate_metrics(std::filesystem::path(o.out) / "metrics.jsonl", 0, 0);
  }
  detail::train_interrupted().store(false);
  struct sigaction action {
  }, previous{};
  action.sa_handler = detail::on_train_sigint;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &previous);
  int status = 0;
  try {
    status = trainer.run(detail::train_interrupted());
  } catch (...) {
    sigaction(SIGINT, &previous, nullptr);
    throw;
  }
  sigaction(SIGINT, &previous, nullptr);
  return status;
}

inline int train_classifier(TrainClassifierOptions o) {
  namespace fs = std::filesystem;
  const bool resuming = !o.resume.empty();
  if (resuming) {
    const fs::path config = fs::path(o.resume) / "config.json";
    std::ifstream in(config);
    ANIMA_CHECK(in.good(), "train", "cannot read '", config.string(), "' (is '", o.resume, "' a run folder?)");
    const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    ANIMA_CHECK(!j.is_discarded(), "train", "'", config.string(), "' is not valid JSON");
    const TrainClassifierOptions saved = train_options_from_json(j.at("settings"), config.string());
    const int kill = o.kill_after_steps;
    const bool quiet = o.quiet;
    const std::string commit = o.source_commit;
    o = saved;
    o.source_commit = commit;
    o.out = o.resume = fs::path(config).parent_path().string();
    o.kill_after_steps = kill;
    o.quiet = quiet;
  }
  check_train_options(o);
  ANIMA_CHECK(!o.out.empty(), "train", "--out RUN_DIR is required");
  const data::ImageFolder train(fs::path(o.data) / "train");
  const data::ImageFolder val(fs::path(o.data) / "val");
  ANIMA_CHECK(val.classes() == train.classes(), "train", "'", (fs::path(o.data) / "val").string(),
              "' has other class folders than '", (fs::path(o.data) / "train").string(), "'");
  const int classes = static_cast<int>(train.classes().size());
  ANIMA_CHECK(classes >= 2, "train", "'", (fs::path(o.data) / "train").string(), "' has fewer than two classes");
  const Device device = parse_device_option(o.device, "train");
  require_device(device, "train");

  std::error_code ec;
  fs::create_directories(o.out, ec);
  ANIMA_CHECK(fs::is_directory(o.out, ec), "train", "cannot create the run folder '", o.out, "'");
  if (!resuming) {
    ANIMA_CHECK(!fs::exists(fs::path(o.out) / "checkpoint_last.safetensors"), "train", "'", o.out,
                "' already holds a run: continue it with --resume ", o.out, ", or choose another --out");
    const nlohmann::json config = {
        {"settings", train_options_json(o)},
        {"source_commit", o.source_commit.empty() ? "unknown" : o.source_commit},
        {"classes", train.classes()},
        {"train_samples", train.size()},
        {"val_samples", val.size()},
        {"data_fingerprint", {{"train", data_fingerprint(train)}, {"val", data_fingerprint(val)}}}};
    const std::string text = config.dump(1) + "\n";
    io::write_file_atomic((fs::path(o.out) / "config.json").string(), text.data(), text.size(), "train");
    io::write_file_atomic((fs::path(o.out) / "metrics.jsonl").string(), "", 0, "train");
  }

  manual_seed(o.seed);
  std::shared_ptr<nn::Module> model;
  if (o.weights.empty()) {
    model = nets::make_net(o.net, classes);
  } else {
    const io::StateDict sd = io::load_weights(o.weights);
    model = build_classifier(o.net, sd, o.net == "inception_v3", o.weights);
    auto& net = dynamic_cast<nets::ImageClassifier&>(*model);
    if (net.num_classes() != classes) net.replace_classifier(classes);
  }
  if (o.freeze_backbone) dynamic_cast<nets::ImageClassifier&>(*model).freeze_backbone();
  if (device.is_cuda()) model->to(device);
  std::vector<Tensor> params;
  for (const Tensor& p : model->parameters())
    if (p.requires_grad()) params.push_back(p);
  if (o.optimizer == "sgd") {
    optim::SGD opt(params, optim::SGDOptions{o.lr, o.momentum, o.weight_decay});
    return train_with(o, model, opt, train, val, resuming);
  }
  if (o.optimizer == "adam") {
    optim::Adam opt(params, optim::AdamOptions{o.lr, 0.9, 0.999, 1e-8, o.weight_decay, false});
    return train_with(o, model, opt, train, val, resuming);
  }
  optim::AdamW opt(params, optim::AdamWOptions{o.lr, 0.9, 0.999, 1e-8, o.weight_decay, false});
  return train_with(o, model, opt, train, val, resuming);
}

// Registers `anima train` with its `classifier` subcommand; the exit status goes to `status`;
// `source_commit` (the build's git commit) is recorded in config.json.
inline CLI::App* add_train_command(CLI::App& app, int& status, const std::string& source_commit = "") {
  CLI::App* train = app.add_subcommand("train", "train a model on labelled data (resumable runs)");
  train->require_subcommand(1);
  auto o = std::make_shared<TrainClassifierOptions>();
  o->source_commit = source_commit;
  CLI::App* cmd = train->add_subcommand("classifier", "fine-tune an ImageNet-style classifier on an image folder");
  cmd->add_option("--net", o->net, "vgg16, vgg16_bn, resnet50, mobilenet_v2 or inception_v3")
      ->check(CLI::IsMember(nets::net_names()));
  cmd->add_option("--data", o->data, "a folder with train/ and val/, each a folder per class");
  cmd->add_option("--out", o->out, "the run folder (config, checkpoints, metrics, weights)");
  cmd->add_option("--resume", o->resume, "continue the run in this folder with its saved settings");
  cmd->add_option("--weights", o->weights, "start from these weights (e.g. torchvision's ImageNet .pth)");
  cmd->add_option("--epochs", o->epochs, "epochs (default 30)");
  cmd->add_option("--batch", o->batch, "images per step (default 32)");
  cmd->add_option("--optimizer", o->optimizer, "sgd (default), adam or adamw");
  cmd->add_option("--lr", o->lr, "learning rate (default 0.01)");
  cmd->add_option("--momentum", o->momentum, "SGD momentum (default 0.9)");
  cmd->add_option("--weight-decay", o->weight_decay, "weight decay (default 1e-4)");
  cmd->add_option("--schedule", o->schedule, "none (default), step or cosine");
  cmd->add_option("--step-size", o->step_size, "step schedule: epochs between decays (default 10)");
  cmd->add_option("--gamma", o->gamma, "step schedule: decay factor (default 0.1)");
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
  cmd->add_option("--patience", o->patience, "stop after this many epochs without a better val accuracy (0: never)");
  cmd->add_option("--checkpoint-every", o->checkpoint_every, "also checkpoint every N steps (0: each epoch only)");
  cmd->add_option("--workers", o->workers, "threads decoding and augmenting images (default 2)");
  cmd->add_option("--seed", o->seed, "seed of the initialisation, the order and the augmentations (default 0)");
  cmd->add_option("--device", o->device, "cpu (default), cuda or cuda:N");
  cmd->add_flag("--skip-unreadable", o->skip_unreadable,
                "leave out images that cannot be decoded (counted per epoch) instead of stopping");
  cmd->add_flag("--quiet", o->quiet, "no progress on stderr");
  cmd->add_option("--kill-after-steps", o->kill_after_steps, "testing: end with SIGKILL after this step")->group("");
  cmd->callback([o, &status] {
    if (o->resume.empty()) {
      ANIMA_CHECK(!o->net.empty() && !o->data.empty() && !o->out.empty(), "train",
                  "--net, --data and --out are required (or --resume RUN_DIR)");
    }
    status = train_classifier(*o);
  });
  return cmd;
}

}  // namespace anima::cli
