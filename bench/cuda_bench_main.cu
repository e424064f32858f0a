// main() of the CUDA benchmark programs (bench/*_bench.cu): registers the CUDA backend, then runs
// Google Benchmark as benchmark_main would.
#include <benchmark/benchmark.h>

#include <anima/backends/cuda/backend.cuh>

int main(int argc, char** argv) {
  anima::cuda::register_backend();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
