// tests/detect/roi_align_gather_plan_test.cpp — the host plan of the gather backward
// (kernels::roi_gather_build_plan, anima/kernels/roi_align_gather_math.hpp) is built in parallel over
// fixed blocks of RoIs; its bytes must not depend on the number of threads. Built from inside a
// parallel region the whole build runs inline on one thread (anima/core/thread_pool.hpp, nesting), so
// the plan built there is the one-thread plan; it must equal, byte for byte, the plan built at top
// level (on every thread of the default pool), for many RoIs (several blocks), invalid RoIs (batch
// index out of range, NaN: in no list), RoIs outside the map, both dtypes, aligned and adaptive grids.
// Also checks the padding of the float64 entries is zero (the plan is uploaded as is).
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include <anima/core/thread_pool.hpp>
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
        const auto top = kernels::roi_gather_build_plan(rois.data(), g);
        kernels::RoiGatherPlan<T> nested;
        parallel_for(0, 2, 1, [&](std::int64_t b, std::int64_t) {
          if (b == 0) nested = kernels::roi_gather_build_plan(rois.data(), g);  // inline: one thread
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

}  // namespace
}  // namespace anima
