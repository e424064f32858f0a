// anima/optim/lr_scheduler.hpp — learning-rate schedules (torch.optim.lr_scheduler of PyTorch 1.13):
// StepLR, MultiStepLR, CosineAnnealingLR, LinearLR and ReduceLROnPlateau.
//
// A schedule drives any optimiser with num_groups(), group(i).lr and set_lr(i, lr) (optim::SGD, Adam,
// AdamW, RMSprop); it is a template on the optimiser's type and holds a reference to it. Call step()
// once per epoch after the optimiser's steps (ReduceLROnPlateau: step(metric)); last_lr() is the rate
// of each group it last set.
//
// The epoch schedules count e = last_epoch: building one runs a first step at e = 0, and each step()
// adds 1 and sets every group's rate from its current rate lr (PyTorch's recursive get_lr, the path of
// scheduler.step() without an epoch argument; base_lr = the group's rate when the schedule was built):
//   StepLR(step_size s, γ):           lr · γ when e > 0 and e % s == 0, else lr
//   MultiStepLR(milestones, γ):       lr · γ^c where c = how many times e is in the milestones (0: lr)
//   CosineAnnealingLR(T, η_min):      e == 0: lr
//                                     (e − 1 − T) % 2T == 0: lr + (base_lr − η_min) · (1 − cos(π / T)) / 2
//                                     else: (1 + cos(π·e / T)) / (1 + cos(π·(e − 1) / T)) · (lr − η_min) + η_min
//                                     (a cosine from base_lr down to η_min over T epochs, then back up)
//   LinearLR(f0, f1, n):              e == 0: lr · f0;  e > n: lr;
//                                     else lr · (1 + (f1 − f0) / (n · f0 + (e − 1) · (f1 − f0)))
//                                     (the factor goes linearly from f0 to f1 over n epochs)
// ReduceLROnPlateau(metric): e += 1; the metric is better than best when (mode min) m < best·(1 − θ)
// (rel) or m < best − θ (abs); (mode max) m > best·(1 + θ) or m > best + θ. Better: best = m and
// bad = 0, else bad += 1. In cooldown (counter > 0): counter −= 1, bad = 0. When bad > patience every
// group's rate becomes max(lr · factor, min_lr_i), kept only when it drops by more than eps; then
// counter = cooldown, bad = 0. best starts at +inf (min) or −inf (max).
// Every expression is evaluated in PyTorch's order on doubles (std::cos and std::pow: the C library
// functions behind Python's math.cos and **): the same values as PyTorch's, bit for bit, on a build
// that does not fuse a·b + c into one rounding.
//
// state() / load_state() save and restore a schedule: last_epoch, base_lrs and last_lrs, and for
// ReduceLROnPlateau best, num_bad_epochs and cooldown_counter. load_state also sets every group's rate
// to last_lrs (the rate the schedule last set), so a resumed run continues where it stopped even when
// the optimiser's own state is not restored.
// Determinism: host arithmetic only.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <anima/core/error.hpp>

namespace anima::optim {

// What a schedule needs to resume; the fields after last_lrs are ReduceLROnPlateau's.
struct LRSchedulerState {
  std::int64_t last_epoch = 0;
  std::vector<double> base_lrs;  // epoch schedules
  std::vector<double> last_lrs;
  double best = 0.0;  // ReduceLROnPlateau
  std::int64_t num_bad_epochs = 0;
  std::int64_t cooldown_counter = 0;
};

// Throws anima::Error unless `s` can be restored into `scheduler` over an optimiser with `groups`
// groups: one rate per group (base_lrs too when the schedule keeps them), rates and counters >= 0,
// best not NaN.
inline void check_restorable_state(const char* scheduler, const LRSchedulerState& s, std::size_t groups,
                                   bool has_base_lrs) {
  ANIMA_CHECK(s.last_lrs.size() == groups && (!has_base_lrs || s.base_lrs.size() == groups), scheduler,
              "load_state: the state has ", s.base_lrs.size(), " base_lrs and ", s.last_lrs.size(),
              " last_lrs, the optimiser has ", groups, " group(s)");
  ANIMA_CHECK(s.last_epoch >= 0 && s.num_bad_epochs >= 0 && s.cooldown_counter >= 0, scheduler,
              "load_state: last_epoch, num_bad_epochs and cooldown_counter must be >= 0, got ", s.last_epoch, ", ",
              s.num_bad_epochs, ", ", s.cooldown_counter);
  ANIMA_CHECK(!std::isnan(s.best), scheduler, "load_state: best is NaN");
  for (std::size_t i = 0; i < groups; ++i)
    ANIMA_CHECK(s.last_lrs[i] >= 0.0 && (!has_base_lrs || s.base_lrs[i] >= 0.0), scheduler, "load_state: group ", i,
                " has last_lr ", s.last_lrs[i], has_base_lrs ? " and base_lr " : "",
                has_base_lrs ? std::to_string(s.base_lrs[i]) : std::string(), ", expected >= 0");
}

// The common part of the epoch schedules: the epoch count, the base and last rates, step().
template <class Optimizer>
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // e += 1 and every group's rate from the schedule.
  void step() {
    ++last_epoch_;
    const std::vector<double> lrs = compute_lr();
    for (std::size_t i = 0; i < lrs.size(); ++i) opt_.set_lr(i, lrs[i]);
    last_lr_ = lrs;
  }

  const std::vector<double>& last_lr() const { return last_lr_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  std::int64_t last_epoch() const { return last_epoch_; }

  LRSchedulerState state() const { return {last_epoch_, base_lrs_, last_lr_}; }

  void load_state(const LRSchedulerState& s) {
    const std::size_t n = opt_.num_groups();
    check_restorable_state(name_, s, n, true);
    last_epoch_ = s.last_epoch;
    base_lrs_ = s.base_lrs;
    last_lr_ = s.last_lrs;
    for (std::size_t i = 0; i < n; ++i) opt_.set_lr(i, last_lr_[i]);
  }

 protected:
  LRScheduler(Optimizer& opt, const char* name) : opt_(opt), name_(name) {
    for (std::size_t i = 0; i < opt.num_groups(); ++i) base_lrs_.push_back(opt.group(i).lr);
  }

  // The rates for epoch last_epoch_, from the groups' current rates (lr(i)) and base_lrs_.
  virtual std::vector<double> compute_lr() const = 0;

  double lr(std::size_t group) const { return opt_.group(group).lr; }
  std::vector<double> current_lrs() const {
    std::vector<double> lrs;
    for (std::size_t i = 0; i < opt_.num_groups(); ++i) lrs.push_back(lr(i));
    return lrs;
  }

  Optimizer& opt_;
  const char* name_;
  std::int64_t last_epoch_ = -1;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
};

// The schedules that multiply every group's current rate by γ^c at epoch e, c = decays(e) (0: the
// rates stay).
template <class Optimizer>
class DecayAtEpochs : public LRScheduler<Optimizer> {
 protected:
  DecayAtEpochs(Optimizer& opt, const char* name, double gamma, std::function<std::int64_t(std::int64_t)> decays)
      : LRScheduler<Optimizer>(opt, name), gamma_(gamma), decays_(std::move(decays)) {
    this->step();
  }

  std::vector<double> compute_lr() const override {
    std::vector<double> lrs = this->current_lrs();
    const std::int64_t c = decays_(this->last_epoch_);
    if (c == 0) return lrs;
    const double factor = std::pow(gamma_, static_cast<double>(c));  // exactly γ when c = 1
    for (double& x : lrs) x = x * factor;
    return lrs;
  }

 private:
  double gamma_;
  std::function<std::int64_t(std::int64_t)> decays_;
};

// lr · γ every step_size epochs.
template <class Optimizer>
class StepLR : public DecayAtEpochs<Optimizer> {
 public:
  StepLR(Optimizer& opt, std::int64_t step_size, double gamma = 0.1)
      : DecayAtEpochs<Optimizer>(opt, "StepLR", gamma, [n = checked_step_size(step_size)](std::int64_t e) {
          return static_cast<std::int64_t>(e > 0 && e % n == 0);
        }) {}

 private:
  static std::int64_t checked_step_size(std::int64_t step_size) {
    ANIMA_CHECK(step_size >= 1, "StepLR", "step_size must be >= 1, got ", step_size);
    return step_size;
  }
};

// lr · γ at each milestone epoch (γ^c at a milestone listed c times).
template <class Optimizer>
class MultiStepLR : public DecayAtEpochs<Optimizer> {
 public:
  MultiStepLR(Optimizer& opt, std::vector<std::int64_t> milestones, double gamma = 0.1)
      : DecayAtEpochs<Optimizer>(opt, "MultiStepLR", gamma, [m = std::move(milestones)](std::int64_t e) {
          return static_cast<std::int64_t>(std::count(m.begin(), m.end(), e));
        }) {}
};

// Cosine annealing from base_lr to eta_min over t_max epochs (SGDR without restarts: after t_max the
// rate goes back up along the cosine, as PyTorch's).
template <class Optimizer>
class CosineAnnealingLR : public LRScheduler<Optimizer> {
 public:
  CosineAnnealingLR(Optimizer& opt, std::int64_t t_max, double eta_min = 0.0)
      : LRScheduler<Optimizer>(opt, "CosineAnnealingLR"), t_max_(t_max), eta_min_(eta_min) {
    ANIMA_CHECK(t_max >= 1, "CosineAnnealingLR", "T_max must be >= 1, got ", t_max);
    this->step();
  }

 protected:
  std::vector<double> compute_lr() const override {
    constexpr double kPi = 3.141592653589793238462643383279502884;  // Python's math.pi
    std::vector<double> lrs = this->current_lrs();
    const std::int64_t e = this->last_epoch_;
    const double t = static_cast<double>(t_max_);
    if (e == 0) return lrs;
    if ((e - 1 - t_max_) % (2 * t_max_) == 0) {
      for (std::size_t i = 0; i < lrs.size(); ++i)
        lrs[i] = lrs[i] + (this->base_lrs_[i] - eta_min_) * (1.0 - std::cos(kPi / t)) / 2.0;
      return lrs;
    }
    const double ratio =
        (1.0 + std::cos(kPi * static_cast<double>(e) / t)) / (1.0 + std::cos(kPi * static_cast<double>(e - 1) / t));
    for (double& x : lrs) x = ratio * (x - eta_min_) + eta_min_;
    return lrs;
  }

 private:
  std::int64_t t_max_;
  double eta_min_;
};

// The rate times a factor going linearly from start_factor to end_factor over total_iters epochs
// (warm-up when start_factor < end_factor).
template <class Optimizer>
class LinearLR : public LRScheduler<Optimizer> {
 public:
  LinearLR(Optimizer& opt, double start_factor = 1.0 / 3.0, double end_factor = 1.0, std::int64_t total_iters = 5)
      : LRScheduler<Optimizer>(opt, "LinearLR"),
        start_factor_(start_factor),
        end_factor_(end_factor),
        total_iters_(total_iters) {
    // PyTorch accepts start_factor 0, whose next step divides by zero; it is refused here.
    ANIMA_CHECK(start_factor > 0.0 && start_factor <= 1.0, "LinearLR", "start_factor must be in (0, 1], got ",
                start_factor);
    ANIMA_CHECK(end_factor >= 0.0 && end_factor <= 1.0, "LinearLR", "end_factor must be in [0, 1], got ", end_factor);
    ANIMA_CHECK(total_iters >= 1, "LinearLR", "total_iters must be >= 1, got ", total_iters);
    this->step();
  }

 protected:
  std::vector<double> compute_lr() const override {
    std::vector<double> lrs = this->current_lrs();
    const std::int64_t e = this->last_epoch_;
    if (e == 0) {
      for (double& x : lrs) x = x * start_factor_;
      return lrs;
    }
    if (e > total_iters_) return lrs;
    const double delta = end_factor_ - start_factor_;
    const double factor =
        1.0 + delta / (static_cast<double>(total_iters_) * start_factor_ + static_cast<double>(e - 1) * delta);
    for (double& x : lrs) x = x * factor;
    return lrs;
  }

 private:
  double start_factor_;
  double end_factor_;
  std::int64_t total_iters_;
};

enum class PlateauMode { Min, Max };
enum class ThresholdMode { Rel, Abs };

struct ReduceLROnPlateauOptions {
  PlateauMode mode = PlateauMode::Min;
  double factor = 0.1;  // < 1
  std::int64_t patience = 10;
  double threshold = 1e-4;
  ThresholdMode threshold_mode = ThresholdMode::Rel;
  std::int64_t cooldown = 0;
  double min_lr = 0.0;          // for every group, unless min_lrs is given
  std::vector<double> min_lrs;  // one per group (empty: min_lr for all)
  double eps = 1e-8;            // a smaller drop is not applied
};

// Lowers every group's rate by `factor` when the metric has not improved for more than `patience` steps.
template <class Optimizer>
class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(Optimizer& opt, ReduceLROnPlateauOptions options = {}) : opt_(opt), o_(std::move(options)) {
    const std::size_t n = opt.num_groups();
    ANIMA_CHECK(o_.factor < 1.0 && o_.factor >= 0.0, "ReduceLROnPlateau", "factor must be in [0, 1), got ", o_.factor);
    ANIMA_CHECK(o_.patience >= 0 && o_.cooldown >= 0, "ReduceLROnPlateau", "patience and cooldown must be >= 0, got ",
                o_.patience, " and ", o_.cooldown);
    ANIMA_CHECK(o_.min_lrs.empty() || o_.min_lrs.size() == n, "ReduceLROnPlateau", "expected ", n,
                " min_lrs (one per group), got ", o_.min_lrs.size());
    if (o_.min_lrs.empty()) o_.min_lrs.assign(n, o_.min_lr);
    best_ = worst();
    last_lr_ = current_lrs();
  }

  void step(double metric) {
    ++last_epoch_;
    if (is_better(metric, best_)) {
      best_ = metric;
      num_bad_epochs_ = 0;
    } else {
      ++num_bad_epochs_;
    }
    if (cooldown_counter_ > 0) {
      --cooldown_counter_;
      num_bad_epochs_ = 0;  // bad epochs in cooldown are ignored
    }
    if (num_bad_epochs_ > o_.patience) {
      for (std::size_t i = 0; i < opt_.num_groups(); ++i) {
        const double old_lr = opt_.group(i).lr;
        const double new_lr = std::max(old_lr * o_.factor, o_.min_lrs[i]);
        if (old_lr - new_lr > o_.eps) opt_.set_lr(i, new_lr);
      }
      cooldown_counter_ = o_.cooldown;
      num_bad_epochs_ = 0;
    }
    last_lr_ = current_lrs();
  }

  const std::vector<double>& last_lr() const { return last_lr_; }
  std::int64_t last_epoch() const { return last_epoch_; }
  double best() const { return best_; }
  std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
  std::int64_t cooldown_counter() const { return cooldown_counter_; }

  // base_lrs stays empty.
  LRSchedulerState state() const { return {last_epoch_, {}, last_lr_, best_, num_bad_epochs_, cooldown_counter_}; }

  void load_state(const LRSchedulerState& s) {
    const std::size_t n = opt_.num_groups();
    check_restorable_state("ReduceLROnPlateau", s, n, false);
    last_epoch_ = s.last_epoch;
    last_lr_ = s.last_lrs;
    best_ = s.best;
    num_bad_epochs_ = s.num_bad_epochs;
    cooldown_counter_ = s.cooldown_counter;
    for (std::size_t i = 0; i < n; ++i) opt_.set_lr(i, last_lr_[i]);
  }

 private:
  double worst() const {
    const double inf = std::numeric_limits<double>::infinity();
    return o_.mode == PlateauMode::Min ? inf : -inf;
  }

  bool is_better(double a, double best) const {
    if (o_.mode == PlateauMode::Min)
      return o_.threshold_mode == ThresholdMode::Rel ? a < best * (1.0 - o_.threshold) : a < best - o_.threshold;
    return o_.threshold_mode == ThresholdMode::Rel ? a > best * (o_.threshold + 1.0) : a > best + o_.threshold;
  }

  std::vector<double> current_lrs() const {
    std::vector<double> lrs;
    for (std::size_t i = 0; i < opt_.num_groups(); ++i) lrs.push_back(opt_.group(i).lr);
    return lrs;
  }

  Optimizer& opt_;
  ReduceLROnPlateauOptions o_;
  std::int64_t last_epoch_ = 0;
  double best_ = 0.0;
  std::int64_t num_bad_epochs_ = 0;
  std::int64_t cooldown_counter_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace anima::optim
