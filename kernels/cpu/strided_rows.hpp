// anima/kernels/cpu/strided_rows.hpp — walk a contiguous output and its strided inputs row by row.
//
// Layout::offset(i) costs a division and a remainder per dimension for every element, and the
// compiler cannot vectorise a loop through it. The fast elementwise and copy kernels instead merge
// the operands' dimensions jointly and walk the output in rows of the innermost merged dimension:
//
//   merge:  dimensions of size 1 are dropped; dimension d-1 folds into d when, for every operand,
//           stride[d-1] == stride[d] * size[d] (so a contiguous tensor becomes one row, and a
//           per-channel [1, C, 1, 1] operand beside an [N, C, H, W] one becomes rows of H*W with
//           stride 0).
//   walk:   for a range [begin, end) of output elements, each row segment is handed to the body as
//           (output index, one element offset per operand, length); within it, operand k advances
//           by inner_stride(k). Offsets are computed once per segment.
//
// Only the order of evaluation changes, never which input element feeds which output element, so
// results equal the per-element reference loops bit for bit.
#pragma once

#include <algorithm>
#include <cstdint>

#include <anima/kernels/layout.hpp>

namespace anima::kernels::cpu {

// N operand layouts over one output shape, dimensions merged as above.
template <int N>
class StridedRows {
 public:
  explicit StridedRows(const Layout* const (&layouts)[N]) {
    const Layout& shape = *layouts[0];
    // Keep the dimensions of size > 1, outermost first.
    for (int d = 0; d < shape.ndim; ++d) {
      if (shape.sizes[d] == 1) continue;
      sizes_[ndim_] = shape.sizes[d];
      for (int k = 0; k < N; ++k) strides_[k][ndim_] = layouts[k]->strides[d];
      ++ndim_;
    }
    // Fold each dimension into the one inside it where every operand allows.
    int merged = 0;
    for (int d = 0; d < ndim_; ++d) {
      if (merged > 0) {
        bool foldable = true;
        for (int k = 0; k < N; ++k)
          foldable = foldable && strides_[k][merged - 1] == strides_[k][d] * sizes_[d];
        if (foldable) {
          sizes_[merged - 1] *= sizes_[d];
          for (int k = 0; k < N; ++k) strides_[k][merged - 1] = strides_[k][d];
          continue;
        }
      }
      sizes_[merged] = sizes_[d];
      for (int k = 0; k < N; ++k) strides_[k][merged] = strides_[k][d];
      ++merged;
    }
    ndim_ = merged;
    if (ndim_ == 0) {  // a single element
      ndim_ = 1;
      sizes_[0] = 1;
      for (int k = 0; k < N; ++k) strides_[k][0] = 1;
    }
  }

  int ndim() const { return ndim_; }
  std::int64_t row_length() const { return sizes_[ndim_ - 1]; }
  std::int64_t inner_stride(int k) const { return strides_[k][ndim_ - 1]; }

  // body(index, offsets, length): output elements [index, index + length) read operand k from
  // offsets[k], offsets[k] + inner_stride(k), ...
  template <class Body>
  void for_each_row(std::int64_t begin, std::int64_t end, Body&& body) const {
    const std::int64_t row = row_length();
    std::int64_t offsets[N];
    for (std::int64_t i = begin; i < end;) {
      std::int64_t linear = i;
      for (int k = 0; k < N; ++k) offsets[k] = 0;
      for (int d = ndim_ - 1; d >= 0; --d) {
        const std::int64_t at = linear % sizes_[d];
        linear /= sizes_[d];
        for (int k = 0; k < N; ++k) offsets[k] += at * strides_[k][d];
      }
      const std::int64_t length = std::min(row - i % row, end - i);
      body(i, static_cast<const std::int64_t*>(offsets), length);
      i += length;
    }
  }

 private:
  int ndim_ = 0;
  std::int64_t sizes_[kMaxDims] = {};
  std::int64_t strides_[N][kMaxDims] = {};
};

}  // namespace anima::kernels::cpu
