// tests/detect/roi_align_gather_plan_test.cpp — the host plan of the gather backward
// (kernels::roi_gather_build_plan, anima/kernels/roi_align_gather_math.hpp) is built in parallel over
// fixed blocks of RoIs; its bytes must not depend on the number of threads. Built from inside a
// parallel region the whole build runs inline on one thread (anima/core/thread_pool.hpp, nesting), so
// the plan built there is the one-thread plan; it must equal, byte for byte, the plan built at top
// level (on every thread of the default pool), for many RoIs (several blocks), invalid RoIs (batch
// index out of range, NaN: in no list), RoIs outside the map, both dtypes, aligned and adaptive grids.
// Also checks the padding of the float64 entries is zero (the plan is uploaded as is).
// The device-built plan (anima/kernels/roi_align_gather_device_plan.hpp), run here by its host twin
// roi_gather_build_device_plan_on_host (the same per-RoI and per-tile functions as the CUDA kernels,
// RoIs and tiles visited in reverse order, the buffer pre-filled with garbage), must hold the host
// plan's tables exactly: every RoI's windows and count, every window pixel's (bin, weight) list (bins
// equal, weights bit for bit, same order), the same tile CSR; and the gather over it must give the
// same bits for every gx element. Its fixed-stride capacities must hold (entries per axis <=
// min(2·P·grid, size·P)). And the tile-aligned CUDA launch's pixel mapping meets every gx element once.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <anima/core/thread_pool.hpp>
#include <anima/kernels/roi_align_gather_device_plan.hpp>
#include <anima/kernels/roi_align_gather_math.hpp>

namespace anima {
namespace {

using kernels::RoiAlignGeometry;

template <class T>
std::vector<T> rois_for(int count, std::uint64_t seed) {
  std::vector<T> r;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(seed >> 11) / 9007199254740992.0;  // [0, 1)
  };
  for (int k = 0; k < count; ++k) {
    const double x1 = next() * 140 - 20, y1 = next() * 120 - 20;
    double b = k % 2;
    if (k % 37 == 5) b = 2;  // batch index out of range: invalid
    if (k % 41 == 7) b = std::numeric_limits<double>::quiet_NaN();
    r.insert(r.end(), {static_cast<T>(b), static_cast<T>(x1), static_cast<T>(y1), static_cast<T>(x1 + next() * 90),
                       static_cast<T>(y1 + next() * 70)});
  }
  return r;
}

template <class T>
void same_plan_any_threads() {
  for (int count : {0, 1, 31, 32, 33, 300})
    for (bool aligned : {false, true})
      for (std::int64_t sampling : {std::int64_t{2}, std::int64_t{0}}) {
        SCOPED_TRACE(::testing::Message() << "K " << count << " aligned " << aligned << " sampling " << sampling);
        RoiAlignGeometry g;
        g.batch = 2;
        g.channels = 3;
        g.height = 45;
        g.width = 53;
        g.num_rois = count;
        g.pooled_h = 7;
        g.pooled_w = 5;
        g.spatial_scale = 0.5;
        g.sampling_ratio = sampling;
        g.aligned = aligned;
        const std::vector<T> rois = rois_for<T>(count, 7 + static_cast<std::uint64_t>(count));
        const auto top = kernels::roi_gather_build_plan(rois.data(), g, default_parallel());
        kernels::RoiGatherPlan<T> nested;
        parallel_for(0, 2, 1, [&](std::int64_t b, std::int64_t) {
          if (b == 0)
            nested = kernels::roi_gather_build_plan(rois.data(), g, default_parallel());  // inline: one thread
        });
        ASSERT_EQ(top.bytes.size(), nested.bytes.size());
        EXPECT_TRUE(top.bytes == nested.bytes);
        EXPECT_EQ(top.off_entries, nested.off_entries);
        EXPECT_EQ(top.off_tile_rois, nested.off_tile_rois);
        // Entries: padding between bin and w is zero.
        const std::size_t pad0 = sizeof(std::int32_t), pad1 = offsetof(kernels::RoiGatherEntry<T>, w);
        for (std::size_t o = top.off_entries; o + sizeof(kernels::RoiGatherEntry<T>) <= top.off_tile_ptr;
             o += sizeof(kernels::RoiGatherEntry<T>))
          for (std::size_t q = pad0; q < pad1; ++q) ASSERT_EQ(0, top.bytes[o + q]) << "entry byte " << o + q;
      }
}

TEST(RoiAlignGatherPlan, SameBytesAnyThreadCountFloat32) { same_plan_any_threads<float>(); }
TEST(RoiAlignGatherPlan, SameBytesAnyThreadCountFloat64) { same_plan_any_threads<double>(); }

// Degenerate and odd RoIs appended to the random ones: zero-size, inverted (aligned: negative size,
// samples running backwards), a point on the last pixel, wholly outside, huge, exactly on the edges.
template <class T>
std::vector<T> odd_rois() {
  const double v[][5] = {{0, 10, 10, 10, 10},     {1, 30, 20, 12, 5},         {0, 105, 89, 106, 90},
                         {1, 300, 300, 340, 350}, {0, -500, -400, 900, 800},  {1, 0, 0, 106, 90},
                         {0, -2, -2, -1, -1},     {1, 52.9, 44.9, 53.0, 45.0}};
  std::vector<T> r;
  for (const auto& row : v)
    for (double x : row) r.push_back(static_cast<T>(x));
  return r;
}

template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

template <class T>
void device_plan_equals_host_plan() {
  for (int count : {0, 1, 33, 300})
    for (bool aligned : {false, true})
      for (std::int64_t sampling : {std::int64_t{1}, std::int64_t{2}, std::int64_t{3}}) {
        SCOPED_TRACE(::testing::Message() << "K " << count << " aligned " << aligned << " sampling " << sampling);
        std::vector<T> rois = rois_for<T>(count, 11 + static_cast<std::uint64_t>(count));
        if (count > 0) {
          const std::vector<T> odd = odd_rois<T>();
          rois.insert(rois.end(), odd.begin(), odd.end());
        }
        RoiAlignGeometry g;
        g.batch = 2;
        g.channels = 5;
        g.height = 45;
        g.width = 53;
        g.num_rois = static_cast<std::int64_t>(rois.size() / 5);
        g.pooled_h = 7;
        g.pooled_w = 4;
        g.spatial_scale = 0.5;
        g.sampling_ratio = sampling;
        g.aligned = aligned;
        const auto L = kernels::roi_gather_device_layout<T>(g);
        ASSERT_TRUE(L.supported);
        const auto host = kernels::roi_gather_build_plan(rois.data(), g, default_parallel());
        const std::vector<unsigned char> dev = kernels::roi_gather_build_device_plan_on_host(rois.data(), g, L);
        const auto vh = host.view(host.bytes.data());
        const auto vd = L.view(dev.data());
        ASSERT_EQ(vh.tiles_y, vd.tiles_y);
        ASSERT_EQ(vh.tiles_x, vd.tiles_x);
        for (std::int64_t k = 0; k < g.num_rois; ++k) {
          SCOPED_TRACE(::testing::Message() << "RoI " << k);
          const auto& a = vh.rois[k];
          const auto& b = vd.rois[k];
          ASSERT_EQ(a.y0, b.y0);
          ASSERT_EQ(a.ny, b.ny);
          ASSERT_EQ(a.x0, b.x0);
          ASSERT_EQ(a.nx, b.nx);
          ASSERT_TRUE(same_bits(a.count, b.count));
          const std::int64_t n_axis[2] = {a.ny, a.nx}, hp[2] = {a.yptr, a.xptr}, dp[2] = {b.yptr, b.xptr};
          const std::int64_t cap[2] = {L.entry_cap_y, L.entry_cap_x};
          for (int axis = 0; axis < 2; ++axis) {
            if (n_axis[axis] <= 0) continue;
            EXPECT_LE(vd.ptr[dp[axis] + n_axis[axis]] - vd.ptr[dp[axis]], cap[axis]) << "axis " << axis;
            for (std::int64_t j = 0; j < n_axis[axis]; ++j) {
              const std::int64_t h0 = vh.ptr[hp[axis] + j], h1 = vh.ptr[hp[axis] + j + 1];
              const std::int64_t d0 = vd.ptr[dp[axis] + j], d1 = vd.ptr[dp[axis] + j + 1];
              ASSERT_EQ(h1 - h0, d1 - d0) << "axis " << axis << " pixel " << j;
              for (std::int64_t e = 0; e < h1 - h0; ++e) {
                ASSERT_EQ(vh.entries[h0 + e].bin, vd.entries[d0 + e].bin) << "axis " << axis << " pixel " << j;
                ASSERT_TRUE(same_bits(vh.entries[h0 + e].w, vd.entries[d0 + e].w)) << "axis " << axis << " pixel " << j;
              }
            }
          }
        }
        const std::int64_t ntiles = g.batch * vh.tiles_y * vh.tiles_x;
        for (std::int64_t t = 0; t <= ntiles; ++t) ASSERT_EQ(vh.tile_ptr[t], vd.tile_ptr[t]) << "tile_ptr " << t;
        for (std::int64_t i = 0; i < vh.tile_ptr[ntiles]; ++i)
          ASSERT_EQ(vh.tile_rois[i], vd.tile_rois[i]) << "tile RoI " << i;
        // The gather over either plan: the same bits for every element (and not all zero).
        std::uint64_t seed = 99;
        std::vector<T> gy(static_cast<std::size_t>(g.num_rois * g.channels * g.pooled_h * g.pooled_w));
        for (auto& v : gy) {
          seed = seed * 6364136223846793005ull + 1442695040888963407ull;
          v = static_cast<T>(static_cast<double>(seed >> 11) / 9007199254740992.0 - 0.5);
        }
        constexpr int CT = kernels::kRoiGatherChannels;
        std::int64_t nonzero = 0;
        for (std::int64_t n = 0; n < g.batch; ++n)
          for (std::int64_t c0 = 0; c0 < g.channels; c0 += CT)
            for (std::int64_t y = 0; y < g.height; ++y)
              for (std::int64_t x = 0; x < g.width; ++x) {
                const int nc = static_cast<int>(std::min<std::int64_t>(CT, g.channels - c0));
                T oh[CT], od[CT];
                kernels::roi_gather_pixel<T, CT>(vh, gy.data(), g, n, c0, nc, y, x, oh);
                kernels::roi_gather_pixel<T, CT>(vd, gy.data(), g, n, c0, nc, y, x, od);
                for (int j = 0; j < nc; ++j) {
                  ASSERT_TRUE(same_bits(oh[j], od[j])) << "gx[" << n << ", " << c0 + j << ", " << y << ", " << x << "]";
                  nonzero += oh[j] != T(0);
                }
              }
        if (count > 0) {
          EXPECT_GT(nonzero, 0);
        }
      }
}

TEST(RoiAlignGatherDevicePlan, SameTablesAndBitsAsHostPlanFloat32) { device_plan_equals_host_plan<float>(); }
TEST(RoiAlignGatherDevicePlan, SameTablesAndBitsAsHostPlanFloat64) { device_plan_equals_host_plan<double>(); }

TEST(RoiAlignGatherDevicePlan, AdaptiveOrHugeFallsBackToHostPlan) {
  RoiAlignGeometry g;
  g.batch = 2;
  g.channels = 256;
  g.height = 200;
  g.width = 200;
  g.num_rois = 1000;
  g.pooled_h = 7;
  g.pooled_w = 7;
  g.spatial_scale = 0.25;
  g.sampling_ratio = 2;
  const auto box = kernels::roi_gather_device_layout<float>(g);
  EXPECT_TRUE(box.supported);
  EXPECT_LT(box.bytes, std::size_t(16) << 20) << "the box case's finest level should need a few MB";
  g.sampling_ratio = 0;
  EXPECT_FALSE(kernels::roi_gather_device_layout<float>(g).supported);
  g.sampling_ratio = -1;
  EXPECT_FALSE(kernels::roi_gather_device_layout<float>(g).supported);
  g.sampling_ratio = 2;
  g.height = g.width = 4000;  // 1000 RoIs x 62500 tiles per image: over the cap
  EXPECT_FALSE(kernels::roi_gather_device_layout<float>(g).supported);
}

// The tile-aligned CUDA launch's pixel mapping (roi_gather_tiled_pixel): over every block and thread,
// each (image, channel tile, y, x) of the map is met exactly once and nothing outside it is valid;
// maps that are and are not multiples of the tile, channel counts with a partial last tile.
TEST(RoiAlignGatherTiledLaunch, EveryPixelOnce) {
  for (const auto& [H, W, C, ct] : std::vector<std::array<std::int64_t, 4>>{
           {16, 16, 4, 4}, {25, 25, 7, 4}, {37, 41, 50, 1}, {50, 50, 6, 4}, {1, 33, 3, 1}}) {
    SCOPED_TRACE(::testing::Message() << H << "x" << W << " C " << C << " ct " << ct);
    const std::int64_t N = 2, tile = kernels::kRoiGatherTile;
    const std::int64_t ty = (H + tile - 1) / tile, tx = (W + tile - 1) / tile, cb = (C + ct - 1) / ct;
    std::vector<int> seen(static_cast<std::size_t>(N * cb * H * W), 0);
    std::int64_t valid = 0;
    for (std::int64_t blk = 0; blk < N * cb * ty * tx; ++blk)
      for (std::int64_t t = 0; t < tile * tile; ++t) {
        const auto p = kernels::roi_gather_tiled_pixel(blk, t, ty, tx, cb, static_cast<int>(ct), H, W);
        if (!p.valid) continue;
        ++valid;
        ASSERT_TRUE(p.b >= 0 && p.b < N && p.c0 >= 0 && p.c0 < C && p.c0 % ct == 0 && p.y >= 0 && p.y < H && p.x >= 0 &&
                    p.x < W);
        ++seen[static_cast<std::size_t>(((p.b * cb + p.c0 / ct) * H + p.y) * W + p.x)];
      }
    EXPECT_EQ(valid, static_cast<std::int64_t>(seen.size()));
    for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], 1) << "element " << i;
  }
}

}  // namespace
}  // namespace anima
