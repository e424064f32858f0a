// anima/kernels/nms_math.hpp — the parts of non-maximum suppression shared by the CPU and CUDA code
// (written once, ANIMA_HD): the radix key of a score (the device sort) and one thread's step of the
// greedy pass over the 64-bit overlap mask (the device reduction). The CPU tests run both on the host
// (tests/detect/nms_test.cpp) against the greedy reference.
//
// Score keys. The visiting order is a stable descending sort of the scores, NaN first (torch.sort's
// rule; anima/kernels/cpu/nms.hpp nms_score_order). nms_score_key maps a score to an unsigned integer
// whose descending order is that order, so a stable descending radix sort of (key, index) pairs
// (cub::DeviceRadixSort::SortPairsDescending is stable) visits boxes exactly as nms_score_order does:
//   NaN (any sign or payload)        -> all bits set (the largest key: first; NaNs tie, lowest index first)
//   -0.0 and +0.0                    -> the key of +0.0 (they compare equal, so they tie, as in the sort)
//   other x, IEEE bits b, sign bit s -> s ? ~b : b | s_mask (the usual order-preserving flip:
//                                       -inf < ... < -denormals < 0 < ... < +inf)
// +inf's key (0xff800000 for float) stays below NaN's (0xffffffff).
//
// Device reduction (nms_reduce_block_step). The greedy pass walks the column blocks c = 0, 1, ... in
// order; `removed[k]` has bit j set when box 64·k + j is suppressed by a kept box. Each of `threads`
// threads owns the words k with k % threads == t and is the only one to write them. At block c every
// thread reads removed[c] (finished: only rows of blocks < c write it) and
//   1. takes the block's decisions alone (nms_block_kept_bits): box i = 64·c + b is kept when bit b
//      of the word is clear, and then mask row i's word c (staged in `diag`) is ORed into the word;
//      within a block nothing else matters, so all threads agree, and thread 0 alone appends to the
//      keep list;
//   2. ORs the words k > c it owns of all kept rows into removed[k] (nms_or_kept_rows: independent
//      loads, 8 in flight; OR is exact, so the bits do not depend on the grouping).
// Between blocks the threads synchronise (removed[c + 1] may have been written by another thread).
// Run thread by thread on the CPU the result is the same, since within a block no thread reads a word
// another thread writes.
#pragma once

#include <cstdint>
#include <cstring>

#include <anima/kernels/box_math.hpp>
#include <anima/kernels/host_device.hpp>

namespace anima::kernels {

ANIMA_HD std::uint32_t nms_score_key(float s) {
  if (s != s) return 0xffffffffu;
  const float z = s == 0.0f ? 0.0f : s;  // -0.0 -> +0.0
#if defined(__CUDA_ARCH__)
  const std::uint32_t b = __float_as_uint(z);
#else
  std::uint32_t b;
  std::memcpy(&b, &z, sizeof b);
#endif
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

ANIMA_HD std::uint64_t nms_score_key(double s) {
  if (s != s) return ~std::uint64_t(0);
  const double z = s == 0.0 ? 0.0 : s;
#if defined(__CUDA_ARCH__)
  const std::uint64_t b = static_cast<std::uint64_t>(__double_as_longlong(z));
#else
  std::uint64_t b;
  std::memcpy(&b, &z, sizeof b);
#endif
  const std::uint64_t sign = std::uint64_t(1) << 63;
  return (b & sign) ? ~b : (b | sign);
}

// The greedy decisions within column block c: bit b of the result is set when box 64·c + b is kept.
// diag: [64] the words c of the block's rows (diag[b] = mask[(64·c + b)·blocks + c]); word: removed[c]
// (the boxes of the block suppressed by kept boxes of earlier blocks); rows: boxes in the block.
// Depends only on diag and word, so every thread computes it alone.
ANIMA_HD std::uint64_t nms_block_kept_bits(const std::uint64_t* diag, int rows, std::uint64_t word) {
  std::uint64_t kept = 0;
  for (int b = 0; b < rows; ++b) {
    if (word & (std::uint64_t(1) << b)) continue;
    kept |= std::uint64_t(1) << b;
    word |= diag[b];
  }
  return kept;
}

// OR of word k of the kept rows of the block starting at box `start` (kept: nms_block_kept_bits).
// The loads go 8 rows at a time (independent loads, so the device has 8 in flight).
ANIMA_HD std::uint64_t nms_or_kept_rows(const std::uint64_t* mask, std::int64_t blocks, std::int64_t start, int rows,
                                        std::uint64_t kept, std::int64_t k) {
  std::uint64_t acc = 0;
  for (int b0 = 0; b0 < rows; b0 += 8) {
    if (((kept >> b0) & 0xffu) == 0) continue;
    for (int u = 0; u < 8; ++u) {
      const int b = b0 + u;
      if (b < rows && ((kept >> b) & 1u)) acc |= mask[(start + b) * blocks + k];
    }
  }
  return acc;
}

// One thread's step of the greedy pass over column block c (see the header comment).
// mask: [n, blocks] overlap words (row i: words k >= i / 64 valid); diag: [64] the words c of rows
// 64·c .. 64·c + 63 (staged copies of mask[(64·c + b)·blocks + c]); removed: [blocks] (words owned by
// this thread, k % threads == t, may be written); word: removed[c] as read at the start of the block;
// order: [n] position in score order -> box index; keep: receives order[i] of kept boxes at
// keep[count ..] when t == 0. Returns the new count (the same in every thread).
ANIMA_HD std::int64_t nms_reduce_block_step(const std::uint64_t* mask, std::int64_t n, std::int64_t blocks,
                                            std::int64_t c, const std::uint64_t* diag, std::uint64_t word, int t,
                                            int threads, std::uint64_t* removed, const std::int64_t* order,
                                            std::int64_t* keep, std::int64_t count) {
  const std::int64_t start = c * kNmsBlock;
  const int rows = static_cast<int>(n - start < kNmsBlock ? n - start : kNmsBlock);
  const std::uint64_t kept = nms_block_kept_bits(diag, rows, word);
  for (int b = 0; b < rows; ++b) {
    if (!((kept >> b) & 1u)) continue;
    if (t == 0) keep[count] = order[start + b];
    ++count;
  }
  // the words > c this thread owns: first, first + threads, ...
  const std::int64_t first = c + 1 + ((t - (c + 1) % threads) + threads) % threads;
  for (std::int64_t k = first; k < blocks; k += threads)
    removed[k] |= nms_or_kept_rows(mask, blocks, start, rows, kept, k);
  return count;
}

}  // namespace anima::kernels
