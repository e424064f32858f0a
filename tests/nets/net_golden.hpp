// tests/nets/net_golden.hpp — what the whole-network golden tests share: the fixtures written by
// tools/golden/nets.py (tests/golden/data/nets_<net>.safetensors), the script's input formula, a
// module that records the output of a child of a Sequential, the checks, and GoldenNet (a net's
// fixture and builder, running the checks).
//
// Regenerate the fixtures:  /usr/bin/python3 tools/golden/nets.py [vgg16 vgg16_bn resnet50 ...]
// Both sides fill every parameter and buffer with anima::nn::deterministic_fill (the specification
// is in anima/nn/deterministic_fill.hpp and the script's docstring), so the fixture holds only
// outputs.
//
// Tolerances (relative to the largest magnitude of each expected tensor, as tests/golden/golden.hpp):
//   kEvalRel 1e-4 for eval-mode logits and activations. Both sides run float32 from bit-identical
//     weights and inputs; they differ only by the order of float32 additions (our packed GEMM /
//     im2col vs oneDNN / MKL). One dot product of K terms is off by about sqrt(K)·2^-24 relative
//     (K <= 4608 for the 3x3 convs of 512 channels, 25088 for VGG's first linear layer: ~1e-5 worst
//     case, ~1e-6 typical); these errors do not grow through depth when the activations keep an O(1)
//     scale (the fill sees to it: logits and stages are O(1)-O(10)), and ReLU / max-pool are
//     1-Lipschitz. 1e-4 of the output's scale leaves a margin of ~10x over what the nets measure
//     and still catches any wrong weight, stride, padding, channel order or missing layer, which move
//     the logits by O(1) of their scale.
//   The training step's reference is PyTorch's float64 step from the same weights (the float32 fill
//   widened; see tools/golden/nets.py). Its gradients are ill-conditioned: a train-mode BN's backward
//   projects out the mean and the normalised input, and the loss is invariant to the scale of each
//   conv that feeds a BN, so gradients are small differences of large terms (~1e5 amplification:
//   PyTorch's own float32 step is up to ~1.5e-2 off its float64 step, and as far between 1 and 4
//   threads; the fixture's "train_torch_f32_vs_f64" records it per tensor). Hence:
//   kTrainF64Rel 1e-8: our step run in float64 (the net converted after the fill) vs PyTorch's
//     float64 step. Summation-order differences of ~1e-16, amplified ~1e5, give ~1e-11; 1e-8 leaves a
//     wide margin and catches any wrong term of any backward formula at full sensitivity.
//   kTrainF32ForwardRel 1e-4: our float32 step's logits, loss and running statistics vs float64
//     (well-conditioned forward quantities; as kEvalRel).
//   kTrainF32GradRel 5e-2: our float32 step's gradients vs float64: ~3x what PyTorch's own float32
//     step reaches; a coarse check of the float32 backward kernels (the float64 run is the precise one).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/io/json_reader.hpp>
#include <anima/io/safetensors.hpp>
#include <anima/nn/deterministic_fill.hpp>
#include <anima/nn/inference.hpp>
#include <anima/nn/init.hpp>
#include <anima/nn/module.hpp>
#include <anima/nn/sequential.hpp>
#include <anima/ops/loss.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

#include "golden/golden.hpp"
#include "golden/golden_file.hpp"

namespace anima::nets_golden {

constexpr double kEvalRel = 1e-4;
constexpr double kTrainF64Rel = 1e-8;
constexpr double kTrainF32ForwardRel = 1e-4;
constexpr double kTrainF32GradRel = 5e-2;

// tools/golden/nets.py's input: image n, channel c in {0, 1, 2}, row y, column x:
//   q = (x (c + 1 + n) + y (3 - c + 2n)) mod 128,  in[n, c, y, x] = |q - 64| / 32 - 1   (exact in float32)
inline Tensor make_input(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
  ANIMA_CHECK(c == 3, "make_input", "the input formula is defined for 3 channels, got ", c);
  Tensor t = Tensor::empty({n, c, h, w});
  float* p = t.data<float>();
  for (std::int64_t in = 0; in < n; ++in)
    for (std::int64_t ic = 0; ic < c; ++ic)
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x) {
          const std::int64_t q = (x * (ic + 1 + in) + y * (3 - ic + 2 * in)) % 128;
          *p++ = static_cast<float>((q >= 64 ? q - 64 : 64 - q) / 32.0 - 1.0);
        }
  return t;
}

inline Tensor make_input(const Tensor& size /*[4] int64*/) {
  const std::vector<std::int64_t> s = to_vector<std::int64_t>(size);
  ANIMA_CHECK(s.size() == 4, "make_input", "input_size must have 4 entries, got ", s.size());
  return make_input(s[0], s[1], s[2], s[3]);
}

using Fixture = testing::GoldenFile;

// y [2, K]: finite, differs between the two images and within each image (as the script asserts).
inline void expect_not_degenerate(const Tensor& y, const std::string& what) {
  ASSERT_EQ(y.dim(), 2) << what;
  ASSERT_EQ(y.size(0), 2) << what;
  const std::vector<double> v = to_vector<double>(y);
  const std::size_t k = static_cast<std::size_t>(y.size(1));
  double scale = 0.0, diff = 0.0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    ASSERT_TRUE(std::isfinite(v[i])) << what << " element " << i;
    scale = std::max(scale, std::fabs(v[i]));
  }
  for (std::size_t j = 0; j < k; ++j) diff = std::max(diff, std::fabs(v[j] - v[k + j]));
  EXPECT_GT(scale, 0.0) << what;
  EXPECT_GT(diff, 1e-2 * scale) << what << ": the two images give the same output";
  for (std::size_t n = 0; n < 2; ++n) {
    double mean = 0.0, var = 0.0;
    for (std::size_t j = 0; j < k; ++j) mean += v[n * k + j] / static_cast<double>(k);
    for (std::size_t j = 0; j < k; ++j) var += (v[n * k + j] - mean) * (v[n * k + j] - mean) / static_cast<double>(k);
    EXPECT_GT(std::sqrt(var), 1e-2 * scale) << what << ": constant within image " << n;
  }
}

// The largest |a - e| / max|e| (for reporting what a net actually reaches).
inline double relative_error(const Tensor& actual, const Tensor& expected) {
  const std::vector<double> a = to_vector<double>(actual), e = to_vector<double>(expected);
  double scale = 0.0, err = 0.0;
  for (double v : e) scale = std::max(scale, std::fabs(v));
  for (std::size_t i = 0; i < e.size() && i < a.size(); ++i) err = std::max(err, std::fabs(a[i] - e[i]));
  return scale > 0 ? err / scale : err;
}

inline void expect_close(const Tensor& actual, const Tensor& expected, double rel, const std::string& what) {
  golden::expect_close(actual, expected, rel, what);
  std::printf("    %-46s relative error %.2e (tolerance %.0e)\n", what.c_str(), relative_error(actual, expected), rel);
}

// Records the input and output of a module that sits in a Sequential (a net's features.N, a ResNet
// block), so one forward of the net itself yields its intermediate activations. Replaces the child
// for the lifetime of the guard and puts it back afterwards (state_dict names are unchanged outside it;
// the net's own forward must reach the child through the Sequential, which every Sequential does).
class Recorder : public nn::Module {
 public:
  explicit Recorder(nn::ModulePtr inner) : nn::Module("Recorder"), inner_(std::move(inner)) {}
  Tensor forward(const Tensor& x) override {
    input = x;
    output = inner_->forward(x);
    return output;
  }
  void train(bool on) override {
    nn::Module::train(on);
    inner_->train(on);
  }
  Tensor input, output;

 private:
  nn::ModulePtr inner_;
};

class RecordGuard {
 public:
  // `path`: a dotted path to a child of a Sequential ("features.3", "layer1.2").
  RecordGuard(nn::Module& net, const std::string& path) {
    const std::size_t dot = path.rfind('.');
    parent_ = dot == std::string::npos ? &net : net.submodule(path.substr(0, dot));
    name_ = dot == std::string::npos ? path : path.substr(dot + 1);
    original_ = parent_->child(name_);
    recorder_ = std::make_shared<Recorder>(original_);
    recorder_->train(original_->is_training());
    parent_->replace_module(name_, recorder_);
  }
  ~RecordGuard() { parent_->replace_module(name_, original_); }
  RecordGuard(const RecordGuard&) = delete;
  RecordGuard& operator=(const RecordGuard&) = delete;
  const Tensor& input() const { return recorder_->input; }
  const Tensor& output() const { return recorder_->output; }

 private:
  nn::Module* parent_ = nullptr;
  std::string name_;
  nn::ModulePtr original_;
  std::shared_ptr<Recorder> recorder_;
};

// Per-channel mean over (H, W): [N, C, H, W] -> [N, C].
inline Tensor channel_means(const Tensor& x) { return mean(x, {2, 3}); }

// Compares an activation [N, C, H, W] with act/<name> (per-channel means) and, if the fixture has it,
// act_slice/<name> (output[:, :2, :8, :8]).
inline void check_activation(const Fixture& fx, const std::string& name, const Tensor& act) {
  ASSERT_TRUE(act.defined()) << name << " was not recorded (did the forward pass reach it?)";
  const Tensor means = channel_means(act);
  expect_not_degenerate(means, "act " + name);
  expect_close(means, fx.at("act/" + name), kEvalRel, "act " + name + " channel means");
  if (fx.has("act_slice/" + name)) {
    const Tensor s = slice(slice(slice(act, 1, 0, 2), 2, 0, 8), 3, 0, 8);
    expect_close(contiguous_copy(s), fx.at("act_slice/" + name), kEvalRel, "act " + name + " [:, :2, :8, :8]");
  }
}

// Builds a net with its own initialisation skipped, then fills it deterministically.
template <class Build>
auto build_filled(Build&& build) {
  std::shared_ptr<std::remove_reference_t<decltype(*build())>> net;
  {
    nn::SkipInitGuard skip;
    net = build();
  }
  nn::deterministic_fill(net->state_dict());
  return net;
}

// Where a fixture's activation act/<name> is found: the output (or the input) of the Sequential child
// at `path` ("features.3"; ResNet's "maxpool" is the input of "layer1.0").
struct Probe {
  std::string act;
  std::string path;
  bool input = false;
};
inline Probe output_of(const std::string& path) { return {path, path, false}; }

// Eval forward of `net` on the fixture's input, recording the probes; compares logits and the
// probed activations. Returns the logits.
inline Tensor check_eval(nn::Module& net, const Fixture& fx, const std::vector<Probe>& probes) {
  net.eval();
  const Tensor x = make_input(fx.at("input_size"));
  Tensor logits;
  std::vector<Tensor> acts;
  {
    std::vector<std::unique_ptr<RecordGuard>> guards;
    for (const auto& p : probes) guards.push_back(std::make_unique<RecordGuard>(net, p.path));
    NoGradGuard no_grad;
    const auto t0 = std::chrono::steady_clock::now();
    logits = net.forward(x);
    std::printf("    eval forward %s: %.2f s\n", shape_str(x.shape()).c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    for (std::size_t i = 0; i < probes.size(); ++i)
      acts.push_back(probes[i].input ? guards[i]->input() : guards[i]->output());
  }
  expect_not_degenerate(logits, "logits");
  expect_close(logits, fx.at("logits"), kEvalRel, "logits");
  for (std::size_t i = 0; i < probes.size(); ++i) check_activation(fx, probes[i].act, acts[i]);
  // Every activation of the fixture is checked.
  std::vector<std::string> probed;
  for (const auto& p : probes) probed.push_back(p.act);
  if (!probes.empty()) {
    EXPECT_EQ(probed, fx.list("acts"));
  }
  return logits;
}

// One net's golden tests: its fixture (a file in tests/golden/data) and how to build the net. Each
// check loads the fixture and builds a freshly filled net (build_filled).
template <class Build>
class GoldenNet {
 public:
  GoldenNet(std::string fixture, Build build) : fixture_(std::move(fixture)), build_(std::move(build)) {}
  void check_eval(const std::vector<Probe>& probes) const;
  // The eval logits again with the net prepared for inference (nn/inference.hpp: batch norms folded
  // into the convolutions, weights packed once): the same fixture and tolerance, and not bitwise the
  // unprepared logits (so the prepared path did run).
  void check_eval_prepared() const;
  void check_train_step(DType dtype) const;

 private:
  std::string fixture_;
  Build build_;
};

template <class Build>
void GoldenNet<Build>::check_eval(const std::vector<Probe>& probes) const {
  const Fixture fx(fixture_);
  auto net = build_filled(build_);
  nets_golden::check_eval(*net, fx, probes);
}

template <class Build>
void GoldenNet<Build>::check_eval_prepared() const {
  const Fixture fx(fixture_);
  auto net = build_filled(build_);
  const Tensor plain = nets_golden::check_eval(*net, fx, {});
  nn::prepare_inference(*net);
  const Tensor prepared = nets_golden::check_eval(*net, fx, {});
  EXPECT_NE(to_vector<float>(plain), to_vector<float>(prepared)) << "the prepared forward did not run";
}

// Converts every float32 parameter and buffer of `net` to float64 in place (each tensor keeps its
// TensorImpl, as Module::to(device) does; gradients are dropped). The values are the float32 ones,
// widened exactly, as the script's model.double() after the float32 fill.
inline void convert_to_float64(nn::Module& net) {
  auto convert = [](const Tensor& t) {
    if (t.dtype() != DType::Float32) return;
    const Tensor wide = cast_copy(t, DType::Float64);
    TensorImpl* impl = t.impl();
    impl->grad.reset();
    impl->storage = wide.storage();
    impl->offset = 0;
    impl->strides = wide.strides();
    impl->dtype = DType::Float64;
  };
  for (const auto& nt : net.named_parameters()) convert(nt.second);
  for (const auto& nt : net.named_buffers()) convert(nt.second);
}

// One training step: train mode with every Dropout in eval mode (as the script), forward on the
// fixture's training input, cross-entropy with its labels, backward; compares logits, loss, the
// listed gradients (a name with "[a:b]" compares rows a..b-1) and buffers after the step with the
// fixture's float64 step (see the tolerances above). `dtype`: the precision the net runs in here
// (Float64: the net is converted after the float32 fill, as the script does).
inline void check_train_step(nn::Module& net, const Fixture& fx, DType dtype) {
  if (dtype == DType::Float64) convert_to_float64(net);
  const bool f64 = dtype == DType::Float64;
  const double rel_forward = f64 ? kTrainF64Rel : kTrainF32ForwardRel;
  const double rel_grad = f64 ? kTrainF64Rel : kTrainF32GradRel;
  net.train();
  for (auto& nm : net.named_modules())
    if (nm.second->type_name() == "Dropout") nm.second->eval();
  for (auto& p : net.parameters()) p.zero_grad();
  const Tensor x = cast_copy(make_input(fx.at("train/input_size")), dtype);
  const Tensor labels = fx.at("train/labels");
  const auto t0 = std::chrono::steady_clock::now();
  const Tensor logits = net.forward(x);
  const Tensor loss = cross_entropy(logits, labels);
  backward(loss);
  std::printf("    training step %s %s: %.2f s\n", dtype_name(dtype), shape_str(x.shape()).c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  auto wide = [](const Tensor& t) { return cast_copy(contiguous_copy(detach(t)), DType::Float64); };
  expect_not_degenerate(wide(logits), "train logits");
  expect_close(wide(logits), fx.at("train/logits"), rel_forward, "train logits");
  expect_close(wide(loss), fx.at("train/loss"), rel_forward, "train loss");
  for (const auto& g : fx.list("train_grads")) {
    std::string name = g;
    std::int64_t a = -1, b = -1;
    const std::size_t br = g.find('[');
    if (br != std::string::npos) {
      name = g.substr(0, br);
      const std::size_t colon = g.find(':', br);
      a = std::stoll(g.substr(br + 1, colon - br - 1));
      b = std::stoll(g.substr(colon + 1, g.size() - colon - 2));
    }
    const Tensor p = net.tensor(name);
    ASSERT_TRUE(p.grad().defined()) << "no gradient for " << name;
    EXPECT_EQ(p.grad().dtype(), dtype) << name;
    Tensor grad = p.grad();
    if (a >= 0) grad = slice(grad, 0, a, b);
    expect_close(wide(grad), fx.at("train/grad/" + g), rel_grad, "grad " + g);
  }
  for (const auto& bname : fx.list("train_after")) {
    const Tensor& want = fx.at("train/after/" + bname);
    const Tensor got = net.tensor(bname);
    if (want.dtype() == DType::Int64) {
      EXPECT_EQ(to_vector<std::int64_t>(got), to_vector<std::int64_t>(want)) << bname;
    } else {
      expect_close(wide(got), want, rel_forward, "after step " + bname);
    }
  }
}

template <class Build>
void GoldenNet<Build>::check_train_step(DType dtype) const {
  const Fixture fx(fixture_);
  auto net = build_filled(build_);
  nets_golden::check_train_step(*net, fx, dtype);
}

}  // namespace anima::nets_golden
