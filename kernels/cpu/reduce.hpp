// anima/kernels/cpu/reduce.hpp — row reductions (CPU).
//
// The op layer moves the reduced dimensions last and makes the input contiguous, so every reduction
// here is over the `cols` elements of each of `rows` rows of x [rows, cols]:
//   sum:    y[r] = Σ_c x[r, c]            (accumulated in double for float inputs: a 10^6-element sum
//                                          stays within a few ulps instead of drifting by ~n*eps)
//   max:    y[r] = max_c x[r, c], idx[r] = the first c attaining it (NaN wins, as in PyTorch)
//   min:    likewise with min
// idx may be null when only values are wanted. cols == 0 is rejected by the op layer for max/min.
#pragma once

#include <cstdint>

#include <anima/kernels/parallel.hpp>
#include <anima/kernels/reduce_op.hpp>

namespace anima::kernels::cpu {

template <class T>
struct sum_accumulator {
  using type = double;
};

template <class T>
void reduce_rows(ReduceOp op, const T* x, std::int64_t rows, std::int64_t cols, T* y, std::int64_t* idx,
                 const ParallelFor& parallel) {
  const std::int64_t grain = cols > 0 ? (16384 + cols - 1) / cols : 1;
  parallel(0, rows, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const T* row = x + r * cols;
      if (op == ReduceOp::Sum) {
        typename sum_accumulator<T>::type acc = 0;
        for (std::int64_t c = 0; c < cols; ++c) acc += row[c];
        y[r] = static_cast<T>(acc);
        continue;
      }
      T best = row[0];
      std::int64_t best_c = 0;
      for (std::int64_t c = 1; c < cols && best == best; ++c) {
        const T v = row[c];
        const bool better = (v != v) || (op == ReduceOp::Max ? v > best : v < best);
        if (better) {
          best = v;
          best_c = c;
        }
      }
      y[r] = best;
      if (idx) idx[r] = best_c;
    }
  });
}

}  // namespace anima::kernels::cpu
