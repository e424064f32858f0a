// anima/kernels/roi_align_gather_math.hpp — the deterministic GATHER backward of RoIAlign: the plan
// (per-axis weight tables and per-tile RoI lists, built on the host) and the per-pixel gather, written
// once and used by the CPU implementation (kernels/cpu/roi_align.hpp, roi_align_backward_gather) and
// the CUDA kernel (kernels/cuda/roi_align.cuh, roi_align_bwd_gather).
//
// Separability. A sample (iy, ix) of bin (ph, pw) of RoI k has 2-D weights that are products of its
// per-axis tap weights, and it contributes iff its y tap and its x tap are both inside (a product of
// per-axis indicators; anima/kernels/roi_align_math.hpp, bilinear_sample). So
//   gx[n, c, y, x] = Σ_{k: batch_k = n} (1 / count_k) Σ_ph Wy_k(ph, y) Σ_pw Wx_k(pw, x) · gy[k, c, ph, pw]
// with the per-axis tables Wy_k(ph, y) = Σ_iy [tap inside] (h_iy·[lo_iy = y] + l_iy·[hi_iy = y]) (the
// same taps, clamping and boundary rules as the forward), likewise Wx_k.
// Plan (host, roi_gather_build_plan): for each RoI and axis, the pixel window [p0, p0 + n) its inside
// taps touch and, for every pixel of the window, the sparse list of (bin, weight) pairs with a nonzero
// tap on it (bins increasing; each weight summed over iy in order, lo tap before hi tap). Per image, the
// map is cut into kRoiGatherTile² pixel tiles; each tile lists the RoIs (increasing index) whose window
// rectangle meets it. Invalid RoIs (roi_align_box(...).valid == false) and RoIs without samples are in
// no list: they route no gradient. Everything lives in one byte buffer (RoiGatherPlan::bytes), uploaded
// as is to the device workspace, so the CPU and CUDA gathers read identical tables.
// Gather (roi_gather_pixel): for pixel (n, y, x) and a tile of channels, walk the tile's RoI list in
// order; for each RoI whose window holds the pixel, acc = Σ_{(ph,wy)} wy · (Σ_{(pw,wx)} wx · gy) with
// explicit fused multiply-adds, then out += acc / count. No atomics; every gx element is written by
// exactly one thread in a fixed order: bitwise reproducible, and (explicit fma, IEEE division, the
// same tables) the same bits on the CPU and on the GPU.
// Sizes: entries per RoI and axis <= 2·P·grid (each tap adds at most one (bin, pixel) pair), window <=
// the map size; RoiGatherPlan::workspace_bytes() is the exact size.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <anima/kernels/host_device.hpp>
#include <anima/kernels/parallel.hpp>
#include <anima/kernels/roi_align_math.hpp>

namespace anima::kernels {

constexpr std::int64_t kRoiGatherTile = 16;  // tile edge (pixels) of the per-tile RoI lists
constexpr int kRoiGatherChannels = 4;        // channels per gather thread (table lookups shared)

template <class T>
struct RoiGatherRoi {
  std::int64_t y0, ny, x0, nx;  // pixel windows: rows [y0, y0 + ny), columns [x0, x0 + nx)
  std::int64_t yptr, xptr;      // index into ptr[] of the window's first row / column
  T count;                      // averaging divisor
};

template <class T>
struct RoiGatherEntry {
  std::int32_t bin;  // ph (rows) or pw (columns)
  T w;               // that bin's summed tap weight on the pixel
};

// Pointers into a plan buffer (host or device copy).
template <class T>
struct RoiGatherView {
  const RoiGatherRoi<T>* rois;  // [K]
  const std::int64_t* ptr;      // entries of window pixel j: [ptr[j], ptr[j + 1])
  const RoiGatherEntry<T>* entries;
  const std::int64_t* tile_ptr;   // [N · tiles_y · tiles_x + 1]
  const std::int32_t* tile_rois;  // RoI indices, increasing within a tile
  std::int64_t tiles_y, tiles_x;
};

ANIMA_HD float roi_fma(float a, float b, float c) { return fmaf(a, b, c); }
ANIMA_HD double roi_fma(double a, double b, double c) { return fma(a, b, c); }

// out[j] = gx[n, c0 + j, y, x] for j < nc (nc <= CT); gy contiguous [K, C, PH, PW].
template <class T, int CT>
ANIMA_HD void roi_gather_pixel(const RoiGatherView<T>& v, const T* gy, const RoiAlignGeometry& g, std::int64_t n,
                               std::int64_t c0, int nc, std::int64_t y, std::int64_t x, T* out) {
  for (int j = 0; j < CT; ++j) out[j] = T(0);
  const std::int64_t PW = g.pooled_w, PP = g.pooled_h * g.pooled_w;
  const std::int64_t tile = (n * v.tiles_y + y / kRoiGatherTile) * v.tiles_x + x / kRoiGatherTile;
  for (std::int64_t t = v.tile_ptr[tile]; t < v.tile_ptr[tile + 1]; ++t) {
    const std::int64_t k = v.tile_rois[t];
    const RoiGatherRoi<T> r = v.rois[k];
    const std::int64_t dy = y - r.y0, dx = x - r.x0;
    if (dy < 0 || dy >= r.ny || dx < 0 || dx >= r.nx) continue;
    const std::int64_t ey0 = v.ptr[r.yptr + dy], ey1 = v.ptr[r.yptr + dy + 1];
    const std::int64_t ex0 = v.ptr[r.xptr + dx], ex1 = v.ptr[r.xptr + dx + 1];
    const T* gk = gy + (k * g.channels + c0) * PP;
    T acc[CT];
    for (int j = 0; j < CT; ++j) acc[j] = T(0);
    for (std::int64_t ey = ey0; ey < ey1; ++ey) {
      const RoiGatherEntry<T> ry = v.entries[ey];
      const T* grow = gk + static_cast<std::int64_t>(ry.bin) * PW;
      T row[CT];
      for (int j = 0; j < CT; ++j) row[j] = T(0);
      for (std::int64_t ex = ex0; ex < ex1; ++ex) {
        const RoiGatherEntry<T> rx = v.entries[ex];
        for (int j = 0; j < CT; ++j)
          if (j < nc) row[j] = roi_fma(rx.w, grow[j * PP + rx.bin], row[j]);
      }
      for (int j = 0; j < CT; ++j) acc[j] = roi_fma(ry.w, row[j], acc[j]);
    }
    for (int j = 0; j < CT; ++j) out[j] += acc[j] / r.count;
  }
}

// The tile-aligned launch (kernels/cuda/roi_align.cuh, roi_align_bwd_gather_tiled_kernel): block blk
// of kRoiGatherTile² threads covers pixel tile (tx, ty) of channel tile cb of image b (tiles fastest),
// thread t its pixel (t % 16, t / 16) of the tile; valid = false beyond the map's edge. Every
// (b, channel tile, y, x) is met exactly once over blk < batch·ceil(C / CT)·tiles_y·tiles_x.
struct RoiGatherTiledPixel {
  std::int64_t b, c0, y, x;
  bool valid;
};

ANIMA_HD RoiGatherTiledPixel roi_gather_tiled_pixel(std::int64_t blk, std::int64_t thread, std::int64_t tiles_y,
                                                    std::int64_t tiles_x, std::int64_t channel_tiles, int ct,
                                                    std::int64_t height, std::int64_t width) {
  const std::int64_t tx = blk % tiles_x, ty = (blk / tiles_x) % tiles_y,
                     cb = (blk / (tiles_x * tiles_y)) % channel_tiles, b = blk / (tiles_x * tiles_y * channel_tiles);
  const std::int64_t y = ty * kRoiGatherTile + thread / kRoiGatherTile,
                     x = tx * kRoiGatherTile + thread % kRoiGatherTile;
  return {b, cb * ct, y, x, y < height && x < width};
}

// ---- plan (host) ------------------------------------------------------------------------------------

// The tables of a plan whose bytes start at `base`, placed by `layout`'s offsets (off_rois, off_ptr,
// off_entries, off_tile_ptr, off_tile_rois) and tile counts; the host plan and the device-built plan
// share this one placement.
template <class T, class Layout>
RoiGatherView<T> roi_gather_view_at(const void* base, const Layout& layout) {
  const auto* b = static_cast<const unsigned char*>(base);
  return {reinterpret_cast<const RoiGatherRoi<T>*>(b + layout.off_rois),
          reinterpret_cast<const std::int64_t*>(b + layout.off_ptr),
          reinterpret_cast<const RoiGatherEntry<T>*>(b + layout.off_entries),
          reinterpret_cast<const std::int64_t*>(b + layout.off_tile_ptr),
          reinterpret_cast<const std::int32_t*>(b + layout.off_tile_rois),
          layout.tiles_y,
          layout.tiles_x};
}

template <class T>
struct RoiGatherPlan {
  std::vector<unsigned char> bytes;  // the whole plan; uploaded as is
  std::size_t off_rois = 0, off_ptr = 0, off_entries = 0, off_tile_ptr = 0, off_tile_rois = 0;
  std::int64_t tiles_y = 0, tiles_x = 0;
  std::size_t workspace_bytes() const { return bytes.size(); }
  // The view of a copy of `bytes` at `base` (host: bytes.data(); device: the workspace).
  RoiGatherView<T> view(const void* base) const { return roi_gather_view_at<T>(base, *this); }
};

// The inside taps of one axis in tap order (bin p, sample i, lo tap then hi tap unless clamped onto
// it; a sample outside the map contributes 0 and has no tap). f(bin, pixel, weight).
template <class T, class F>
ANIMA_HD void roi_gather_for_taps(const RoiAxis<T>& a, std::int64_t pooled, std::int64_t size, F&& f) {
  for (std::int64_t p = 0; p < pooled; ++p)
    for (std::int64_t i = 0; i < a.grid; ++i) {
      const BilinearTap<T> t = bilinear_tap(roi_sample_coord(a, p, i), size);
      if (!t.inside) continue;
      f(static_cast<std::int32_t>(p), t.lo, t.w_lo);
      if (t.hi != t.lo) f(static_cast<std::int32_t>(p), t.hi, t.w_hi);
    }
}

// One axis of one RoI, for the host plan and the device plan alike: the window [p0, p0 + n) of pixels
// that some inside tap reaches (0 / 0: none) and, per window pixel j, its (bin, weight) list
// entries[ptr[j] - ebase .. ptr[j + 1] - ebase). Taps are visited in tap order three times (window,
// count per pixel, fill), so each pixel's list is in bin order and consecutive taps of one bin on a
// pixel are summed into one entry in tap order: every weight has a fixed order of additions.
// ptr: size + 1 slots; scratch: size slots; entries: at most min(2·pooled·grid, size·pooled) are used
// (one per tap, and one per (pixel, bin)); ebase: the absolute index of entries[0].
template <class T>
ANIMA_HD void roi_gather_device_axis(const RoiAxis<T>& a, std::int64_t pooled, std::int64_t size, std::int64_t* ptr,
                                     std::int64_t* scratch, RoiGatherEntry<T>* entries, std::int64_t ebase,
                                     std::int64_t& p0, std::int64_t& n) {
  p0 = 0;
  n = 0;
  if (a.grid <= 0) return;
  std::int64_t lo_min = size, hi_max = -1;
  roi_gather_for_taps(a, pooled, size, [&](std::int32_t, std::int64_t pixel, T) {
    lo_min = pixel < lo_min ? pixel : lo_min;
    hi_max = pixel > hi_max ? pixel : hi_max;
  });
  if (hi_max < lo_min) return;
  const std::int64_t first = lo_min, len = hi_max - lo_min + 1;
  constexpr std::int64_t kBinMask = 0xffffffff;
  for (std::int64_t j = 0; j < len; ++j) scratch[j] = 0;
  // Count the distinct bins of every pixel (a new entry whenever a tap's bin differs from the last bin
  // seen on its pixel).
  roi_gather_for_taps(a, pooled, size, [&](std::int32_t bin, std::int64_t pixel, T) {
    std::int64_t& s = scratch[pixel - first];
    if ((s & kBinMask) != bin + 1) s = (((s >> 32) + 1) << 32) | (bin + 1);
  });
  std::int64_t e = ebase;
  for (std::int64_t j = 0; j < len; ++j) {
    ptr[j] = e;
    e += scratch[j] >> 32;
    scratch[j] = 0;
  }
  ptr[len] = e;
  // Fill: the same taps in the same order; a tap on its pixel's last bin adds its weight there.
  roi_gather_for_taps(a, pooled, size, [&](std::int32_t bin, std::int64_t pixel, T w) {
    std::int64_t& s = scratch[pixel - first];
    const std::int64_t filled = s >> 32;
    RoiGatherEntry<T>* pe = entries + (ptr[pixel - first] - ebase);
    if (filled > 0 && (s & kBinMask) == bin + 1) {
      pe[filled - 1].w += w;
    } else {
      pe[filled].bin = bin;
      pe[filled].w = w;
      s = ((filled + 1) << 32) | (bin + 1);
    }
  });
  p0 = first;
  n = len;
}

namespace roi_gather_detail {

// Appends one axis of one RoI to a block's arrays through roi_gather_device_axis (the device plan's
// builder, so both plans hold the same bits): the window [p0, p0 + n) and n + 1 ptr slots at pbase
// (none when n == 0), indexing the block's entries. scratch is reused between RoIs.
template <class T>
inline void build_axis(const RoiAxis<T>& a, std::int64_t pooled, std::int64_t size, std::vector<std::int64_t>& scratch,
                       std::vector<std::int64_t>& ptr, std::vector<RoiGatherEntry<T>>& entries, std::int64_t& p0,
                       std::int64_t& n, std::int64_t& pbase) {
  p0 = 0;
  n = 0;
  pbase = static_cast<std::int64_t>(ptr.size());
  if (a.grid <= 0 || size <= 0) return;
  const std::size_t ptr_base = ptr.size(), entry_base = entries.size();
  const std::int64_t cap = std::min(2 * pooled * a.grid, size * pooled);
  if (scratch.size() < static_cast<std::size_t>(size)) scratch.resize(static_cast<std::size_t>(size));
  ptr.resize(ptr_base + static_cast<std::size_t>(size) + 1);
  entries.resize(entry_base + static_cast<std::size_t>(cap));
  std::int64_t first = 0, len = 0;  // locals: p0 and n may alias the vectors' data
  roi_gather_device_axis(a, pooled, size, ptr.data() + ptr_base, scratch.data(), entries.data() + entry_base,
                         static_cast<std::int64_t>(entry_base), first, len);
  ptr.resize(len > 0 ? ptr_base + static_cast<std::size_t>(len) + 1 : ptr_base);
  entries.resize(len > 0 ? static_cast<std::size_t>(ptr[ptr_base + static_cast<std::size_t>(len)]) : entry_base);
  p0 = first;
  n = len;
}

inline std::size_t align16(std::size_t v) { return (v + 15) / 16 * 16; }

}  // namespace roi_gather_detail

// Builds the plan from host rois [K, 5] (the same RoiAlignGeometry as the kernels).
// Parallel on `parallel` (inline when called from inside a parallel region) over
// fixed blocks of kRoiGatherPlanBlock RoIs (the blocks do not depend on the thread count): each block
// builds its RoIs' axis lists one after another into its own arrays, with block-local indices; a scan
// over the blocks gives each block its place in the one-RoI-after-another layout, and the blocks are
// copied there with their indices shifted. The tile lists are counted and filled in RoI order on one
// thread (a few entries per RoI). The bytes do not depend on the thread count (struct padding is 0).
constexpr std::int64_t kRoiGatherPlanBlock = 32;
constexpr std::int64_t kRoiGatherPlanGrain = 4;  // blocks per chunk at least: under 256 RoIs, one thread

template <class T>
RoiGatherPlan<T> roi_gather_build_plan(const T* rois, const RoiAlignGeometry& g, const ParallelFor& parallel) {
  using namespace roi_gather_detail;
  const std::int64_t K = g.num_rois > 0 ? g.num_rois : 0;
  const auto Ks = static_cast<std::size_t>(K);
  std::vector<RoiGatherRoi<T>> rs(Ks);
  std::vector<std::int64_t> batch(Ks, -1);
  const std::int64_t nblocks = (K + kRoiGatherPlanBlock - 1) / kRoiGatherPlanBlock;
  struct Block {
    std::vector<std::int64_t> ptr;  // block-local: entries index from the block's first entry
    std::vector<RoiGatherEntry<T>> entries;
    std::size_t ptr_base = 0, entry_base = 0;  // the block's place in the plan (after the scan)
  };
  std::vector<Block> blocks(static_cast<std::size_t>(nblocks));
  parallel(0, nblocks, kRoiGatherPlanGrain, [&](std::int64_t b0, std::int64_t b1) {
    std::vector<std::int64_t> scratch;
    for (std::int64_t bl = b0; bl < b1; ++bl) {
      Block& blk = blocks[static_cast<std::size_t>(bl)];
      const std::int64_t k1 = std::min(K, (bl + 1) * kRoiGatherPlanBlock);
      for (std::int64_t k = bl * kRoiGatherPlanBlock; k < k1; ++k) {
        const RoiBox<T> box = roi_align_box(rois + k * 5, g);
        RoiGatherRoi<T>& r = rs[static_cast<std::size_t>(k)];
        r = {0, 0, 0, 0, 0, 0, box.count};
        if (!box.valid) continue;
        batch[static_cast<std::size_t>(k)] = box.batch;
        build_axis(box.y, g.pooled_h, g.height, scratch, blk.ptr, blk.entries, r.y0, r.ny, r.yptr);
        build_axis(box.x, g.pooled_w, g.width, scratch, blk.ptr, blk.entries, r.x0, r.nx, r.xptr);
      }
    }
  });
  std::size_t total_ptr = 0, total_entries = 0;
  for (Block& blk : blocks) {
    blk.ptr_base = total_ptr;
    blk.entry_base = total_entries;
    total_ptr += blk.ptr.size();
    total_entries += blk.entries.size();
  }
  if (total_ptr == 0) total_ptr = 1;  // an empty plan still has ptr[0] = 0
  RoiGatherPlan<T> plan;
  const std::int64_t tile = kRoiGatherTile;
  plan.tiles_y = (g.height + tile - 1) / tile;
  plan.tiles_x = (g.width + tile - 1) / tile;
  const std::int64_t ntiles = g.batch * plan.tiles_y * plan.tiles_x;
  // Tile lists: count, exclusive scan, fill in increasing RoI order.
  std::vector<std::int64_t> tile_ptr(static_cast<std::size_t>(ntiles + 1), 0);
  auto for_tiles = [&](std::int64_t k, auto&& f) {
    const RoiGatherRoi<T>& r = rs[static_cast<std::size_t>(k)];
    const std::int64_t b = batch[static_cast<std::size_t>(k)];
    if (b < 0 || r.ny <= 0 || r.nx <= 0) return;
    for (std::int64_t ty = r.y0 / tile; ty <= (r.y0 + r.ny - 1) / tile; ++ty)
      for (std::int64_t tx = r.x0 / tile; tx <= (r.x0 + r.nx - 1) / tile; ++tx)
        f((b * plan.tiles_y + ty) * plan.tiles_x + tx);
  };
  for (std::int64_t k = 0; k < K; ++k)
    for_tiles(k, [&](std::int64_t t) { ++tile_ptr[static_cast<std::size_t>(t + 1)]; });
  for (std::int64_t t = 0; t < ntiles; ++t)
    tile_ptr[static_cast<std::size_t>(t + 1)] += tile_ptr[static_cast<std::size_t>(t)];
  // One buffer, 16-byte aligned sections.
  plan.off_rois = 0;
  plan.off_ptr = align16(plan.off_rois + Ks * sizeof(RoiGatherRoi<T>));
  plan.off_entries = align16(plan.off_ptr + total_ptr * sizeof(std::int64_t));
  plan.off_tile_ptr = align16(plan.off_entries + total_entries * sizeof(RoiGatherEntry<T>));
  plan.off_tile_rois = align16(plan.off_tile_ptr + tile_ptr.size() * sizeof(std::int64_t));
  plan.bytes.assign(align16(plan.off_tile_rois + static_cast<std::size_t>(tile_ptr.back()) * sizeof(std::int32_t)), 0);
  unsigned char* base = plan.bytes.data();
  auto* ptr_out = reinterpret_cast<std::int64_t*>(base + plan.off_ptr);
  auto* entries_out = reinterpret_cast<RoiGatherEntry<T>*>(base + plan.off_entries);
  parallel(0, nblocks, kRoiGatherPlanGrain, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t bl = b0; bl < b1; ++bl) {
      const Block& blk = blocks[static_cast<std::size_t>(bl)];
      const auto pb = static_cast<std::int64_t>(blk.ptr_base), eb = static_cast<std::int64_t>(blk.entry_base);
      const std::int64_t k1 = std::min(K, (bl + 1) * kRoiGatherPlanBlock);
      for (std::int64_t k = bl * kRoiGatherPlanBlock; k < k1; ++k) {
        if (batch[static_cast<std::size_t>(k)] < 0) continue;  // invalid: yptr = xptr = 0
        rs[static_cast<std::size_t>(k)].yptr += pb;
        rs[static_cast<std::size_t>(k)].xptr += pb;
      }
      for (std::size_t j = 0; j < blk.ptr.size(); ++j) ptr_out[blk.ptr_base + j] = blk.ptr[j] + eb;
      // Field by field into the zeroed buffer: struct padding stays 0 (the bytes are fully determined).
      RoiGatherEntry<T>* eo = entries_out + blk.entry_base;
      for (std::size_t j = 0; j < blk.entries.size(); ++j) {
        eo[j].bin = blk.entries[j].bin;
        eo[j].w = blk.entries[j].w;
      }
    }
  });
  auto* rois_out = reinterpret_cast<RoiGatherRoi<T>*>(base + plan.off_rois);
  for (std::size_t k = 0; k < Ks; ++k) {
    const RoiGatherRoi<T>& r = rs[k];
    rois_out[k].y0 = r.y0;
    rois_out[k].ny = r.ny;
    rois_out[k].x0 = r.x0;
    rois_out[k].nx = r.nx;
    rois_out[k].yptr = r.yptr;
    rois_out[k].xptr = r.xptr;
    rois_out[k].count = r.count;
  }
  std::memcpy(base + plan.off_tile_ptr, tile_ptr.data(), tile_ptr.size() * sizeof(std::int64_t));
  auto* tile_rois = reinterpret_cast<std::int32_t*>(base + plan.off_tile_rois);
  std::vector<std::int64_t> fill(tile_ptr.begin(), tile_ptr.end() - 1);
  for (std::int64_t k = 0; k < K; ++k)
    for_tiles(k,
              [&](std::int64_t t) { tile_rois[fill[static_cast<std::size_t>(t)]++] = static_cast<std::int32_t>(k); });
  return plan;
}

}  // namespace anima::kernels
