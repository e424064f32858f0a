// Activation / softmax benchmarks at the op level (Tensor in, Tensor out, through dispatch), float32
// on the CPU, on a MobileNet-like activation map x [8, 64, 112, 112] (6.4 M elements, 25.7 MB).
//
//   BM_<op>_forward                y = op(x) with grad off
//   BM_<op>_forward_backward       y = op(x) with x requiring grad, then backward(y, g)
//   ops: relu relu6 leaky_relu sigmoid hardswish
//        softmax_last (over the last dim, rows of 112: the fused row path)
//        softmax_channels (over dim 1, 64 channels with 12544 contiguous columns: the column path)
//
// Bytes counted (GB/s in the "bytes_per_second" column) are the minimum traffic of the math, not of
// our implementation: forward reads x and writes y (2 · 4 B per element); backward reads g and the
// saved x (or y) and writes dx (3 · 4 B per element), so forward_backward counts 5 · 4 B per element.
// The activations' backward is one fused pass (ActivationBackwardKernel); relu (anima/ops/elementwise.hpp)
// still runs compare + where, three passes, for comparison. The engine's own work (allocating dx,
// seeding the gradient) is inside the timed region, as it is in training.
// Inputs are allocated and filled outside the timed loop. Wall time (UseRealTime): the work runs on
// the thread pool.
//
// Run: anima_bench_activation [--benchmark_filter=relu] [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/grad_mode.hpp>
#include <anima/ops/activation.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/softmax.hpp>

namespace {

using anima::Tensor;
using Op = std::function<Tensor(const Tensor&)>;

const anima::Shape kShape = {8, 64, 112, 112};

Tensor make_input(bool grad) {
  anima::Generator g(1);
  return anima::rand(kShape, anima::TensorOptions().with_requires_grad(grad), g, -8, 8);
}

void run_forward(benchmark::State& state, const Op& op) {
  Tensor x = make_input(false);
  anima::NoGradGuard no_grad;
  for (auto _ : state) {
    Tensor y = op(x);
    benchmark::DoNotOptimize(y.raw_data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * x.numel() * 2 * 4);
}

void run_forward_backward(benchmark::State& state, const Op& op) {
  Tensor x = make_input(true);
  anima::Generator g(2);
  Tensor up = anima::randn(kShape, anima::TensorOptions(), g);
  for (auto _ : state) {
    x.zero_grad();
    Tensor y = op(x);
    anima::backward(y, up);
    benchmark::DoNotOptimize(x.grad().raw_data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * x.numel() * 5 * 4);
}

#define ANIMA_ACTIVATION_BENCH(name, expr)                                      \
  void BM_##name##_forward(benchmark::State& s) {                               \
    run_forward(s, [](const Tensor& x) { return expr; });                       \
  }                                                                             \
  void BM_##name##_forward_backward(benchmark::State& s) {                      \
    run_forward_backward(s, [](const Tensor& x) { return expr; });              \
  }                                                                             \
  BENCHMARK(BM_##name##_forward)->Unit(benchmark::kMillisecond)->UseRealTime(); \
  BENCHMARK(BM_##name##_forward_backward)->Unit(benchmark::kMillisecond)->UseRealTime();

ANIMA_ACTIVATION_BENCH(relu, anima::relu(x))
ANIMA_ACTIVATION_BENCH(relu6, anima::relu6(x))
ANIMA_ACTIVATION_BENCH(leaky_relu, anima::leaky_relu(x, 0.1))
ANIMA_ACTIVATION_BENCH(sigmoid, anima::sigmoid(x))
ANIMA_ACTIVATION_BENCH(hardswish, anima::hardswish(x))
ANIMA_ACTIVATION_BENCH(softmax_last, anima::softmax(x, -1))
ANIMA_ACTIVATION_BENCH(softmax_channels, anima::softmax(x, 1))

}  // namespace
