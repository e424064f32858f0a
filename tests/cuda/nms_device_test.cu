// The CUDA NMS pieces one by one (compiled by nvcc, part of anima_cuda_tests; skip without a GPU):
// the device radix sort gives exactly anima::detail::nms_order (the CPU visiting order) on scores with
// ties, NaN of both signs and -0.0 / +0.0; the device reduction with several thread counts, with
// `removed` in shared and in global memory, and the host-reduction version (nms_host_reduce) all keep
// the CPU op's indices, including block edges (63, 64, 65, 128, 129 boxes). Exact comparisons: the
// order and the kept lists are integers that must be identical.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/backends/cuda/backend.cuh>
#include <anima/backends/cuda/nms.cuh>
#include <anima/kernels/cuda/nms.cuh>
#include <anima/ops/factory.hpp>
#include <anima/ops/nms.hpp>

#include "parity.hpp"

namespace anima {
namespace {

const Device kCuda = Device::cuda(0);

// n boxes in a 300x300 square, sides 1..60, every 10th a copy of its predecessor; scores from
// `levels` values (ties) or continuous, with some negated, some -0.0 / +0.0 and some NaN of either sign.
void random_case(std::int64_t n, int levels, std::uint64_t seed, Tensor& boxes, Tensor& scores) {
  Generator g(seed);
  const auto u = to_vector<double>(rand({n, 5}, TensorOptions(DType::Float64), g));
  std::vector<float> b(4 * n), s(n);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (std::int64_t i = 0; i < n; ++i) {
    const double x = 300 * u[5 * i], y = 300 * u[5 * i + 1];
    b[4 * i] = static_cast<float>(x);
    b[4 * i + 1] = static_cast<float>(y);
    b[4 * i + 2] = static_cast<float>(x + 1 + 59 * u[5 * i + 2]);
    b[4 * i + 3] = static_cast<float>(y + 1 + 59 * u[5 * i + 3]);
    if (i % 10 == 9)
      for (int k = 0; k < 4; ++k) b[4 * i + k] = b[4 * (i - 1) + k];
    s[i] = static_cast<float>(levels > 0 ? static_cast<double>(static_cast<int>(u[5 * i + 4] * levels)) / levels
                                         : u[5 * i + 4]);
    if (i % 7 == 3) s[i] = -s[i];
    if (i % 23 == 5) s[i] = (i % 2) ? -0.0f : 0.0f;
    if (i % 97 == 11) s[i] = (i % 2) ? -nan : nan;
  }
  boxes = from_vector(b, {n, 4});
  scores = from_vector(s, {n});
}

// The device order and the kept lists of each reduction variant for float boxes/scores on the GPU.
struct DeviceRun {
  std::vector<std::int64_t> order;
  std::vector<std::vector<std::int64_t>> keeps;
};

DeviceRun run_variants(const Tensor& boxes_cuda, const Tensor& scores_cuda, double thr) {
  const std::int64_t n = boxes_cuda.shape()[0];
  const kernels::cuda::NmsWorkspaceLayout<float> layout(n);
  const ScopedWorkspace work(*cuda::allocator(kCuda.index), layout.bytes);
  char* w = work.as<char>();
  const cudaStream_t stream = cuda::current_stream();
  const auto* boxes = static_cast<const float*>(boxes_cuda.raw_data());
  const auto* scores = static_cast<const float*>(scores_cuda.raw_data());
  ANIMA_CUDA_CHECK(kernels::cuda::nms_sort_and_mask<float>(boxes, scores, n, thr, layout, w, stream));
  DeviceRun run;
  run.order.resize(static_cast<std::size_t>(n));
  ANIMA_CUDA_CHECK(cudaMemcpyAsync(run.order.data(), w + layout.order, run.order.size() * sizeof(std::int64_t),
                                   cudaMemcpyDeviceToHost, stream));
  struct Variant {
    int threads;
    bool allow_shared;
  };
  for (const Variant v : {Variant{0, true}, Variant{32, false}, Variant{64, true}, Variant{96, false},
                          Variant{1024, true}, Variant{1024, false}}) {
    ANIMA_CUDA_CHECK(kernels::cuda::nms_reduce_mask_device(
        reinterpret_cast<const std::uint64_t*>(w + layout.mask), n,
        reinterpret_cast<const std::int64_t*>(w + layout.order), reinterpret_cast<std::uint64_t*>(w + layout.removed),
        reinterpret_cast<std::int64_t*>(w + layout.keep), reinterpret_cast<std::int64_t*>(w + layout.count), stream,
        v.threads, v.allow_shared));
    std::int64_t count = -1;
    ANIMA_CUDA_CHECK(cudaMemcpyAsync(&count, w + layout.count, sizeof count, cudaMemcpyDeviceToHost, stream));
    ANIMA_CUDA_CHECK(cudaStreamSynchronize(stream));
    std::vector<std::int64_t> keep(static_cast<std::size_t>(count < 0 ? 0 : count));
    if (count > 0)
      ANIMA_CUDA_CHECK(cudaMemcpyAsync(keep.data(), w + layout.keep, keep.size() * sizeof(std::int64_t),
                                       cudaMemcpyDeviceToHost, stream));
    ANIMA_CUDA_CHECK(cudaStreamSynchronize(stream));
    run.keeps.push_back(keep);
  }
  std::vector<std::int64_t> keep(static_cast<std::size_t>(n));
  keep.resize(
      static_cast<std::size_t>(cuda::nms_host_reduce(kCuda, DType::Float32, boxes, scores, n, thr, keep.data())));
  run.keeps.push_back(keep);
  return run;
}

TEST(NmsDevice, SortAndReductionVariantsMatchCpu) {
  ANIMA_REQUIRE_CUDA();
  for (std::int64_t n : {1, 2, 63, 64, 65, 128, 129, 1000, 5000}) {
    for (int levels : {0, 5}) {
      Tensor b, s;
      random_case(n, levels, 300 + static_cast<std::uint64_t>(n), b, s);
      const Tensor bc = device_copy(b, kCuda), sc = device_copy(s, kCuda);
      for (double thr : {0.3, 0.7}) {
        SCOPED_TRACE(::testing::Message() << "n " << n << " levels " << levels << " threshold " << thr);
        const std::vector<std::int64_t> cpu = to_vector<std::int64_t>(nms(b, s, thr));
        const DeviceRun run = run_variants(bc, sc, thr);
        EXPECT_EQ(run.order, detail::nms_order(s));
        for (std::size_t v = 0; v < run.keeps.size(); ++v) EXPECT_EQ(run.keeps[v], cpu) << "variant " << v;
        if (n >= 1000) {
          EXPECT_LT(static_cast<std::int64_t>(cpu.size()), n);
        }
      }
    }
  }
}

TEST(NmsDevice, LargeInputMatchesCpu) {
  ANIMA_REQUIRE_CUDA();
  // 20000 boxes (313 column blocks: 313 words per mask row, more than one per thread at 64 threads).
  Tensor b, s;
  random_case(20000, 0, 9, b, s);
  const std::vector<std::int64_t> cpu = to_vector<std::int64_t>(nms(b, s, 0.7));
  const DeviceRun run = run_variants(device_copy(b, kCuda), device_copy(s, kCuda), 0.7);
  EXPECT_EQ(run.order, detail::nms_order(s));
  for (std::size_t v = 0; v < run.keeps.size(); ++v) EXPECT_EQ(run.keeps[v], cpu) << "variant " << v;
}

}  // namespace
}  // namespace anima
