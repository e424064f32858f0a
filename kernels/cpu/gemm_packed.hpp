// anima/kernels/cpu/gemm_packed.hpp — BLIS-style packed GEMM for the CPU.
//
// Math:   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C,   op(X) = X or X^T.
// Storage is row-major: A is [M,K] (row stride lda), or [K,M] if trans_a; B is [K,N] (ldb), or
// [N,K] if trans_b; C is [M,N] (ldc). beta == 0 means C is written without being read.
//
// Blocking (Goto / BLIS; van Zee & van de Geijn, "BLIS: A Framework for Rapidly Instantiating
// BLAS Functionality", 2015):
//
//   for jc in N step NC:                      B panel   [KC x NC]  -> packed, lives in L3
//     for pc in K step KC (K cut into equal blocks of at most KC):
//       pack op(B)[pc:pc+kc, jc:jc+nc] into NR-wide micro-panels  Bp [nc/NR][kc][NR]
//       for ic in M step MC:                  A block   [MC x KC]  -> packed, lives in L2
//         pack alpha*op(A)[ic:ic+mc, pc:pc+kc] into MR-tall micro-panels  Ap [mc/MR][kc][MR]
//         for jr in nc step NR:               B micro-panel [KC x NR] reused across the ir loop (L1)
//           for ir in mc step MR:
//             micro-kernel: C[ir:ir+MR, jr:jr+NR] = Ap_ir^T Bp_jr + beta' C   (registers)
//
// beta' is beta for the first K block and 1 afterwards. Why pack: the micro-kernel then reads
// both operands with unit stride whatever the transposes and strides, each packed element is
// reused MR or NR times from cache, and the micro-kernel never needs bounds checks (panels are
// zero-padded to MR/NR; edge tiles of C go through a small scratch tile). alpha is folded into the
// packed A so the kernel does not multiply by it.
//
// Threading: C is cut into a tm x tn grid of blocks aligned to MR/NR (the factorisation of the
// thread count that keeps blocks closest to square); each thread runs the loops above on its own
// block with its own packing buffers, so there is no barrier or shared write. Problems below
// ~2 MFLOP run on one thread (waking workers would cost more than it saves).
//
// Micro-kernels (gemm_microkernels.hpp) are chosen at run time: AVX-512F, else AVX2+FMA, else
// portable C++. gemm_packed_force_isa() pins one (tests, benchmarks); gemm_packed_isa() names the
// one in use.
//
// Numerics: each dot product is accumulated in T, in equal K blocks of at most KC, by FMA. The
// result is not bitwise equal to gemm_reference (different association and rounding), but the error
// stays within the usual bound |err| <= (K + 2) eps * (|alpha| sum_p |a_ip||b_pj| + |beta||c_ij|).
// Determinism: for a fixed ISA and thread count, run-to-run deterministic (every element of C is
// owned by one thread and summed over K in a fixed order). Across thread counts the K order is the
// same too; only when beta is neither 0 nor 1 may the last bit differ, because an element on a
// thread-block edge goes through the scratch tile (acc + beta*c, two roundings) instead of the
// kernel's fused beta*c + acc.
//
// Workspace: gemm_packed_workspace_bytes<T>(M, N, K, num_threads) bytes, 64-byte aligned, where
// num_threads >= parallel.size(). The size covers every ISA, so forcing
// another ISA later stays safe. Kernels never allocate.
//
// Prepacked A: when the same A multiplies many B (a convolution's weights in eval, once per image and
// call), gemm_packed_pack_a packs it once, for one ISA, into the layout pack_a would produce block by
// block: per K block (the same equal blocks of at most KC), all rows as MR-tall micro-panels
// [ceil(M/MR)][kc][MR], alpha folded in. gemm_packed then reads its A blocks from there instead of
// packing; the packed values are the same, so the result is bitwise the same as without prepacking.
// For another ISA than the one selected now, gemm_packed ignores the prepacked copy and packs A.
#pragma once

#include <anima/kernels/cpu/cpu_features.hpp>
#include <anima/kernels/cpu/gemm_microkernels.hpp>
#include <anima/kernels/parallel.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace anima::kernels::cpu {

enum class GemmIsa : int {
  automatic = 0,  // best this CPU supports
  avx512f = 1,
  avx2_fma = 2,
  portable = 3,
};

// Blocking parameters and micro-kernel of one ISA for element type T.
template <class T>
struct GemmPackedConfig {
  GemmIsa isa;
  const char* name;
  int mr, nr;          // micro-tile of C held in registers
  int64_t mc, kc, nc;  // cache blocks: A block [mc x kc] in L2, B panel [kc x nc] in L3
  GemmMicroKernel<T> ukernel;
};

namespace gemm_packed_detail {

// Blocking, sized for ~32-48 KiB L1d / >= 512 KiB L2 per core (Zen 4: 32K / 1M; Zen 5: 48K / 1M;
// Skylake-X: 32K / 1M).
// kc: an MR x kc A micro-panel (AVX2: 6*256*4 = 6 KiB) plus a streaming B micro-panel fit in L1. The
//     AVX-512 SGEMM takes kc = 512: every K block costs a pass of loads and stores over C, and halving
//     those passes gained more than keeping the 14x512 A micro-panel (28 KiB) in L1 lost (2048^3, one
//     thread of a Zen 5-class core: 73% of the FMA peak at kc 256, 82-84% at 512 with the kernel's C
//     prefetch; kc 128 and 192 were slower, 768 and 1024 not clearly faster).
// mc: the packed A block (AVX-512 SGEMM: 168*512*4 = 336 KiB) sits in L2 next to B micro-panels.
// nc: the packed B panel (512*2048*4 = 4 MiB) sits in L3.
template <class T>
inline const GemmPackedConfig<T>* configs(int& count) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "gemm_packed supports float and double");
  if constexpr (std::is_same_v<T, float>) {
    static const GemmPackedConfig<float> table[] = {
#if ANIMA_CPU_X86
      {GemmIsa::avx512f, "avx512f", 14, 32, 168, 512, 2048, &sgemm_ukernel_avx512_14x32},
      {GemmIsa::avx2_fma, "avx2+fma", 6, 16, 144, 256, 2048, &sgemm_ukernel_avx2_6x16},
#endif
      {GemmIsa::portable, "portable", 4, 8, 128, 256, 1024, &gemm_ukernel_portable<float, 4, 8>},
    };
    count = static_cast<int>(sizeof(table) / sizeof(table[0]));
    return table;
  } else {
    static const GemmPackedConfig<double> table[] = {
#if ANIMA_CPU_X86
      {GemmIsa::avx512f, "avx512f", 14, 16, 112, 256, 1024, &dgemm_ukernel_avx512_14x16},
      {GemmIsa::avx2_fma, "avx2+fma", 6, 8, 96, 256, 1024, &dgemm_ukernel_avx2_6x8},
#endif
      {GemmIsa::portable, "portable", 4, 8, 128, 256, 1024, &gemm_ukernel_portable<double, 4, 8>},
    };
    count = static_cast<int>(sizeof(table) / sizeof(table[0]));
    return table;
  }
}

inline std::atomic<int>& forced_isa() {
  static std::atomic<int> isa{static_cast<int>(GemmIsa::automatic)};
  return isa;
}

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
inline int64_t ceil_div(int64_t x, int64_t m) { return (x + m - 1) / m; }

// Bytes of one thread's packing buffers (A block then B panel, each 64-byte aligned) for a
// thread block of at most M x N, reduction length K.
template <class T>
inline size_t slot_bytes(const GemmPackedConfig<T>& cfg, int64_t M, int64_t N, int64_t K) {
  const int64_t kc = std::min(cfg.kc, K);
  const int64_t mc = std::min(cfg.mc, round_up(M, cfg.mr));
  const int64_t nc = std::min(cfg.nc, round_up(N, cfg.nr));
  const int64_t a = round_up(mc * kc * static_cast<int64_t>(sizeof(T)), 64);
  const int64_t b = round_up(nc * kc * static_cast<int64_t>(sizeof(T)), 64);
  return static_cast<size_t>(a + b);
}

// Ap[mc/MR][kc][MR] = alpha * op(A)[i0:i0+mc, p0:p0+kc], rows past mc zero-filled.
template <class T>
inline void pack_a(bool trans_a, const T* A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, T alpha,
                   int mr, T* Ap) {
  for (int64_t ib = 0; ib < mc; ib += mr) {
    const int rows = static_cast<int>(std::min<int64_t>(mr, mc - ib));
    if (!trans_a) {
      // op(A)[i][p] = A[i*lda + p]: each row is contiguous in p.
      for (int r = 0; r < rows; ++r) {
        const T* src = A + (i0 + ib + r) * lda + p0;
        for (int64_t p = 0; p < kc; ++p) Ap[p * mr + r] = alpha * src[p];
      }
    } else {
      // op(A)[i][p] = A[p*lda + i]: each k step is contiguous in i.
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = A + (p0 + p) * lda + i0 + ib;
        for (int r = 0; r < rows; ++r) Ap[p * mr + r] = alpha * src[r];
      }
    }
    for (int r = rows; r < mr; ++r)
      for (int64_t p = 0; p < kc; ++p) Ap[p * mr + r] = T(0);
    Ap += kc * mr;
  }
}

// Bp[nc/NR][kc][NR] = op(B)[p0:p0+kc, j0:j0+nc], columns past nc zero-filled.
template <class T>
inline void pack_b(bool trans_b, const T* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr,
                   T* Bp) {
  if (!trans_b) {
    // op(B)[p][j] = B[p*ldb + j]: each k step is contiguous in j. Walk B row by row (sequential
    // reads the hardware prefetcher follows) and scatter each row's NR-wide pieces to their
    // micro-panels. Walking micro-panel by micro-panel instead reads kc rows ldb apart for every
    // NR columns; on im2col matrices (ldb = H*W, thousands of floats) that made the packing cost as
    // much as the arithmetic when M is small (M = 64: 45 -> 77 GFLOP/s on one AVX-512 core).
    const int64_t panels = (nc + nr - 1) / nr;
    for (int64_t p = 0; p < kc; ++p) {
      const T* src = B + (p0 + p) * ldb + j0;
      for (int64_t q = 0; q < panels; ++q) {
        const int64_t jb = q * nr;
        const int cols = static_cast<int>(std::min<int64_t>(nr, nc - jb));
        T* dst = Bp + q * kc * nr + p * nr;
        for (int c = 0; c < cols; ++c) dst[c] = src[jb + c];
        for (int c = cols; c < nr; ++c) dst[c] = T(0);
      }
    }
    return;
  }
  for (int64_t jb = 0; jb < nc; jb += nr) {
    const int cols = static_cast<int>(std::min<int64_t>(nr, nc - jb));
    // op(B)[p][j] = B[j*ldb + p]: each column is contiguous in p.
    for (int c = 0; c < cols; ++c) {
      const T* src = B + (j0 + jb + c) * ldb + p0;
      for (int64_t p = 0; p < kc; ++p) Bp[p * nr + c] = src[p];
    }
    for (int c = cols; c < nr; ++c)
      for (int64_t p = 0; p < kc; ++p) Bp[p * nr + c] = T(0);
    Bp += kc * nr;
  }
}

// C = beta * C over [M,N]; beta == 0 writes zeros without reading.
template <class T>
inline void scale_c(int64_t M, int64_t N, T beta, T* C, int64_t ldc) {
  if (beta == T(1)) return;
  for (int64_t i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    for (int64_t j = 0; j < N; ++j) c[j] = (beta == T(0)) ? T(0) : beta * c[j];
  }
}

constexpr int kMaxTile = 14 * 32;  // largest MR*NR over all configs

// Single-thread blocked GEMM on the C block [m0,m1) x [n0,n1), packing into `slot`. pack_b_panel(p0, kc,
// j0, nc, nr, Bp) fills Bp as pack_b does for op(B)[p0:p0+kc, j0:j0+nc] (a convolution packs straight
// from its input, gemm_packed_b_packer).
template <class T, class PackB>
inline void gemm_block(const GemmPackedConfig<T>& cfg, bool trans_a, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                       int64_t K, T alpha, const T* A, int64_t lda, const PackB& pack_b_panel, T beta, T* C,
                       int64_t ldc, unsigned char* slot, size_t a_bytes, const T* prepacked_a = nullptr,
                       int64_t prepacked_rows = 0) {
  const int mr = cfg.mr, nr = cfg.nr;
  T* const a_buffer = reinterpret_cast<T*>(slot);
  T* Bp = reinterpret_cast<T*>(slot + a_bytes);
  alignas(64) T tile[kMaxTile];
  // K in equal blocks of at most cfg.kc (576 = 2 x 288, not 512 + 64: a short last block costs a whole
  // pass over C for little arithmetic).
  const int64_t kc_step = ceil_div(K, ceil_div(K, cfg.kc));
  for (int64_t jc = n0; jc < n1; jc += cfg.nc) {
    const int64_t nc = std::min(cfg.nc, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += kc_step) {
      const int64_t kc = std::min(kc_step, K - pc);
      const T beta_k = (pc == 0) ? beta : T(1);
      pack_b_panel(pc, kc, jc, nc, nr, Bp);
      for (int64_t ic = m0; ic < m1; ic += cfg.mc) {
        const int64_t mc = std::min(cfg.mc, m1 - ic);
        // Prepacked: K block pc starts at row-padded M x pc; its rows from ic (a multiple of MR) on
        // are contiguous micro-panels.
        const T* Ap = prepacked_a ? prepacked_a + prepacked_rows * pc + ic * kc : a_buffer;
        if (!prepacked_a) pack_a(trans_a, A, lda, ic, mc, pc, kc, alpha, mr, a_buffer);
        for (int64_t jr = 0; jr < nc; jr += nr) {
          const int cols = static_cast<int>(std::min<int64_t>(nr, nc - jr));
          const T* b_panel = Bp + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += mr) {
            const int rows = static_cast<int>(std::min<int64_t>(mr, mc - ir));
            const T* a_panel = Ap + ir * kc;
            T* c = C + (ic + ir) * ldc + jc + jr;
            if (rows == mr && cols == nr) {
              cfg.ukernel(kc, a_panel, b_panel, c, ldc, beta_k);
            } else {
              // Edge tile: full tile into scratch, then merge the valid rows x cols.
              cfg.ukernel(kc, a_panel, b_panel, tile, nr, T(0));
              for (int i = 0; i < rows; ++i) {
                T* ci = c + i * ldc;
                const T* ti = tile + i * nr;
                if (beta_k == T(0)) {
                  for (int j = 0; j < cols; ++j) ci[j] = ti[j];
                } else {
                  for (int j = 0; j < cols; ++j) ci[j] = ti[j] + beta_k * ci[j];
                }
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace gemm_packed_detail

// Whether this CPU can run `isa` (automatic and portable: always).
inline bool gemm_packed_isa_supported(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::automatic:
    case GemmIsa::portable: return true;
    case GemmIsa::avx512f: return cpu_supports_avx512f();
    case GemmIsa::avx2_fma: return cpu_supports_avx2_fma();
  }
  return false;
}

// Pins the micro-kernel used by later gemm_packed calls (process-wide; GemmIsa::automatic
// restores run-time selection). Returns false, changing nothing, if this CPU cannot run `isa`.
inline bool gemm_packed_force_isa(GemmIsa isa) {
  if (!gemm_packed_isa_supported(isa)) return false;
  gemm_packed_detail::forced_isa().store(static_cast<int>(isa), std::memory_order_relaxed);
  return true;
}

// The ISA gemm_packed will use now: the forced one, else the best supported.
inline GemmIsa gemm_packed_selected_isa() {
  const auto forced = static_cast<GemmIsa>(gemm_packed_detail::forced_isa().load(std::memory_order_relaxed));
  if (forced != GemmIsa::automatic) return forced;
  if (cpu_supports_avx512f()) return GemmIsa::avx512f;
  if (cpu_supports_avx2_fma()) return GemmIsa::avx2_fma;
  return GemmIsa::portable;
}

// Blocking and micro-kernel for `isa` (automatic = the selected one) and element type T.
template <class T>
inline const GemmPackedConfig<T>& gemm_packed_config(GemmIsa isa = GemmIsa::automatic) {
  if (isa == GemmIsa::automatic) isa = gemm_packed_selected_isa();
  int count = 0;
  const GemmPackedConfig<T>* table = gemm_packed_detail::configs<T>(count);
  for (int i = 0; i < count; ++i)
    if (table[i].isa == isa) return table[i];
  return table[count - 1];  // portable is always last
}

// Name of the micro-kernel ISA in use: "avx512f", "avx2+fma" or "portable".
inline const char* gemm_packed_isa() { return gemm_packed_config<float>().name; }

// Workspace bytes for gemm_packed on up to num_threads threads (0 when M, N or K is 0).
template <class T>
size_t gemm_packed_workspace_bytes(int64_t M, int64_t N, int64_t K, int num_threads) {
  if (M <= 0 || N <= 0 || K <= 0) return 0;
  int count = 0;
  const GemmPackedConfig<T>* table = gemm_packed_detail::configs<T>(count);
  size_t slot = 0;
  for (int i = 0; i < count; ++i) slot = std::max(slot, gemm_packed_detail::slot_bytes(table[i], M, N, K));
  return slot * static_cast<size_t>(std::max(1, num_threads));
}

// A packed once for gemm_packed (see "Prepacked A" at the top): data and the ISA it was packed for.
template <class T>
struct GemmPrepackedA {
  const T* data = nullptr;
  GemmIsa isa = GemmIsa::automatic;
};

// Elements (of T) of a prepacked [M, K] A for `isa` (automatic: the one selected now).
template <class T>
int64_t gemm_packed_a_elements(int64_t M, int64_t K, GemmIsa isa = GemmIsa::automatic) {
  if (M <= 0 || K <= 0) return 0;
  return gemm_packed_detail::round_up(M, gemm_packed_config<T>(isa).mr) * K;
}

// dst [gemm_packed_a_elements(M, K, isa)] = alpha * op(A) packed for `isa`; returns the handle gemm_packed takes.
template <class T>
GemmPrepackedA<T> gemm_packed_pack_a(bool trans_a, int64_t M, int64_t K, T alpha, const T* A, int64_t lda, T* dst,
                                     GemmIsa isa = GemmIsa::automatic) {
  namespace d = gemm_packed_detail;
  const GemmPackedConfig<T>& cfg = gemm_packed_config<T>(isa);
  GemmPrepackedA<T> out;
  out.data = dst;
  out.isa = cfg.isa;
  if (M <= 0 || K <= 0) return out;
  const int64_t rows = d::round_up(M, cfg.mr);
  const int64_t kc_step = d::ceil_div(K, d::ceil_div(K, cfg.kc));
  for (int64_t pc = 0; pc < K; pc += kc_step)
    d::pack_a(trans_a, A, lda, 0, M, pc, std::min(kc_step, K - pc), alpha, cfg.mr, dst + rows * pc);
  return out;
}

// gemm_packed (below) with op(B) given by the function that packs its panels: pack_b_panel(p0, kc, j0, nc, nr, Bp)
// writes Bp[ceil(nc/nr)][kc][nr] = op(B)[p0:p0+kc, j0:j0+nc], columns past nc zero (what pack_b does for
// a matrix in memory). A convolution packs straight from its input this way, without an im2col matrix.
// It is called from the threads of `parallel`, each on its own panel.
template <class T, class PackB>
void gemm_packed_b_packer(bool trans_a, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                          int64_t lda,  // [M,K] or, if trans_a, [K,M]
                          const PackB& pack_b_panel, T beta, T* C, int64_t ldc, void* workspace,
                          const ParallelFor& parallel, const GemmPrepackedA<T>& prepacked_a = {}) {
  namespace d = gemm_packed_detail;
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == T(0)) {
    d::scale_c(M, N, beta, C, ldc);  // alpha * op(A) op(B) contributes nothing
    return;
  }
  const GemmPackedConfig<T>& cfg = gemm_packed_config<T>();
  const T* prepacked = (prepacked_a.data && prepacked_a.isa == cfg.isa) ? prepacked_a.data : nullptr;
  const int64_t prepacked_rows = d::round_up(M, cfg.mr);
  const int64_t tiles_m = d::ceil_div(M, cfg.mr);
  const int64_t tiles_n = d::ceil_div(N, cfg.nr);

  // Threads: none for small problems, never more than there are micro-tiles.
  constexpr double kMinFlopsForThreads = 2.0e6;
  int threads = parallel.size();
  if (2.0 * double(M) * double(N) * double(K) < kMinFlopsForThreads) threads = 1;
  threads = static_cast<int>(std::min<int64_t>(threads, tiles_m * tiles_n));

  // Grid tm x tn = threads; pick the factorisation whose blocks are closest to square.
  int tm = 1, tn = 1;
  for (; threads > 1; --threads) {
    double best = -1.0;
    for (int f = 1; f <= threads; ++f) {
      if (threads % f != 0) continue;
      const int g = threads / f;
      if (f > tiles_m || g > tiles_n) continue;
      const double perimeter = double(M) / f + double(N) / g;
      if (best < 0 || perimeter < best) best = perimeter, tm = f, tn = g;
    }
    if (best >= 0) break;
  }
  threads = tm * tn;

  const size_t slot = d::slot_bytes(cfg, M, N, K);
  const size_t a_bytes = static_cast<size_t>(
      d::round_up(std::min(cfg.mc, d::round_up(M, cfg.mr)) * std::min(cfg.kc, K) * int64_t(sizeof(T)), 64));
  auto* base = static_cast<unsigned char*>(workspace);

  auto run_block = [&](int64_t t) {
    const int64_t r = t / tn, s = t % tn;
    const int64_t m0 = std::min(M, tiles_m * r / tm * cfg.mr);
    const int64_t m1 = std::min(M, tiles_m * (r + 1) / tm * cfg.mr);
    const int64_t n0 = std::min(N, tiles_n * s / tn * cfg.nr);
    const int64_t n1 = std::min(N, tiles_n * (s + 1) / tn * cfg.nr);
    if (m0 >= m1 || n0 >= n1) return;
    d::gemm_block(cfg, trans_a, m0, m1, n0, n1, K, alpha, A, lda, pack_b_panel, beta, C, ldc,
                  base + slot * static_cast<size_t>(t), a_bytes, prepacked, prepacked_rows);
  };
  if (threads == 1) {
    run_block(0);
  } else {
    parallel(0, threads, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) run_block(t);
    });
  }
}

// C = alpha * op(A) * op(B) + beta * C (see the top of this file). `workspace` must hold
// gemm_packed_workspace_bytes<T>(M, N, K, t) bytes, 64-byte aligned, with t >= parallel.size()
// (t >= 1 for the serial ParallelFor{}, which runs on the calling thread).
template <class T>
void gemm_packed(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                 int64_t lda,                // [M,K] or, if trans_a, [K,M]
                 const T* B, int64_t ldb,    // [K,N] or, if trans_b, [N,K]
                 T beta, T* C, int64_t ldc,  // [M,N]
                 void* workspace, const ParallelFor& parallel,
                 const GemmPrepackedA<T>& prepacked_a = {}) {  // alpha * op(A) packed once, or none
  const auto pack = [&](int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, T* Bp) {
    gemm_packed_detail::pack_b(trans_b, B, ldb, p0, kc, j0, nc, nr, Bp);
  };
  gemm_packed_b_packer<T>(trans_a, M, N, K, alpha, A, lda, pack, beta, C, ldc, workspace, parallel, prepacked_a);
}

}  // namespace anima::kernels::cpu
