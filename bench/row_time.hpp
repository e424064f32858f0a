// bench/row_time.hpp — how the rows of a benchmark that runs both on the CPU and on the GPU are timed:
// wall time (UseRealTime: the CPU versions run on the thread pool's workers) or the manual time that
// CUDA events measure (UseManualTime, bench/cuda_timer.cuh).
#pragma once

#include <benchmark/benchmark.h>

namespace anima::bench {

enum class RowTime { Wall, CudaEvents };

// Sets b's time mode to t and its unit to `unit`; returns b.
inline benchmark::internal::Benchmark* set_row_time(benchmark::internal::Benchmark* b, RowTime t,
                                                    benchmark::TimeUnit unit) {
  if (t == RowTime::Wall)
    b->UseRealTime();
  else
    b->UseManualTime();
  return b->Unit(unit);
}

}  // namespace anima::bench
