// anima/kernels/cpu/index_rows.hpp — row gather and row index-add over [rows, row_elems] arrays (CPU).
// Contract (shared with anima/kernels/cuda/index_rows.cuh), every array contiguous:
//   index_select_rows: y[j, c] = x[idx[j], c]            x [K, R], idx [M] in [0, K), y [M, R]
//   index_copy_rows:   y[idx[j], c] = x[j, c]            x [M, R], idx [M] distinct in [0, K), y [K, R]
//                      (rows of y no j names are left as they are)
//   index_add_rows:    gx[r, c] = Σ_{t = ptr[r]}^{ptr[r+1]-1} gy[src[t], c]
//                      gy [M, R], ptr [K + 1] (ptr[0] = 0, ptr[K] = M), src [M], gx [K, R]
// index_add_rows is the transpose of index_select_rows given its inverse in CSR form: src lists, for each
// destination row r, the j with idx[j] == r in increasing j (anima/ops/index_rows.hpp builds it). Every
// row of gx is written (a row no j selects becomes 0). The sum runs in increasing t, the order of a
// sequential index_add, so CPU and CUDA give the same bits.
// Indices are validated by the caller (the op); kernels trust them.
#pragma once

#include <algorithm>
#include <cstdint>

#include <anima/kernels/parallel.hpp>

namespace anima::kernels::cpu {

// Rows per parallel chunk: about 64 Ki elements of work each.
inline std::int64_t index_rows_grain(std::int64_t row_elems) {
  return std::max<std::int64_t>(1, (std::int64_t{1} << 16) / std::max<std::int64_t>(1, row_elems));
}

template <class T>
void index_select_rows(const T* x /*[K, R]*/, const std::int64_t* idx /*[M]*/, std::int64_t m, std::int64_t row_elems,
                       T* y /*[M, R]*/, const ParallelFor& parallel) {
  parallel(0, m, index_rows_grain(row_elems), [&](std::int64_t j0, std::int64_t j1) {
    for (std::int64_t j = j0; j < j1; ++j)
      std::copy(x + idx[j] * row_elems, x + (idx[j] + 1) * row_elems, y + j * row_elems);
  });
}

template <class T>
void index_copy_rows(const T* x /*[M, R]*/, const std::int64_t* idx /*[M]*/, std::int64_t m, std::int64_t row_elems,
                     T* y /*[K, R]*/, const ParallelFor& parallel) {
  parallel(0, m, index_rows_grain(row_elems), [&](std::int64_t j0, std::int64_t j1) {
    for (std::int64_t j = j0; j < j1; ++j)
      std::copy(x + j * row_elems, x + (j + 1) * row_elems, y + idx[j] * row_elems);
  });
}

template <class T>
void index_add_rows(const T* gy /*[M, R]*/, const std::int64_t* ptr /*[K+1]*/, const std::int64_t* src /*[M]*/,
                    std::int64_t k, std::int64_t row_elems, T* gx /*[K, R]*/, const ParallelFor& parallel) {
  parallel(0, k, index_rows_grain(row_elems), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      T* out = gx + r * row_elems;
      std::fill(out, out + row_elems, T(0));
      for (std::int64_t t = ptr[r]; t < ptr[r + 1]; ++t) {
        const T* in = gy + src[t] * row_elems;
        for (std::int64_t c = 0; c < row_elems; ++c) out[c] += in[c];
      }
    }
  });
}

}  // namespace anima::kernels::cpu
