// tools/anima/demo_command.hpp — `anima demo`: the main job until the application exists.
//
// Trains a small multilayer perceptron, from scratch on the CPU, to separate three interleaved
// spirals generated with Philox (a classic non-linearly separable toy problem), and prints the
// falling loss and rising accuracy. Everything goes through the public engine: tensors, autograd,
// matmul on the packed GEMM, elementwise ops and reductions.
//
//   model: x[N,2] -> Linear(2,H) -> ReLU -> Linear(H,H) -> ReLU -> Linear(H,3) -> logits[N,3]
//   loss:  mean over rows of  logsumexp(logits) - logits[label]      (softmax cross-entropy)
//   SGD with momentum 0.9:  v <- 0.9 v + grad;  p <- p - lr v
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/matmul.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

namespace anima::cli {

struct DemoOptions {
  int steps = 300;
  int points_per_class = 200;
  int hidden = 64;
  double learning_rate = 0.2;
  std::uint64_t seed = 1;
  int print_every = 25;
};

struct SpiralData {
  Tensor x;       // [N, 2] float32
  Tensor labels;  // [N] float32 class ids (0, 1, 2), for comparisons
};

// Three spirals: point i of class c at radius r = i/n and angle 4(c + r) + noise.
inline SpiralData make_spirals(int per_class, Generator& gen) {
  const int classes = 3, n = per_class * classes;
  Tensor noise = randn({n}, TensorOptions(DType::Float64), gen, 0.0, 0.2);
  const auto nv = to_vector<double>(noise);
  std::vector<float> xy(2 * n), label(n);
  for (int c = 0; c < classes; ++c)
    for (int i = 0; i < per_class; ++i) {
      const int k = c * per_class + i;
      const double r = static_cast<double>(i) / per_class;
      const double t = 4.0 * (c + r) + nv[k];
      xy[2 * k] = static_cast<float>(r * std::sin(t));
      xy[2 * k + 1] = static_cast<float>(r * std::cos(t));
      label[k] = static_cast<float>(c);
    }
  return {from_vector(xy, {n, 2}), from_vector(label, {n})};
}

struct Param {
  Tensor value;
  Tensor velocity;
};

inline Param make_param(const Shape& shape, double scale, Generator& gen) {
  Tensor w = randn(shape, TensorOptions(), gen, 0.0, scale);
  w.set_requires_grad(true);
  return {w, zeros(shape)};
}

// Mean softmax cross-entropy of logits [N, C] against float class ids [N].
inline Tensor cross_entropy_loss(const Tensor& logits, const Tensor& labels) {
  Tensor m = detach(max(logits, 1, true).values);  // shift for stability (a constant: no gradient needed)
  Tensor shifted = logits - m;
  Tensor lse = log(sum(exp(shifted), {1}, true));
  Tensor classes = arange(0, static_cast<double>(logits.size(1)), 1, TensorOptions(logits.dtype()));
  Tensor one_hot = to(eq(unsqueeze(labels, 1), unsqueeze(classes, 0)), logits.dtype());
  Tensor picked = sum(shifted * one_hot, {1}, true);
  return mean(lse - picked);
}

inline int run_demo(const DemoOptions& o) {
  Generator gen(o.seed);
  SpiralData data = make_spirals(o.points_per_class, gen);
  const int h = o.hidden;
  std::vector<Param> params = {make_param({2, h}, std::sqrt(2.0 / 2), gen), make_param({h}, 0.0, gen),
                               make_param({h, h}, std::sqrt(2.0 / h), gen), make_param({h}, 0.0, gen),
                               make_param({h, 3}, std::sqrt(1.0 / h), gen), make_param({3}, 0.0, gen)};
  auto forward = [&](const Tensor& x) {
    Tensor a = relu(matmul(x, params[0].value) + params[1].value);
    Tensor b = relu(matmul(a, params[2].value) + params[3].value);
    return matmul(b, params[4].value) + params[5].value;
  };
  std::printf("anima demo: MLP 2-%d-%d-3 on %d spiral points, %d SGD steps (momentum 0.9, lr %.2f), %d threads\n", h, h,
              static_cast<int>(data.x.size(0)), o.steps, o.learning_rate, default_num_threads());
  double first_loss = 0, last_loss = 0;
  for (int step = 1; step <= o.steps; ++step) {
    Tensor logits = forward(data.x);
    Tensor loss = cross_entropy_loss(logits, data.labels);
    for (auto& p : params) p.value.zero_grad();
    backward(loss);
    {
      NoGradGuard no_grad;
      for (auto& p : params) {
        p.velocity = p.velocity * 0.9 + p.value.grad();
        Tensor updated = p.value - p.velocity * o.learning_rate;
        updated.set_requires_grad(true);
        p.value = updated;
      }
    }
    last_loss = item<double>(loss);
    if (step == 1) first_loss = last_loss;
    if (step == 1 || step % o.print_every == 0 || step == o.steps) {
      NoGradGuard no_grad;
      Tensor predicted = to(argmax(logits, 1), DType::Float32);
      const double accuracy = item<double>(mean(to(eq(predicted, data.labels), DType::Float32)));
      std::printf("step %4d  loss %.4f  accuracy %5.1f%%\n", step, last_loss, 100.0 * accuracy);
      std::fflush(stdout);
    }
  }
  std::printf("loss %.4f -> %.4f\n", first_loss, last_loss);
  return last_loss < first_loss ? 0 : 1;
}

// Registers `anima demo`; its exit status goes to `status`.
inline CLI::App* add_demo_command(CLI::App& app, int& status) {
  auto opts = std::make_shared<DemoOptions>();
  CLI::App* cmd = app.add_subcommand("demo", "train a small network on generated data (CPU) and print its loss");
  cmd->add_option("--steps", opts->steps, "SGD steps")->check(CLI::PositiveNumber);
  cmd->add_option("--points", opts->points_per_class, "points per class")->check(CLI::PositiveNumber);
  cmd->add_option("--hidden", opts->hidden, "hidden width")->check(CLI::PositiveNumber);
  cmd->add_option("--lr", opts->learning_rate, "learning rate")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", opts->seed, "random seed");
  cmd->add_option("--print-every", opts->print_every, "print every N steps")->check(CLI::PositiveNumber);
  cmd->callback([opts, &status] { status = run_demo(*opts); });
  return cmd;
}

}  // namespace anima::cli
