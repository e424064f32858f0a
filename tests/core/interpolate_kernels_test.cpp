// The CPU interpolate kernels (anima/kernels/cpu/interpolate.hpp): the parallel per-plane versions
// against the reference loops, forward and backward, bitwise (the same operations in the same order),
// the op's own result against them, and the AVX2 + FMA bilinear row against the portable one. The op
// on every backend: tests/ops/interpolate_test.cpp.
#include <gtest/gtest.h>

#include <vector>

#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/interpolate.hpp>
#include <anima/ops/interpolate.hpp>

#include "core/random_inputs.hpp"
#include "ops/interpolate_cases.hpp"

namespace anima {
namespace {

TEST(InterpolateKernels, PlanesMatchReference) {
  namespace kc = kernels::cpu;
  const Tensor x = testing::uniform64({2, 5, 6, 7}, 1, -1, 1, false);
  for (const auto& o : testing::interpolate_cases()) {
    const Tensor y = interpolate(x, o);
    kernels::Interp2dGeometry g;
    g.planes = 10;
    g.in_h = 6;
    g.in_w = 7;
    g.out_h = y.shape()[2];
    g.out_w = y.shape()[3];
    if (o.scale_factor) {
      g.scale_h = (*o.scale_factor)[0];
      g.scale_w = (*o.scale_factor)[1];
    }
    g.align_corners = o.align_corners;
    const auto mode = o.mode == testing::kNearest ? kernels::InterpMode::Nearest : kernels::InterpMode::Bilinear;
    std::vector<double> y_ref(y.numel()), y_fast(y.numel()), gx_ref(x.numel()), gx_fast(x.numel());
    kc::interpolate2d_forward_reference(mode, x.data<double>(), g, y_ref.data());
    kc::interpolate2d_forward_planes(mode, x.data<double>(), g, y_fast.data(), default_parallel());
    EXPECT_EQ(y_ref, y_fast);
    EXPECT_EQ(y_ref, to_vector<double>(y));
    kc::interpolate2d_backward_reference(mode, y_ref.data(), g, gx_ref.data());
    kc::interpolate2d_backward_planes(mode, y_ref.data(), g, gx_fast.data(), default_parallel());
    EXPECT_EQ(gx_ref, gx_fast);
  }
}

// The bilinear row loop compiled for AVX2 + FMA (fmaf as one instruction, used where the CPU has it)
// against the portable one (fmaf from libm): the same bits, as a fused multiply-add is exactly rounded.
template <class T>
void expect_rows_match(DType dtype) {
  namespace kc = kernels::cpu;
  const std::int64_t in_h = 37, in_w = 53, out_h = 61, out_w = 90;
  const Tensor x = testing::uniform({in_h, in_w}, 5, -3, 3, dtype, false);
  const kernels::Interp2dGeometry g{1, in_h, in_w, out_h, out_w};  // one plane, ratio in/out
  const auto taps_w = kc::interp_detail::column_taps<T>(kernels::InterpMode::Bilinear, g);
  const T rh = kernels::interp_ratio<T>(in_h, out_h, 0.0, false);
  std::vector<T> portable(out_w), dispatched(out_w);
  for (std::int64_t oh = 0; oh < out_h; ++oh) {
    const auto th = kernels::linear_source(rh, oh, in_h, out_h, false);
    const T* r0 = x.data<T>() + th.i0 * in_w;
    const T* r1 = x.data<T>() + th.i1 * in_w;
    kc::interp_detail::bilinear_row_portable(r0, r1, th, taps_w.data(), out_w, portable.data());
    kc::interp_detail::bilinear_row(r0, r1, th, taps_w.data(), out_w, dispatched.data());
    ASSERT_EQ(portable, dispatched) << "row " << oh;
#if ANIMA_CPU_X86
    if (kc::cpu_supports_avx2_fma()) {
      std::vector<T> avx2(out_w);
      kc::interp_detail::bilinear_row_avx2(r0, r1, th, taps_w.data(), out_w, avx2.data());
      ASSERT_EQ(portable, avx2) << "row " << oh;
    }
#endif
  }
}

TEST(InterpolateKernels, FmaRowMatchesPortable) {
  expect_rows_match<float>(DType::Float32);
  expect_rows_match<double>(DType::Float64);
}

}  // namespace
}  // namespace anima
