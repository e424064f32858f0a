// tools/anima/training_loop.hpp — the resumable epoch loop that every `anima train` task shares
// (train_command.hpp: classifiers; train_detector.hpp: Mask R-CNN).
//
// A task says what a batch is and how to train on it, validate and export; the loop does the rest:
//   for each epoch: the task's batches from a data::DataLoader (Philox-shuffled by seed and epoch,
//     --workers threads); per batch the task's forward and backward, the optimiser's step, the warmup
//     schedule's step (per step, during the first epoch), a metrics line, the progress line;
//   at the epoch's end: the epoch schedule's step, the task's validation, the best metric (the task's
//     best_metric, higher is better), checkpoints, the exported weights of the best epoch, the report,
//     early stopping on --patience.
// RUN_DIR/metrics.jsonl gets {"type": "step", "step", "epoch", "loss", "lr"} per step and
// {"type": "epoch", "epoch", "train_loss", <the task's training fields>, <its validation fields>, "lr",
// "seconds", "skipped"} per epoch.
// A checkpoint (safetensors, written to a temporary file and renamed) holds the model ("model/<name>"),
// the optimiser ("optim/<name>"), the epoch's running sums ("run/<name>", float64) and in its metadata
// the task's tag, the step, the loader's position, the random generator's offset, the schedules' states,
// the optimiser's current rates and the early-stopping state. Loading one restores all of it, so that a
// run stopped at any point (even by SIGKILL) and resumed ends with the same bits, on the CPU, as one
// that was not stopped: the order, the augmentations and dropout depend only on the seed and the
// position.
// Ctrl-C finishes the current step, saves checkpoint_last and returns 130. --kill-after-steps N (for
// the tests) ends the process with SIGKILL after step N.
#pragma once

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/generator.hpp>
#include <anima/data/data_loader.hpp>
#include <anima/io/atomic_file.hpp>
#include <anima/io/safetensors.hpp>
#include <anima/io/weights_file.hpp>
#include <anima/nn/module.hpp>
#include <anima/ops/factory.hpp>
#include <anima/optim/lr_scheduler.hpp>

#include "media.hpp"
#include "progress_line.hpp"

namespace anima::cli {

// What the loop takes from a task's options.
struct TrainingLoopSettings {
  std::string out;
  int epochs = 1, batch = 1, workers = 0, patience = 0, checkpoint_every = 0, kill_after_steps = 0;
  int warmup_steps = 0;  // linear warmup from lr · warmup_factor over the first steps (capped to epoch 1)
  double warmup_factor = 0.001;
  std::uint64_t seed = 0;
  bool quiet = false;
};

// What a run carries from step to step besides the model and the optimiser.
struct TrainProgress {
  std::int64_t step = 0;
  data::LoaderPosition position;
  double epoch_loss_sum = 0.0;               // over the current epoch's steps so far
  std::map<std::string, double> epoch_sums;  // the task's running sums of the epoch (e.g. correct, seen)
  std::int64_t epoch_steps = 0, epoch_skipped = 0;
  double best_metric = -1.0;
  std::int64_t best_epoch = -1, bad_epochs = 0;
};

inline nlohmann::json scheduler_state_json(const optim::LRSchedulerState& s) {
  return {{"last_epoch", s.last_epoch}, {"base_lrs", s.base_lrs}, {"last_lrs", s.last_lrs}};
}

inline optim::LRSchedulerState scheduler_state_from_json(const nlohmann::json& s) {
  optim::LRSchedulerState st;
  st.last_epoch = s.at("last_epoch").get<std::int64_t>();
  st.base_lrs = s.at("base_lrs").get<std::vector<double>>();
  st.last_lrs = s.at("last_lrs").get<std::vector<double>>();
  return st;
}

// The loop over epochs for `Task`, which provides:
//   using Batch (with a member std::vector<std::string> unreadable: the images left out, and why);
//   const char* tag() const                       the checkpoint's kind, e.g. "classifier/1"
//   std::size_t train_size() const                training samples
//   Batch make_batch(const data::BatchRequest&)   decoding and augmentation (called on worker threads)
//   bool train_step(Batch&, TrainProgress&, double& loss)   forward and backward (the gradients are
//                                                 zeroed before); false: the batch is not trained on
//   nlohmann::json epoch_fields(const TrainProgress&)       training fields of the epoch's line
//   nlohmann::json validate()                     validation fields of the epoch's line, including
//                                                 best_metric()
//   const char* best_metric() const               the field to maximise
//   void export_best()                            writes RUN_DIR/weights.safetensors
template <class Task, class Optimizer>
class TrainingLoop {
 public:
  using Scheduler = optim::LRScheduler<Optimizer>;

  TrainingLoop(const TrainingLoopSettings& s, Task& task, std::shared_ptr<nn::Module> model, Optimizer& opt,
               Scheduler* epoch_schedule)
      : s_(s), task_(task), model_(std::move(model)), opt_(opt), schedule_(epoch_schedule) {
    const std::int64_t batches = static_cast<std::int64_t>((task.train_size() + static_cast<std::size_t>(s.batch) - 1) /
                                                           static_cast<std::size_t>(s.batch));
    warmup_steps_ = std::min<std::int64_t>(s.warmup_steps, batches - 1);
  }

  const TrainProgress& progress() const { return p_; }

  void save_checkpoint(const std::string& name) const {
    io::StateDict sd;
    const io::StateDict model_sd = model_->state_dict(), optim_sd = opt_.state_dict();
    for (const auto& item : model_sd.items()) sd.insert("model/" + item.first, contiguous_copy(item.second));
    for (const auto& item : optim_sd.items()) sd.insert("optim/" + item.first, item.second);
    auto scalar = [](double v) { return full({}, v, TensorOptions(DType::Float64)); };
    sd.insert("run/epoch_loss_sum", scalar(p_.epoch_loss_sum));
    sd.insert("run/best_metric", scalar(p_.best_metric));
    for (const auto& kv : p_.epoch_sums) sd.insert("run/sum/" + kv.first, scalar(kv.second));
    std::vector<double> lrs;
    for (std::size_t i = 0; i < opt_.num_groups(); ++i) lrs.push_back(opt_.group(i).lr);
    const std::map<std::string, std::string> meta = {
        {"anima_checkpoint", task_.tag()},
        {"step", std::to_string(p_.step)},
        {"loader_epoch", std::to_string(p_.position.epoch)},
        {"loader_batch", std::to_string(p_.position.batch)},
        {"generator_offset", std::to_string(default_generator().offset())},
        {"epoch_skipped", std::to_string(p_.epoch_skipped)},
        {"epoch_steps", std::to_string(p_.epoch_steps)},
        {"best_epoch", std::to_string(p_.best_epoch)},
        {"bad_epochs", std::to_string(p_.bad_epochs)},
        {"lrs", nlohmann::json(lrs).dump()},
        {"scheduler", schedule_ ? scheduler_state_json(schedule_->state()).dump() : "null"},
        {"warmup", warmup_ ? scheduler_state_json(warmup_->state()).dump() : "null"}};
    io::save_weights_safetensors((std::filesystem::path(s_.out) / name).string(), sd, meta);
  }

  void load_checkpoint(const std::string& path) {
    const io::SafetensorsFile f = io::load_safetensors(path);
    const std::string tag = meta(f, "anima_checkpoint", path);
    ANIMA_CHECK(tag == task_.tag(), "train", "'", path, "' is a '", tag, "' checkpoint, this run trains '", task_.tag(),
                "'");
    io::StateDict model_sd, optim_sd;
    for (const auto& t : f.tensors) {
      if (t.first.rfind("model/", 0) == 0) model_sd.insert(t.first.substr(6), t.second);
      if (t.first.rfind("optim/", 0) == 0) optim_sd.insert(t.first.substr(6), t.second);
      if (t.first.rfind("run/sum/", 0) == 0) p_.epoch_sums[t.first.substr(8)] = item<double>(t.second);
    }
    model_->load_state_dict(model_sd);
    opt_.load_state_dict(optim_sd);
    auto integer = [&](const char* key) { return std::stoll(meta(f, key, path)); };
    p_.step = integer("step");
    p_.position = {static_cast<std::uint64_t>(integer("loader_epoch")),
                   static_cast<std::uint64_t>(integer("loader_batch"))};
    p_.epoch_skipped = integer("epoch_skipped");
    p_.epoch_steps = integer("epoch_steps");
    p_.best_epoch = integer("best_epoch");
    p_.bad_epochs = integer("bad_epochs");
    p_.epoch_loss_sum = scalar(f, "run/epoch_loss_sum", path);
    p_.best_metric = scalar(f, "run/best_metric", path);
    default_generator().manual_seed(s_.seed);
    default_generator().advance(static_cast<std::uint64_t>(integer("generator_offset")));
    const nlohmann::json sched = nlohmann::json::parse(meta(f, "scheduler", path));
    if (schedule_ != nullptr && !sched.is_null()) schedule_->load_state(scheduler_state_from_json(sched));
    const nlohmann::json warm = nlohmann::json::parse(meta(f, "warmup", path));
    if (!warm.is_null()) {
      make_warmup();
      warmup_->load_state(scheduler_state_from_json(warm));
    }
    // The rates as they were (the schedules above set their own last rates; chained, the optimiser's
    // rate is the product of both).
    const std::vector<double> lrs = nlohmann::json::parse(meta(f, "lrs", path)).get<std::vector<double>>();
    ANIMA_CHECK(lrs.size() == opt_.num_groups(), "train", "'", path, "' has ", lrs.size(), " learning rates for ",
                opt_.num_groups(), " parameter groups");
    for (std::size_t i = 0; i < lrs.size(); ++i) opt_.set_lr(i, lrs[i]);
  }

  // Runs until the last epoch, early stopping, Ctrl-C (returns 130) or the test kill.
  int run(const std::atomic<bool>& interrupted) {
    // The report writer is bound now: a missing plugin fails before hours of training, and one replaced
    // on disk while the run goes on (an upgrade) does not stop it at the end of an epoch.
    media_plugin();
    data::DataLoaderOptions lo;
    lo.batch_size = static_cast<std::size_t>(s_.batch);
    lo.seed = s_.seed;
    lo.workers = s_.workers;
    data::DataLoader<typename Task::Batch> loader(task_.train_size(), lo,
                                                  [&](const data::BatchRequest& r) { return task_.make_batch(r); });
    loader.seek(p_.position);
    if (p_.step == 0 && warmup_steps_ > 0 && !warmup_) make_warmup();
    std::ofstream metrics(std::filesystem::path(s_.out) / "metrics.jsonl", std::ios::app);
    bool ran_an_epoch = false;
    while (static_cast<int>(loader.position().epoch) < s_.epochs) {
      // Early stopping is decided before an epoch starts, so that a run resumed from the checkpoint of
      // the epoch that triggered it stops too.
      if (s_.patience > 0 && p_.bad_epochs >= s_.patience) {
        if (!s_.quiet)
          std::fprintf(stderr, "early stop: no better %s for %d epochs\n", task_.best_metric(), s_.patience);
        break;
      }
      const auto t0 = std::chrono::steady_clock::now();
      const std::uint64_t epoch = loader.position().epoch;
      model_->train();
      ProgressLine bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(s_.epochs),
                       loader.batches_per_epoch(), "batches", s_.quiet);
      while (auto batch = loader.next()) {
        for (const std::string& why : batch->unreadable)
          if (!s_.quiet) std::fprintf(stderr, "skipped: %s\n", why.c_str());
        p_.epoch_skipped += static_cast<std::int64_t>(batch->unreadable.size());
        opt_.zero_grad();
        double loss = 0.0;
        if (!task_.train_step(*batch, p_, loss)) {
          p_.position = loader.position();
          continue;
        }
        opt_.step();
        const double lr = opt_.group(0).lr;
        if (warmup_ && warmup_->last_epoch() < warmup_steps_) warmup_->step();
        p_.epoch_loss_sum += loss;
        ++p_.epoch_steps;
        ++p_.step;
        p_.position = loader.position();
        metrics << nlohmann::json{{"type", "step"}, {"step", p_.step}, {"epoch", epoch + 1}, {"loss", loss}, {"lr", lr}}
                       .dump()
                << "\n"
                << std::flush;
        char detail[64];
        std::snprintf(detail, sizeof detail, "loss %.4f", loss);
        bar.update(p_.position.batch, detail);
        if (s_.checkpoint_every > 0 && p_.step % s_.checkpoint_every == 0)
          save_checkpoint("checkpoint_last.safetensors");
        if (s_.kill_after_steps > 0 && p_.step == s_.kill_after_steps) raise(SIGKILL);
        if (interrupted.load()) {
          save_checkpoint("checkpoint_last.safetensors");
          std::fprintf(stderr, "\ninterrupted: saved %s/checkpoint_last.safetensors (resume with --resume %s)\n",
                       s_.out.c_str(), s_.out.c_str());
          return 130;
        }
      }
      // The epoch is over: the loader stands at the next epoch's start.
      ANIMA_CHECK(p_.epoch_steps > 0, "train", "no training batch of epoch ", epoch + 1, " could be used");
      nlohmann::json line = {{"type", "epoch"},
                             {"epoch", epoch + 1},
                             {"train_loss", p_.epoch_loss_sum / static_cast<double>(p_.epoch_steps)}};
      line.update(task_.epoch_fields(p_));
      const double lr = opt_.group(0).lr;
      if (schedule_ != nullptr) schedule_->step();
      line.update(task_.validate());
      model_->train();
      const double metric = line.at(task_.best_metric()).template get<double>();
      p_.position = loader.position();
      p_.epoch_loss_sum = 0.0;
      p_.epoch_sums.clear();
      line["lr"] = lr;
      line["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      line["skipped"] = p_.epoch_skipped;
      p_.epoch_steps = p_.epoch_skipped = 0;
      const bool better = metric > p_.best_metric;
      if (better) {
        p_.best_metric = metric;
        p_.best_epoch = static_cast<std::int64_t>(epoch);
        p_.bad_epochs = 0;
      } else {
        ++p_.bad_epochs;
      }
      metrics << line.dump() << "\n" << std::flush;
      if (!s_.quiet) {
        std::string fields;
        for (auto it = line.begin(); it != line.end(); ++it)
          if (it.key().rfind("train_", 0) == 0 || it.key().rfind("val_", 0) == 0)
            fields += " " + it.key() + " " + (it->is_number_float() ? format4(it->get<double>()) : it->dump());
        std::fprintf(stderr, "epoch %llu/%d:%s%s\n", static_cast<unsigned long long>(epoch + 1), s_.epochs,
                     fields.c_str(), better ? " (best)" : "");
      }
      // The best epoch's files before checkpoint_last: a run killed in between resumes from the
      // previous checkpoint_last, replays the epoch and writes them again; the other order would
      // resume past an epoch whose best weights were never written.
      if (better) {
        save_checkpoint("checkpoint_best.safetensors");
        task_.export_best();
      }
      save_checkpoint("checkpoint_last.safetensors");
      media_plugin().train_report(s_.out);
      ran_an_epoch = true;
    }
    // A run resumed after its last checkpoint (killed while writing its report) writes the report now.
    if (!ran_an_epoch) media_plugin().train_report(s_.out);
    return 0;
  }

 private:
  static std::string format4(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", v);
    return buf;
  }
  static std::string meta(const io::SafetensorsFile& f, const std::string& key, const std::string& path) {
    auto it = f.metadata.find(key);
    ANIMA_CHECK(it != f.metadata.end(), "train", "'", path, "' has no metadata '", key,
                "': not an anima training checkpoint");
    return it->second;
  }
  static double scalar(const io::SafetensorsFile& f, const std::string& name, const std::string& path) {
    auto it = f.tensors.find(name);
    ANIMA_CHECK(it != f.tensors.end(), "train", "'", path, "' has no '", name, "': not an anima training checkpoint");
    return item<double>(it->second);
  }
  void make_warmup() {
    warmup_ = std::make_unique<optim::LinearLR<Optimizer>>(opt_, s_.warmup_factor, 1.0,
                                                           std::max<std::int64_t>(warmup_steps_, 1));
  }

  const TrainingLoopSettings& s_;
  Task& task_;
  std::shared_ptr<nn::Module> model_;
  Optimizer& opt_;
  Scheduler* schedule_;
  std::unique_ptr<optim::LinearLR<Optimizer>> warmup_;
  std::int64_t warmup_steps_ = 0;
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

// The epoch schedule `name` (none, step, multistep, cosine) over `opt`; null for none.
template <class Optimizer>
std::unique_ptr<optim::LRScheduler<Optimizer>> make_epoch_schedule(Optimizer& opt, const std::string& name, int epochs,
                                                                   int step_size,
                                                                   const std::vector<std::int64_t>& milestones,
                                                                   double gamma) {
  if (name == "step") return std::make_unique<optim::StepLR<Optimizer>>(opt, step_size, gamma);
  if (name == "multistep") return std::make_unique<optim::MultiStepLR<Optimizer>>(opt, milestones, gamma);
  if (name == "cosine") return std::make_unique<optim::CosineAnnealingLR<Optimizer>>(opt, epochs, 0.0);
  return nullptr;
}

// Runs `task` with the loop: restores checkpoint_last when resuming (and trims metrics.jsonl to what
// it has seen), turns Ctrl-C into a checkpoint and status 130 while it runs.
template <class Task, class Optimizer>
int run_training(const TrainingLoopSettings& s, Task& task, std::shared_ptr<nn::Module> model, Optimizer& opt,
                 optim::LRScheduler<Optimizer>* schedule, bool resuming) {
  TrainingLoop<Task, Optimizer> loop(s, task, std::move(model), opt, schedule);
  const std::filesystem::path last = std::filesystem::path(s.out) / "checkpoint_last.safetensors";
  const std::filesystem::path metrics = std::filesystem::path(s.out) / "metrics.jsonl";
  if (resuming && std::filesystem::exists(last)) {
    loop.load_checkpoint(last.string());
    truncate_metrics(metrics, loop.progress().step, loop.progress().position.epoch);
  } else if (resuming) {  // stopped before its first checkpoint: it starts over
    truncate_metrics(metrics, 0, 0);
  }
  detail::train_interrupted().store(false);
  struct sigaction action {
  }, previous{};
  action.sa_handler = detail::on_train_sigint;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &previous);
  int status = 0;
  try {
    status = loop.run(detail::train_interrupted());
  } catch (...) {
    sigaction(SIGINT, &previous, nullptr);
    throw;
  }
  sigaction(SIGINT, &previous, nullptr);
  return status;
}

// The run folder of a new run: created, refused when it already holds a run, config.json written and
// metrics.jsonl emptied.
inline void start_run_folder(const std::string& out, const nlohmann::json& config) {
  namespace fs = std::filesystem;
  ANIMA_CHECK(!out.empty(), "train", "--out RUN_DIR is required");
  std::error_code ec;
  fs::create_directories(out, ec);
  ANIMA_CHECK(fs::is_directory(out, ec), "train", "cannot create the run folder '", out, "'");
  ANIMA_CHECK(!fs::exists(fs::path(out) / "checkpoint_last.safetensors"), "train", "'", out,
              "' already holds a run: continue it with --resume ", out, ", or choose another --out");
  const std::string text = config.dump(1) + "\n";
  io::write_file_atomic((fs::path(out) / "config.json").string(), text.data(), text.size(), "train");
  io::write_file_atomic((fs::path(out) / "metrics.jsonl").string(), "", 0, "train");
}

// The "settings" object of RUN_DIR/config.json.
inline nlohmann::json read_run_settings(const std::string& run_dir) {
  const std::filesystem::path config = std::filesystem::path(run_dir) / "config.json";
  std::ifstream in(config);
  ANIMA_CHECK(in.good(), "train", "cannot read '", config.string(), "' (is '", run_dir, "' a run folder?)");
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  ANIMA_CHECK(!j.is_discarded() && j.is_object() && j.contains("settings"), "train", "'", config.string(),
              "' is not a training configuration");
  return j.at("settings");
}

}  // namespace anima::cli
