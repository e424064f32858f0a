// optim::Adam, AdamW, RMSprop (anima/optim/adam.hpp, rmsprop.hpp), the learning-rate schedules
// (anima/optim/lr_scheduler.hpp) and clip_grad_norm_ (anima/optim/clip_grad.hpp) against PyTorch 1.13:
// tests/golden/data/optim.safetensors, written by tools/golden/optim.py (its docstring lists every case;
// regenerate with `/usr/bin/python3 tools/golden/optim.py`). The optimisers are fed the gradients
// PyTorch's run saw at each step, so only their arithmetic is compared. Also: state_dict round trips
// (bitwise equal to the uninterrupted run), bad state rejected by name, frozen parameters skipped.
//
// Tolerances:
//   optimisers  1e-12 relative (parameters, being O(1), to 1e-12 absolute; state to 1e-12 relative above
//               1e-6). PyTorch's CPU kernels compute a + α·b (add_ with alpha, addcmul_) as one fused
//               multiply-add while anima rounds α·b first: emulating the fused form in Python
//               reproduces PyTorch's values bit for bit, the unfused form (anima's) differs by at most
//               6e-15 relative after 20 steps. A wrong formula (bias correction, eps inside the square
//               root, decay order) moves values by more than 1e-6.
//   schedules   1e-14 relative: the same double expressions in Python's order, so equal to the bit on a
//               build that does not contract a·b + c into a fused multiply-add (x86-64 without -mfma);
//               the margin covers one that does (aarch64), over the 30 recursive steps.
//   clipping    1e-14 relative: the norms are the same sums, in the reduce kernel's order, not PyTorch's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/io/safetensors.hpp>
#include <anima/io/state_dict.hpp>
#include <anima/ops/factory.hpp>
#include <anima/optim/adam.hpp>
#include <anima/optim/clip_grad.hpp>
#include <anima/optim/lr_scheduler.hpp>
#include <anima/optim/rmsprop.hpp>
#include <anima/optim/sgd.hpp>

#include "../core/expect_error.hpp"
#include "../golden/golden_file.hpp"

namespace anima {
namespace {

using testing::contains;
using testing::error_of;

constexpr int kSteps = 20;           // optimiser steps in the fixture
constexpr int kScheduleSteps = 30;   // schedule steps in the fixture
constexpr double kOptimRel = 1e-12;  // see the header comment
constexpr double kScheduleRel = 1e-14;
constexpr double kClipRel = 1e-14;

const testing::GoldenFile& fixture() { return testing::golden("optim.safetensors"); }

const Tensor& stored(const std::string& name) { return fixture().at(name); }

std::vector<double> values(const std::string& name) { return to_vector<double>(stored(name)); }

// Row r of a stored [R, C] tensor.
std::vector<double> row(const std::string& name, std::int64_t r) {
  const Tensor& t = stored(name);
  const std::int64_t c = t.size(1);
  const std::vector<double> all = to_vector<double>(t);
  return std::vector<double>(all.begin() + r * c, all.begin() + (r + 1) * c);
}

std::vector<double> part(const std::vector<double>& v, std::size_t begin, std::size_t end) {
  return std::vector<double>(v.begin() + static_cast<std::ptrdiff_t>(begin),
                             v.begin() + static_cast<std::ptrdiff_t>(end));
}

std::vector<double> concat_values(const std::vector<Tensor>& ts) {
  std::vector<double> out;
  for (const Tensor& t : ts) {
    const std::vector<double> v = to_vector<double>(t);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

TensorOptions f64() { return TensorOptions(DType::Float64); }
TensorOptions f64_param() { return TensorOptions(DType::Float64).with_requires_grad(true); }

// The script's model: W [2, 3], b [2], v [2] (float64). "Flat" = [W row-major, b, v], 10 values.
struct Model {
  Tensor w, b, v;
  explicit Model(const std::vector<double>& flat)
      : w(from_vector(part(flat, 0, 6), {2, 3}, f64_param())),
        b(from_vector(part(flat, 6, 8), {2}, f64_param())),
        v(from_vector(part(flat, 8, 10), {2}, f64_param())) {}
  std::vector<Tensor> params() const { return {w, b, v}; }
  void set_grads(const std::vector<double>& g) {
    w.set_grad(from_vector(part(g, 0, 6), {2, 3}, f64()));
    b.set_grad(from_vector(part(g, 6, 8), {2}, f64()));
    v.set_grad(from_vector(part(g, 8, 10), {2}, f64()));
  }
  std::vector<double> flat() const { return concat_values({w, b, v}); }
};

// Steps from..to-1 (0-based) of `config`'s stored gradients; the flat parameters after each (1-based).
template <class Opt>
std::map<int, std::vector<double>> run_steps(Opt& opt, Model& m, const std::string& config, int from, int to) {
  std::map<int, std::vector<double>> after;
  for (int k = from; k < to; ++k) {
    opt.zero_grad();
    m.set_grads(row(config + "/grads", k));
    opt.step();
    after[k + 1] = m.flat();
  }
  return after;
}

// |got − want| <= rel · max(|want|, min_scale), element by element.
void expect_close(const std::vector<double>& got, const std::vector<double>& want, double rel, double min_scale,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], rel * std::max(std::fabs(want[i]), min_scale)) << what << " [" << i << "]";
}

// The parameters after steps 1, 5 and 20 against the fixture's.
template <class Opt>
void expect_trajectory(Opt& opt, Model& m, const std::string& config) {
  const auto after = run_steps(opt, m, config, 0, kSteps);
  const int recorded[3] = {1, 5, 20};
  for (int r = 0; r < 3; ++r)
    expect_close(after.at(recorded[r]), row(config + "/params", r), kOptimRel, 1.0,
                 config + " after step " + std::to_string(recorded[r]));
}

// (group, index) of W, b and v.
using Slots = std::vector<std::pair<std::size_t, std::size_t>>;
const Slots kOneGroup = {{0, 0}, {0, 1}, {0, 2}};
const Slots kTwoGroups = {{0, 0}, {0, 1}, {1, 0}};  // [W, b], [v]

// One state tensor of every parameter, flattened as the fixture's.
template <class Opt, class Get>
std::vector<double> flat_state(const Opt& opt, const Slots& slots, Get get) {
  std::vector<Tensor> ts;
  for (const auto& s : slots) ts.push_back(get(opt.state(s.first, s.second)));
  return concat_values(ts);
}

// ---- configurations (tools/golden/optim.py's CONFIGS) ------------------------------------------

std::vector<optim::AdamParamGroup> adam_two_groups(const Model& m, double lr1) {
  optim::AdamParamGroup g0, g1;
  g0.params = {m.w, m.b};
  g1.params = {m.v};
  g1.lr = lr1;
  return {g0, g1};
}

optim::Adam make_adam(const std::string& config, const Model& m) {
  if (config == "adam") return optim::Adam(adam_two_groups(m, 0.05), optim::AdamOptions{0.01});
  if (config == "adam_amsgrad_wd") return optim::Adam(m.params(), optim::AdamOptions{0.02, 0.8, 0.95, 1e-6, 0.1, true});
  fail("test", "no Adam configuration ", config);
}

optim::AdamW make_adamw(const std::string& config, const Model& m) {
  if (config == "adamw") return optim::AdamW(m.params(), optim::AdamWOptions{0.01, 0.9, 0.999, 1e-8, 0.05});
  if (config == "adamw_amsgrad")
    return optim::AdamW(m.params(), optim::AdamWOptions{0.03, 0.85, 0.99, 1e-8, 0.2, true});
  fail("test", "no AdamW configuration ", config);
}

optim::RMSprop make_rmsprop(const std::string& config, const Model& m) {
  if (config == "rmsprop") return optim::RMSprop(m.params(), optim::RMSpropOptions{0.01});
  if (config == "rmsprop_centered") {
    optim::RMSpropParamGroup g0, g1;
    g0.params = {m.w, m.b};
    g1.params = {m.v};
    g1.lr = 0.002;
    return optim::RMSprop({g0, g1}, optim::RMSpropOptions{0.005, 0.9, 1e-6, 0.01, 0.8, true});
  }
  fail("test", "no RMSprop configuration ", config);
}

// ---- optimisers against PyTorch ------------------------------------------------------------------

template <class Opt>
void expect_adam_state(const Opt& opt, const std::string& config, const Slots& slots) {
  for (const auto& s : slots) EXPECT_EQ(opt.state(s.first, s.second).step, kSteps) << config;
  expect_close(flat_state(opt, slots, [](const optim::AdamParamState& s) { return s.exp_avg; }),
               values(config + "/state/exp_avg"), kOptimRel, 1e-6, config + " exp_avg");
  expect_close(flat_state(opt, slots, [](const optim::AdamParamState& s) { return s.exp_avg_sq; }),
               values(config + "/state/exp_avg_sq"), kOptimRel, 1e-6, config + " exp_avg_sq");
  ASSERT_EQ(opt.amsgrad(), fixture().has(config + "/state/max_exp_avg_sq")) << config;
  if (opt.amsgrad())
    expect_close(flat_state(opt, slots, [](const optim::AdamParamState& s) { return s.max_exp_avg_sq; }),
                 values(config + "/state/max_exp_avg_sq"), kOptimRel, 1e-6, config + " max_exp_avg_sq");
}

// Each configuration's trajectory and final state, its optimiser made by make(config, model).
template <class MakeOptimizer>
void expect_adam_configs(const std::vector<std::string>& configs, MakeOptimizer make) {
  for (const std::string& config : configs) {
    Model m(values("model/init"));
    auto opt = make(config, m);
    expect_trajectory(opt, m, config);
    expect_adam_state(opt, config, config == "adam" ? kTwoGroups : kOneGroup);
  }
}

TEST(OptimGolden, AdamMatchesTorch) { expect_adam_configs({"adam", "adam_amsgrad_wd"}, make_adam); }

TEST(OptimGolden, AdamWMatchesTorch) { expect_adam_configs({"adamw", "adamw_amsgrad"}, make_adamw); }

TEST(OptimGolden, RMSpropMatchesTorch) {
  for (const char* name : {"rmsprop", "rmsprop_centered"}) {
    const std::string config = name;
    Model m(values("model/init"));
    optim::RMSprop opt = make_rmsprop(config, m);
    expect_trajectory(opt, m, config);
    const bool centered = config == "rmsprop_centered";
    const Slots& slots = centered ? kTwoGroups : kOneGroup;
    for (const auto& s : slots) EXPECT_EQ(opt.state(s.first, s.second).step, kSteps) << config;
    expect_close(flat_state(opt, slots, [](const optim::RMSpropParamState& s) { return s.square_avg; }),
                 values(config + "/state/square_avg"), kOptimRel, 1e-6, config + " square_avg");
    if (centered) {
      expect_close(flat_state(opt, slots, [](const optim::RMSpropParamState& s) { return s.grad_avg; }),
                   values(config + "/state/grad_avg"), kOptimRel, 1e-6, config + " grad_avg");
      expect_close(flat_state(opt, slots, [](const optim::RMSpropParamState& s) { return s.momentum_buffer; }),
                   values(config + "/state/momentum_buffer"), kOptimRel, 1e-6, config + " momentum_buffer");
    } else {
      EXPECT_FALSE(opt.state(0, 0).grad_avg.defined());
      EXPECT_FALSE(opt.state(0, 0).momentum_buffer.defined());
    }
  }
}

// ---- schedules against PyTorch -------------------------------------------------------------------

// An SGD over two one-element parameters, group lr 0.1 and 0.02 (the script's).
struct TwoGroups {
  Tensor p0 = zeros({1}, f64_param());
  Tensor p1 = zeros({1}, f64_param());
  optim::SGD opt{groups(), optim::SGDOptions{0.1}};

  std::vector<optim::SGDParamGroup> groups() const {
    optim::SGDParamGroup g0, g1;
    g0.params = {p0};
    g0.lr = 0.1;
    g1.params = {p1};
    g1.lr = 0.02;
    return {g0, g1};
  }
};

// Row r of sched/<name>/lr against the groups' rates and the schedule's last_lr().
void expect_lrs(const optim::SGD& opt, const std::vector<double>& last_lr, const std::string& name, std::int64_t r) {
  const std::vector<double> want = row("sched/" + name + "/lr", r);
  for (std::size_t g = 0; g < 2; ++g)
    EXPECT_NEAR(opt.group(g).lr, want[g], kScheduleRel * std::fabs(want[g])) << name << " step " << r << " group " << g;
  EXPECT_EQ(last_lr, (std::vector<double>{opt.group(0).lr, opt.group(1).lr})) << name << " step " << r;
}

template <class Make>
void expect_epoch_schedule(const std::string& name, Make make) {
  // The fixture's rates do change (a schedule that did nothing would not pass unnoticed).
  ASSERT_NE(row("sched/" + name + "/lr", 0), row("sched/" + name + "/lr", kScheduleSteps / 2)) << name;
  TwoGroups t;
  auto sched = make(t.opt);
  EXPECT_EQ(sched.last_epoch(), 0) << name;
  EXPECT_EQ(sched.base_lrs(), (std::vector<double>{0.1, 0.02})) << name;
  expect_lrs(t.opt, sched.last_lr(), name, 0);
  for (int k = 1; k <= kScheduleSteps; ++k) {
    sched.step();
    expect_lrs(t.opt, sched.last_lr(), name, k);
  }
  EXPECT_EQ(sched.last_epoch(), kScheduleSteps) << name;
}

TEST(OptimGolden, EpochSchedulesMatchTorch) {
  using optim::SGD;
  expect_epoch_schedule("step", [](SGD& o) { return optim::StepLR<SGD>(o, 7, 0.5); });
  expect_epoch_schedule("multistep", [](SGD& o) { return optim::MultiStepLR<SGD>(o, {3, 8, 8, 20}, 0.3); });
  expect_epoch_schedule("cosine", [](SGD& o) { return optim::CosineAnnealingLR<SGD>(o, 10, 0.001); });
  expect_epoch_schedule("linear_up", [](SGD& o) { return optim::LinearLR<SGD>(o, 0.25, 1.0, 8); });
  expect_epoch_schedule("linear_down", [](SGD& o) { return optim::LinearLR<SGD>(o, 1.0, 0.1, 5); });
}

void expect_plateau(const std::string& name, const optim::ReduceLROnPlateauOptions& o, double sign) {
  TwoGroups t;
  optim::ReduceLROnPlateau<optim::SGD> sched(t.opt, o);
  expect_lrs(t.opt, sched.last_lr(), name, 0);
  const std::vector<double> metrics = values("sched/plateau_metrics");
  ASSERT_EQ(metrics.size(), static_cast<std::size_t>(kScheduleSteps));
  for (int k = 1; k <= kScheduleSteps; ++k) {
    sched.step(sign * metrics[k - 1]);
    expect_lrs(t.opt, sched.last_lr(), name, k);
  }
  EXPECT_EQ(sched.last_epoch(), kScheduleSteps);
  EXPECT_LT(t.opt.group(0).lr, 0.1) << name << ": the fixture's metrics must make it reduce";
}

TEST(OptimGolden, ReduceLROnPlateauMatchesTorch) {
  using optim::PlateauMode;
  using optim::ThresholdMode;
  // {mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, min_lrs, eps}, as in the script.
  expect_plateau("plateau_min", {PlateauMode::Min, 0.5, 2, 0.01, ThresholdMode::Rel, 1, 0.0, {0.01, 0.001}}, 1.0);
  expect_plateau("plateau_max", {PlateauMode::Max, 0.3, 1, 0.05, ThresholdMode::Abs, 0, 0.0, {}, 1e-3}, -1.0);
}

// ---- clip_grad_norm_ against PyTorch -------------------------------------------------------------

TEST(OptimGolden, ClipGradNormMatchesTorch) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<std::pair<std::string, std::pair<double, double>>> cases = {
      {"norm2_clipped", {1.0, 2.0}}, {"norm2_unclipped", {100.0, 2.0}}, {"inf_clipped", {0.5, inf}}};
  for (const auto& c : cases) {
    const std::string prefix = "clip/" + c.first + "/";
    const std::vector<double> in = values(prefix + "grads_in");
    Tensor a = zeros({2, 3}, f64_param()), b = zeros({2}, f64_param()), d = zeros({4}, f64_param());
    Tensor no_grad = zeros({3}, f64_param());  // no gradient: left out of the norm, left alone
    a.set_grad(from_vector(part(in, 0, 6), {2, 3}, f64()));
    b.set_grad(from_vector(part(in, 6, 8), {2}, f64()));
    d.set_grad(from_vector(part(in, 8, 12), {4}, f64()));
    const Tensor total = optim::clip_grad_norm_({a, b, no_grad, d}, c.second.first, c.second.second);
    ASSERT_EQ(total.dim(), 0) << c.first;
    ASSERT_EQ(total.dtype(), DType::Float64) << c.first;
    const double want_total = values(prefix + "total_norm")[0];
    EXPECT_NEAR(item<double>(total), want_total, kClipRel * want_total) << c.first;
    const std::vector<double> out = concat_values({a.grad(), b.grad(), d.grad()});
    expect_close(out, values(prefix + "grads_out"), kClipRel, 1e-3, c.first + " gradients");
    EXPECT_FALSE(no_grad.grad().defined()) << c.first;
    if (c.first == "norm2_unclipped") {
      EXPECT_EQ(out, in) << "a coefficient clamped to 1 leaves the bits";
    }
  }
}

TEST(ClipGradNorm, EdgeCasesAndBadArguments) {
  Tensor p = zeros({3}, f64_param());
  const Tensor none = optim::clip_grad_norm_({p}, 1.0);
  EXPECT_EQ(item<double>(none), 0.0);  // no gradient anywhere, as PyTorch's tensor(0.)
  p.set_grad(from_vector<double>({3.0, -4.0, 0.0}, {3}, f64()));
  EXPECT_TRUE(contains(error_of([&] { optim::clip_grad_norm_({p}, 1.0, 1.0); }), "norm_type must be 2 or infinity"));
  EXPECT_TRUE(contains(error_of([&] { optim::clip_grad_norm_({p}, -1.0); }), "max_norm must be >= 0"));
  EXPECT_EQ(to_vector<double>(p.grad()), (std::vector<double>{3.0, -4.0, 0.0}));  // rejected calls change nothing
  // One tensor, norm 5: scaled by (1 / (5 + 1e-6)) · 2.5.
  EXPECT_EQ(item<double>(optim::clip_grad_norm_({p}, 2.5)), 5.0);
  const double coef = (1.0 / (5.0 + 1e-6)) * 2.5;
  EXPECT_EQ(to_vector<double>(p.grad()), (std::vector<double>{3.0 * coef, -4.0 * coef, 0.0}));
}

// ---- state save / load ---------------------------------------------------------------------------

// Saves after 7 steps, loads into a fresh optimiser over fresh tensors holding the same values and
// continues: the same bits as the run that was not interrupted.
template <class Make>
void expect_round_trip(const std::string& config, Make make) {
  Model whole(values("model/init"));
  auto opt_whole = make(whole);
  const std::vector<double> want = run_steps(opt_whole, whole, config, 0, kSteps).at(kSteps);

  Model first(values("model/init"));
  auto opt_first = make(first);
  run_steps(opt_first, first, config, 0, 7);
  const io::StateDict saved = opt_first.state_dict();
  const std::vector<double> params_at_7 = first.flat();
  run_steps(opt_first, first, config, 7, 9);  // later steps must not reach into the saved copies

  Model restored(params_at_7);
  auto opt_restored = make(restored);
  opt_restored.set_lr(0, 0.5);  // overwritten by the saved learning rate
  opt_restored.load_state_dict(saved);
  EXPECT_EQ(opt_restored.state_dict().size(), saved.size()) << config;
  const std::vector<double> got = run_steps(opt_restored, restored, config, 7, kSteps).at(kSteps);
  EXPECT_EQ(got, want) << config;
  EXPECT_EQ(opt_restored.group(0).lr, opt_whole.group(0).lr) << config;
}

TEST(OptimState, RoundTripIsBitwiseEqualToTheUninterruptedRun) {
  expect_round_trip("adam", [](const Model& m) { return make_adam("adam", m); });
  expect_round_trip("adam_amsgrad_wd", [](const Model& m) { return make_adam("adam_amsgrad_wd", m); });
  expect_round_trip("adamw_amsgrad", [](const Model& m) { return make_adamw("adamw_amsgrad", m); });
  expect_round_trip("rmsprop", [](const Model& m) { return make_rmsprop("rmsprop", m); });
  expect_round_trip("rmsprop_centered", [](const Model& m) { return make_rmsprop("rmsprop_centered", m); });
  // SGD has no fixture of its own: the adam configuration's gradients drive it.
  expect_round_trip("adam", [](const Model& m) { return optim::SGD(m.params(), optim::SGDOptions{0.05, 0.9, 0.01}); });
}

TEST(OptimState, StateDictNamesAndValues) {
  Model m(values("model/init"));
  optim::Adam opt = make_adam("adam", m);  // groups [W, b] and [v]
  EXPECT_EQ(opt.state_dict().size(), 2u);  // no state yet: the two learning rates
  run_steps(opt, m, "adam", 0, 3);
  const io::StateDict sd = opt.state_dict();
  EXPECT_EQ(sd.size(), 3u * 3u + 2u);
  EXPECT_EQ(item<double>(sd.at("state.1.0.step")), 3.0);
  EXPECT_EQ(sd.at("state.1.0.step").dtype(), DType::Float64);
  EXPECT_EQ(sd.at("state.1.0.step").dim(), 0);
  EXPECT_EQ(to_vector<double>(sd.at("state.0.0.exp_avg")), to_vector<double>(opt.state(0, 0).exp_avg));
  EXPECT_EQ(to_vector<double>(sd.at("state.1.0.exp_avg_sq")), to_vector<double>(opt.state(1, 0).exp_avg_sq));
  EXPECT_EQ(shape_str(sd.at("state.0.0.exp_avg").shape()), "[2, 3]");
  EXPECT_EQ(item<double>(sd.at("param_groups.1.lr")), 0.05);
  EXPECT_FALSE(sd.contains("state.0.0.max_exp_avg_sq"));  // amsgrad off

  // Through a safetensors file (a checkpoint): loads and gives the same next step.
  const std::string path = ::testing::TempDir() + "anima_optim_state.safetensors";
  std::map<std::string, Tensor> tensors;
  for (const auto& entry : sd.items()) tensors.emplace(entry.first, entry.second);
  io::save_safetensors(path, tensors);
  const io::SafetensorsFile file = io::load_safetensors(path);
  io::StateDict from_file;
  for (const auto& entry : file.tensors) from_file.insert(entry.first, entry.second);
  Model m2(m.flat());
  optim::Adam opt2 = make_adam("adam", m2);
  opt2.load_state_dict(from_file);
  run_steps(opt, m, "adam", 3, 4);
  run_steps(opt2, m2, "adam", 3, 4);
  EXPECT_EQ(m2.flat(), m.flat());
}

TEST(OptimState, SchedulerStateRoundTrip) {
  // Adam + cosine schedule, stopped after 7 epochs and resumed into fresh objects: same rates, same bits.
  auto run = [](Model& m, optim::Adam& opt, optim::CosineAnnealingLR<optim::Adam>& sched, int from, int to) {
    for (int k = from; k < to; ++k) {
      run_steps(opt, m, "adam", k, k + 1);
      sched.step();
    }
  };
  Model whole(values("model/init"));
  optim::Adam opt_whole = make_adam("adam", whole);
  optim::CosineAnnealingLR<optim::Adam> sched_whole(opt_whole, 6, 1e-4);
  run(whole, opt_whole, sched_whole, 0, kSteps);

  Model first(values("model/init"));
  optim::Adam opt_first = make_adam("adam", first);
  optim::CosineAnnealingLR<optim::Adam> sched_first(opt_first, 6, 1e-4);
  run(first, opt_first, sched_first, 0, 7);
  const io::StateDict opt_state = opt_first.state_dict();
  const optim::LRSchedulerState sched_state = sched_first.state();
  EXPECT_EQ(sched_state.last_epoch, 7);

  Model resumed(first.flat());
  optim::Adam opt_resumed = make_adam("adam", resumed);
  optim::CosineAnnealingLR<optim::Adam> sched_resumed(opt_resumed, 6, 1e-4);
  opt_resumed.load_state_dict(opt_state);
  sched_resumed.load_state(sched_state);
  EXPECT_EQ(sched_resumed.last_lr(), sched_first.last_lr());
  run(resumed, opt_resumed, sched_resumed, 7, kSteps);
  EXPECT_EQ(resumed.flat(), whole.flat());
  EXPECT_EQ(sched_resumed.last_lr(), sched_whole.last_lr());
  EXPECT_EQ(sched_resumed.last_epoch(), kSteps);

  // ReduceLROnPlateau: best, bad epochs and cooldown carry over.
  TwoGroups a, b;
  optim::ReduceLROnPlateauOptions o;
  o.patience = 1;
  o.cooldown = 2;
  o.factor = 0.5;
  optim::ReduceLROnPlateau<optim::SGD> pa(a.opt, o), pb(b.opt, o);
  const double metrics[] = {1.0, 0.8, 0.9, 0.95, 0.7, 0.75, 0.76, 0.77, 0.78};
  for (int k = 0; k < 4; ++k) pa.step(metrics[k]);
  pb.load_state(pa.state());
  EXPECT_EQ(pb.best(), 0.8);
  EXPECT_EQ(pb.cooldown_counter(), pa.cooldown_counter());
  for (int k = 4; k < 9; ++k) {
    pa.step(metrics[k]);
    pb.step(metrics[k]);
    EXPECT_EQ(pb.last_lr(), pa.last_lr()) << "metric " << k;
    EXPECT_EQ(pb.num_bad_epochs(), pa.num_bad_epochs()) << "metric " << k;
  }
  EXPECT_LT(pa.last_lr()[0], 0.1);  // it did reduce on the way
}

io::StateDict without(const io::StateDict& d, const std::string& drop) {
  io::StateDict out;
  for (const auto& entry : d.items())
    if (entry.first != drop) out.insert(entry.first, entry.second);
  return out;
}

io::StateDict replaced(const io::StateDict& d, const std::string& name, const Tensor& t) {
  io::StateDict out = d;
  out.set(name, t);
  return out;
}

TEST(OptimState, BadAdamStateIsRejectedByName) {
  Model m(values("model/init"));
  const optim::AdamOptions ams{0.01, 0.9, 0.999, 1e-8, 0.0, true};
  optim::Adam trained(m.params(), ams);
  run_steps(trained, m, "adam", 0, 3);
  const io::StateDict good = trained.state_dict();

  Model m2(values("model/init"));
  optim::Adam fresh(m2.params(), ams);
  auto load_error = [&](const io::StateDict& d) { return error_of([&] { fresh.load_state_dict(d); }); };
  std::string e = load_error(without(good, "state.0.1.exp_avg_sq"));
  EXPECT_TRUE(contains(e, "Adam::load_state_dict")) << e;
  EXPECT_TRUE(contains(e, "missing entry 'state.0.1.exp_avg_sq'")) << e;
  e = load_error(without(good, "param_groups.0.lr"));
  EXPECT_TRUE(contains(e, "missing entry 'param_groups.0.lr'")) << e;
  // The last parameter's entry is wrong: the earlier ones parsed, yet nothing may be applied.
  e = load_error(replaced(good, "state.0.2.exp_avg", zeros({3}, f64())));
  EXPECT_TRUE(contains(e, "entry 'state.0.2.exp_avg' has shape [3] but its parameter has shape [2]")) << e;
  e = load_error(replaced(good, "state.0.0.step", full({}, 0.5, f64())));
  EXPECT_TRUE(contains(e, "entry 'state.0.0.step' is 0.5, a step count must be a whole number >= 1")) << e;
  e = load_error(replaced(good, "state.0.0.exp_avg", zeros({2, 3}, TensorOptions(DType::Int64))));
  EXPECT_TRUE(contains(e, "entry 'state.0.0.exp_avg' is int64, expected a floating tensor")) << e;
  io::StateDict extra = good;
  extra.insert("state.0.3.exp_avg", zeros({2}, f64()));  // there is no parameter 3
  e = load_error(extra);
  EXPECT_TRUE(contains(e, "unexpected entry 'state.0.3.exp_avg'")) << e;
  EXPECT_EQ(fresh.state(0, 0).step, 0);  // every failed load left the optimiser as it was
  EXPECT_EQ(fresh.group(0).lr, 0.01);

  // amsgrad state into an Adam without amsgrad: its max_exp_avg_sq has no place.
  Model m3(values("model/init"));
  optim::Adam plain(m3.params(), optim::AdamOptions{0.01});
  e = error_of([&] { plain.load_state_dict(good); });
  EXPECT_TRUE(contains(e, "unexpected entry 'state.0.0.max_exp_avg_sq'")) << e;
  // An AdamW names itself.
  optim::AdamW w(m3.params(), optim::AdamWOptions{0.01});
  EXPECT_TRUE(contains(error_of([&] { w.load_state_dict(io::StateDict{}); }),
                       "AdamW::load_state_dict: missing entry 'param_groups.0.lr'"));

  fresh.load_state_dict(good);  // and the good one loads
  EXPECT_EQ(fresh.state(0, 2).step, 3);
  EXPECT_EQ(to_vector<double>(fresh.state(0, 2).max_exp_avg_sq), to_vector<double>(trained.state(0, 2).max_exp_avg_sq));
}

TEST(OptimState, BadRMSpropAndSchedulerStateIsRejected) {
  Model m(values("model/init"));
  optim::RMSprop plain = make_rmsprop("rmsprop", m);
  run_steps(plain, m, "rmsprop", 0, 2);
  Model m2(values("model/init"));
  optim::RMSprop centered = make_rmsprop("rmsprop_centered", m2);
  // A plain RMSprop's state lacks what one with momentum needs.
  std::string e = error_of([&] { centered.load_state_dict(plain.state_dict()); });
  EXPECT_TRUE(contains(e, "RMSprop::load_state_dict: missing entry 'state.0.0.momentum_buffer'")) << e;
  run_steps(centered, m2, "rmsprop_centered", 0, 2);
  const io::StateDict good = centered.state_dict();
  EXPECT_TRUE(good.contains("state.1.0.grad_avg") && good.contains("state.1.0.momentum_buffer"));
  Model m3(values("model/init"));
  optim::RMSprop fresh = make_rmsprop("rmsprop_centered", m3);
  e = error_of([&] { fresh.load_state_dict(without(good, "state.1.0.momentum_buffer")); });
  EXPECT_TRUE(contains(e, "missing entry 'state.1.0.momentum_buffer'")) << e;
  e = error_of([&] { fresh.load_state_dict(replaced(good, "state.0.0.grad_avg", zeros({6}, f64()))); });
  EXPECT_TRUE(contains(e, "entry 'state.0.0.grad_avg' has shape [6] but its parameter has shape [2, 3]")) << e;
  EXPECT_EQ(fresh.state(0, 0).step, 0);

  TwoGroups t;
  optim::StepLR<optim::SGD> step(t.opt, 3);
  optim::LRSchedulerState s = step.state();
  s.base_lrs.pop_back();
  e = error_of([&] { step.load_state(s); });
  EXPECT_TRUE(contains(e, "StepLR")) << e;
  EXPECT_TRUE(contains(e, "the state has 1 base_lrs and 2 last_lrs, the optimiser has 2 group(s)")) << e;
  optim::ReduceLROnPlateau<optim::SGD> plateau(t.opt);
  optim::LRSchedulerState p = plateau.state();
  p.num_bad_epochs = -1;
  EXPECT_TRUE(contains(error_of([&] { plateau.load_state(p); }), "num_bad_epochs and cooldown_counter must be >= 0"));
}

// ---- frozen parameters, options ------------------------------------------------------------------

TEST(OptimFrozen, AdamWSkipsFrozenParametersAndStartsThemLater) {
  Model m(values("model/init"));
  const double lr = 0.01, wd = 0.1, eps = 1e-8;
  optim::AdamW opt(m.params(), optim::AdamWOptions{lr, 0.9, 0.999, eps, wd});
  const std::vector<double> w0 = to_vector<double>(m.w), b0 = to_vector<double>(m.b), v0 = to_vector<double>(m.v);
  m.set_grads(row("adam/grads", 0));
  m.v.set_requires_grad(false);  // frozen, though it still holds a gradient
  m.b.zero_grad();               // no gradient
  opt.step();
  EXPECT_NE(to_vector<double>(m.w), w0);
  EXPECT_EQ(to_vector<double>(m.b), b0);  // not even decayed
  EXPECT_EQ(to_vector<double>(m.v), v0);
  EXPECT_EQ(opt.state(0, 0).step, 1);
  EXPECT_EQ(opt.state(0, 1).step, 0);
  EXPECT_EQ(opt.state(0, 2).step, 0);
  EXPECT_FALSE(opt.state(0, 2).exp_avg.defined());
  EXPECT_FALSE(opt.state_dict().contains("state.0.2.step"));

  // Unfrozen, v starts its own state: its first update is AdamW's first step,
  // p·(1 − lr·wd) − lr·g / (|g| + eps) up to rounding (m = (1 − β1)·g, v = (1 − β2)·g²).
  m.v.set_requires_grad(true);
  const std::vector<double> g = row("adam/grads", 1);
  m.set_grads(g);
  opt.step();
  EXPECT_EQ(opt.state(0, 0).step, 2);
  EXPECT_EQ(opt.state(0, 2).step, 1);
  const std::vector<double> v1 = to_vector<double>(m.v);
  for (std::size_t j = 0; j < 2; ++j) {
    const double gj = g[8 + j];
    const double want = v0[j] * (1.0 - lr * wd) - lr * gj / (std::fabs(gj) + eps);
    EXPECT_NEAR(v1[j], want, 1e-14) << j;
  }
}

TEST(OptimFrozen, RMSpropSkipsFrozenParameters) {
  Model m(values("model/init"));
  optim::RMSprop opt = make_rmsprop("rmsprop_centered", m);
  const std::vector<double> w0 = to_vector<double>(m.w), v0 = to_vector<double>(m.v);
  m.set_grads(row("rmsprop_centered/grads", 0));
  m.w.set_requires_grad(false);
  opt.step();
  EXPECT_EQ(to_vector<double>(m.w), w0);
  EXPECT_NE(to_vector<double>(m.v), v0);
  EXPECT_EQ(opt.state(0, 0).step, 0);
  EXPECT_FALSE(opt.state(0, 0).momentum_buffer.defined());
  EXPECT_EQ(opt.state(1, 0).step, 1);
  EXPECT_TRUE(opt.state(1, 0).momentum_buffer.defined());
  opt.zero_grad();
  for (const Tensor& p : m.params()) EXPECT_FALSE(p.grad().defined());
}

TEST(OptimOptions, BadOptionsAreRejected) {
  Model m(values("model/init"));
  EXPECT_TRUE(contains(error_of([&] {
                         optim::Adam(m.params(), optim::AdamOptions{0.01, 1.0});
                       }),
                       "betas must be in [0, 1), got (1, 0.999)"));
  EXPECT_TRUE(contains(error_of([&] { optim::AdamW(m.params(), optim::AdamWOptions{-0.1}); }), "must be >= 0"));
  optim::AdamParamGroup a, b;
  a.params = {m.w};
  b.params = {m.w, m.b};
  EXPECT_TRUE(contains(error_of([&] { optim::Adam({a, b}); }), "in both group '0' and group '1'"));
  EXPECT_TRUE(contains(error_of([&] {
                         optim::RMSprop(m.params(), optim::RMSpropOptions{0.01, -0.5});
                       }),
                       "must be >= 0"));
  optim::Adam adam(m.params());
  EXPECT_TRUE(contains(error_of([&] { adam.set_lr(0, -1.0); }), "must be >= 0"));
  EXPECT_EQ(adam.group(0).lr, 1e-3);  // torch.optim.Adam's default

  TwoGroups t;
  EXPECT_TRUE(contains(error_of([&] { optim::LinearLR<optim::SGD>(t.opt, 0.0); }), "start_factor must be in (0, 1]"));
  EXPECT_TRUE(contains(error_of([&] { optim::StepLR<optim::SGD>(t.opt, 0); }), "step_size must be >= 1"));
  EXPECT_TRUE(contains(error_of([&] { optim::CosineAnnealingLR<optim::SGD>(t.opt, 0); }), "T_max must be >= 1"));
  optim::ReduceLROnPlateauOptions o;
  o.factor = 1.0;
  EXPECT_TRUE(contains(error_of([&] { optim::ReduceLROnPlateau<optim::SGD>(t.opt, o); }), "factor must be in [0, 1)"));
  o.factor = 0.5;
  o.min_lrs = {0.1};
  EXPECT_TRUE(contains(error_of([&] { optim::ReduceLROnPlateau<optim::SGD>(t.opt, o); }),
                       "expected 2 min_lrs (one per group), got 1"));
  EXPECT_EQ(t.opt.group(0).lr, 0.1);  // the refused schedules set nothing
}

}  // namespace
}  // namespace anima
