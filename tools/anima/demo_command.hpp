// tools/anima/demo_command.hpp — `anima demo`: the main job until `anima analyze` exists.
//
// Generates a small synthetic set with `anima synth`'s generator (two characters x four emotions,
// masked face crops in an ImageFolder layout), then trains a tiny CNN from scratch on the CPU to
// recognise the eight classes, printing the falling loss and the rising accuracy. Everything runs
// through the engine: conv2d (im2col + packed GEMM), max pooling, ReLU, linear, cross-entropy,
// autograd.
//
//   input [B, 3, 32, 32] (256x256 crops area-averaged to 32x32, scaled to [0, 1])
//   conv3x3(3->16) ReLU maxpool2 -> conv3x3(16->32) ReLU maxpool2 -> conv3x3(32->64) ReLU
//   -> global average pool -> linear(64->8) -> logits [B, 8]
//   loss: cross-entropy; SGD with momentum 0.9: v <- 0.9 v + grad, p <- p - lr v
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/ops/conv.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/linear.hpp>
#include <anima/ops/loss.hpp>
#include <anima/ops/pool.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

#include "synth/classes.hpp"
#include "synth/dataset.hpp"
#include "face_folder.hpp"
#include "media.hpp"

namespace anima::cli {

struct DemoOptions {
  std::string data = "anima_demo_data";  // generated here unless it already holds faces/
  int frames = 600;                      // synthetic frames to generate (about 1.6 faces each)
  int steps = 300;
  int batch = 32;
  int image_size = 32;
  double learning_rate = 0.05;
  std::uint64_t seed = 1;
  int print_every = 25;
};

struct TinyCnn {
  struct Param {
    Tensor value, velocity;
  };
  std::vector<Param> params;

  explicit TinyCnn(Generator& gen, int classes) {
    // Kaiming-normal weights (std = sqrt(2 / fan_in)), zero biases.
    auto weight = [&](const Shape& s, double fan_in) {
      return randn(s, TensorOptions(), gen, 0.0, std::sqrt(2.0 / fan_in));
    };
    add(weight({16, 3, 3, 3}, 27));
    add(zeros({16}));
    add(weight({32, 16, 3, 3}, 144));
    add(zeros({32}));
    add(weight({64, 32, 3, 3}, 288));
    add(zeros({64}));
    add(weight({classes, 64}, 64));
    add(zeros({classes}));
  }
  void add(Tensor t) {
    t.set_requires_grad(true);
    params.push_back({t, zeros(t.shape())});
  }
  Tensor forward(const Tensor& x) const {  // x [B, 3, S, S] -> logits [B, classes]
    Conv2dOptions same;
    same.padding = {1, 1};
    Pool2dOptions pool2;
    pool2.kernel_size = {2, 2};
    Tensor h = max_pool2d(relu(conv2d(x, params[0].value, params[1].value, same)), pool2);
    h = max_pool2d(relu(conv2d(h, params[2].value, params[3].value, same)), pool2);
    h = relu(conv2d(h, params[4].value, params[5].value, same));
    h = flatten(global_avg_pool2d(h), 1);
    return linear(h, params[6].value, params[7].value);
  }
  void sgd_step(double lr) {
    NoGradGuard no_grad;
    for (auto& p : params) {
      p.velocity = p.velocity * 0.9 + p.value.grad();
      Tensor updated = p.value - p.velocity * lr;
      updated.set_requires_grad(true);
      p.value = updated;
    }
  }
};

// Rows `order[first .. first+count)` of x [N, ...], copied into a new tensor [count, ...].
inline Tensor gather_rows(const Tensor& x, const std::vector<std::int64_t>& order, std::size_t first,
                          std::size_t count) {
  Shape shape = x.shape();
  shape[0] = static_cast<std::int64_t>(count);
  Tensor out = Tensor::empty(shape, TensorOptions(x.dtype()));
  const std::size_t row_bytes = static_cast<std::size_t>(x.numel() / x.size(0)) * element_size(x.dtype());
  const auto* src = static_cast<const unsigned char*>(x.raw_data());
  auto* dst = static_cast<unsigned char*>(out.raw_data());
  for (std::size_t i = 0; i < count; ++i)
    std::memcpy(dst + i * row_bytes, src + static_cast<std::size_t>(order[first + i]) * row_bytes, row_bytes);
  return out;
}

// Fraction of rows whose arg-max equals the label.
inline double accuracy(const Tensor& logits, const Tensor& labels) {
  NoGradGuard no_grad;
  Tensor hit = eq(to(argmax(logits, 1), DType::Float32), to(labels, DType::Float32));
  return item<double>(mean(to(hit, DType::Float32)));
}

// A Philox permutation of 0..n-1 (Fisher-Yates), for epoch `epoch`.
inline std::vector<std::int64_t> shuffled(std::int64_t n, std::uint64_t seed, std::uint64_t epoch) {
  return random_permutation(n, seed, epoch << 32);
}

inline int run_demo(const DemoOptions& o) {
  namespace fs = std::filesystem;
  const fs::path data(o.data);
  std::vector<std::string> classes;
  for (auto c : synth::kCharacters)
    for (auto e : synth::kEmotions) classes.push_back(synth::face_class_name(c, e));
  if (!fs::is_directory(data / "faces" / "train")) {
    std::printf("anima demo: generating %d synthetic frames with masked faces into %s\n", o.frames,
                data.string().c_str());
    synth::SynthOptions so;
    so.out = data;
    so.seed = o.seed;
    so.frames = o.frames;
    so.faces = true;
    so.quiet = true;
    const auto report = synth::generate_dataset(so);
    std::printf("  %d frames, %d faces in %.1f s\n", report.frames, report.faces, report.total_seconds);
  }
  const FaceSet train = load_face_folder(data / "faces" / "train", classes, o.image_size);
  const FaceSet val = load_face_folder(data / "faces" / "val", classes, o.image_size);
  const std::int64_t n = train.images.size(0);
  std::printf(
      "anima demo: tiny CNN on %lld training / %lld validation faces (%d classes, %dx%d), %d SGD steps of %d, "
      "%d threads\n",
      static_cast<long long>(n), static_cast<long long>(val.images.size(0)), static_cast<int>(classes.size()),
      o.image_size, o.image_size, o.steps, o.batch, default_num_threads());
  Generator gen(o.seed);
  TinyCnn net(gen, static_cast<int>(classes.size()));
  const std::size_t batch = static_cast<std::size_t>(std::min<std::int64_t>(o.batch, n));
  std::vector<std::int64_t> order;
  std::size_t cursor = 0;
  std::uint64_t epoch = 0;
  double window_loss = 0, window_acc = 0, first_loss = -1, last_window_loss = 0;
  int window = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int step = 1; step <= o.steps; ++step) {
    if (order.empty() || cursor + batch > order.size()) {
      order = shuffled(n, o.seed, epoch++);
      cursor = 0;
    }
    Tensor x = gather_rows(train.images, order, cursor, batch);
    Tensor y = gather_rows(train.labels, order, cursor, batch);
    cursor += batch;
    Tensor logits = net.forward(x);
    Tensor loss = cross_entropy(logits, y);
    for (auto& p : net.params) p.value.zero_grad();
    backward(loss);
    net.sgd_step(o.learning_rate);
    const double l = item<double>(loss);
    if (first_loss < 0) first_loss = l;
    window_loss += l;
    window_acc += accuracy(logits, y);
    ++window;
    if (step % o.print_every == 0 || step == o.steps) {
      last_window_loss = window_loss / window;
      std::printf("step %4d  loss %.4f  train accuracy %5.1f%%", step, last_window_loss, 100.0 * window_acc / window);
      if (step % (4 * o.print_every) == 0 || step == o.steps) {
        NoGradGuard no_grad;
        std::printf("  validation accuracy %5.1f%%", 100.0 * accuracy(net.forward(val.images), val.labels));
      }
      std::printf("\n");
      std::fflush(stdout);
      window_loss = window_acc = 0;
      window = 0;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("loss %.4f (first step) -> %.4f (last %d steps), %.1f s\n", first_loss, last_window_loss, o.print_every,
              seconds);
  return last_window_loss < first_loss ? 0 : 1;
}

// Registers `anima demo`; its exit status goes to `status`.
inline CLI::App* add_demo_command(CLI::App& app, int& status) {
  auto opts = std::make_shared<DemoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "demo",
      "generate a small synthetic set and train a tiny CNN on its masked faces (CPU), printing loss and accuracy");
  cmd->add_option("--data", opts->data, "folder of the synthetic set (generated if it holds no faces/)");
  cmd->add_option("--frames", opts->frames, "synthetic frames to generate")->check(CLI::PositiveNumber);
  cmd->add_option("--steps", opts->steps, "SGD steps")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", opts->batch, "batch size")->check(CLI::PositiveNumber);
  cmd->add_option("--size", opts->image_size, "input size the 256x256 crops are reduced to")->check(CLI::Range(4, 256));
  cmd->add_option("--lr", opts->learning_rate, "learning rate")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", opts->seed, "random seed (data and initialisation)");
  cmd->add_option("--print-every", opts->print_every, "print every N steps")->check(CLI::PositiveNumber);
  cmd->callback([opts, &status] { status = media_plugin().demo(*opts); });
  return cmd;
}

}  // namespace anima::cli
