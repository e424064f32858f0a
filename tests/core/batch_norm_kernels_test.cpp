// The CPU batch-norm kernels (anima/kernels/cpu/batch_norm.hpp): the parallel per-channel versions
// against the reference loops, statistics, transform and backward, on odd shapes. The op on every
// backend: tests/ops/batch_norm_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/batch_norm.hpp>

#include "core/random_inputs.hpp"

namespace anima {
namespace {

using testing::uniform64;

// The parallel kernels split each sum into interleaved partial sums (double): they differ from the
// reference's single accumulator by double rounding, ~m·2^-53 relative for m <= 252 values: 1e-13.
void expect_near_all(const std::vector<double>& a, const std::vector<double>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-13 * (1 + std::fabs(a[i]))) << what << " " << i;
}

TEST(BatchNormKernels, ChannelsMatchReference) {
  namespace kc = kernels::cpu;
  for (Shape s : {Shape{1, 3, 5, 7}, Shape{4, 13, 3, 3}, Shape{2, 67, 1, 9}}) {
    const std::int64_t N = s[0], C = s[1], HW = s[2] * s[3];
    const Tensor x = uniform64(s, 1, -2, 3, false), gy = uniform64(s, 2, -1, 1, false);
    const Tensor w = uniform64({C}, 3, 0.5, 1.5, false), b = uniform64({C}, 4, -1, 1, false);
    std::vector<double> m1(C), v1(C), m2(C), v2(C);
    kc::batch_norm_stats_reference(x.data<double>(), N, C, HW, m1.data(), v1.data());
    kc::batch_norm_stats_channels(x.data<double>(), N, C, HW, m2.data(), v2.data(), default_parallel());
    expect_near_all(m1, m2, "mean");
    expect_near_all(v1, v2, "var");
    std::vector<double> y1(x.numel()), y2(x.numel());
    kc::batch_norm_transform_reference(x.data<double>(), N, C, HW, m1.data(), v1.data(), w.data<double>(),
                                       b.data<double>(), 1e-5, y1.data());
    kc::batch_norm_transform_channels(x.data<double>(), N, C, HW, m1.data(), v1.data(), w.data<double>(),
                                      b.data<double>(), 1e-5, y2.data(), default_parallel());
    EXPECT_EQ(y1, y2);  // same statistics in, same per-element formula
    for (bool training : {true, false}) {
      std::vector<double> gx1(x.numel()), gx2(x.numel()), gw1(C), gw2(C), gb1(C), gb2(C);
      kc::batch_norm_backward_reference(x.data<double>(), gy.data<double>(), N, C, HW, m1.data(), v1.data(),
                                        w.data<double>(), 1e-5, training, gx1.data(), gw1.data(), gb1.data());
      kc::batch_norm_backward_channels(x.data<double>(), gy.data<double>(), N, C, HW, m1.data(), v1.data(),
                                       w.data<double>(), 1e-5, training, gx2.data(), gw2.data(), gb2.data(),
                                       default_parallel());
      expect_near_all(gx1, gx2, "gx");
      expect_near_all(gw1, gw2, "gw");
      expect_near_all(gb1, gb2, "gb");
    }
  }
}

}  // namespace
}  // namespace anima
