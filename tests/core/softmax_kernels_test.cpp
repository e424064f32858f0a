// The CPU softmax kernels (anima/kernels/cpu/softmax.hpp): the column-blocked version against the
// reference on odd shapes, forward and backward, softmax and log_softmax, bitwise (the same operations
// in the same order). The op on every backend: tests/ops/softmax_test.cpp.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/softmax.hpp>
#include <anima/ops/factory.hpp>

namespace anima {
namespace {

template <class T>
std::vector<T> random_values(std::int64_t n, std::uint64_t seed, double lo, double hi) {
  Generator g(seed);
  return to_vector<T>(rand({n}, TensorOptions(DType::Float64), g, lo, hi));
}

template <class T>
void check_kernels_match_reference() {
  struct Geo {
    std::int64_t outer, dim, inner;
  };
  for (const Geo geo :
       {Geo{1, 1, 1}, Geo{3, 7, 1}, Geo{5, 1000, 1}, Geo{2, 5, 3}, Geo{3, 9, 17}, Geo{4, 33, 35}, Geo{1, 3, 100}}) {
    const std::int64_t n = geo.outer * geo.dim * geo.inner;
    const auto x = random_values<T>(n, 1, -10, 10), dy = random_values<T>(n, 2, -1, 1);
    for (bool log : {false, true}) {
      std::vector<T> y_ref(n), y(n), dx_ref(n), dx(n);
      kernels::cpu::softmax_forward_reference(log, x.data(), y_ref.data(), geo.outer, geo.dim, geo.inner);
      kernels::cpu::softmax_forward_columns(log, x.data(), y.data(), geo.outer, geo.dim, geo.inner, default_parallel());
      EXPECT_EQ(y, y_ref) << "forward log " << log << " geo " << geo.outer << "x" << geo.dim << "x" << geo.inner;
      kernels::cpu::softmax_backward_reference(log, y_ref.data(), dy.data(), dx_ref.data(), geo.outer, geo.dim,
                                               geo.inner);
      kernels::cpu::softmax_backward_columns(log, y_ref.data(), dy.data(), dx.data(), geo.outer, geo.dim, geo.inner,
                                             default_parallel());
      EXPECT_EQ(dx, dx_ref) << "backward log " << log << " geo " << geo.outer << "x" << geo.dim << "x" << geo.inner;
    }
  }
}

TEST(SoftmaxKernels, ColumnsMatchReferenceFloat) { check_kernels_match_reference<float>(); }
TEST(SoftmaxKernels, ColumnsMatchReferenceDouble) { check_kernels_match_reference<double>(); }

}  // namespace
}  // namespace anima
