// Training on the CPU: a whole SGD step of the ImageNet classifiers, and the data loader's throughput.
//
//   BM_train_step/<net>/batch:<n>   mobilenet_v2 at 32, resnet50 at 16: zero_grad, forward in train
//                                   mode, cross-entropy, backward, SGD step (momentum 0.9, weight decay
//                                   1e-4), input [n, 3, 224, 224] standard normal, random labels of 1000
//   BM_loader/workers:<w>           one epoch of anima::data::DataLoader over the JPEG files of
//                                   $ANIMA_BENCH_IMAGES (or 64 generated 320x240 images): decode (stb),
//                                   RandomResizedCrop(224) + flip, normalise to float, batches of 32;
//                                   counter images_per_second (and per worker thread)
// Wall time (UseRealTime): the step runs on the thread pool (ANIMA_NUM_THREADS), the loader on its
// worker threads. bench/compare_train.py runs this binary and times PyTorch's same step and
// torchvision's DataLoader over the same files in the same run.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/data/data_loader.hpp>
#include <anima/data/image_transforms.hpp>
#include <anima/data/imagenet_transforms.hpp>
#include <anima/nets/registry.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/loss.hpp>
#include <anima/optim/sgd.hpp>

namespace {

namespace fs = std::filesystem;

void train_step(benchmark::State& state, const std::string& name, std::int64_t batch) {
  try {
    anima::manual_seed(0);
    auto net = anima::nets::make_net(name, 1000);
    net->train();
    anima::optim::SGD opt(net->parameters(), anima::optim::SGDOptions{0.01, 0.9, 1e-4});
    anima::Generator gen(1);
    const anima::Tensor x = anima::randn({batch, 3, 224, 224}, {}, gen);
    std::vector<std::int64_t> labels;
    for (std::int64_t i = 0; i < batch; ++i) labels.push_back((i * 7919) % 1000);
    const anima::Tensor y = anima::from_vector(labels, {batch});
    auto step = [&] {
      opt.zero_grad();
      const anima::Tensor loss = anima::cross_entropy(net->forward(x), y);
      anima::backward(loss);
      opt.step();
      return loss;
    };
    step();  // warm-up: thread pool, allocator, momentum buffers
    for (auto _ : state) benchmark::DoNotOptimize(step().raw_data());
    state.counters["images_per_second"] =
        benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// The benchmark's images: $ANIMA_BENCH_IMAGES (every .jpg/.png in it), else 64 generated 320x240 JPEGs.
std::vector<std::string> bench_images() {
  std::vector<std::string> files;
  if (const char* dir = std::getenv("ANIMA_BENCH_IMAGES")) {
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.path().extension() == ".jpg" || e.path().extension() == ".png") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    return files;
  }
  const fs::path dir = fs::temp_directory_path() / ("anima_bench_images_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<unsigned char> rgb(320 * 240 * 3);
  for (int k = 0; k < 64; ++k) {
    for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<unsigned char>((i * (k + 3) / 7 + k * 13) % 256);
    const std::string path = (dir / ("img" + std::to_string(k) + ".jpg")).string();
    stbi_write_jpg(path.c_str(), 320, 240, 3, rgb.data(), 90);
    files.push_back(path);
  }
  return files;
}

void loader_epoch(benchmark::State& state, int workers) {
  try {
    static const std::vector<std::string> files = bench_images();
    anima::data::DataLoaderOptions o;
    o.batch_size = 32;
    o.workers = workers;
    auto make = [&](const anima::data::BatchRequest& r) {
      std::vector<float> pixels;
      for (std::size_t i : r.indices) {
        int w = 0, h = 0, n = 0;
        unsigned char* p = stbi_load(files[i].c_str(), &w, &h, &n, 3);
        if (p == nullptr) anima::fail("bench", "cannot decode ", files[i]);
        anima::data::ImageU8 im(w, h, 3);
        im.pixels.assign(p, p + static_cast<std::size_t>(w) * h * 3);
        stbi_image_free(p);
        const auto view = anima::data::random_resized_crop_flip(im, 224, anima::data::sample_seed(0, r.epoch, i));
        const std::vector<float> v = anima::to_vector<float>(anima::data::to_normalized_tensor(view));
        pixels.insert(pixels.end(), v.begin(), v.end());
      }
      return pixels;
    };
    anima::data::DataLoader<std::vector<float>> loader(files.size(), o, make);
    while (loader.next()) {
    }  // warm-up epoch
    for (auto _ : state)
      while (auto b = loader.next()) benchmark::DoNotOptimize(b->data());
    const double n = static_cast<double>(files.size());
    state.counters["images_per_second"] = benchmark::Counter(n, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["images_per_second_per_worker"] =
        benchmark::Counter(n / std::max(1, workers), benchmark::Counter::kIsIterationInvariantRate);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

const bool kRegistered = [] {
  benchmark::RegisterBenchmark("BM_train_step/mobilenet_v2/batch:32",
                               [](benchmark::State& s) { train_step(s, "mobilenet_v2", 32); })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_train_step/resnet50/batch:16",
                               [](benchmark::State& s) { train_step(s, "resnet50", 16); })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  for (int w : {1, 2})
    benchmark::RegisterBenchmark(("BM_loader/workers:" + std::to_string(w)).c_str(),
                                 [w](benchmark::State& s) { loader_epoch(s, w); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
