// anima/kernels/cpu/roi_align.hpp — RoIAlign forward and backward on the CPU.
//
// Math, boundary rules and the per-sample bilinear taps: anima/kernels/roi_align_math.hpp (shared with
// CUDA). Arrays: x / gx contiguous [N, C, H, W], rois [K, 5] (b, x1, y1, x2, y2), y / gy contiguous
// [K, C, PH, PW]; geometry in RoiAlignGeometry. Invalid RoIs (see roi_align_math.hpp) give 0 and no
// gradient.
//
// Two versions:
//   *_reference  plain loops over (k, c, ph, pw, iy, ix), the math as written (torchvision's order of
//                additions: Σ_samples (w1·x1 + w2·x2 + w3·x3 + w4·x4), then / count). Single thread.
//   *_nhwc       the fast path. Forward: x is transposed once to NHWC in the workspace, so the four
//                taps of a sample are four contiguous C-vectors; each RoI computes its samples' taps
//                and weights once (torchvision's pre_calc idea) and accumulates w·x over all channels
//                with vector FMAs (AVX2 when the CPU has it, chosen at run time), into a per-thread
//                [PH·PW, C] buffer that is divided by count and transposed into y. RoIs are handed
//                to the threads from a shared counter.
//                Backward: gx is accumulated in NHWC in the workspace, channel-parallel: each task owns
//                a block of channels (two blocks per thread, 16..256 wide) and walks every RoI in
//                order, scattering g·w / count into its own channels only (no two tasks write the same
//                element) with vector FMAs, then gx is transposed back.
//                Both passes compute a RoI's taps once per axis (PH·grid_h rows, PW·grid_w columns, on
//                the stack when <= 256 per axis, else on the fly) and form each sample from its two taps.
//                Measured on this 2-core machine against torchvision 0.14's CPU kernel: see
//                bench/results/2026-11-26_cpu2_roi_align_vs_torch.txt.
// Determinism: both versions are run-to-run deterministic (forward: each output is computed by one
// thread in a fixed order; backward: each gx element is accumulated by one task, RoIs in index order
// and samples in (ph, pw, iy, ix) order). Reference and nhwc differ in the last bits only (order of
// the products and FMA contraction).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include <anima/kernels/cpu/cpu_features.hpp>
#include <anima/kernels/parallel.hpp>
#include <anima/kernels/roi_align_gather_math.hpp>
#include <anima/kernels/roi_align_math.hpp>

namespace anima::kernels::cpu {

// ---- reference ----------------------------------------------------------------------------------

template <class T>
void roi_align_forward_reference(const T* x, const T* rois, const RoiAlignGeometry& g, T* y) {
  const std::int64_t PH = g.pooled_h, PW = g.pooled_w, HW = g.height * g.width;
  for (std::int64_t k = 0; k < g.num_rois; ++k) {
    const RoiBox<T> box = roi_align_box(rois + k * 5, g);
    for (std::int64_t c = 0; c < g.channels; ++c) {
      const T* plane = x + (box.batch * g.channels + c) * HW;
      T* out = y + (k * g.channels + c) * PH * PW;
      for (std::int64_t ph = 0; ph < PH; ++ph)
        for (std::int64_t pw = 0; pw < PW; ++pw) {
          T sum = T(0);
          if (box.valid)
            for (std::int64_t iy = 0; iy < box.y.grid; ++iy)
              for (std::int64_t ix = 0; ix < box.x.grid; ++ix) {
                const BilinearSample<T> s = roi_align_sample(box, ph, pw, iy, ix, g.height, g.width);
                sum += s.w1 * plane[s.o1] + s.w2 * plane[s.o2] + s.w3 * plane[s.o3] + s.w4 * plane[s.o4];
              }
          out[ph * PW + pw] = sum / box.count;
        }
    }
  }
}

// Overwrites gx.
template <class T>
void roi_align_backward_reference(const T* gy, const T* rois, const RoiAlignGeometry& g, T* gx) {
  const std::int64_t PH = g.pooled_h, PW = g.pooled_w, HW = g.height * g.width;
  std::fill(gx, gx + g.batch * g.channels * HW, T(0));
  for (std::int64_t k = 0; k < g.num_rois; ++k) {
    const RoiBox<T> box = roi_align_box(rois + k * 5, g);
    if (!box.valid) continue;
    for (std::int64_t c = 0; c < g.channels; ++c) {
      T* plane = gx + (box.batch * g.channels + c) * HW;
      const T* go = gy + (k * g.channels + c) * PH * PW;
      for (std::int64_t ph = 0; ph < PH; ++ph)
        for (std::int64_t pw = 0; pw < PW; ++pw) {
          const T share = go[ph * PW + pw] / box.count;
          for (std::int64_t iy = 0; iy < box.y.grid; ++iy)
            for (std::int64_t ix = 0; ix < box.x.grid; ++ix) {
              const BilinearSample<T> s = roi_align_sample(box, ph, pw, iy, ix, g.height, g.width);
              plane[s.o1] += share * s.w1;
              plane[s.o2] += share * s.w2;
              plane[s.o3] += share * s.w3;
              plane[s.o4] += share * s.w4;
            }
        }
    }
  }
}

// ---- nhwc (fast) --------------------------------------------------------------------------------

namespace roi_align_detail {

// acc[i] += wa·a[i] + wb·b[i] + wc·c[i] + wd·d[i]  (a..d may alias each other, never acc)
template <class T>
inline void axpy4_portable(T* __restrict__ acc, const T* a, const T* b, const T* c, const T* d, T wa, T wb, T wc, T wd,
                           std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) acc[i] += wa * a[i] + wb * b[i] + wc * c[i] + wd * d[i];
}
// dst[i] += w·src[i]
template <class T>
inline void axpy_portable(T* __restrict__ dst, const T* __restrict__ src, T w, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] += w * src[i];
}

#if ANIMA_CPU_X86
// The same loops compiled for AVX2 + FMA (g++ vectorises them); called only when the CPU has both.
template <class T>
__attribute__((target("avx2,fma"), noinline)) void axpy4_avx2(T* __restrict__ acc, const T* a, const T* b, const T* c,
                                                              const T* d, T wa, T wb, T wc, T wd, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) acc[i] += wa * a[i] + wb * b[i] + wc * c[i] + wd * d[i];
}
template <class T>
__attribute__((target("avx2,fma"), noinline)) void axpy_avx2(T* __restrict__ dst, const T* __restrict__ src, T w,
                                                             std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] += w * src[i];
}
#endif

inline bool use_avx2() {
  static const bool yes = cpu_supports_avx2_fma();
  return yes;
}

template <class T>
inline void axpy4(T* acc, const T* a, const T* b, const T* c, const T* d, T wa, T wb, T wc, T wd, std::int64_t n) {
#if ANIMA_CPU_X86
  if (use_avx2()) return axpy4_avx2(acc, a, b, c, d, wa, wb, wc, wd, n);
#endif
  axpy4_portable(acc, a, b, c, d, wa, wb, wc, wd, n);
}

template <class T>
inline void axpy(T* dst, const T* src, T w, std::int64_t n) {
#if ANIMA_CPU_X86
  if (use_avx2()) return axpy_avx2(dst, src, w, n);
#endif
  axpy_portable(dst, src, w, n);
}

// [N, C, H·W] -> [N, H·W, C] (or back with `to_nchw`), in parallel over (n, pixel blocks).
template <class T>
void transpose_nchw_nhwc(const T* src, std::int64_t N, std::int64_t C, std::int64_t HW, T* dst, bool to_nchw,
                         const ParallelFor& parallel) {
  constexpr std::int64_t kBlock = 32;
  const std::int64_t blocks_hw = (HW + kBlock - 1) / kBlock, blocks_c = (C + kBlock - 1) / kBlock;
  parallel(0, N * blocks_hw, 4, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t t = begin; t < end; ++t) {
      const std::int64_t n = t / blocks_hw, p0 = (t % blocks_hw) * kBlock, p1 = std::min(p0 + kBlock, HW);
      const T* s = src + n * C * HW;
      T* d = dst + n * C * HW;
      for (std::int64_t cb = 0; cb < blocks_c; ++cb) {
        const std::int64_t c0 = cb * kBlock, c1 = std::min(c0 + kBlock, C);
        if (!to_nchw) {
          for (std::int64_t p = p0; p < p1; ++p)
            for (std::int64_t c = c0; c < c1; ++c) d[p * C + c] = s[c * HW + p];
        } else {
          for (std::int64_t c = c0; c < c1; ++c)
            for (std::int64_t p = p0; p < p1; ++p) d[c * HW + p] = s[p * C + c];
        }
      }
    }
  });
}

// Channels per backward task: two tasks per thread (balance) but wide blocks (each task recomputes
// the RoIs' taps and pays a call per tap and channel block), 16..256 wide.
inline std::int64_t backward_channel_block(std::int64_t C, int threads) {
  std::int64_t cb = C / (2 * std::max(threads, 1));
  cb = std::max<std::int64_t>(16, std::min<std::int64_t>(256, (cb + 15) / 16 * 16));
  return std::min(cb, C);
}

constexpr std::int64_t kMaxCachedTaps = 256;  // taps per axis kept on the stack per RoI

// The taps of every sample of `box` along both axes (PH·grid_h rows, PW·grid_w columns), when they
// fit in the caller's arrays; returns whether they did (otherwise callers compute taps on the fly).
template <class T>
bool cache_taps(const RoiBox<T>& box, const RoiAlignGeometry& g, BilinearTap<T>* ty, BilinearTap<T>* tx) {
  const std::int64_t ny = g.pooled_h * box.y.grid, nx = g.pooled_w * box.x.grid;
  if (!box.valid || ny > kMaxCachedTaps || nx > kMaxCachedTaps) return false;
  for (std::int64_t t = 0; t < ny; ++t)
    ty[t] = bilinear_tap(roi_sample_coord(box.y, t / box.y.grid, t % box.y.grid), g.height);
  for (std::int64_t t = 0; t < nx; ++t)
    tx[t] = bilinear_tap(roi_sample_coord(box.x, t / box.x.grid, t % box.x.grid), g.width);
  return true;
}

template <class T>
inline BilinearTap<T> tap_y(const RoiBox<T>& box, const RoiAlignGeometry& g, bool cached, const BilinearTap<T>* ty,
                            std::int64_t ph, std::int64_t iy) {
  return cached ? ty[ph * box.y.grid + iy] : bilinear_tap(roi_sample_coord(box.y, ph, iy), g.height);
}
template <class T>
inline BilinearTap<T> tap_x(const RoiBox<T>& box, const RoiAlignGeometry& g, bool cached, const BilinearTap<T>* tx,
                            std::int64_t pw, std::int64_t ix) {
  return cached ? tx[pw * box.x.grid + ix] : bilinear_tap(roi_sample_coord(box.x, pw, ix), g.width);
}

// f(sample) for every sampling point of bin (ph, pw) that has a non-zero weight, in (iy, ix) order:
// the loop the forward and backward passes share (they differ only in what they do with a sample).
template <class T, class F>
inline void for_each_bin_sample(const RoiBox<T>& box, const RoiAlignGeometry& g, bool cached,
                                const BilinearTap<T>* ty_cache, const BilinearTap<T>* tx_cache, std::int64_t ph,
                                std::int64_t pw, F&& f) {
  for (std::int64_t iy = 0; iy < box.y.grid; ++iy) {
    const BilinearTap<T> ty = tap_y(box, g, cached, ty_cache, ph, iy);
    if (!ty.inside) continue;
    for (std::int64_t ix = 0; ix < box.x.grid; ++ix) {
      const BilinearSample<T> s = bilinear_sample(ty, tap_x(box, g, cached, tx_cache, pw, ix), g.width);
      if (s.w1 == T(0) && s.w2 == T(0) && s.w3 == T(0) && s.w4 == T(0)) continue;
      f(s);
    }
  }
}

}  // namespace roi_align_detail

// Workspace of roi_align_forward_nhwc / roi_align_backward_nhwc, in bytes, for `threads` threads
// (the parallel.size() of the ParallelFor the kernel then runs on).
template <class T>
std::size_t roi_align_forward_nhwc_workspace_bytes(const RoiAlignGeometry& g, int threads) {
  const std::int64_t nhwc = g.batch * g.channels * g.height * g.width;
  const std::int64_t acc = static_cast<std::int64_t>(std::max(threads, 1)) * g.pooled_h * g.pooled_w * g.channels;
  return static_cast<std::size_t>(nhwc + acc) * sizeof(T);
}
template <class T>
std::size_t roi_align_backward_nhwc_workspace_bytes(const RoiAlignGeometry& g, int threads) {
  const std::int64_t nhwc = g.batch * g.channels * g.height * g.width;
  const std::int64_t cb = roi_align_detail::backward_channel_block(g.channels, threads);
  const std::int64_t buf = static_cast<std::int64_t>(std::max(threads, 1)) * g.pooled_h * g.pooled_w * cb;
  return static_cast<std::size_t>(nhwc + buf) * sizeof(T);
}

// `workspace` holds roi_align_forward_nhwc_workspace_bytes<T>(g, parallel.size()) bytes.
template <class T>
void roi_align_forward_nhwc(const T* x, const T* rois, const RoiAlignGeometry& g, T* y, void* workspace,
                            const ParallelFor& parallel) {
  const std::int64_t C = g.channels, HW = g.height * g.width, PP = g.pooled_h * g.pooled_w;
  if (g.num_rois == 0 || C == 0) return;
  T* xt = static_cast<T*>(workspace);  // [N, H, W, C]
  T* acc_all = xt + g.batch * C * HW;  // [threads][PH·PW, C]
  roi_align_detail::transpose_nchw_nhwc(x, g.batch, C, HW, xt, false, parallel);
  std::atomic<std::int64_t> next{0};
  const int slots = parallel.size();
  parallel(0, slots, 1, [&](std::int64_t s0, std::int64_t s1) {
    for (std::int64_t slot = s0; slot < s1; ++slot) {
      T* acc = acc_all + slot * PP * C;
      for (std::int64_t k = next.fetch_add(1); k < g.num_rois; k = next.fetch_add(1)) {
        const RoiBox<T> box = roi_align_box(rois + k * 5, g);
        std::fill(acc, acc + PP * C, T(0));
        BilinearTap<T> ty_cache[roi_align_detail::kMaxCachedTaps], tx_cache[roi_align_detail::kMaxCachedTaps];
        const bool cached = roi_align_detail::cache_taps(box, g, ty_cache, tx_cache);
        if (box.valid) {
          const T* img = xt + box.batch * HW * C;
          for (std::int64_t ph = 0; ph < g.pooled_h; ++ph)
            for (std::int64_t pw = 0; pw < g.pooled_w; ++pw) {
              T* a = acc + (ph * g.pooled_w + pw) * C;
              roi_align_detail::for_each_bin_sample(
                  box, g, cached, ty_cache, tx_cache, ph, pw, [&](const BilinearSample<T>& s) {
                    roi_align_detail::axpy4(a, img + s.o1 * C, img + s.o2 * C, img + s.o3 * C, img + s.o4 * C, s.w1,
                                            s.w2, s.w3, s.w4, C);
                  });
            }
        }
        // [PH·PW, C] -> y[k] [C, PH·PW], in 16 x 16 tiles (both sides stay in cache lines).
        T* out = y + k * C * PP;
        for (std::int64_t c0 = 0; c0 < C; c0 += 16)
          for (std::int64_t p0 = 0; p0 < PP; p0 += 16) {
            const std::int64_t c1 = std::min(c0 + 16, C), p1 = std::min(p0 + 16, PP);
            for (std::int64_t c = c0; c < c1; ++c)
              for (std::int64_t p = p0; p < p1; ++p) out[c * PP + p] = acc[p * C + c] / box.count;
          }
      }
    }
  });
}

// Overwrites gx. `workspace` holds roi_align_backward_nhwc_workspace_bytes<T>(g, parallel.size()) bytes.
template <class T>
void roi_align_backward_nhwc(const T* gy, const T* rois, const RoiAlignGeometry& g, T* gx, void* workspace,
                             const ParallelFor& parallel) {
  const std::int64_t C = g.channels, HW = g.height * g.width, PP = g.pooled_h * g.pooled_w;
  const std::int64_t total = g.batch * C * HW;
  if (total == 0) return;
  if (g.num_rois == 0) {
    std::fill(gx, gx + total, T(0));
    return;
  }
  T* gt = static_cast<T*>(workspace);  // [N, H, W, C]
  T* buf_all = gt + total;             // [threads][PH·PW, CB]
  const std::int64_t CB = roi_align_detail::backward_channel_block(C, parallel.size());
  const std::int64_t blocks = (C + CB - 1) / CB;
  parallel(0, total, 1 << 16, [&](std::int64_t b, std::int64_t e) { std::fill(gt + b, gt + e, T(0)); });
  std::atomic<std::int64_t> next{0};
  const int slots = parallel.size();
  parallel(0, slots, 1, [&](std::int64_t s0, std::int64_t s1) {
    for (std::int64_t slot = s0; slot < s1; ++slot) {
      T* buf = buf_all + slot * PP * CB;
      BilinearTap<T> ty_cache[roi_align_detail::kMaxCachedTaps], tx_cache[roi_align_detail::kMaxCachedTaps];
      for (std::int64_t blk = next.fetch_add(1); blk < blocks; blk = next.fetch_add(1)) {
        const std::int64_t c0 = blk * CB, nc = std::min(CB, C - c0);
        for (std::int64_t k = 0; k < g.num_rois; ++k) {
          const RoiBox<T> box = roi_align_box(rois + k * 5, g);
          if (!box.valid) continue;
          // buf[p][c] = gy[k, c0 + c, p] / count (torchvision's grad / count, then times each weight)
          const T* go = gy + (k * C + c0) * PP;
          for (std::int64_t c = 0; c < nc; ++c)
            for (std::int64_t p = 0; p < PP; ++p) buf[p * CB + c] = go[c * PP + p] / box.count;
          T* img = gt + box.batch * HW * C + c0;
          const bool cached = roi_align_detail::cache_taps(box, g, ty_cache, tx_cache);
          for (std::int64_t ph = 0; ph < g.pooled_h; ++ph)
            for (std::int64_t pw = 0; pw < g.pooled_w; ++pw) {
              const T* gb = buf + (ph * g.pooled_w + pw) * CB;
              roi_align_detail::for_each_bin_sample(box, g, cached, ty_cache, tx_cache, ph, pw,
                                                    [&](const BilinearSample<T>& s) {
                                                      roi_align_detail::axpy(img + s.o1 * C, gb, s.w1, nc);
                                                      roi_align_detail::axpy(img + s.o2 * C, gb, s.w2, nc);
                                                      roi_align_detail::axpy(img + s.o3 * C, gb, s.w3, nc);
                                                      roi_align_detail::axpy(img + s.o4 * C, gb, s.w4, nc);
                                                    });
            }
        }
      }
    }
  });
  roi_align_detail::transpose_nchw_nhwc(gt, g.batch, C, HW, gx, true, parallel);
}

// ---- gather (the CUDA deterministic backward's algorithm, on the CPU) --------------------------------

// The algorithm of the CUDA roi_align_bwd_gather (anima/kernels/roi_align_gather_math.hpp): the same
// plan and the same per-pixel function, looped over (n, channel tile, y, x) on one thread. It exists to
// test that algorithm without a GPU and as the bitwise reference of the CUDA kernel (same tables, same
// order, explicit fma). Overwrites gx.
template <class T>
void roi_align_backward_gather(const T* gy, const T* rois, const RoiAlignGeometry& g, T* gx,
                               const ParallelFor& parallel) {
  constexpr int CT = kRoiGatherChannels;
  const RoiGatherPlan<T> plan = roi_gather_build_plan(rois, g, parallel);
  const RoiGatherView<T> v = plan.view(plan.bytes.data());
  const std::int64_t H = g.height, W = g.width, C = g.channels;
  T out[CT];
  for (std::int64_t n = 0; n < g.batch; ++n)
    for (std::int64_t c0 = 0; c0 < C; c0 += CT) {
      const int nc = static_cast<int>(std::min<std::int64_t>(CT, C - c0));
      for (std::int64_t y = 0; y < H; ++y)
        for (std::int64_t x = 0; x < W; ++x) {
          roi_gather_pixel<T, CT>(v, gy, g, n, c0, nc, y, x, out);
          for (int j = 0; j < nc; ++j) gx[((n * C + c0 + j) * H + y) * W + x] = out[j];
        }
    }
}

}  // namespace anima::kernels::cpu
