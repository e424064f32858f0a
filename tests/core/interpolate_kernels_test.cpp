// The CPU interpolate kernels (anima/kernels/cpu/interpolate.hpp): the parallel per-plane versions
// against the reference loops, forward and backward, bitwise (the same operations in the same order),
// and the op's own result against them. The op on every backend: tests/ops/interpolate_test.cpp.
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

}  // namespace
}  // namespace anima
