// Whole-network inference on CUDA: the twin of bench/nets_bench.cpp.
//
//   BM_net_cuda/<net>/batch:<n>     net in vgg16, resnet50, mobilenet_v2, inception_v3
//
// The net (default initialisation) and a standard-normal input [n, 3, S, S] (S = 224, inception_v3:
// 299) are moved to cuda:0; eval mode, NoGradGuard, float32 (conv through the default algorithm:
// cuDNN's heuristic, FMA math). One warm-up forward; each iteration is timed with CUDA events around
// one forward (UseManualTime). bench/compare_nets.py --cuda compares with torchvision in the same run.
// Run: anima_bench_cuda_nets [--benchmark_filter=resnet50]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <exception>
#include <string>

#include <cuda_runtime.h>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/generator.hpp>
#include <anima/cuda/backend.cuh>
#include <anima/nets/registry.hpp>
#include <anima/ops/factory.hpp>

namespace {

void run_net(benchmark::State& state, std::string name, std::int64_t batch) {
  if (!anima::cuda_is_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  try {
    anima::NoGradGuard no_grad;
    anima::Generator gen(1);
    const anima::Device dev = anima::Device::cuda(0);
    auto net = anima::nets::make_net(name);
    net->eval();
    net->to(dev);
    const std::int64_t size = anima::nets::net_input_size(name);
    const anima::Tensor x = anima::device_copy(anima::randn({batch, 3, size, size}, {}, gen), dev);
    anima::Tensor y = net->forward(x);  // warm-up (cuDNN handle and algorithms, caching allocator)
    anima::synchronize(dev);
    cudaEvent_t start, stop;
    ANIMA_CUDA_CHECK(cudaEventCreate(&start));
    ANIMA_CUDA_CHECK(cudaEventCreate(&stop));
    for (auto _ : state) {
      ANIMA_CUDA_CHECK(cudaEventRecord(start, anima::cuda::current_stream()));
      y = net->forward(x);
      ANIMA_CUDA_CHECK(cudaEventRecord(stop, anima::cuda::current_stream()));
      ANIMA_CUDA_CHECK(cudaEventSynchronize(stop));
      float ms = 0.f;
      ANIMA_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      state.SetIterationTime(ms * 1e-3);
    }
    ANIMA_CUDA_CHECK(cudaEventDestroy(start));
    ANIMA_CUDA_CHECK(cudaEventDestroy(stop));
    state.counters["images/s"] =
        benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

const bool kRegistered = [] {
  for (const char* name : {"vgg16", "resnet50", "mobilenet_v2", "inception_v3"})
    for (std::int64_t batch : {1, 8})
      benchmark::RegisterBenchmark(("BM_net_cuda/" + std::string(name) + "/batch:" + std::to_string(batch)).c_str(),
                                   run_net, std::string(name), batch)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
