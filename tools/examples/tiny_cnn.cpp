// tools/examples/tiny_cnn.cpp — the smallest complete training program on anima, for study: it draws a
// small synthetic set with the project's cartoon generator (two characters x four emotions, masked
// face crops in an ImageFolder layout), then trains a tiny CNN from scratch on the CPU to recognise the
// eight classes, printing the falling loss and the rising accuracy. It uses the library as a program
// of one's own would: nn modules, autograd, optim::SGD.
//
//   build/tools/anima_tiny_cnn [--data DIR] [--frames 600] [--steps 300] [--batch 32] [--size 32]
//                              [--lr 0.05] [--seed 1] [--print-every 25]
//
// The net (torch.nn equivalents in brackets):
//   input [B, 3, 32, 32]: the 256x256 crops area-averaged to 32x32, scaled to [0, 1]
//   Conv2d(3, 16, 3, padding 1) ReLU MaxPool2d(2) -> Conv2d(16, 32, 3, padding 1) ReLU MaxPool2d(2)
//   -> Conv2d(32, 64, 3, padding 1) ReLU -> AdaptiveAvgPool2d(1) Flatten -> Linear(64, 8): logits [B, 8]
// One step: loss = cross_entropy(logits, labels); backward(loss) fills every parameter's gradient;
// SGD with momentum 0.9 (PyTorch's form): v <- 0.9 v + grad, p <- p - lr v.
// Exit status 0 when the loss of the last steps is below the first step's.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/grad_mode.hpp>
#include <anima/core/error.hpp>
#include <anima/core/generator.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/nn/activation.hpp>
#include <anima/nn/conv.hpp>
#include <anima/nn/flatten.hpp>
#include <anima/nn/linear.hpp>
#include <anima/nn/pool.hpp>
#include <anima/nn/sequential.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/loss.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/optim/sgd.hpp>

#include "examples/face_folder.hpp"
#include "synth/classes.hpp"
#include "synth/dataset.hpp"

namespace {

using namespace anima;

struct Options {
  std::string data = "anima_tiny_cnn_data";  // generated here unless it already holds faces/
  int frames = 600;                          // synthetic frames to draw (about 1.6 faces each)
  int steps = 300;
  int batch = 32;
  int image_size = 32;
  double lr = 0.05;
  std::uint64_t seed = 1;
  int print_every = 25;
};

std::shared_ptr<nn::Sequential> tiny_cnn(int classes, Generator& gen) {
  auto conv = [&](std::int64_t in, std::int64_t out) {
    return std::make_shared<nn::Conv2d>(in, out, 3, /*stride=*/1, /*padding=*/1, /*dilation=*/1, /*groups=*/1,
                                        /*bias=*/true, gen);
  };
  return std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
      conv(3, 16), std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),   //
      conv(16, 32), std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),  //
      conv(32, 64), std::make_shared<nn::ReLU>(),                                      //
      std::make_shared<nn::AdaptiveAvgPool2d>(1), std::make_shared<nn::Flatten>(1),
      std::make_shared<nn::Linear>(64, classes, /*bias=*/true, gen)});
}

// Rows order[first .. first + count) of x [N, ...], copied into a new tensor [count, ...]: a batch.
Tensor gather_rows(const Tensor& x, const std::vector<std::int64_t>& order, std::size_t first, std::size_t count) {
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

// The share of rows whose arg-max is the label.
double accuracy(const Tensor& logits, const Tensor& labels) {
  NoGradGuard no_grad;
  Tensor hit = eq(to(argmax(logits, 1), DType::Float32), to(labels, DType::Float32));
  return item<double>(mean(to(hit, DType::Float32)));
}

int train(const Options& o) {
  namespace fs = std::filesystem;
  const fs::path data(o.data);
  std::vector<std::string> classes;
  for (auto c : synth::kCharacters)
    for (auto e : synth::kEmotions) classes.push_back(synth::face_class_name(c, e));
  if (!fs::is_directory(data / "faces" / "train")) {
    std::printf("tiny_cnn: drawing %d synthetic frames with masked faces into %s\n", o.frames, data.string().c_str());
    synth::SynthOptions so;
    so.out = data;
    so.seed = o.seed;
    so.frames = o.frames;
    so.faces = true;
    so.quiet = true;
    const synth::SynthReport report = synth::generate_dataset(so);
    std::printf("  %d frames, %d faces in %.1f s\n", report.frames, report.faces, report.total_seconds);
  }
  const examples::FaceSet train_set = examples::load_face_folder(data / "faces" / "train", classes, o.image_size);
  const examples::FaceSet val_set = examples::load_face_folder(data / "faces" / "val", classes, o.image_size);
  const std::int64_t n = train_set.images.size(0);
  ANIMA_CHECK(n > 0, "tiny_cnn", "no training faces in '", (data / "faces" / "train").string(), "'");
  std::printf("tiny_cnn: %lld training / %lld validation faces (%d classes, %dx%d), %d SGD steps of %d, %d threads\n",
              static_cast<long long>(n), static_cast<long long>(val_set.images.size(0)),
              static_cast<int>(classes.size()), o.image_size, o.image_size, o.steps, o.batch, default_num_threads());

  Generator gen(o.seed);
  const std::shared_ptr<nn::Sequential> net = tiny_cnn(static_cast<int>(classes.size()), gen);
  optim::SGDOptions sgd_options;
  sgd_options.lr = o.lr;
  sgd_options.momentum = 0.9;
  optim::SGD sgd(net->parameters(), sgd_options);

  const std::size_t batch = static_cast<std::size_t>(std::min<std::int64_t>(o.batch, n));
  std::vector<std::int64_t> order;
  std::size_t cursor = 0;
  std::uint64_t epoch = 0;
  double window_loss = 0, window_accuracy = 0, first_loss = -1, last_window_loss = 0;
  int window = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int step = 1; step <= o.steps; ++step) {
    if (order.empty() || cursor + batch > order.size()) {  // a new epoch: a new Philox shuffle
      order = random_permutation(n, o.seed, epoch++ << 32);
      cursor = 0;
    }
    const Tensor x = gather_rows(train_set.images, order, cursor, batch);
    const Tensor y = gather_rows(train_set.labels, order, cursor, batch);
    cursor += batch;
    net->train();
    const Tensor logits = net->forward(x);
    const Tensor loss = cross_entropy(logits, y);
    sgd.zero_grad();
    backward(loss);
    sgd.step();

    const double l = item<double>(loss);
    if (first_loss < 0) first_loss = l;
    window_loss += l;
    window_accuracy += accuracy(logits, y);
    ++window;
    if (step % o.print_every == 0 || step == o.steps) {
      last_window_loss = window_loss / window;
      std::printf("step %4d  loss %.4f  train accuracy %5.1f%%", step, last_window_loss,
                  100.0 * window_accuracy / window);
      if (step % (4 * o.print_every) == 0 || step == o.steps) {
        NoGradGuard no_grad;
        net->eval();
        std::printf("  validation accuracy %5.1f%%", 100.0 * accuracy(net->forward(val_set.images), val_set.labels));
      }
      std::printf("\n");
      std::fflush(stdout);
      window_loss = window_accuracy = 0;
      window = 0;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("loss %.4f (first step) -> %.4f (last %d steps), %.1f s\n", first_loss, last_window_loss,
              std::min(o.print_every, o.steps), seconds);
  return last_window_loss < first_loss ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app("anima's tiny CNN example: synthetic cartoon faces, 8 classes, trained from scratch on the CPU");
  app.add_option("--data", o.data, "folder of the synthetic set (drawn there if it holds no faces/)");
  app.add_option("--frames", o.frames, "synthetic frames to draw")->check(CLI::PositiveNumber);
  app.add_option("--steps", o.steps, "SGD steps")->check(CLI::PositiveNumber);
  app.add_option("--batch", o.batch, "batch size")->check(CLI::PositiveNumber);
  app.add_option("--size", o.image_size, "input size the 256x256 crops are reduced to")->check(CLI::Range(4, 256));
  app.add_option("--lr", o.lr, "learning rate")->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "random seed (data, initialisation, order)");
  app.add_option("--print-every", o.print_every, "print every N steps")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    return train(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tiny_cnn: error: %s\n", e.what());
    return 2;
  }
}
