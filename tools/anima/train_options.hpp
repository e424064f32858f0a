// tools/anima/train_options.hpp — the settings every `anima train` task shares (epochs, batch,
// optimiser, learning-rate schedule, warmup, early stopping, checkpoints, workers, seed, device), their
// command-line options, their form in RUN_DIR/config.json, and the optimiser they choose.
//
//   --optimizer sgd|adam|adamw   SGD with momentum (and weight decay), Adam, AdamW (decoupled decay)
//   --schedule none|step|multistep|cosine   per epoch: lr · gamma every --step-size epochs; at each of
//                                --milestones; a cosine to 0 over the epochs
//   --warmup-steps N             per step, during the first epoch: the rate grows linearly from
//                                lr · 0.001 to lr over N steps (torchvision's detection recipe), capped
//                                at the first epoch's steps − 1
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <anima/core/error.hpp>
#include <anima/io/atomic_file.hpp>
#include <anima/optim/adam.hpp>
#include <anima/optim/sgd.hpp>

#include "training_loop.hpp"

namespace anima::cli {

struct TrainRunOptions {
  std::string out, weights;
  int classes = 0;  // the class count the data must have (0: whatever it has)
  int epochs = 30, batch = 32, workers = 2;
  std::string optimizer = "sgd";
  double lr = 0.01, momentum = 0.9, weight_decay = 1e-4;
  std::string schedule = "none";
  int step_size = 10;
  std::vector<std::int64_t> milestones;
  double gamma = 0.1;
  int warmup_steps = 0;
  int patience = 0, checkpoint_every = 0;
  bool skip_unreadable = false;  // leave out images that cannot be decoded (else stop with an error)
  std::uint64_t seed = 0;
  std::string device = "cpu";
  // Not saved: they belong to one invocation.
  std::string resume;  // a RUN_DIR to continue
  bool quiet = false;
  int kill_after_steps = 0;
  std::string source_commit;  // the build's git commit, for config.json
};

inline nlohmann::json run_options_json(const TrainRunOptions& o) {
  return {{"weights", o.weights},
          {"classes", o.classes},
          {"epochs", o.epochs},
          {"batch", o.batch},
          {"workers", o.workers},
          {"optimizer", o.optimizer},
          {"lr", o.lr},
          {"momentum", o.momentum},
          {"weight_decay", o.weight_decay},
          {"schedule", o.schedule},
          {"step_size", o.step_size},
          {"milestones", o.milestones},
          {"gamma", o.gamma},
          {"warmup_steps", o.warmup_steps},
          {"patience", o.patience},
          {"checkpoint_every", o.checkpoint_every},
          {"skip_unreadable", o.skip_unreadable},
          {"seed", o.seed},
          {"device", o.device}};
}

// Reads what run_options_json wrote (nlohmann::json exceptions for missing keys and wrong types).
inline void run_options_from_json(const nlohmann::json& j, TrainRunOptions& o) {
  j.at("weights").get_to(o.weights);
  o.classes = j.value("classes", 0);
  j.at("epochs").get_to(o.epochs);
  j.at("batch").get_to(o.batch);
  j.at("workers").get_to(o.workers);
  j.at("optimizer").get_to(o.optimizer);
  j.at("lr").get_to(o.lr);
  j.at("momentum").get_to(o.momentum);
  j.at("weight_decay").get_to(o.weight_decay);
  j.at("schedule").get_to(o.schedule);
  j.at("step_size").get_to(o.step_size);
  j.at("milestones").get_to(o.milestones);
  j.at("gamma").get_to(o.gamma);
  j.at("warmup_steps").get_to(o.warmup_steps);
  j.at("patience").get_to(o.patience);
  j.at("checkpoint_every").get_to(o.checkpoint_every);
  j.at("skip_unreadable").get_to(o.skip_unreadable);
  j.at("seed").get_to(o.seed);
  j.at("device").get_to(o.device);
}

inline void check_run_options(const TrainRunOptions& o) {
  ANIMA_CHECK(o.epochs >= 1 && o.batch >= 1 && o.workers >= 0 && o.warmup_steps >= 0 && o.patience >= 0 &&
                  o.checkpoint_every >= 0,
              "train",
              "expected --epochs >= 1, --batch >= 1, --workers >= 0, --warmup-steps >= 0, --patience >= 0 and "
              "--checkpoint-every >= 0");
  ANIMA_CHECK(o.classes >= 0, "train", "--classes must be >= 1 (or 0: the data's), got ", o.classes);
  ANIMA_CHECK(o.optimizer == "sgd" || o.optimizer == "adam" || o.optimizer == "adamw", "train",
              "--optimizer must be sgd, adam or adamw, got '", o.optimizer, "'");
  ANIMA_CHECK(o.schedule == "none" || o.schedule == "step" || o.schedule == "multistep" || o.schedule == "cosine",
              "train", "--schedule must be none, step, multistep or cosine, got '", o.schedule, "'");
  ANIMA_CHECK(o.schedule != "multistep" || !o.milestones.empty(), "train",
              "--schedule multistep needs --milestones (epochs, e.g. 16,22)");
  for (std::int64_t m : o.milestones) ANIMA_CHECK(m >= 1, "train", "--milestones must be epochs >= 1, got ", m);
  ANIMA_CHECK(o.lr > 0 && o.momentum >= 0 && o.weight_decay >= 0 && o.step_size >= 1 && o.gamma > 0, "train",
              "expected --lr > 0, --momentum >= 0, --weight-decay >= 0, --step-size >= 1, --gamma > 0");
}

// --classes N is a check: data with another number of classes (a missing or extra folder, a typo in an
// attribute) is an error naming `where`.
inline void check_class_count(const TrainRunOptions& o, std::size_t found, const std::string& where) {
  ANIMA_CHECK(o.classes == 0 || static_cast<std::size_t>(o.classes) == found, "train", "--classes ", o.classes,
              ", but '", where, "' has ", found, " class(es)");
}

// The shared options of `anima train <task>` (the defaults shown are o's values when called).
inline void add_run_options(CLI::App* cmd, TrainRunOptions& o) {
  cmd->add_option("--out", o.out, "the run folder (config, checkpoints, metrics, weights, report)");
  cmd->add_option("--resume", o.resume, "continue the run in this folder with its saved settings");
  cmd->add_option("--classes", o.classes, "the number of classes the data must have (a check; default: the data's)");
  cmd->add_option("--epochs", o.epochs, "epochs")->capture_default_str();
  cmd->add_option("--batch", o.batch, "images per step")->capture_default_str();
  cmd->add_option("--optimizer", o.optimizer, "sgd, adam or adamw")->capture_default_str();
  cmd->add_option("--lr", o.lr, "learning rate")->capture_default_str();
  cmd->add_option("--momentum", o.momentum, "SGD momentum")->capture_default_str();
  cmd->add_option("--weight-decay", o.weight_decay, "weight decay")->capture_default_str();
  cmd->add_option("--schedule", o.schedule, "none, step, multistep or cosine (per epoch)")->capture_default_str();
  cmd->add_option("--step-size", o.step_size, "step schedule: epochs between decays")->capture_default_str();
  cmd->add_option("--milestones", o.milestones, "multistep schedule: the epochs that decay (e.g. 16,22)")
      ->delimiter(',');
  cmd->add_option("--gamma", o.gamma, "step and multistep schedules: decay factor")->capture_default_str();
  cmd->add_option("--warmup-steps", o.warmup_steps, "linear warmup over the first steps (0: none)")
      ->capture_default_str();
  cmd->add_option("--patience", o.patience,
                  "stop after this many epochs without a better validation metric (0: never)");
  cmd->add_option("--checkpoint-every", o.checkpoint_every, "also checkpoint every N steps (0: each epoch only)");
  cmd->add_option("--workers", o.workers, "threads decoding and augmenting images")->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed of the initialisation, the order and the augmentations")
      ->capture_default_str();
  cmd->add_option("--device", o.device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_flag("--skip-unreadable", o.skip_unreadable,
                "leave out images that cannot be decoded (counted per epoch) instead of stopping");
  cmd->add_flag("--quiet", o.quiet, "no progress on stderr");
  cmd->add_option("--kill-after-steps", o.kill_after_steps, "testing: end with SIGKILL after this step")->group("");
}

// For --resume: the saved settings of the run in given.resume (read by `from_json`), with what belongs
// to this invocation (quiet, the test kill, the source commit) taken from `given`. The temporary files
// a killed run left half-written in the folder are removed.
template <class Options>
Options resumed_options(const Options& given,
                        const std::function<Options(const nlohmann::json&, const std::string&)>& from_json) {
  const std::string config = (std::filesystem::path(given.run.resume) / "config.json").string();
  Options o = from_json(read_run_settings(given.run.resume), config);
  o.run.source_commit = given.run.source_commit;
  o.run.out = o.run.resume = std::filesystem::path(config).parent_path().string();
  o.run.kill_after_steps = given.run.kill_after_steps;
  o.run.quiet = given.run.quiet;
  io::remove_stale_temporaries(o.run.out);
  return o;
}

inline TrainingLoopSettings loop_settings(const TrainRunOptions& o) {
  TrainingLoopSettings s;
  s.out = o.out;
  s.epochs = o.epochs, s.batch = o.batch, s.workers = o.workers, s.patience = o.patience;
  s.checkpoint_every = o.checkpoint_every, s.kill_after_steps = o.kill_after_steps;
  s.warmup_steps = o.warmup_steps;
  s.seed = o.seed;
  s.quiet = o.quiet;
  return s;
}

// Builds the chosen optimiser over `params` and its epoch schedule, and runs `task` with them.
template <class Task>
int train_task(const TrainRunOptions& o, Task& task, std::shared_ptr<nn::Module> model,
               const std::vector<Tensor>& params, bool resuming) {
  const TrainingLoopSettings s = loop_settings(o);
  auto go = [&](auto& opt) {
    auto schedule = make_epoch_schedule(opt, o.schedule, o.epochs, o.step_size, o.milestones, o.gamma);
    return run_training(s, task, model, opt, schedule.get(), resuming);
  };
  if (o.optimizer == "sgd") {
    optim::SGD opt(params, optim::SGDOptions{o.lr, o.momentum, o.weight_decay});
    return go(opt);
  }
  if (o.optimizer == "adam") {
    optim::Adam opt(params, optim::AdamOptions{o.lr, 0.9, 0.999, 1e-8, o.weight_decay, false});
    return go(opt);
  }
  optim::AdamW opt(params, optim::AdamWOptions{o.lr, 0.9, 0.999, 1e-8, o.weight_decay, false});
  return go(opt);
}

// FNV-1a (64 bits, hex) over `parts` in order: a data set's fingerprint from its files' names, sizes
// and labels, so that a changed data set changes it.
inline std::string fnv_fingerprint(const std::vector<std::string>& parts) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const std::string& s : parts)
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// The parameters of `model` that train (requires_grad).
inline std::vector<Tensor> trainable_parameters(const nn::Module& model) {
  std::vector<Tensor> params;
  for (const Tensor& p : model.parameters())
    if (p.requires_grad()) params.push_back(p);
  return params;
}

}  // namespace anima::cli
