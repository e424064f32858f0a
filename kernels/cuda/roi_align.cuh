// anima/kernels/cuda/roi_align.cuh — RoIAlign and RoIPool forward / backward (CUDA).
//
// Same contract as anima/kernels/cpu/roi_align.hpp and roi_pool.hpp: x / gx contiguous [N, C, H, W],
// rois [K, 5], y / gy / argmax contiguous [K, C, PH, PW], all on the device; per-RoI and per-sample math
// from anima/kernels/roi_align_math.hpp (the same functions as the CPU kernels). Invalid RoIs (batch
// index outside [0, N), non-finite coordinates) give 0 and route no gradient. Launchers take a stream
// and the caller's workspace; they never allocate.
//
// Versions (names say the method; a performance engineer can run each alone):
//   roi_align_fwd_v1            one thread per output element (k, c, ph, pw); each thread recomputes
//                               the box and every sample's taps (torchvision's CUDA scheme).
//   roi_align_fwd_v2            one block per (RoI, tile of kRoiChannelTile channels); the block computes
//                               the RoI's sample taps once per axis (PH·grid_h rows, PW·grid_w columns)
//                               into shared memory and every thread reuses them for its outputs across
//                               the tile's channels. A RoI with more than kRoiMaxTaps samples along an
//                               axis (adaptive grids of huge boxes) computes taps on the fly instead.
//                               Same taps, same weights, same summation order as v1: equal bits.
//   roi_align_bwd_atomic_v1     one thread per output element, atomicAdd of the 4 weighted
//                               contributions of every sample into gx (zeroed first); like torchvision.
//   roi_align_bwd_gather        deterministic, no atomics (the default deterministic backward): the
//                               backward is separable (per-axis tap weights), so a plan built on the
//                               host from the rois (the caller's host copy when it has one, as
//                               MultiScaleRoIAlign does; otherwise a copy of the [K, 5] rois to the
//                               host: one stream synchronisation) holds per RoI and axis the (bin, weight) lists of
//                               every
//                               pixel of its window, and per image and 16x16 pixel tile the RoIs that
//                               meet it (increasing index). One thread per (n, 4 channels, y, x) walks
//                               its tile's RoIs in order and sums Σ_ph wy Σ_pw wx gy / count with
//                               explicit fma (anima/kernels/roi_align_gather_math.hpp, roi_gather_pixel,
//                               the same function as kernels::cpu::roi_align_backward_gather). Each gx
//                               element is written by one thread in a fixed order: bitwise reproducible,
//                               and the same bits as the CPU gather (same plan, order, fma, IEEE division).
//   roi_align_bwd_gather_device_plan
//                               the same gather, with its plan built on the device from the device rois
//                               (anima/kernels/roi_align_gather_device_plan.hpp: one thread per RoI
//                               writes its windows and (bin, weight) lists at fixed strides; tile
//                               counts by integer atomics, one block scans them, one block per tile
//                               lists its RoIs in increasing index). No host work, no copy, no
//                               synchronisation; the tables hold the same values in the same order as
//                               the host plan's, so gx is the same bits. Fixed sampling ratios only
//                               (roi_align_bwd_gather_device_layout(g).supported).
//                               Its gather kernel is tile-aligned (one 256-thread block per 16x16 pixel
//                               tile: a warp walks one RoI list; roi_align_bwd_gather_tiled_kernel).
//                               Both gathers take one channel per thread instead of 4 when the map is
//                               small (under kRoiGatherFewThreads threads). All variants: the same bits.
//   roi_align_bwd_fixed_point   deterministic (~3.5x slower than atomic_v1 on an
//                               H100): v2's block layout (taps in shared memory), but each
//                               contribution g·w / count is rounded to a 64-bit fixed-point integer
//                               q = llrint(v · 2^s) and added with an integer atomicAdd into an int64
//                               workspace; a last pass writes gx = q_sum / 2^s. Integer addition is
//                               associative, so the sum (hence gx) is the same bits whatever the
//                               order the atomics land in. The scale 2^s is set on the device from
//                               M = max |gy| (a first pass, atomicMax on the bits, order-independent):
//                               s = 61 - ceil(log2(K·PH·PW)) - e with M < 2^e, so that the largest
//                               possible |Σ| <= K·PH·PW·M (each output spreads total weight <= 1)
//                               stays below 2^61: no overflow. Resolution: M·2^-(61-ceil(log2(K·PH·PW)))
//                               (2^-43·M for K·PH·PW = 2^18), far below float32's 2^-24 relative.
//                               A non-finite gy makes the whole gx NaN (documented; the atomic version
//                               spreads it only to the touched pixels).
// Workspace: roi_align_bwd_fixed_point_workspace_bytes(g) = 8·(N·C·H·W + 1) bytes; gather:
// roi_align_bwd_gather_plan(...).workspace_bytes() (per RoI ~56 + 8·(window rows + columns + 2) +
// 8·entries bytes for float32, entries <= 2·(PH·grid_h + PW·grid_w), plus 4 bytes per (tile, RoI) pair);
// gather with the device plan: roi_align_bwd_gather_device_layout<T>(g).bytes (per RoI ~60 +
// 16·(H + W + 1) + 8·entries + 4·tiles per image bytes for float32: 3.7 MB for the 487 RoIs of the
// box case's 200x200 level); the others none.
// Determinism: forward v1 and v2 bitwise reproducible; backward gather and fixed_point bitwise
// reproducible run to run; backward atomic_v1 is not (float atomics land in a varying order). RoIPool: forward
// reproducible,
// backward atomic (not bitwise reproducible when bins of different RoIs share an argmax).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <cub/block/block_scan.cuh>
#include <cuda_runtime.h>

#include <anima/kernels/cuda/status.cuh>
#include <anima/kernels/cuda/elementwise.cuh>
#include <anima/kernels/parallel.hpp>
#include <anima/kernels/roi_align_gather_device_plan.hpp>
#include <anima/kernels/roi_align_gather_math.hpp>
#include <anima/kernels/roi_align_math.hpp>

namespace anima::kernels::cuda {

constexpr int kRoiChannelTile = 16;  // channels per v2 block
constexpr int kRoiMaxTaps = 256;     // taps per axis kept in shared memory
constexpr int kRoiBlock = 256;

// ---- forward v1 -----------------------------------------------------------------------------------

template <class T>
__global__ void roi_align_fwd_v1_kernel(const T* __restrict__ x, const T* __restrict__ rois, RoiAlignGeometry g,
                                        T* __restrict__ y, std::int64_t n) {
  const std::int64_t PP = g.pooled_h * g.pooled_w, HW = g.height * g.width;
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t pw = i % g.pooled_w, ph = (i / g.pooled_w) % g.pooled_h, c = (i / PP) % g.channels,
                       k = i / (PP * g.channels);
    const RoiBox<T> box = roi_align_box(rois + k * 5, g);
    T sum = T(0);
    if (box.valid) {
      const T* plane = x + (box.batch * g.channels + c) * HW;
      for (std::int64_t iy = 0; iy < box.y.grid; ++iy)
        for (std::int64_t ix = 0; ix < box.x.grid; ++ix) {
          const BilinearSample<T> s = roi_align_sample(box, ph, pw, iy, ix, g.height, g.width);
          sum += s.w1 * plane[s.o1] + s.w2 * plane[s.o2] + s.w3 * plane[s.o3] + s.w4 * plane[s.o4];
        }
    }
    y[i] = sum / box.count;
  }
}

// ---- shared-memory taps (v2 forward, fixed-point backward) ----------------------------------------

template <class T>
struct RoiTapCache {
  BilinearTap<T> y[kRoiMaxTaps];
  BilinearTap<T> x[kRoiMaxTaps];
};

// Fills the block's tap cache for `box` (when it fits); returns whether it did. Ends with a barrier.
template <class T>
__device__ bool roi_fill_taps(RoiTapCache<T>& cache, const RoiBox<T>& box, const RoiAlignGeometry& g) {
  const std::int64_t ny = g.pooled_h * box.y.grid, nx = g.pooled_w * box.x.grid;
  const bool fits = box.valid && ny <= kRoiMaxTaps && nx <= kRoiMaxTaps;
  if (fits) {
    for (std::int64_t t = threadIdx.x; t < ny; t += blockDim.x)
      cache.y[t] = bilinear_tap(roi_sample_coord(box.y, t / box.y.grid, t % box.y.grid), g.height);
    for (std::int64_t t = threadIdx.x; t < nx; t += blockDim.x)
      cache.x[t] = bilinear_tap(roi_sample_coord(box.x, t / box.x.grid, t % box.x.grid), g.width);
  }
  __syncthreads();
  return fits;
}

template <class T>
__device__ __forceinline__ BilinearSample<T> roi_cached_sample(const RoiTapCache<T>& cache, bool cached,
                                                               const RoiBox<T>& box, const RoiAlignGeometry& g,
                                                               std::int64_t ph, std::int64_t pw, std::int64_t iy,
                                                               std::int64_t ix) {
  if (cached) return bilinear_sample(cache.y[ph * box.y.grid + iy], cache.x[pw * box.x.grid + ix], g.width);
  return roi_align_sample(box, ph, pw, iy, ix, g.height, g.width);
}

// ---- forward v2 -----------------------------------------------------------------------------------

// grid (K, ceil(C / kRoiChannelTile)), block kRoiBlock.
template <class T>
__global__ void roi_align_fwd_v2_kernel(const T* __restrict__ x, const T* __restrict__ rois, RoiAlignGeometry g,
                                        T* __restrict__ y) {
  __shared__ RoiTapCache<T> cache;
  const std::int64_t k = blockIdx.x, c0 = static_cast<std::int64_t>(blockIdx.y) * kRoiChannelTile;
  const std::int64_t PP = g.pooled_h * g.pooled_w, HW = g.height * g.width;
  const std::int64_t nc = g.channels - c0 < kRoiChannelTile ? g.channels - c0 : kRoiChannelTile;
  const RoiBox<T> box = roi_align_box(rois + k * 5, g);
  const bool cached = roi_fill_taps(cache, box, g);
  // 32-bit index math inside the block (nc·PP is small; 64-bit division is slow on the GPU).
  const int pp32 = static_cast<int>(PP), pw32 = static_cast<int>(g.pooled_w), n32 = static_cast<int>(nc * PP);
  for (int t = static_cast<int>(threadIdx.x); t < n32; t += static_cast<int>(blockDim.x)) {
    const int p = t % pp32;
    const std::int64_t c = c0 + t / pp32, ph = p / pw32, pw = p % pw32;
    T sum = T(0);
    if (box.valid) {
      const T* plane = x + (box.batch * g.channels + c) * HW;
      for (std::int64_t iy = 0; iy < box.y.grid; ++iy)
        for (std::int64_t ix = 0; ix < box.x.grid; ++ix) {
          const BilinearSample<T> s = roi_cached_sample(cache, cached, box, g, ph, pw, iy, ix);
          sum += s.w1 * plane[s.o1] + s.w2 * plane[s.o2] + s.w3 * plane[s.o3] + s.w4 * plane[s.o4];
        }
    }
    y[(k * g.channels + c) * PP + p] = sum / box.count;
  }
}

// ---- backward: atomic v1 --------------------------------------------------------------------------

template <class T>
__global__ void roi_align_bwd_atomic_v1_kernel(const T* __restrict__ gy, const T* __restrict__ rois, RoiAlignGeometry g,
                                               T* __restrict__ gx, std::int64_t n) {
  const std::int64_t PP = g.pooled_h * g.pooled_w, HW = g.height * g.width;
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t pw = i % g.pooled_w, ph = (i / g.pooled_w) % g.pooled_h, c = (i / PP) % g.channels,
                       k = i / (PP * g.channels);
    const RoiBox<T> box = roi_align_box(rois + k * 5, g);
    if (!box.valid) continue;
    T* plane = gx + (box.batch * g.channels + c) * HW;
    const T share = gy[i] / box.count;
    for (std::int64_t iy = 0; iy < box.y.grid; ++iy)
      for (std::int64_t ix = 0; ix < box.x.grid; ++ix) {
        const BilinearSample<T> s = roi_align_sample(box, ph, pw, iy, ix, g.height, g.width);
        if (s.w1 == T(0) && s.w2 == T(0) && s.w3 == T(0) && s.w4 == T(0)) continue;
        atomicAdd(plane + s.o1, share * s.w1);
        atomicAdd(plane + s.o2, share * s.w2);
        atomicAdd(plane + s.o3, share * s.w3);
        atomicAdd(plane + s.o4, share * s.w4);
      }
  }
}

// ---- backward: deterministic fixed point ------------------------------------------------------------

// ws[0] = max over gy of the bits of (double)|gy| (non-negative doubles order like their bit patterns;
// NaN bits sort above +inf).
template <class T>
__global__ void roi_align_abs_max_kernel(const T* __restrict__ gy, std::int64_t n,
                                         unsigned long long* __restrict__ ws) {
  double m = 0.0;
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const double v = static_cast<double>(gy[i]);
    const double a = v < 0 ? -v : v;
    if (a != a) {  // NaN: its bits sort above +inf's, so the scale pass sees "not finite"
      m = a;
      break;
    }
    if (a > m) m = a;
  }
  atomicMax(ws, static_cast<unsigned long long>(__double_as_longlong(m)));
}

// The fixed-point scale 2^s for max |gy| = bits-decoded M (see the header comment); 0 when M is not
// finite (the convert pass then writes NaN).
__device__ __forceinline__ double roi_fixed_point_scale(unsigned long long max_bits, std::int64_t terms) {
  const double m = __longlong_as_double(static_cast<long long>(max_bits));
  if (!(m <= 1.7976931348623157e308)) return 0.0;  // inf or NaN
  if (m == 0.0) return 1.0;
  int e = 0;
  (void)frexp(m, &e);  // m < 2^e
  int headroom = 0;
  while ((std::int64_t(1) << headroom) < terms && headroom < 62) ++headroom;
  return ldexp(1.0, 61 - headroom - e);
}

// grid (K, ceil(C / kRoiChannelTile)), block kRoiBlock; acc = the int64 workspace, zeroed.
template <class T>
__global__ void roi_align_bwd_fixed_point_kernel(const T* __restrict__ gy, const T* __restrict__ rois,
                                                 RoiAlignGeometry g, const unsigned long long* __restrict__ max_bits,
                                                 unsigned long long* __restrict__ acc) {
  __shared__ RoiTapCache<T> cache;
  const std::int64_t k = blockIdx.x, c0 = static_cast<std::int64_t>(blockIdx.y) * kRoiChannelTile;
  const std::int64_t PP = g.pooled_h * g.pooled_w, HW = g.height * g.width;
  const std::int64_t nc = g.channels - c0 < kRoiChannelTile ? g.channels - c0 : kRoiChannelTile;
  const double scale = roi_fixed_point_scale(*max_bits, g.num_rois * PP);
  const RoiBox<T> box = roi_align_box(rois + k * 5, g);
  const bool cached = roi_fill_taps(cache, box, g);
  if (!box.valid || scale == 0.0) return;
  // 32-bit index math inside the block (nc·PP is small; 64-bit division is slow on the GPU).
  const int pp32 = static_cast<int>(PP), pw32 = static_cast<int>(g.pooled_w), n32 = static_cast<int>(nc * PP);
  for (int t = static_cast<int>(threadIdx.x); t < n32; t += static_cast<int>(blockDim.x)) {
    const int p = t % pp32;
    const std::int64_t c = c0 + t / pp32, ph = p / pw32, pw = p % pw32;
    unsigned long long* plane = acc + (box.batch * g.channels + c) * HW;
    const T share = gy[(k * g.channels + c) * PP + p] / box.count;
    for (std::int64_t iy = 0; iy < box.y.grid; ++iy)
      for (std::int64_t ix = 0; ix < box.x.grid; ++ix) {
        const BilinearSample<T> s = roi_cached_sample(cache, cached, box, g, ph, pw, iy, ix);
        if (s.w1 == T(0) && s.w2 == T(0) && s.w3 == T(0) && s.w4 == T(0)) continue;
        // Two's complement: adding the unsigned image of a negative int64 subtracts it.
        atomicAdd(plane + s.o1, static_cast<unsigned long long>(llrint(static_cast<double>(share * s.w1) * scale)));
        atomicAdd(plane + s.o2, static_cast<unsigned long long>(llrint(static_cast<double>(share * s.w2) * scale)));
        atomicAdd(plane + s.o3, static_cast<unsigned long long>(llrint(static_cast<double>(share * s.w3) * scale)));
        atomicAdd(plane + s.o4, static_cast<unsigned long long>(llrint(static_cast<double>(share * s.w4) * scale)));
      }
  }
}

template <class T>
__global__ void roi_align_fixed_point_convert_kernel(const unsigned long long* __restrict__ acc,
                                                     const unsigned long long* __restrict__ max_bits,
                                                     std::int64_t terms, T* __restrict__ gx, std::int64_t n) {
  const double scale = roi_fixed_point_scale(*max_bits, terms);
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const long long q = static_cast<long long>(acc[i]);
    gx[i] = scale == 0.0 ? static_cast<T>(NAN) : static_cast<T>(static_cast<double>(q) / scale);
  }
}

// ---- backward: deterministic gather -----------------------------------------------------------------

// One thread per (n, channel tile of CT channels, y, x), x fastest; plan = a view of a host plan's
// device copy (RoiGatherPlan) or of a device-built plan (RoiGatherDeviceLayout); both read the same.
// CT only groups channels (each channel's sum is computed alone, in the same order): any CT gives the
// same bits. Writes every element of gx.
template <class T, int CT>
__global__ void roi_align_bwd_gather_kernel(const T* __restrict__ gy, RoiGatherView<T> plan, RoiAlignGeometry g,
                                            T* __restrict__ gx, std::int64_t n) {
  const std::int64_t H = g.height, W = g.width, C = g.channels, CB = (C + CT - 1) / CT;
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t x = i % W, y = (i / W) % H, cb = (i / (W * H)) % CB, b = i / (W * H * CB);
    const std::int64_t c0 = cb * CT;
    const int nc = static_cast<int>(C - c0 < CT ? C - c0 : CT);
    T out[CT];
    roi_gather_pixel<T, CT>(plan, gy, g, b, c0, nc, y, x, out);
    for (int j = 0; j < CT; ++j)
      if (j < nc) gx[((b * C + c0 + j) * H + y) * W + x] = out[j];
  }
}

// The same per-pixel gather, one block of kRoiGatherTile² threads per (n, channel tile, pixel tile):
// every warp lies in one 16x16 tile (two rows of it), so its threads walk the same RoI list together
// (the flat kernel's warps span two tiles, whose different lists diverge) and read each RoI's record
// once for all. Threads of an edge tile beyond the map do nothing. The same bits as the flat kernel.
constexpr int kRoiGatherTileThreads = static_cast<int>(kRoiGatherTile * kRoiGatherTile);

template <class T, int CT>
__global__ void roi_align_bwd_gather_tiled_kernel(const T* __restrict__ gy, RoiGatherView<T> plan, RoiAlignGeometry g,
                                                  T* __restrict__ gx, std::int64_t blocks) {
  const std::int64_t H = g.height, W = g.width, C = g.channels, CB = (C + CT - 1) / CT;
  for (std::int64_t blk = blockIdx.x; blk < blocks; blk += gridDim.x) {
    const RoiGatherTiledPixel p = roi_gather_tiled_pixel(blk, threadIdx.x, plan.tiles_y, plan.tiles_x, CB, CT, H, W);
    if (!p.valid) continue;
    const int nc = static_cast<int>(C - p.c0 < CT ? C - p.c0 : CT);
    T out[CT];
    roi_gather_pixel<T, CT>(plan, gy, g, p.b, p.c0, nc, p.y, p.x, out);
    for (int j = 0; j < CT; ++j)
      if (j < nc) gx[((p.b * C + p.c0 + j) * H + p.y) * W + p.x] = out[j];
  }
}

// ---- backward: the gather's plan built on the device (anima/kernels/roi_align_gather_device_plan.hpp)

// Step 1: one thread per RoI; each counts itself into the tiles it meets (integer atomics: the counts
// do not depend on the order they land in). tile_ptr[1..] zeroed before.
template <class T>
__global__ void roi_gather_plan_rois_kernel(const T* __restrict__ rois, RoiAlignGeometry g, RoiGatherDeviceLayout<T> L,
                                            unsigned char* __restrict__ base) {
  auto* counts = reinterpret_cast<unsigned long long*>(base + L.off_tile_ptr) + 1;
  for (std::int64_t k = global_thread_index(); k < L.num_rois; k += grid_stride()) {
    std::int32_t b = -1;
    const RoiGatherRoi<T> r = roi_gather_device_roi(rois, g, L, base, k, b);
    std::int64_t ty0, ty1, tx0, tx1;
    if (!roi_gather_tile_span(r, b, ty0, ty1, tx0, tx1)) continue;
    for (std::int64_t ty = ty0; ty <= ty1; ++ty)
      for (std::int64_t tx = tx0; tx <= tx1; ++tx) atomicAdd(counts + (b * L.tiles_y + ty) * L.tiles_x + tx, 1ull);
  }
}

constexpr int kRoiPlanScanThreads = 1024;
constexpr int kRoiPlanTileThreads = 256;

// Step 2: one block of Threads; tile_ptr[1..ntiles] (counts) -> their inclusive scan, tile_ptr[0] = 0.
// Thread j owns a contiguous run of tiles: sums it, takes the block's exclusive scan of the sums,
// rewrites it. (A template, as every kernel in a header: one definition across translation units.)
template <int Threads>
__global__ void roi_gather_plan_scan_kernel(std::int64_t* __restrict__ tile_ptr, std::int64_t ntiles) {
  using Scan = cub::BlockScan<std::int64_t, Threads>;
  __shared__ typename Scan::TempStorage temp;
  const std::int64_t per = (ntiles + Threads - 1) / Threads;
  const std::int64_t a0 = static_cast<std::int64_t>(threadIdx.x) * per;
  const std::int64_t a = a0 < ntiles ? a0 : ntiles, e = a + per < ntiles ? a + per : ntiles;
  std::int64_t local = 0;
  for (std::int64_t t = a; t < e; ++t) local += tile_ptr[1 + t];
  std::int64_t run = 0;
  Scan(temp).ExclusiveSum(local, run);
  for (std::int64_t t = a; t < e; ++t) {
    run += tile_ptr[1 + t];
    tile_ptr[1 + t] = run;
  }
  if (threadIdx.x == 0) tile_ptr[0] = 0;
}

// Step 3: one block of kRoiPlanTileThreads per tile; the RoIs meeting it, in increasing index: each
// round tests 256 consecutive RoIs and places the hits by a block exclusive scan of the hit flags.
template <class T>
__global__ void roi_gather_plan_tiles_kernel(RoiGatherDeviceLayout<T> L, unsigned char* __restrict__ base) {
  using Scan = cub::BlockScan<int, kRoiPlanTileThreads>;
  __shared__ typename Scan::TempStorage temp;
  const std::int64_t t = blockIdx.x;
  const auto* tile_ptr = reinterpret_cast<const std::int64_t*>(base + L.off_tile_ptr);
  auto* tile_rois = reinterpret_cast<std::int32_t*>(base + L.off_tile_rois);
  std::int64_t out = tile_ptr[t];
  for (std::int64_t k0 = 0; k0 < L.num_rois; k0 += kRoiPlanTileThreads) {
    const std::int64_t k = k0 + threadIdx.x;
    const int hit = k < L.num_rois && roi_gather_meets_tile(L, base, k, t) ? 1 : 0;
    int pos = 0, hits = 0;
    Scan(temp).ExclusiveSum(hit, pos, hits);
    if (hit) tile_rois[out + pos] = static_cast<std::int32_t>(k);
    out += hits;
    __syncthreads();  // temp is reused by the next round
  }
}

// ---- RoIPool ----------------------------------------------------------------------------------------

template <class T>
__global__ void roi_pool_fwd_kernel(const T* __restrict__ x, const T* __restrict__ rois, RoiAlignGeometry g,
                                    T* __restrict__ y, std::int64_t* __restrict__ argmax, std::int64_t n) {
  const std::int64_t PP = g.pooled_h * g.pooled_w, HW = g.height * g.width;
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t pw = i % g.pooled_w, ph = (i / g.pooled_w) % g.pooled_h, c = (i / PP) % g.channels,
                       k = i / (PP * g.channels);
    const T* roi = rois + k * 5;
    const RoiBox<T> box = roi_align_box(roi, g);
    const RoiPoolBin b = roi_pool_bin(roi, g, ph, pw);
    if (!box.valid || b.empty()) {
      y[i] = T(0);
      argmax[i] = -1;
      continue;
    }
    const T* plane = x + (box.batch * g.channels + c) * HW;
    const RoiPoolMax<T> best = roi_pool_bin_max(plane, g.width, b);
    y[i] = best.value;
    argmax[i] = best.index;
  }
}

template <class T>
__global__ void roi_pool_bwd_atomic_kernel(const T* __restrict__ gy, const std::int64_t* __restrict__ argmax,
                                           const T* __restrict__ rois, RoiAlignGeometry g, T* __restrict__ gx,
                                           std::int64_t n) {
  const std::int64_t PP = g.pooled_h * g.pooled_w, HW = g.height * g.width;
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t c = (i / PP) % g.channels, k = i / (PP * g.channels);
    const std::int64_t b = roi_batch_index(rois[k * 5], g.batch);
    if (b < 0 || argmax[i] < 0) continue;
    atomicAdd(gx + (b * g.channels + c) * HW + argmax[i], gy[i]);
  }
}

// ---------------------------------------------------------------------------------------------------
// Launchers (host); device pointers, run on `stream`. Empty problems launch nothing (backward ones
// still zero gx).

inline std::int64_t roi_output_elems(const RoiAlignGeometry& g) {
  return g.num_rois * g.channels * g.pooled_h * g.pooled_w;
}
inline std::int64_t roi_input_elems(const RoiAlignGeometry& g) { return g.batch * g.channels * g.height * g.width; }

template <class T>
[[nodiscard]] cudaError_t roi_align_fwd_v1(const T* x, const T* rois, const RoiAlignGeometry& g, T* y,
                                           cudaStream_t stream) {
  const std::int64_t n = roi_output_elems(g);
  if (n <= 0) return cudaSuccess;
  roi_align_fwd_v1_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(x, rois, g, y, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t roi_align_fwd_v2(const T* x, const T* rois, const RoiAlignGeometry& g, T* y,
                                           cudaStream_t stream) {
  if (roi_output_elems(g) <= 0) return cudaSuccess;
  const dim3 grid(static_cast<unsigned>(g.num_rois),
                  static_cast<unsigned>((g.channels + kRoiChannelTile - 1) / kRoiChannelTile));
  roi_align_fwd_v2_kernel<T><<<grid, kRoiBlock, 0, stream>>>(x, rois, g, y);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t roi_align_bwd_atomic_v1(const T* gy, const T* rois, const RoiAlignGeometry& g, T* gx,
                                                  cudaStream_t stream) {
  const std::int64_t nx = roi_input_elems(g), n = roi_output_elems(g);
  if (nx <= 0) return cudaSuccess;
  ANIMA_KERNEL_TRY(cudaMemsetAsync(gx, 0, static_cast<std::size_t>(nx) * sizeof(T), stream));
  if (n <= 0) return cudaSuccess;
  roi_align_bwd_atomic_v1_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(gy, rois, g, gx, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

inline std::size_t roi_align_bwd_fixed_point_workspace_bytes(const RoiAlignGeometry& g) {
  return static_cast<std::size_t>(roi_input_elems(g) + 1) * sizeof(unsigned long long);
}

template <class T>
[[nodiscard]] cudaError_t roi_align_bwd_fixed_point(const T* gy, const T* rois, const RoiAlignGeometry& g, T* gx,
                                                    void* workspace, cudaStream_t stream) {
  const std::int64_t nx = roi_input_elems(g), n = roi_output_elems(g);
  if (nx <= 0) return cudaSuccess;
  if (n <= 0) {
    ANIMA_KERNEL_TRY(cudaMemsetAsync(gx, 0, static_cast<std::size_t>(nx) * sizeof(T), stream));
    return cudaSuccess;
  }
  auto* max_bits = static_cast<unsigned long long*>(workspace);
  unsigned long long* acc = max_bits + 1;
  ANIMA_KERNEL_TRY(cudaMemsetAsync(workspace, 0, roi_align_bwd_fixed_point_workspace_bytes(g), stream));
  roi_align_abs_max_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(gy, n, max_bits);
  ANIMA_KERNEL_TRY_LAUNCH();
  const dim3 grid(static_cast<unsigned>(g.num_rois),
                  static_cast<unsigned>((g.channels + kRoiChannelTile - 1) / kRoiChannelTile));
  roi_align_bwd_fixed_point_kernel<T><<<grid, kRoiBlock, 0, stream>>>(gy, rois, g, max_bits, acc);
  ANIMA_KERNEL_TRY_LAUNCH();
  roi_align_fixed_point_convert_kernel<T>
      <<<grid_1d(nx), kBlock, 0, stream>>>(acc, max_bits, g.num_rois * g.pooled_h * g.pooled_w, gx, nx);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

// How the gather kernel is launched. channels_per_thread: 0 picks (one channel per thread when the map
// is small: under kRoiGatherFewThreads threads with kRoiGatherChannels, about one wave of an H100's
// 132 SMs x 2048 threads, e.g. the 25x25 FPN level), or 1 / kRoiGatherChannels. tiled: the
// tile-aligned kernel (roi_align_bwd_gather_tiled_kernel) instead of the flat one. All give the same bits.
struct RoiGatherLaunch {
  int channels_per_thread = 0;
  bool tiled = false;
};
constexpr std::int64_t kRoiGatherFewThreads = std::int64_t(1) << 18;

template <class T, int CT>
[[nodiscard]] cudaError_t roi_align_gather_launch_ct(const T* gy, const RoiGatherView<T>& view,
                                                     const RoiAlignGeometry& g, T* gx, bool tiled,
                                                     cudaStream_t stream) {
  const std::int64_t cb = (g.channels + CT - 1) / CT;
  if (tiled) {
    const std::int64_t blocks = g.batch * cb * view.tiles_y * view.tiles_x;
    const std::int64_t grid = blocks < (std::int64_t(1) << 30) ? blocks : (std::int64_t(1) << 30);
    roi_align_bwd_gather_tiled_kernel<T, CT>
        <<<static_cast<unsigned>(grid), kRoiGatherTileThreads, 0, stream>>>(gy, view, g, gx, blocks);
  } else {
    const std::int64_t n = g.batch * cb * g.height * g.width;
    roi_align_bwd_gather_kernel<T, CT><<<grid_1d(n), kBlock, 0, stream>>>(gy, view, g, gx, n);
  }
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t roi_align_gather_launch(const T* gy, const RoiGatherView<T>& view, const RoiAlignGeometry& g,
                                                  T* gx, cudaStream_t stream, RoiGatherLaunch how = {}) {
  constexpr int CT = kRoiGatherChannels;
  const std::int64_t n = g.batch * g.height * g.width * ((g.channels + CT - 1) / CT);
  if (how.channels_per_thread == 1 || (how.channels_per_thread == 0 && n < kRoiGatherFewThreads))
    return roi_align_gather_launch_ct<T, 1>(gy, view, g, gx, how.tiled, stream);
  else
    return roi_align_gather_launch_ct<T, CT>(gy, view, g, gx, how.tiled, stream);
}

// Gather backward, step 1 (host): copies the rois to the host (a synchronisation of `stream`) and
// builds *plan; plan->workspace_bytes() is the device workspace roi_align_bwd_gather needs.
template <class T>
[[nodiscard]] cudaError_t roi_align_bwd_gather_plan(const T* rois, const RoiAlignGeometry& g, cudaStream_t stream,
                                                    const ParallelFor& parallel, RoiGatherPlan<T>* plan) {
  std::vector<T> host(static_cast<std::size_t>(g.num_rois > 0 ? g.num_rois * 5 : 0));
  if (!host.empty()) {
    ANIMA_KERNEL_TRY(cudaMemcpyAsync(host.data(), rois, host.size() * sizeof(T), cudaMemcpyDeviceToHost, stream));
    ANIMA_KERNEL_TRY(cudaStreamSynchronize(stream));
  }
  *plan = roi_gather_build_plan(host.data(), g, parallel);
  return cudaSuccess;
}

// Gather backward, step 2: uploads the plan into `workspace` (>= plan.workspace_bytes()) and writes gx.
// The upload is from pageable memory, so it has left `plan` when this returns (the plan may be freed).
template <class T>
[[nodiscard]] cudaError_t roi_align_bwd_gather(const T* gy, const RoiGatherPlan<T>& plan, const RoiAlignGeometry& g,
                                               T* gx, void* workspace, cudaStream_t stream) {
  const std::int64_t nx = roi_input_elems(g);
  if (nx <= 0) return cudaSuccess;
  if (roi_output_elems(g) <= 0) {
    ANIMA_KERNEL_TRY(cudaMemsetAsync(gx, 0, static_cast<std::size_t>(nx) * sizeof(T), stream));
    return cudaSuccess;
  }
  ANIMA_KERNEL_TRY(
      cudaMemcpyAsync(workspace, plan.bytes.data(), plan.workspace_bytes(), cudaMemcpyHostToDevice, stream));
  ANIMA_KERNEL_TRY(roi_align_gather_launch(gy, plan.view(workspace), g, gx, stream));
  return cudaSuccess;
}

// The gather backward with its plan built on the device: no host work, no copy either way, 4 kernels
// and a memset. Only when roi_align_bwd_gather_device_layout<T>(g).supported (a fixed sampling ratio
// and a workspace under kRoiGatherDevicePlanMaxBytes); workspace >= that layout's bytes.
template <class T>
RoiGatherDeviceLayout<T> roi_align_bwd_gather_device_layout(const RoiAlignGeometry& g) {
  return roi_gather_device_layout<T>(g);
}

// how: the gather kernel's launch (default: tile-aligned, channels per thread picked).
template <class T>
[[nodiscard]] cudaError_t roi_align_bwd_gather_device_plan(const T* gy, const T* rois, const RoiAlignGeometry& g, T* gx,
                                                           void* workspace, cudaStream_t stream,
                                                           RoiGatherLaunch how = {0, true}) {
  const std::int64_t nx = roi_input_elems(g);
  if (nx <= 0) return cudaSuccess;
  if (roi_output_elems(g) <= 0) {
    ANIMA_KERNEL_TRY(cudaMemsetAsync(gx, 0, static_cast<std::size_t>(nx) * sizeof(T), stream));
    return cudaSuccess;
  }
  const RoiGatherDeviceLayout<T> L = roi_gather_device_layout<T>(g);
  if (!L.supported) return cudaErrorInvalidValue;  // adaptive sampling or too large: the caller checks first
  auto* base = static_cast<unsigned char*>(workspace);
  ANIMA_KERNEL_TRY(
      cudaMemsetAsync(base + L.off_tile_ptr, 0, static_cast<std::size_t>(L.ntiles + 1) * sizeof(std::int64_t), stream));
  roi_gather_plan_rois_kernel<T><<<grid_1d(L.num_rois), kBlock, 0, stream>>>(rois, g, L, base);
  ANIMA_KERNEL_TRY_LAUNCH();
  roi_gather_plan_scan_kernel<kRoiPlanScanThreads>
      <<<1, kRoiPlanScanThreads, 0, stream>>>(reinterpret_cast<std::int64_t*>(base + L.off_tile_ptr), L.ntiles);
  ANIMA_KERNEL_TRY_LAUNCH();
  roi_gather_plan_tiles_kernel<T><<<static_cast<unsigned>(L.ntiles), kRoiPlanTileThreads, 0, stream>>>(L, base);
  ANIMA_KERNEL_TRY_LAUNCH();
  return roi_align_gather_launch(gy, L.view(workspace), g, gx, stream, how);
}

template <class T>
[[nodiscard]] cudaError_t roi_pool_fwd(const T* x, const T* rois, const RoiAlignGeometry& g, T* y, std::int64_t* argmax,
                                       cudaStream_t stream) {
  const std::int64_t n = roi_output_elems(g);
  if (n <= 0) return cudaSuccess;
  roi_pool_fwd_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(x, rois, g, y, argmax, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

template <class T>
[[nodiscard]] cudaError_t roi_pool_bwd_atomic(const T* gy, const std::int64_t* argmax, const T* rois,
                                              const RoiAlignGeometry& g, T* gx, cudaStream_t stream) {
  const std::int64_t nx = roi_input_elems(g), n = roi_output_elems(g);
  if (nx <= 0) return cudaSuccess;
  ANIMA_KERNEL_TRY(cudaMemsetAsync(gx, 0, static_cast<std::size_t>(nx) * sizeof(T), stream));
  if (n <= 0) return cudaSuccess;
  roi_pool_bwd_atomic_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(gy, argmax, rois, g, gx, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

}  // namespace anima::kernels::cuda
