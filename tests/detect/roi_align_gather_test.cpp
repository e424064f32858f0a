// tests/detect/roi_align_gather_test.cpp — the GATHER backward of RoIAlign (the algorithm of the CUDA
// deterministic backward roi_align_bwd_gather; anima/kernels/roi_align_gather_math.hpp) run on the CPU
// (kernels::cpu::roi_align_backward_gather, the same plan and per-pixel function as the CUDA kernel)
// against the reference backward, for every option set: aligned / not, sampling ratio fixed / adaptive
// (including a grid far beyond the shared-memory tap caches), boxes partly outside the map, larger than
// it, degenerate, inverted, tiny, invalid (batch index out of range, NaN: no gradient), no RoIs,
// several images, maps not a multiple of the tile size, many overlapping RoIs.
// Tolerance, per element i: |gather - reference| <= tol · S_i + tiny, S_i = Σ |contributions to
// element i| (the float64 reference backward of |gy|: every tap weight and 1/count is >= 0). Both
// compute the same terms (the same host code for coordinates and tap weights) and differ only in the
// grouping of the sum (per-axis weights summed first, explicit fma), a rounding error bounded by (a
// few units of roundoff) · S_i, not by |result| (which may be small after cancellation).
// float64: vs the float64 reference, 1e-12 · S_i. float32: vs the float32 reference kernel (the same
// float32 tap weights), 2e-6 · S_i (~32 ulp of S_i). Inputs are rounded to the dtype first. The
// measured worst ratios are printed, with the float32 reference's own error against float64 (which
// includes float32's rounding of the sample coordinates).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include <anima/core/generator.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/roi_align.hpp>
#include <anima/kernels/roi_align_gather_math.hpp>

namespace anima {
namespace roi_align_gather_test {

using kernels::RoiAlignGeometry;

struct Problem {
  RoiAlignGeometry g;
  std::vector<double> rois;  // [K, 5]
  std::vector<double> gy;    // [K, C, PH, PW]
};

std::vector<double> fixed_rois() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return {
      0, 2.0,  3.0,  12.5, 14.0, 1,  -6.0, -4.0, 5.0,  7.0, 1, 15.0, 10.0, 30.0, 25.0, 0, -10.0, -10.0, 40.0, 40.0,
      1, 4.0,  4.0,  4.0,  9.0,  0,  3.0,  8.0,  11.0, 8.0, 1, 7.0,  7.0,  7.0,  7.0,  0, 9.0,   9.0,   5.0,  6.0,
      1, 21.9, 17.9, 22.0, 18.0, 0,  0.3,  0.7,  1.1,  1.6, 0, 1.0,  1.0,  20.0, 16.0, 1, 0.0,   0.0,   22.0, 18.0,
      2, 1.0,  1.0,  5.0,  5.0,  -1, 1.0,  1.0,  5.0,  5.0, 0, nan,  1.0,  5.0,  5.0,  1, 80.0,  80.0,  90.0, 95.0,
  };  // the last four: batch index out of range (2 with N = 2, -1), NaN coordinate, wholly outside
}

// Deterministic pseudo-random numbers (no dependency on the Tensor generator's stream).
double uniform(std::uint64_t& s) {
  s = s * 6364136223846793005ULL + 1442695040888963407ULL;
  return static_cast<double>(s >> 11) / 9007199254740992.0;
}

Problem make(std::int64_t C, std::int64_t H, std::int64_t W, std::int64_t PH, std::int64_t PW, double scale,
             std::int64_t sampling, bool aligned, std::vector<double> rois, std::uint64_t seed) {
  Problem p;
  p.g.batch = 2;
  p.g.channels = C;
  p.g.height = H;
  p.g.width = W;
  p.g.num_rois = static_cast<std::int64_t>(rois.size() / 5);
  p.g.pooled_h = PH;
  p.g.pooled_w = PW;
  p.g.spatial_scale = scale;
  p.g.sampling_ratio = sampling;
  p.g.aligned = aligned;
  p.rois = std::move(rois);
  p.gy.resize(static_cast<std::size_t>(p.g.num_rois * C * PH * PW));
  for (auto& v : p.gy) v = 2.0 * uniform(seed) - 1.0;  // mixed signs: cancellation, as in training
  return p;
}

// Many overlapping RoIs over a map that is not a multiple of the tile size (several tiles per image).
std::vector<double> random_rois(int count, double extent, std::uint64_t seed) {
  std::vector<double> r;
  for (int k = 0; k < count; ++k) {
    const double x1 = extent * (1.3 * uniform(seed) - 0.15), y1 = extent * (1.3 * uniform(seed) - 0.15);
    const double w = extent * 0.6 * uniform(seed), h = extent * 0.6 * uniform(seed);
    r.insert(r.end(), {static_cast<double>(k % 2), x1, y1, x1 + w, y1 + h});
  }
  return r;
}

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

std::vector<double> reference64(const Problem& p, bool absolute) {
  std::vector<double> gy = p.gy;
  if (absolute)
    for (auto& v : gy) v = std::fabs(v);
  std::vector<double> gx(static_cast<std::size_t>(p.g.batch * p.g.channels * p.g.height * p.g.width));
  kernels::cpu::roi_align_backward_reference(gy.data(), p.rois.data(), p.g, gx.data());
  return gx;
}

// The largest |reference in T - reference in float64| / S_i (printed: float32 geometry + summation).
double reference_worst = 0;

// Returns the largest |gather - reference| / S_i seen.
template <class T>
double check(Problem p, double tol, const char* what) {
  // Round the inputs to T first: the float64 reference then sees exactly the gather's inputs (float32
  // box coordinates move the samples by up to ~4e-6 pixels, an input change, not an algorithm error).
  const std::vector<T> gy = cast<T>(p.gy), rois = cast<T>(p.rois);
  p.gy.assign(gy.begin(), gy.end());
  p.rois.assign(rois.begin(), rois.end());
  const std::vector<double> ref64 = reference64(p, false), bound = reference64(p, true);
  // float32: the reference kernel in float32. Both compute the sample coordinates and tap weights with
  // the same host code (roi_align_math.hpp), so they differ only in the grouping of the sum; against
  // float64 they would also differ by float32's rounding of the coordinates (~1e-6 px per tap, an error
  // of the float32 geometry that every float32 RoIAlign has; printed as "reference kernel in this dtype").
  std::vector<T> ref_t(ref64.size());
  kernels::cpu::roi_align_backward_reference(gy.data(), rois.data(), p.g, ref_t.data());
  const std::vector<double> ref =
      std::is_same<T, double>::value ? ref64 : std::vector<double>(ref_t.begin(), ref_t.end());
  for (std::size_t i = 0; i < ref.size(); ++i)
    if (bound[i] > 0)
      reference_worst = std::max(reference_worst, std::fabs(static_cast<double>(ref_t[i]) - ref64[i]) / bound[i]);
  std::vector<T> gx(ref.size(), T(-7)), again(ref.size(), T(5));  // garbage: the gather overwrites
  kernels::cpu::roi_align_backward_gather(gy.data(), rois.data(), p.g, gx.data(), default_parallel());
  kernels::cpu::roi_align_backward_gather(gy.data(), rois.data(), p.g, again.data(), default_parallel());
  EXPECT_EQ(0, std::memcmp(gx.data(), again.data(), gx.size() * sizeof(T))) << what << ": not reproducible";
  double worst = 0;
  int bad = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double err = std::fabs(static_cast<double>(gx[i]) - ref[i]);
    if (bound[i] > 0) worst = std::max(worst, err / bound[i]);
    if (!(err <= tol * bound[i] + 1e-300) && bad++ < 5)
      ADD_FAILURE() << what << " element " << i << ": gather " << static_cast<double>(gx[i]) << ", reference " << ref[i]
                    << ", sum of |contributions| " << bound[i];
  }
  return worst;
}

struct Options {
  bool aligned;
  std::int64_t sampling;
  std::int64_t ph, pw;
};
const Options kOptions[] = {{false, -1, 3, 4}, {false, 0, 7, 7}, {false, 2, 7, 7}, {true, -1, 3, 4},
                            {true, 2, 14, 14}, {true, 3, 2, 5},  {false, 1, 1, 1}, {true, 0, 5, 3}};

template <class T>
void every_option(double tol) {
  reference_worst = 0;
  double worst = 0;
  std::uint64_t seed = 1;
  for (const Options& o : kOptions) {
    SCOPED_TRACE(::testing::Message() << "aligned " << o.aligned << " sampling " << o.sampling << " out " << o.ph << "x"
                                      << o.pw);
    seed += 2;
    worst = std::max(worst, check<T>(make(5, 9, 11, o.ph, o.pw, 0.5, o.sampling, o.aligned, fixed_rois(), seed), tol,
                                     "fixed rois, 9x11 map"));
    worst = std::max(worst, check<T>(make(6, 37, 41, o.ph, o.pw, 0.5, o.sampling, o.aligned,
                                          random_rois(150, 80.0, seed * 7), seed + 1),
                                     tol, "150 random rois, 37x41 map"));
  }
  std::printf(
      "worst |gather - reference| / sum|contributions| = %.3g (tolerance %.3g); reference kernel in "
      "this dtype vs float64: %.3g\n",
      worst, tol, reference_worst);
}

TEST(RoiAlignGather, MatchesReferenceFloat64) { every_option<double>(1e-12); }
TEST(RoiAlignGather, MatchesReferenceFloat32) { every_option<float>(2e-6); }

TEST(RoiAlignGather, AdaptiveGridBeyondTapCaches) {
  // A 600-pixel box, sampling 0, output 1x1: grid 600 per axis (the CUDA caches hold 256).
  for (bool aligned : {false, true}) {
    check<double>(make(3, 40, 40, 1, 1, 1.0, 0, aligned, {0, -100, -100, 500, 500, 1, 1, 1, 30, 30}, 3), 1e-12,
                  "big adaptive grid, float64");
    check<float>(make(3, 40, 40, 1, 1, 1.0, 0, aligned, {0, -100, -100, 500, 500, 1, 1, 1, 30, 30}, 3), 2e-6,
                 "big adaptive grid, float32");
  }
}

TEST(RoiAlignGather, NoRoisGivesZeros) {
  Problem p = make(3, 5, 6, 2, 2, 1.0, 2, false, {}, 1);
  std::vector<float> gx(static_cast<std::size_t>(2 * 3 * 5 * 6), 1.0f);
  kernels::cpu::roi_align_backward_gather<float>(nullptr, nullptr, p.g, gx.data(), default_parallel());
  for (float v : gx) EXPECT_EQ(v, 0.0f);
}

TEST(RoiAlignGather, PlanSizes) {
  // Each tap adds at most one (bin, pixel) pair, so a RoI's axis holds <= 2·P·grid entries; the tile
  // lists hold each valid RoI once per tile its window meets, in increasing RoI order.
  const Problem p = make(1, 37, 41, 7, 7, 0.5, 2, false, random_rois(100, 80.0, 5), 1);
  const auto plan = kernels::roi_gather_build_plan(p.rois.data(), p.g, default_parallel());
  const auto v = plan.view(plan.bytes.data());
  for (std::int64_t k = 0; k < p.g.num_rois; ++k) {
    const auto& r = v.rois[k];
    if (r.ny > 0) {
      EXPECT_LE(v.ptr[r.yptr + r.ny] - v.ptr[r.yptr], 2 * 7 * 2);
    }
    if (r.nx > 0) {
      EXPECT_LE(v.ptr[r.xptr + r.nx] - v.ptr[r.xptr], 2 * 7 * 2);
    }
    EXPECT_LE(r.y0 + r.ny, p.g.height);
    EXPECT_LE(r.x0 + r.nx, p.g.width);
  }
  const std::int64_t ntiles = p.g.batch * v.tiles_y * v.tiles_x;
  for (std::int64_t t = 0; t < ntiles; ++t)
    for (std::int64_t i = v.tile_ptr[t] + 1; i < v.tile_ptr[t + 1]; ++i) EXPECT_LT(v.tile_rois[i - 1], v.tile_rois[i]);
  EXPECT_EQ(plan.workspace_bytes(), plan.bytes.size());
  EXPECT_GT(v.tile_ptr[ntiles], 0);
}

}  // namespace roi_align_gather_test
}  // namespace anima
