// anima/kernels/roi_align_gather_device_plan.hpp — the gather backward's plan built where the rois
// are: on the device, by one thread per RoI, with no host work, no read-back and no upload. The plan
// holds the same tables as the host plan (anima/kernels/roi_align_gather_math.hpp,
// roi_gather_build_plan): equal windows, equal (bin, weight) lists in the same order with the same
// bits, equal tile lists; only their places in the buffer differ. The gather (roi_gather_pixel) reads
// it through the same RoiGatherView, so gx is the same bits whichever plan it reads.
//
// Layout (RoiGatherDeviceLayout): fixed strides, so that no RoI waits for another's sizes.
//   rois      [K] RoiGatherRoi; batch [K] int32 (-1: the RoI routes no gradient)
//   ptr       RoI k: [H + 1] row slots then [W + 1] column slots at k·(H + W + 2)
//   scratch   RoI k: [H] then [W] int64 at k·(H + W), per window pixel (entries so far << 32 | last bin + 1)
//   entries   RoI k: rows then columns at k·(cap_y + cap_x), cap = min(2·P·grid, size·P) per axis
//   tile_ptr  [N·tiles_y·tiles_x + 1] (counts, then their inclusive scan: a CSR like the host plan's)
//   tile_rois at most K·tiles_y·tiles_x RoI indices (one RoI meets tiles of one image only)
// Bounds hold by construction, whatever the rounding: every tap adds at most one entry and every
// entry is a distinct (bin, pixel) pair of the window (so <= 2·P·grid and <= size·P), a window lies
// in [0, size) (bilinear_tap clamps), a RoI meets at most tiles_y·tiles_x tiles.
// Only fixed sampling ratios (> 0) are planned here: an adaptive grid's bound depends on the boxes;
// roi_gather_device_layout(...).supported is false then, and also when the workspace would exceed
// kRoiGatherDevicePlanMaxBytes. Callers fall back to the host plan.
//
// Steps (kernels/cuda/roi_align.cuh runs them; roi_gather_build_device_plan_on_host runs the same
// functions in plain loops, for tests):
//   1. per RoI k (roi_gather_device_roi): box, and per axis (roi_gather_device_axis, the host plan's
//      own per-axis builder, anima/kernels/roi_align_gather_math.hpp) the window
//      [lo_min, hi_max] of its inside taps; the per-pixel distinct-bin counts (scratch); their
//      exclusive scan into ptr; then the taps again in (bin, sample, lo before hi) order, each added
//      to its pixel's last entry when that entry has its bin, else appended. That is the host plan's
//      order: a pixel's taps in tap order, consecutive equal bins summed (bins never decrease along
//      the taps). Then the RoI counts itself into each tile it meets (integer adds: any order).
//   2. inclusive scan of the tile counts.
//   3. per tile: the RoIs meeting it, in increasing index (the CUDA kernel compacts 256 RoIs at a time
//      with a block scan, in order).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <anima/kernels/host_device.hpp>
#include <anima/kernels/roi_align_gather_math.hpp>
#include <anima/kernels/roi_align_math.hpp>

namespace anima::kernels {

constexpr std::size_t kRoiGatherDevicePlanMaxBytes = std::size_t(256) << 20;

template <class T>
struct RoiGatherDeviceLayout {
  bool supported = false;
  std::int64_t num_rois = 0, height = 0, width = 0;
  std::int64_t ptr_stride = 0, scratch_stride = 0;  // per RoI: H + W + 2 and H + W
  std::int64_t entry_cap_y = 0, entry_cap_x = 0;    // per RoI and axis
  std::int64_t tiles_y = 0, tiles_x = 0, ntiles = 0;
  std::size_t off_rois = 0, off_batch = 0, off_ptr = 0, off_scratch = 0, off_entries = 0, off_tile_ptr = 0,
              off_tile_rois = 0, bytes = 0;

  ANIMA_HD std::int64_t entry_stride() const { return entry_cap_y + entry_cap_x; }
  RoiGatherView<T> view(const void* base) const { return roi_gather_view_at<T>(base, *this); }
};

// The layout for geometry g (host; depends on sizes only, never on the rois' values).
template <class T>
RoiGatherDeviceLayout<T> roi_gather_device_layout(const RoiAlignGeometry& g) {
  RoiGatherDeviceLayout<T> L;
  L.num_rois = g.num_rois > 0 ? g.num_rois : 0;
  L.height = g.height;
  L.width = g.width;
  if (g.sampling_ratio <= 0 || g.height <= 0 || g.width <= 0 || g.batch <= 0) return L;
  const auto cap = [&](std::int64_t pooled, std::int64_t size) -> double {
    const double taps = 2.0 * static_cast<double>(pooled) * static_cast<double>(g.sampling_ratio);
    const double pairs = static_cast<double>(size) * static_cast<double>(pooled);
    return taps < pairs ? taps : pairs;
  };
  const double tile = static_cast<double>(kRoiGatherTile);
  const double ty = std::ceil(static_cast<double>(g.height) / tile),
               tx = std::ceil(static_cast<double>(g.width) / tile);
  const double K = static_cast<double>(L.num_rois);
  // Estimated in double first: nothing below can overflow once this is under the cap.
  const double estimate =
      K * (sizeof(RoiGatherRoi<T>) + 4.0 + 8.0 * (2.0 * (g.height + g.width) + 2.0) +
           sizeof(RoiGatherEntry<T>) * (cap(g.pooled_h, g.height) + cap(g.pooled_w, g.width)) + 4.0 * ty * tx) +
      8.0 * (static_cast<double>(g.batch) * ty * tx + 1.0) + 8 * 16.0;
  if (!(estimate <= static_cast<double>(kRoiGatherDevicePlanMaxBytes))) return L;
  L.supported = true;
  L.ptr_stride = g.height + g.width + 2;
  L.scratch_stride = g.height + g.width;
  L.entry_cap_y = static_cast<std::int64_t>(cap(g.pooled_h, g.height));
  L.entry_cap_x = static_cast<std::int64_t>(cap(g.pooled_w, g.width));
  L.tiles_y = static_cast<std::int64_t>(ty);
  L.tiles_x = static_cast<std::int64_t>(tx);
  L.ntiles = g.batch * L.tiles_y * L.tiles_x;
  const auto Ks = static_cast<std::size_t>(L.num_rois);
  const auto a16 = roi_gather_detail::align16;
  L.off_rois = 0;
  L.off_batch = a16(L.off_rois + Ks * sizeof(RoiGatherRoi<T>));
  L.off_ptr = a16(L.off_batch + Ks * sizeof(std::int32_t));
  L.off_scratch = a16(L.off_ptr + Ks * static_cast<std::size_t>(L.ptr_stride) * sizeof(std::int64_t));
  L.off_entries = a16(L.off_scratch + Ks * static_cast<std::size_t>(L.scratch_stride) * sizeof(std::int64_t));
  L.off_tile_ptr = a16(L.off_entries + Ks * static_cast<std::size_t>(L.entry_stride()) * sizeof(RoiGatherEntry<T>));
  L.off_tile_rois = a16(L.off_tile_ptr + static_cast<std::size_t>(L.ntiles + 1) * sizeof(std::int64_t));
  L.bytes = a16(L.off_tile_rois + Ks * static_cast<std::size_t>(L.tiles_y * L.tiles_x) * sizeof(std::int32_t));
  return L;
}

// Step 1 for RoI k: writes its RoiGatherRoi, batch (-1 when it routes no gradient), ptr and entries;
// returns the RoI and its batch for the tile counts.
template <class T>
ANIMA_HD RoiGatherRoi<T> roi_gather_device_roi(const T* rois, const RoiAlignGeometry& g,
                                               const RoiGatherDeviceLayout<T>& L, unsigned char* base, std::int64_t k,
                                               std::int32_t& batch_out) {
  const RoiBox<T> box = roi_align_box(rois + k * 5, g);
  RoiGatherRoi<T> r{0, 0, 0, 0, 0, 0, box.count};
  std::int32_t b = -1;
  if (box.valid) {
    auto* ptr = reinterpret_cast<std::int64_t*>(base + L.off_ptr) + k * L.ptr_stride;
    auto* scratch = reinterpret_cast<std::int64_t*>(base + L.off_scratch) + k * L.scratch_stride;
    auto* entries = reinterpret_cast<RoiGatherEntry<T>*>(base + L.off_entries) + k * L.entry_stride();
    const std::int64_t ebase = k * L.entry_stride();
    roi_gather_device_axis(box.y, g.pooled_h, g.height, ptr, scratch, entries, ebase, r.y0, r.ny);
    roi_gather_device_axis(box.x, g.pooled_w, g.width, ptr + (g.height + 1), scratch + g.height,
                           entries + L.entry_cap_y, ebase + L.entry_cap_y, r.x0, r.nx);
    r.yptr = k * L.ptr_stride;
    r.xptr = k * L.ptr_stride + g.height + 1;
    if (r.ny > 0 && r.nx > 0) b = static_cast<std::int32_t>(box.batch);
  }
  RoiGatherRoi<T>& out = reinterpret_cast<RoiGatherRoi<T>*>(base + L.off_rois)[k];
  out.y0 = r.y0;
  out.ny = r.ny;
  out.x0 = r.x0;
  out.nx = r.nx;
  out.yptr = r.yptr;
  out.xptr = r.xptr;
  out.count = r.count;
  reinterpret_cast<std::int32_t*>(base + L.off_batch)[k] = b;
  batch_out = b;
  return r;
}

// The tiles a RoI meets: rows [ty0, ty1], columns [tx0, tx1] of its image's tiles; false: none.
template <class T>
ANIMA_HD bool roi_gather_tile_span(const RoiGatherRoi<T>& r, std::int32_t batch, std::int64_t& ty0, std::int64_t& ty1,
                                   std::int64_t& tx0, std::int64_t& tx1) {
  if (batch < 0 || r.ny <= 0 || r.nx <= 0) return false;
  ty0 = r.y0 / kRoiGatherTile;
  ty1 = (r.y0 + r.ny - 1) / kRoiGatherTile;
  tx0 = r.x0 / kRoiGatherTile;
  tx1 = (r.x0 + r.nx - 1) / kRoiGatherTile;
  return true;
}

// Whether RoI k (of layout L, step 1 done) meets tile t = (image·tiles_y + ty)·tiles_x + tx.
template <class T>
ANIMA_HD bool roi_gather_meets_tile(const RoiGatherDeviceLayout<T>& L, const unsigned char* base, std::int64_t k,
                                    std::int64_t t) {
  const RoiGatherRoi<T> r = reinterpret_cast<const RoiGatherRoi<T>*>(base + L.off_rois)[k];
  const std::int32_t b = reinterpret_cast<const std::int32_t*>(base + L.off_batch)[k];
  std::int64_t ty0, ty1, tx0, tx1;
  if (!roi_gather_tile_span(r, b, ty0, ty1, tx0, tx1)) return false;
  const std::int64_t tx = t % L.tiles_x, ty = (t / L.tiles_x) % L.tiles_y, image = t / (L.tiles_x * L.tiles_y);
  return image == b && ty >= ty0 && ty <= ty1 && tx >= tx0 && tx <= tx1;
}

// Steps 1-3 in plain host loops (RoIs and tiles in reverse order: no step may depend on the order its
// items run in). For tests: the bytes the device builds, field for field (padding aside).
template <class T>
std::vector<unsigned char> roi_gather_build_device_plan_on_host(const T* rois, const RoiAlignGeometry& g,
                                                                const RoiGatherDeviceLayout<T>& L) {
  std::vector<unsigned char> bytes(L.bytes, 0xAB);  // garbage: the steps must write what they read
  unsigned char* base = bytes.data();
  auto* tile_ptr = reinterpret_cast<std::int64_t*>(base + L.off_tile_ptr);
  for (std::int64_t t = 0; t <= L.ntiles; ++t) tile_ptr[t] = 0;
  for (std::int64_t k = L.num_rois - 1; k >= 0; --k) {
    std::int32_t b = -1;
    const RoiGatherRoi<T> r = roi_gather_device_roi(rois, g, L, base, k, b);
    std::int64_t ty0, ty1, tx0, tx1;
    if (!roi_gather_tile_span(r, b, ty0, ty1, tx0, tx1)) continue;
    for (std::int64_t ty = ty0; ty <= ty1; ++ty)
      for (std::int64_t tx = tx0; tx <= tx1; ++tx) ++tile_ptr[1 + (b * L.tiles_y + ty) * L.tiles_x + tx];
  }
  for (std::int64_t t = 0; t < L.ntiles; ++t) tile_ptr[t + 1] += tile_ptr[t];
  auto* tile_rois = reinterpret_cast<std::int32_t*>(base + L.off_tile_rois);
  for (std::int64_t t = L.ntiles - 1; t >= 0; --t) {
    std::int64_t out = tile_ptr[t];
    for (std::int64_t k = 0; k < L.num_rois; ++k)
      if (roi_gather_meets_tile(L, base, k, t)) tile_rois[out++] = static_cast<std::int32_t>(k);
  }
  return bytes;
}

}  // namespace anima::kernels
