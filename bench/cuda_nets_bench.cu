// Whole-network inference on CUDA: the twin of bench/nets_bench.cpp.
//
//   BM_net_cuda/<net>/batch:<n>     net in vgg16, resnet50, mobilenet_v2, inception_v3
//
// The net (default initialisation) and a standard-normal input [n, 3, S, S] (S = 224, inception_v3:
// 299) are moved to cuda:0; eval mode, NoGradGuard, float32 (conv through the default algorithm:
// cuDNN's heuristic, FMA math). One warm-up forward; each iteration is timed with CUDA events around
// one forward (UseManualTime), with the L2 flushed before each forward (bench/cuda_timer.cuh).
// bench/compare_nets.py --cuda compares with torchvision in the same run.
// Run: anima_bench_cuda_nets [--benchmark_filter=resnet50]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <exception>
#include <string>

#include <anima/autograd/grad_mode.hpp>
#include <anima/backends/cuda/backend.cuh>

#include "cuda_device_required.cuh"
#include "cuda_timer.cuh"
#include "net_problem.hpp"

namespace {

void run_net(benchmark::State& state, std::string name, std::int64_t batch) {
  if (anima::bench::skip_without_cuda_device(state)) return;
  try {
    anima::NoGradGuard no_grad;
    const anima::bench::NetProblem p = anima::bench::make_net_problem(name, batch, anima::Device::cuda(0));
    anima::Tensor y;
    anima::bench::time_cuda_iterations(
        state, [&] { y = p.run(); }, anima::cuda::current_stream());
    anima::bench::set_images_per_second(state, batch);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

const bool kRegistered =
    (anima::bench::register_net_benchmarks("BM_net_cuda", run_net, anima::bench::RowTime::CudaEvents), true);

}  // namespace
