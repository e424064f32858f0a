// anima/kernels/cpu/conv_im2col.hpp — 2-D convolution as im2col + packed GEMM (and its adjoints).
//
// im2col lays the receptive fields of one image out as a matrix (Chellapilla et al., "High
// Performance Convolutional Neural Networks for Document Processing", 2006):
//   cols[(c·kh + i)·kw + j, oh·Wo + ow] = x[c, oh·sh − ph + i·dh, ow·sw − pw + j·dw]   (0 outside)
// cols is [C·kh·kw, Ho·Wo]; the rows of group g are the block [g·K, (g+1)·K) with K = C/groups·kh·kw,
// so each group is one GEMM on a contiguous block, and the groups are a batch of GEMMs:
//   forward          y[n, g]  [O/g, Ho·Wo] = w_g [O/g, K] · cols_g [K, Ho·Wo]      (+ b)
//   backward data    cols_g   [K, Ho·Wo]   = w_gᵀ · dy[n, g],   dx[n] = col2im(cols)
//   backward filter  dw_g     [O/g, K]    += dy[n, g] · cols_gᵀ,   db = Σ_{n, pixels} dy
// col2im is the adjoint of im2col (it adds each column entry back into the pixel it was read from).
// A pointwise convolution (1x1, stride 1, no padding) skips im2col: cols is x[n] itself. The forward
// never writes cols either: the GEMM packs its B panels straight from the image (im2col_pack_b, the same
// values in the same places), so only the backward passes hold an im2col matrix.
//
// Threading, on the caller's ParallelFor: with N >= threads, images are split over the threads and
// every thread runs single-threaded GEMMs on its own workspace slot; otherwise images run one after
// another and the GEMM is threaded. Backward filter always threads inside the GEMM (every image adds into the same dw).
// Determinism: run-to-run deterministic for a fixed thread count (see gemm_packed.hpp); the split
// never changes which thread owns an output element or the order of a sum.
//
// Workspace: conv2d_im2col_workspace_bytes<T>(p, threads) bytes (threads >= parallel.size()),
// 64-byte aligned; the forward needs only conv2d_im2col_forward_workspace_bytes. No allocation here.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <anima/kernels/conv_math.hpp>
#include <anima/kernels/cpu/gemm.hpp>
#include <anima/kernels/parallel.hpp>

namespace anima::kernels::cpu {

// cols [C·kh·kw, Ho·Wo] of one image x [C, H, W] (rows [row0, row1) only).
template <class T>
void im2col(const Conv2dGeometry& p, const T* x, T* cols, std::int64_t row0, std::int64_t row1) {
  const std::int64_t HoWo = p.Ho * p.Wo;
  for (std::int64_t r = row0; r < row1; ++r) {
    const std::int64_t j = r % p.kw, i = (r / p.kw) % p.kh, c = r / (p.kw * p.kh);
    const T* xc = x + c * p.H * p.W;
    T* out = cols + r * HoWo;
    std::int64_t oh_lo, oh_hi, ow_lo, ow_hi;
    conv_valid_range(p.Ho, p.H, p.sh, i * p.dh - p.ph, oh_lo, oh_hi);
    conv_valid_range(p.Wo, p.W, p.sw, j * p.dw - p.pw, ow_lo, ow_hi);
    std::fill(out, out + oh_lo * p.Wo, T(0));
    for (std::int64_t oh = oh_lo; oh < oh_hi; ++oh) {
      const T* xrow = xc + (oh * p.sh - p.ph + i * p.dh) * p.W + (j * p.dw - p.pw);
      T* orow = out + oh * p.Wo;
      std::fill(orow, orow + ow_lo, T(0));
      if (p.sw == 1)
        std::memcpy(orow + ow_lo, xrow + ow_lo, static_cast<std::size_t>(ow_hi - ow_lo) * sizeof(T));
      else
        for (std::int64_t ow = ow_lo; ow < ow_hi; ++ow) orow[ow] = xrow[ow * p.sw];
      std::fill(orow + ow_hi, orow + p.Wo, T(0));
    }
    std::fill(out + oh_hi * p.Wo, out + HoWo, T(0));
  }
}

// dx [C, H, W] (channels of rows [row0, row1) / (kh·kw), which must be whole channels) += col2im(cols).
template <class T>
void col2im_add(const Conv2dGeometry& p, const T* cols, T* dx, std::int64_t row0, std::int64_t row1) {
  const std::int64_t HoWo = p.Ho * p.Wo;
  for (std::int64_t r = row0; r < row1; ++r) {
    const std::int64_t j = r % p.kw, i = (r / p.kw) % p.kh, c = r / (p.kw * p.kh);
    T* dxc = dx + c * p.H * p.W;
    const T* in = cols + r * HoWo;
    std::int64_t oh_lo, oh_hi, ow_lo, ow_hi;
    conv_valid_range(p.Ho, p.H, p.sh, i * p.dh - p.ph, oh_lo, oh_hi);
    conv_valid_range(p.Wo, p.W, p.sw, j * p.dw - p.pw, ow_lo, ow_hi);
    for (std::int64_t oh = oh_lo; oh < oh_hi; ++oh) {
      T* dxrow = dxc + (oh * p.sh - p.ph + i * p.dh) * p.W + (j * p.dw - p.pw);
      const T* irow = in + oh * p.Wo;
      for (std::int64_t ow = ow_lo; ow < ow_hi; ++ow) dxrow[ow * p.sw] += irow[ow];
    }
  }
}

namespace conv_im2col_detail {

inline std::size_t round64(std::size_t b) { return (b + 63) / 64 * 64; }

template <class T>
std::size_t cols_bytes(const Conv2dGeometry& p) {
  return p.is_pointwise() ? 0 : round64(static_cast<std::size_t>(p.C * p.kh * p.kw * p.Ho * p.Wo) * sizeof(T));
}

// The largest packed-GEMM workspace over the three GEMM shapes of this conv, for `threads` threads.
template <class T>
std::size_t gemm_bytes(const Conv2dGeometry& p, int threads) {
  const std::int64_t Og = p.o_per_group(), K = p.k_size(), P = p.Ho * p.Wo;
  std::size_t b = gemm_packed_workspace_bytes<T>(Og, P, K, threads);   // forward
  b = std::max(b, gemm_packed_workspace_bytes<T>(K, P, Og, threads));  // backward data
  b = std::max(b, gemm_packed_workspace_bytes<T>(Og, K, P, threads));  // backward filter
  return round64(b);
}

// Whether images are split over the threads (each thread: own cols + single-threaded GEMM).
inline bool split_images(const Conv2dGeometry& p, const ParallelFor& parallel) {
  return parallel.size() > 1 && p.N >= parallel.size();
}

// Runs body(n, cols, gemm_ws, image_parallel) for every image, split over the threads (image_parallel
// serial) or one after another (image_parallel = parallel). with_cols = false: the workspace holds no
// im2col matrix (the forward packs from the input instead) and cols points at nothing usable.
template <class T, class Body>
void for_each_image(const Conv2dGeometry& p, void* workspace, const ParallelFor& parallel, const Body& body,
                    bool with_cols = true) {
  auto* base = static_cast<unsigned char*>(workspace);
  const std::size_t cb = with_cols ? cols_bytes<T>(p) : 0;
  if (split_images(p, parallel)) {
    const int threads = parallel.size();
    const std::size_t slot = cb + gemm_bytes<T>(p, 1);
    const ParallelFor serial;
    parallel(0, threads, 1, [&](std::int64_t t0, std::int64_t t1) {
      for (std::int64_t t = t0; t < t1; ++t) {
        unsigned char* s = base + static_cast<std::size_t>(t) * slot;
        for (std::int64_t n = t * p.N / threads; n < (t + 1) * p.N / threads; ++n)
          body(n, reinterpret_cast<T*>(s), s + cb, serial);
      }
    });
  } else {
    for (std::int64_t n = 0; n < p.N; ++n) body(n, reinterpret_cast<T*>(base), base + cb, parallel);
  }
}

// Runs rows [0, rows) of an im2col/col2im pass, over the threads when the GEMM is threaded.
template <class Fn>
void for_rows(std::int64_t rows, std::int64_t grain, const ParallelFor& parallel, const Fn& fn) {
  if (parallel.size() > 1)
    parallel(0, rows, grain, [&](std::int64_t r0, std::int64_t r1) { fn(r0, r1); });
  else
    fn(0, rows);
}

}  // namespace conv_im2col_detail

template <class T>
std::size_t conv2d_im2col_workspace_bytes(const Conv2dGeometry& p, int threads) {
  using namespace conv_im2col_detail;
  threads = std::max(threads, 1);
  const std::size_t cb = cols_bytes<T>(p);
  const std::size_t split = static_cast<std::size_t>(threads) * (cb + gemm_bytes<T>(p, 1));
  return std::max(split, cb + gemm_bytes<T>(p, threads));
}

// The forward needs no im2col matrix (it packs the GEMM's panels straight from the input): only the
// GEMM's packing buffers.
template <class T>
std::size_t conv2d_im2col_forward_workspace_bytes(const Conv2dGeometry& p, int threads) {
  using namespace conv_im2col_detail;
  threads = std::max(threads, 1);
  return std::max(static_cast<std::size_t>(threads) * gemm_bytes<T>(p, 1), gemm_bytes<T>(p, threads));
}

// The GEMM's B panel Bp[ceil(nc/nr)][kc][nr] = cols[p0:p0+kc, j0:j0+nc] (columns past nc zero), taken
// straight from one image's group of channels x [C/groups, H, W]: the rows and columns im2col would
// write (see im2col above), without writing the matrix. Each row of the panel is gathered into a small
// buffer the way im2col gathers a row (zeros, then a copy or a strided read, then zeros), then cut into
// the NR-wide micro-panels. For a 3x3 convolution this saves writing and reading back an im2col matrix
// nine times the input's size.
template <class T>
void im2col_pack_b(const Conv2dGeometry& p, const T* x, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                   std::int64_t nc, int nr, T* Bp) {
  constexpr std::int64_t kChunk = 2048;  // columns gathered at a time: a multiple of every NR (8, 16, 32)
  alignas(64) T row[kChunk];
  for (std::int64_t r = p0; r < p0 + kc; ++r) {
    const std::int64_t j = r % p.kw, i = (r / p.kw) % p.kh, c = r / (p.kw * p.kh);
    const T* xc = x + c * p.H * p.W;
    std::int64_t oh_lo, oh_hi, ow_lo, ow_hi;
    conv_valid_range(p.Ho, p.H, p.sh, i * p.dh - p.ph, oh_lo, oh_hi);
    conv_valid_range(p.Wo, p.W, p.sw, j * p.dw - p.pw, ow_lo, ow_hi);
    for (std::int64_t c0 = 0; c0 < nc; c0 += kChunk) {
      const std::int64_t width = std::min(kChunk, nc - c0);
      for (std::int64_t done = 0; done < width;) {  // one output row's piece at a time
        const std::int64_t q = j0 + c0 + done, oh = q / p.Wo, ow0 = q % p.Wo;
        const std::int64_t ow1 = std::min(p.Wo, ow0 + (width - done));
        T* out = row + done - ow0;  // out[ow] for ow in [ow0, ow1)
        if (oh < oh_lo || oh >= oh_hi) {
          std::fill(out + ow0, out + ow1, T(0));
        } else {
          const std::int64_t lo = std::min(std::max(ow_lo, ow0), ow1), hi = std::max(std::min(ow_hi, ow1), lo);
          const T* xrow = xc + (oh * p.sh - p.ph + i * p.dh) * p.W + (j * p.dw - p.pw);
          std::fill(out + ow0, out + lo, T(0));
          if (p.sw == 1)
            std::memcpy(out + lo, xrow + lo, static_cast<std::size_t>(hi - lo) * sizeof(T));
          else
            for (std::int64_t ow = lo; ow < hi; ++ow) out[ow] = xrow[ow * p.sw];
          std::fill(out + hi, out + ow1, T(0));
        }
        done += ow1 - ow0;
      }
      // Cut the gathered columns into the micro-panels (c0 is a multiple of nr).
      T* dst = Bp + (c0 / nr) * kc * nr + (r - p0) * nr;
      for (std::int64_t q0 = 0; q0 < width; q0 += nr, dst += kc * nr) {
        const std::int64_t cols = std::min<std::int64_t>(nr, width - q0);
        std::memcpy(dst, row + q0, static_cast<std::size_t>(cols) * sizeof(T));
        std::fill(dst + cols, dst + nr, T(0));
      }
    }
  }
}

// The optional parts of a forward: an activation applied as the output is stored, and the weights of
// each group packed once for the GEMM (eval-time fusion; nullptr: packed on every call as usual).
template <class T>
struct Conv2dForwardExtras {
  ConvActivation activation = ConvActivation::None;
  const T* packed_weight = nullptr;  // groups x conv2d_packed_weight_group_elements(p, isa), alpha 1
  GemmIsa packed_isa = GemmIsa::automatic;
};

// Elements of one group's weights [O/groups, K] packed for the GEMM (gemm_packed_pack_a) for `isa`.
template <class T>
std::int64_t conv2d_packed_weight_group_elements(const Conv2dGeometry& p, GemmIsa isa = GemmIsa::automatic) {
  return gemm_packed_a_elements<T>(p.o_per_group(), p.k_size(), isa);
}

// dst [groups x conv2d_packed_weight_group_elements(p, isa)] = w [O, C/groups, kh, kw] packed per group;
// returns the ISA it was packed for.
template <class T>
GemmIsa conv2d_pack_weight(const Conv2dGeometry& p, const T* w, T* dst, GemmIsa isa = GemmIsa::automatic) {
  const std::int64_t Og = p.o_per_group(), K = p.k_size(), per_group = conv2d_packed_weight_group_elements<T>(p, isa);
  GemmIsa packed = isa;
  for (std::int64_t g = 0; g < p.groups; ++g)
    packed = gemm_packed_pack_a<T>(false, Og, K, T(1), w + g * Og * K, K, dst + g * per_group, isa).isa;
  return packed;
}

// y [N, O, Ho, Wo] = act(conv(x [N, C, H, W], w [O, C/groups, kh, kw]) + b [O]) (b may be nullptr; act
// and prepacked weights from `extras`).
template <class T>
void conv2d_fwd_im2col(const Conv2dGeometry& p, const T* x, const T* w, const T* b, T* y, void* workspace,
                       const ParallelFor& parallel, const Conv2dForwardExtras<T>& extras = {}) {
  using namespace conv_im2col_detail;
  const std::int64_t Og = p.o_per_group(), K = p.k_size(), P = p.Ho * p.Wo, G = p.groups;
  const std::int64_t group_channels = p.c_per_group();
  conv_im2col_detail::for_each_image<T>(
      p, workspace, parallel,
      [&](std::int64_t n, T*, void* gws, const ParallelFor& image_parallel) {
        const T* xn = x + n * p.C * p.H * p.W;
        T* yn = y + n * p.O * P;
        const std::int64_t packed_per_group =
            extras.packed_weight ? conv2d_packed_weight_group_elements<T>(p, extras.packed_isa) : 0;
        for (std::int64_t g = 0; g < G; ++g) {
          GemmPrepackedA<T> packed;
          if (extras.packed_weight) packed = {extras.packed_weight + g * packed_per_group, extras.packed_isa};
          if (p.is_pointwise()) {  // cols is x[n] itself
            gemm_packed<T>(false, false, Og, P, K, T(1), w + g * Og * K, K, xn + g * K * P, P, T(0), yn + g * Og * P,
                           P, gws, image_parallel, packed);
          } else {  // the GEMM packs its B panels straight from the image (im2col_pack_b)
            const T* xg = xn + g * group_channels * p.H * p.W;
            const auto pack = [&](std::int64_t p0, std::int64_t kc, std::int64_t j0, std::int64_t nc, int nr, T* Bp) {
              im2col_pack_b(p, xg, p0, kc, j0, nc, nr, Bp);
            };
            gemm_packed_b_packer<T>(false, Og, P, K, T(1), w + g * Og * K, K, pack, T(0), yn + g * Og * P, P, gws,
                                    image_parallel, packed);
          }
        }
        // Bias and activation, over the output rows (on the threads when the GEMM was threaded).
        const ConvActivation act = extras.activation;
        if (!b && act == ConvActivation::None) return;
        for_rows(p.O, 8, image_parallel, [&](std::int64_t o0, std::int64_t o1) {
          for (std::int64_t o = o0; o < o1; ++o) {
            T* row = yn + o * P;
            const T bo = b ? b[o] : T(0);
            if (act == ConvActivation::None) {
              for (std::int64_t e = 0; e < P; ++e) row[e] += bo;
            } else {
              for (std::int64_t e = 0; e < P; ++e) row[e] = conv_activate(act, row[e] + bo);
            }
          }
        });
      },
      /*with_cols=*/false);
}

// dx [N, C, H, W] (overwritten) = conv2d's adjoint in x applied to dy [N, O, Ho, Wo].
template <class T>
void conv2d_bwd_data_im2col(const Conv2dGeometry& p, const T* dy, const T* w, T* dx, void* workspace,
                            const ParallelFor& parallel) {
  using namespace conv_im2col_detail;
  const std::int64_t Og = p.o_per_group(), K = p.k_size(), P = p.Ho * p.Wo, G = p.groups;
  conv_im2col_detail::for_each_image<T>(
      p, workspace, parallel, [&](std::int64_t n, T* cols, void* gws, const ParallelFor& image_parallel) {
        const T* dyn = dy + n * p.O * P;
        T* dxn = dx + n * p.C * p.H * p.W;
        T* out = p.is_pointwise() ? dxn : cols;  // pointwise: cols is dx[n] itself
        for (std::int64_t g = 0; g < G; ++g)
          gemm_packed<T>(true, false, K, P, Og, T(1), w + g * Og * K, K, dyn + g * Og * P, P, T(0), out + g * K * P, P,
                         gws, image_parallel);
        if (p.is_pointwise()) return;
        const std::int64_t kk = p.kh * p.kw;
        for_rows(p.C, 1, image_parallel, [&](std::int64_t c0, std::int64_t c1) {
          std::fill(dxn + c0 * p.H * p.W, dxn + c1 * p.H * p.W, T(0));
          col2im_add(p, cols, dxn, c0 * kk, c1 * kk);
        });
      });
}

// dw [O, C/groups, kh, kw] and db [O] (nullptr: skipped), overwritten, from x and dy.
template <class T>
void conv2d_bwd_filter_im2col(const Conv2dGeometry& p, const T* x, const T* dy, T* dw, T* db, void* workspace,
                              const ParallelFor& parallel) {
  using namespace conv_im2col_detail;
  const std::int64_t Og = p.o_per_group(), K = p.k_size(), P = p.Ho * p.Wo, G = p.groups;
  auto* base = static_cast<unsigned char*>(workspace);
  T* cols = reinterpret_cast<T*>(base);
  void* gws = base + cols_bytes<T>(p);
  if (p.N == 0) std::fill(dw, dw + p.O * K, T(0));
  for (std::int64_t n = 0; n < p.N; ++n) {
    const T* xn = x + n * p.C * p.H * p.W;
    const T* src = xn;
    if (!p.is_pointwise()) {
      for_rows(p.C * p.kh * p.kw, 8, parallel, [&](std::int64_t r0, std::int64_t r1) { im2col(p, xn, cols, r0, r1); });
      src = cols;
    }
    const T* dyn = dy + n * p.O * P;
    for (std::int64_t g = 0; g < G; ++g)
      gemm_packed<T>(false, true, Og, K, P, T(1), dyn + g * Og * P, P, src + g * K * P, P, n == 0 ? T(0) : T(1),
                     dw + g * Og * K, K, gws, parallel);
  }
  if (db)
    for (std::int64_t o = 0; o < p.O; ++o) {
      T acc = T(0);
      for (std::int64_t n = 0; n < p.N; ++n) {
        const T* row = dy + (n * p.O + o) * P;
        for (std::int64_t e = 0; e < P; ++e) acc += row[e];
      }
      db[o] = acc;
    }
}

}  // namespace anima::kernels::cpu
