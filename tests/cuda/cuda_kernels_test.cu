// Direct tests of the CUDA kernels against the CPU reference kernels (compiled by nvcc, part of
// anima_cuda_tests). Tests that need a GPU skip when none is present; the registration, device-count
// and check-macro tests run everywhere.
//
// Tolerances: GEMM results are compared with the float64 reference within the standard bound for a
// length-K dot product, (K + 2) * eps(T) * Σ|alpha a b| + |beta c| (computed by running the
// reference on absolute values): any correct summation order satisfies it. Uniform draws must be
// bit-identical (same Philox formula, no FMA contraction); normal draws differ by the ulps of
// CUDA's log/cos versus libm. Max/min values and indices must match exactly (same combination
// rule); sums are accumulated in double on both sides.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <anima/backends/cuda/backend.cuh>
#include <anima/backends/cuda/caching_allocator.cuh>
#include <anima/backends/cuda/library_handles.cuh>
#include <anima/core/copy.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/copy.hpp>
#include <anima/kernels/cpu/elementwise.hpp>
#include <anima/kernels/cpu/gemm_reference.hpp>
#include <anima/kernels/cpu/random.hpp>
#include <anima/kernels/cpu/reduce.hpp>
#include <anima/backends/cuda/check.cuh>
#include <anima/kernels/cuda/copy.cuh>
#include <anima/kernels/cuda/elementwise.cuh>
#include <anima/backends/cuda/gemm_cublas.cuh>
#include <anima/kernels/cuda/gemm_tiled.cuh>
#include <anima/kernels/cuda/random.cuh>
#include <anima/kernels/cuda/reduce.cuh>

#include "core/expect_error.hpp"

namespace {

namespace kc = anima::kernels::cuda;
namespace kcpu = anima::kernels::cpu;
using anima::kernels::Layout;

#define ANIMA_SKIP_WITHOUT_GPU() \
  if (anima::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device"

// Device memory for n values of T, freed on scope exit.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t n) : n_(n) {
    if (n) ANIMA_CUDA_CHECK(cudaMalloc(&ptr_, n * sizeof(T)));
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return ptr_; }
  void upload(const std::vector<T>& host) {
    ASSERT_EQ(host.size(), n_);
    if (n_) ANIMA_CUDA_CHECK(cudaMemcpy(ptr_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    ANIMA_CUDA_CHECK(cudaDeviceSynchronize());
    if (n_) ANIMA_CUDA_CHECK(cudaMemcpy(host.data(), ptr_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  T* ptr_ = nullptr;
  std::size_t n_ = 0;
};

// Deterministic values in [-1, 1) (a 64-bit LCG; no dependence on <random>'s distributions).
template <class T>
std::vector<T> lcg_values(std::size_t n, std::uint64_t seed) {
  std::vector<T> v(n);
  std::uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (auto& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<T>(static_cast<double>(s >> 11) * (2.0 / 9007199254740992.0) - 1.0);
  }
  return v;
}

template <class T>
std::vector<double> to_double(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}
std::vector<double> abs_of(std::vector<double> v) {
  for (auto& x : v) x = std::fabs(x);
  return v;
}

struct GemmCase {
  bool ta, tb;
  std::int64_t M, N, K;
};

// Expected C (float64 reference) and the per-element error bound, for one matrix of a batch.
void gemm_expected(const GemmCase& c, double alpha, const std::vector<double>& A, std::int64_t lda,
                   const std::vector<double>& B, std::int64_t ldb, double beta, const std::vector<double>& C0,
                   std::int64_t ldc, double eps, std::vector<double>* expected, std::vector<double>* bound) {
  *expected = C0;
  kcpu::gemm_reference<double>(c.ta, c.tb, c.M, c.N, c.K, alpha, A.data(), lda, B.data(), ldb, beta, expected->data(),
                               ldc);
  *bound = abs_of(C0);
  const std::vector<double> absA = abs_of(A), absB = abs_of(B);
  kcpu::gemm_reference<double>(c.ta, c.tb, c.M, c.N, c.K, std::fabs(alpha), absA.data(), lda, absB.data(), ldb,
                               beta == 0 ? 0.0 : std::fabs(beta), bound->data(), ldc);
  for (auto& b : *bound) b = b * (static_cast<double>(c.K) + 2.0) * eps + std::numeric_limits<double>::min();
}

// ---------------------------------------------------------------------------------------------------
// Registration, device count, error checks: no GPU needed.

TEST(CudaBackend, RegistersRuntimeAndEveryKernel) {
  ASSERT_NE(anima::cuda_runtime_slot(), nullptr);
  EXPECT_STREQ(anima::cuda_runtime_slot()->name, "cuda");
  EXPECT_NE(anima::KernelRegistry<anima::UnaryKernel>::cuda, nullptr);
  EXPECT_NE(anima::KernelRegistry<anima::BinaryKernel>::cuda, nullptr);
  EXPECT_NE(anima::KernelRegistry<anima::CompareKernel>::cuda, nullptr);
  EXPECT_NE(anima::KernelRegistry<anima::WhereKernel>::cuda, nullptr);
  EXPECT_NE(anima::KernelRegistry<anima::FillKernel>::cuda, nullptr);
  EXPECT_NE(anima::KernelRegistry<anima::RandomKernel>::cuda, nullptr);
  EXPECT_NE(anima::KernelRegistry<anima::ReduceKernel>::cuda, nullptr);
  EXPECT_NE(anima::KernelRegistry<anima::GemmKernel>::cuda, nullptr);
  EXPECT_NE(anima::KernelRegistry<anima::StridedCopyKernel>::cuda, nullptr);
  EXPECT_NE(anima::KernelRegistry<anima::CastKernel>::cuda, nullptr);
}

TEST(CudaBackend, DeviceCountIsZeroWithoutAUsableDevice) {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  (void)cudaGetLastError();
  EXPECT_EQ(anima::cuda_device_count(), err == cudaSuccess ? n : 0);
  EXPECT_EQ(anima::cuda_is_available(), anima::cuda_device_count() > 0);
  // With a working driver, device_count() leaves no error behind for later calls to trip over. (When
  // the runtime cannot initialise, e.g. cudaErrorInsufficientDriver with no GPU, every runtime call
  // keeps returning that error: it cannot be cleared, which is why device_count() swallows it.)
  if (err == cudaSuccess) EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  if (anima::cuda_device_count() == 0) {
    EXPECT_THROW(anima::allocator_for(anima::Device::cuda(0)), anima::Error);
  }
}

// Each check macro throws an anima::Error naming the failed call (or the library) and the status.
TEST(CudaCheck, MacrosNameTheCallAndTheStatus) {
  using anima::testing::expect_error;
  expect_error([] { ANIMA_CUDA_CHECK(cudaErrorInvalidValue); }, {"cudaErrorInvalidValue", "cuda_kernels_test.cu"});
  // A null cuBLAS handle is not initialised.
  expect_error([] { ANIMA_CUBLAS_CHECK(cublasSetStream(nullptr, nullptr)); },
               {"cublasSetStream(nullptr, nullptr)", "CUBLAS_STATUS_NOT_INITIALIZED"});
  expect_error([] { ANIMA_CUDNN_CHECK(CUDNN_STATUS_BAD_PARAM); }, {"CUDNN_STATUS_BAD_PARAM", "anima::cudnn"});
  EXPECT_NO_THROW(ANIMA_CUDA_CHECK(cudaSuccess));
}

TEST(CudaCachingAllocator, RoundsSmallTo512AndLargeTo2MiB) {
  using A = anima::cuda::CudaCachingAllocator;
  EXPECT_EQ(A::rounded_size(1), 512u);
  EXPECT_EQ(A::rounded_size(512), 512u);
  EXPECT_EQ(A::rounded_size(513), 1024u);
  EXPECT_EQ(A::rounded_size(std::size_t(1) << 20), std::size_t(1) << 20);
  EXPECT_EQ(A::rounded_size((std::size_t(1) << 20) + 1), std::size_t(2) << 20);
  EXPECT_EQ(A::rounded_size((std::size_t(2) << 20) + 1), std::size_t(4) << 20);
}

// ---------------------------------------------------------------------------------------------------
// Device tests.

TEST(CudaCheck, InvalidMemcpyThrowsNamingTheCallAndClearsTheError) {
  ANIMA_SKIP_WITHOUT_GPU();
  DeviceBuffer<float> a(16), b(16);
  try {
    ANIMA_CUDA_CHECK(cudaMemcpy(a.get(), b.get(), 16 * sizeof(float), static_cast<cudaMemcpyKind>(99)));
    FAIL() << "no throw";
  } catch (const anima::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cudaMemcpy(a.get(), b.get()"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cudaError"), std::string::npos) << msg;
  }
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  // A bad launch configuration is reported by the launch check, naming the kernel.
  try {
    kc::fill_kernel<float><<<1, 4096>>>(a.get(), 16, 0.f);  // 4096 threads per block is too many
    ANIMA_CUDA_CHECK_LAUNCH("fill_kernel");
    FAIL() << "no throw";
  } catch (const anima::Error& e) {
    EXPECT_NE(std::string(e.what()).find("launch of fill_kernel"), std::string::npos) << e.what();
  }
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(CudaSgemmTiled, MatchesReferenceForOddAndLargeSizes) {
  ANIMA_SKIP_WITHOUT_GPU();
  const std::vector<GemmCase> cases = {
      {false, false, 1, 1, 1},      {false, false, 129, 65, 33}, {false, false, 7, 13, 5},
      {false, false, 130, 257, 17}, {false, false, 3, 200, 0},   {false, false, 512, 512, 512},
      {true, false, 33, 17, 9},     {false, true, 33, 17, 9},    {true, true, 65, 129, 31}};
  for (int version = 1; version <= 2; ++version) {
    for (const GemmCase& c : cases) {
      if (version == 2 && (c.ta || c.tb)) continue;
      for (const double beta : {0.0, 0.5}) {
        SCOPED_TRACE(testing::Message() << "v" << version << " ta=" << c.ta << " tb=" << c.tb << " M=" << c.M
                                        << " N=" << c.N << " K=" << c.K << " beta=" << beta);
        // Padded row strides, so lda/ldb/ldc are honoured.
        const std::int64_t lda = (c.ta ? c.M : c.K) + 3, ldb = (c.tb ? c.K : c.N) + 1, ldc = c.N + 2;
        const std::int64_t a_rows = c.ta ? c.K : c.M, b_rows = c.tb ? c.N : c.K;
        const auto A = lcg_values<float>(a_rows * lda, 1), B = lcg_values<float>(b_rows * ldb, 2);
        auto C0 = lcg_values<float>(c.M * ldc, 3);
        if (beta == 0) C0.assign(C0.size(), std::numeric_limits<float>::quiet_NaN());  // must not be read
        DeviceBuffer<float> dA(A), dB(B), dC(C0);
        const float alpha = 1.25f;
        ANIMA_CUDA_CHECK(kc::sgemm_tiled(version, c.ta, c.tb, c.M, c.N, c.K, alpha, dA.get(), lda, dB.get(), ldb,
                                         static_cast<float>(beta), dC.get(), ldc, nullptr));
        const std::vector<float> got = dC.download();
        std::vector<double> expected, bound;
        gemm_expected(c, alpha, to_double(A), lda, to_double(B), ldb, beta,
                      beta == 0 ? std::vector<double>(C0.size(), 0.0) : to_double(C0), ldc,
                      std::numeric_limits<float>::epsilon(), &expected, &bound);
        int bad = 0;
        for (std::int64_t i = 0; i < c.M && bad < 5; ++i)
          for (std::int64_t j = 0; j < c.N && bad < 5; ++j) {
            const std::int64_t k = i * ldc + j;
            if (!(std::fabs(got[k] - expected[k]) <= bound[k])) {
              ADD_FAILURE() << "C[" << i << "," << j << "] = " << got[k] << ", expected " << expected[k] << " +- "
                            << bound[k];
              ++bad;
            }
          }
        // Padding columns of C are never written.
        for (std::int64_t i = 0; i < c.M; ++i)
          for (std::int64_t j = c.N; j < ldc; ++j) {
            const float before = C0[i * ldc + j], after = got[i * ldc + j];
            EXPECT_TRUE(std::memcmp(&before, &after, sizeof(float)) == 0)
                << "padding C[" << i << "," << j << "] written";
          }
      }
    }
  }
  // Unsupported problems are refused before any launch (nothing is read through the null pointers).
  EXPECT_FALSE(kc::sgemm_tiled_supports(2, true, false, 4, 4, 4));
  EXPECT_FALSE(kc::sgemm_tiled_supports(3, false, false, 4, 4, 4));
  EXPECT_TRUE(kc::sgemm_tiled_supports(1, true, true, 4, 4, 4));
  EXPECT_EQ(kc::sgemm_tiled(2, true, false, 4, 4, 4, 1.f, nullptr, 4, nullptr, 4, 0.f, nullptr, 4, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(kc::sgemm_tiled(3, false, false, 4, 4, 4, 1.f, nullptr, 4, nullptr, 4, 0.f, nullptr, 4, nullptr),
            cudaErrorInvalidValue);
}

template <class T>
void check_cublas_gemm() {
  const std::vector<GemmCase> shapes = {
      {false, false, 1, 1, 1}, {false, false, 37, 19, 23}, {false, false, 64, 96, 128}, {false, false, 5, 4, 0}};
  const std::int64_t batch = 3;
  for (const GemmCase& shape : shapes)
    for (const bool ta : {false, true})
      for (const bool tb : {false, true})
        for (const double beta : {0.0, -0.75}) {
          const GemmCase c{ta, tb, shape.M, shape.N, shape.K};
          SCOPED_TRACE(testing::Message() << "ta=" << ta << " tb=" << tb << " M=" << c.M << " N=" << c.N << " K=" << c.K
                                          << " beta=" << beta);
          const std::int64_t lda = (ta ? c.M : c.K) + 2, ldb = (tb ? c.K : c.N) + 3, ldc = c.N + 1;
          const std::int64_t sa = (ta ? c.K : c.M) * lda + 5, sb = (tb ? c.N : c.K) * ldb + 7, sc = c.M * ldc + 4;
          const auto A = lcg_values<T>(batch * sa, 11), B = lcg_values<T>(batch * sb, 12);
          auto C0 = lcg_values<T>(batch * sc, 13);
          if (beta == 0) C0.assign(C0.size(), std::numeric_limits<T>::quiet_NaN());
          DeviceBuffer<T> dA(A), dB(B), dC(C0);
          const double alpha = 0.5;
          anima::cuda::gemm_cublas<T>(ta, tb, batch, c.M, c.N, c.K, T(alpha), dA.get(), lda, sa, dB.get(), ldb, sb,
                                      T(beta), dC.get(), ldc, sc, anima::cuda::cublas_handle(nullptr), nullptr);
          const std::vector<T> got = dC.download();
          for (std::int64_t b = 0; b < batch; ++b) {
            const std::vector<double> Ab(A.begin() + b * sa, A.begin() + (b + 1) * sa);
            const std::vector<double> Bb(B.begin() + b * sb, B.begin() + (b + 1) * sb);
            std::vector<double> Cb(C0.begin() + b * sc, C0.begin() + (b + 1) * sc);
            if (beta == 0) Cb.assign(Cb.size(), 0.0);
            std::vector<double> expected, bound;
            gemm_expected(c, alpha, Ab, lda, Bb, ldb, beta, Cb, ldc, std::numeric_limits<T>::epsilon(), &expected,
                          &bound);
            int bad = 0;
            for (std::int64_t i = 0; i < c.M && bad < 5; ++i)
              for (std::int64_t j = 0; j < c.N && bad < 5; ++j) {
                const double g = static_cast<double>(got[b * sc + i * ldc + j]), e = expected[i * ldc + j];
                if (!(std::fabs(g - e) <= bound[i * ldc + j])) {
                  ADD_FAILURE() << "batch " << b << " C[" << i << "," << j << "] = " << g << ", expected " << e;
                  ++bad;
                }
              }
          }
        }
}

TEST(CudaGemmCublas, MatchesReferenceForAllTransposesAndBatchesFloat) {
  ANIMA_SKIP_WITHOUT_GPU();
  check_cublas_gemm<float>();
}
TEST(CudaGemmCublas, MatchesReferenceForAllTransposesAndBatchesDouble) {
  ANIMA_SKIP_WITHOUT_GPU();
  check_cublas_gemm<double>();
}

TEST(CudaCachingAllocator, ReusesFreedBlocksAndTracksStats) {
  ANIMA_SKIP_WITHOUT_GPU();
  anima::cuda::CudaCachingAllocator alloc(0);  // a private instance: its stats see only this test
  void* p = alloc.allocate(1000);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 256, 0u);
  EXPECT_EQ(alloc.stats().current_bytes, 1000u);
  EXPECT_EQ(alloc.stats().reserved_bytes, 1024u);
  alloc.deallocate(p, 1000);
  EXPECT_EQ(alloc.stats().current_bytes, 0u);
  EXPECT_EQ(alloc.stats().peak_bytes, 1000u);
  EXPECT_EQ(alloc.stats().reserved_bytes, 1024u);
  EXPECT_EQ(alloc.cached_bytes(), 1024u);
  void* q = alloc.allocate(900);  // same 1024-byte class: the cached block comes back
  EXPECT_EQ(q, p);
  EXPECT_EQ(alloc.stats().reserved_bytes, 1024u);
  EXPECT_EQ(alloc.cached_bytes(), 0u);
  void* big = alloc.allocate(3u << 20);  // large pool: 4 MiB block
  EXPECT_EQ(alloc.stats().reserved_bytes, 1024u + (4u << 20));
  EXPECT_EQ(alloc.stats().current_bytes, 900u + (3u << 20));
  EXPECT_EQ(alloc.stats().peak_bytes, 900u + (3u << 20));
  // The memory works.
  ANIMA_CUDA_CHECK(cudaMemset(big, 0, 3u << 20));
  alloc.deallocate(big, 3u << 20);
  void* small = alloc.allocate(100);  // 512 class: must not take the 4 MiB block
  EXPECT_NE(small, big);
  alloc.deallocate(small, 100);
  alloc.deallocate(q, 900);
  EXPECT_EQ(alloc.stats().current_bytes, 0u);
  alloc.reset_peak();
  EXPECT_EQ(alloc.stats().peak_bytes, 0u);
  alloc.empty_cache();
  EXPECT_EQ(alloc.stats().reserved_bytes, 0u);
  EXPECT_EQ(alloc.cached_bytes(), 0u);
  EXPECT_EQ(alloc.allocate(0), nullptr);
}

TEST(CudaCachingAllocator, OutOfMemoryThrowsWithSizesAndLeavesNoError) {
  ANIMA_SKIP_WITHOUT_GPU();
  anima::cuda::CudaCachingAllocator alloc(0);
  void* cached = alloc.allocate(4096);
  alloc.deallocate(cached, 4096);
  try {
    alloc.allocate(std::size_t(1) << 50);  // 1 PiB
    FAIL() << "no throw";
  } catch (const anima::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("1125899906842624"), std::string::npos) << msg;
    EXPECT_NE(msg.find("reserved"), std::string::npos) << msg;
  }
  EXPECT_EQ(alloc.cached_bytes(), 0u);  // the cache was released before the retry
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(CudaRuntime, AllocatesAndCopiesBetweenHostAndDevice) {
  ANIMA_SKIP_WITHOUT_GPU();
  anima::Allocator& alloc = anima::allocator_for(anima::Device::cuda(0));
  const std::vector<double> host = lcg_values<double>(1000, 5);
  const std::size_t bytes = host.size() * sizeof(double);
  void* d1 = alloc.allocate(bytes);
  void* d2 = alloc.allocate(bytes);
  anima::copy_bytes(d1, anima::Device::cuda(0), host.data(), anima::Device::cpu(), bytes);
  anima::copy_bytes(d2, anima::Device::cuda(0), d1, anima::Device::cuda(0), bytes);
  std::vector<double> back(host.size());
  anima::copy_bytes(back.data(), anima::Device::cpu(), d2, anima::Device::cuda(0), bytes);
  EXPECT_EQ(back, host);
  EXPECT_GE(alloc.stats().current_bytes, 2 * bytes);
  alloc.deallocate(d1, bytes);
  alloc.deallocate(d2, bytes);
  EXPECT_NO_THROW(anima::synchronize(anima::Device::cuda(0)));
}

template <class T>
void check_reduce(std::int64_t rows, std::int64_t cols) {
  SCOPED_TRACE(testing::Message() << "rows=" << rows << " cols=" << cols << " T=" << sizeof(T));
  std::vector<T> x = lcg_values<T>(rows * cols, 21 + rows + cols);
  // Ties (row 0: the max and min appear twice), a NaN in row 1 (twice), signed zeros in row 2.
  if (cols >= 4) {
    x[1] = T(2);
    x[cols - 1] = T(2);
    x[2] = T(-2);
    x[cols - 2] = T(-2);
  }
  if (rows >= 2 && cols >= 3) {
    x[cols + cols / 2] = std::numeric_limits<T>::quiet_NaN();
    x[cols + cols - 1] = std::numeric_limits<T>::quiet_NaN();
  }
  if (rows >= 3 && cols >= 3) {
    for (std::int64_t c = 0; c < cols; ++c) x[2 * cols + c] = T(-1);
    x[2 * cols + 1] = T(-0.0);
    x[2 * cols + 2] = T(0.0);
  }
  DeviceBuffer<T> dx(x), dy(rows);
  DeviceBuffer<std::int64_t> didx(rows);
  for (const auto op : {anima::kernels::ReduceOp::Sum, anima::kernels::ReduceOp::Max, anima::kernels::ReduceOp::Min}) {
    std::vector<T> want(rows);
    std::vector<std::int64_t> want_idx(rows, -7);
    kcpu::reduce_rows<T>(op, x.data(), rows, cols, want.data(), want_idx.data(), anima::default_parallel());
    ANIMA_CUDA_CHECK(kc::reduce_rows<T>(op, dx.get(), rows, cols, dy.get(),
                                        op == anima::kernels::ReduceOp::Sum ? nullptr : didx.get(), nullptr));
    const std::vector<T> got = dy.download();
    const std::vector<std::int64_t> got_idx = didx.download();
    for (std::int64_t r = 0; r < rows; ++r) {
      if (op == anima::kernels::ReduceOp::Sum) {
        if (std::isnan(want[r])) {
          EXPECT_TRUE(std::isnan(got[r])) << "row " << r;
        } else {
          // Both sum in double; only the order differs (see kernels/cuda/reduce.cuh): the double sums
          // differ by at most cols * 2^-52 * Σ|x|, then float rounding adds up to 1 ulp.
          double sum_abs = 0;
          for (std::int64_t c = 0; c < cols; ++c) sum_abs += std::fabs(double(x[r * cols + c]));
          const double tol =
              (sizeof(T) == 4 ? std::fabs(double(want[r])) * 1.2e-7 : 0.0) + double(cols) * 2.3e-16 * sum_abs + 1e-300;
          EXPECT_NEAR(double(got[r]), double(want[r]), tol) << "sum row " << r;
        }
      } else {
        const bool nan_want = std::isnan(want[r]);
        EXPECT_EQ(std::isnan(got[r]), nan_want) << "row " << r;
        if (!nan_want) {
          EXPECT_EQ(got[r], want[r]) << "row " << r;
          EXPECT_EQ(std::signbit(got[r]), std::signbit(want[r])) << "row " << r;
        }
        EXPECT_EQ(got_idx[r], want_idx[r]) << "row " << r << " op " << static_cast<int>(op);
      }
    }
  }
}

TEST(CudaReduce, MatchesCpuForShortAndLongRows) {
  ANIMA_SKIP_WITHOUT_GPU();
  for (const auto& rc : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {1, 1}, {3, 5}, {1000, 7}, {70000, 3}, {5, 1024}, {5, 1025}, {3, 100000}, {1, 1 << 20}}) {
    check_reduce<float>(rc.first, rc.second);
    check_reduce<double>(rc.first, rc.second);
  }
  // Sum of an empty row is 0; max of an empty row is refused (the op says why before it gets here).
  DeviceBuffer<float> y(4);
  ANIMA_CUDA_CHECK(kc::reduce_rows<float>(anima::kernels::ReduceOp::Sum, nullptr, 4, 0, y.get(), nullptr, nullptr));
  EXPECT_EQ(y.download(), std::vector<float>(4, 0.f));
  EXPECT_EQ(kc::reduce_rows<float>(anima::kernels::ReduceOp::Max, nullptr, 4, 0, y.get(), nullptr, nullptr),
            cudaErrorInvalidValue);
}

template <class T>
void check_random(double normal_tol) {
  const std::int64_t n = 100003;
  const std::uint64_t seed = 0x123456789abcdefull, offset = (std::uint64_t(1) << 32) - 17;  // counter crosses 2^32
  DeviceBuffer<T> dy(n);
  std::vector<T> want(n);
  ANIMA_CUDA_CHECK(kc::random_uniform<T>(dy.get(), n, seed, offset, T(-3), T(5), nullptr));
  kcpu::random_uniform<T>(want.data(), n, seed, offset, T(-3), T(5), anima::default_parallel());
  std::vector<T> got = dy.download();
  EXPECT_EQ(std::memcmp(got.data(), want.data(), n * sizeof(T)), 0) << "uniform draws are not bit-identical";
  ANIMA_CUDA_CHECK(kc::random_normal<T>(dy.get(), n, seed, offset, T(1), T(2), nullptr));
  kcpu::random_normal<T>(want.data(), n, seed, offset, T(1), T(2), anima::default_parallel());
  got = dy.download();
  int bad = 0;
  for (std::int64_t i = 0; i < n && bad < 5; ++i)
    if (!(std::fabs(double(got[i]) - double(want[i])) <= normal_tol * (1.0 + std::fabs(double(want[i]))))) {
      ADD_FAILURE() << "normal[" << i << "] = " << got[i] << ", cpu " << want[i];
      ++bad;
    }
}

TEST(CudaRandom, UniformBitIdenticalAndNormalCloseToCpu) {
  ANIMA_SKIP_WITHOUT_GPU();
  check_random<float>(1e-5);  // logf/cosf: a few ulp; sqrt(-2 ln u) amplifies near u -> 1
  check_random<double>(1e-12);
}

TEST(CudaElementwise, StridedBroadcastMatchesCpu) {
  ANIMA_SKIP_WITHOUT_GPU();
  // Output [4, 3, 5]; a is a transposed [5, 3, 4] buffer; b broadcasts a [3, 1] buffer.
  Layout lo;
  lo.ndim = 3;
  lo.sizes[0] = 4;
  lo.sizes[1] = 3;
  lo.sizes[2] = 5;
  Layout la = lo, lb = lo;
  la.contiguous = lb.contiguous = false;
  la.strides[0] = 1;
  la.strides[1] = 4;
  la.strides[2] = 12;
  lb.strides[0] = 0;
  lb.strides[1] = 1;
  lb.strides[2] = 0;
  lo.strides[0] = 15;
  lo.strides[1] = 5;
  lo.strides[2] = 1;
  const std::int64_t n = 60;
  std::vector<double> a = lcg_values<double>(60, 31), b = lcg_values<double>(3, 32);
  a[7] = std::numeric_limits<double>::quiet_NaN();
  DeviceBuffer<double> da(a), db(b), dy(n);
  DeviceBuffer<std::uint8_t> dyb_bytes(n);  // bool storage (std::vector<bool> has no data())
  bool* dyb = reinterpret_cast<bool*>(dyb_bytes.get());
  std::vector<double> want(n);
  for (const auto op : {anima::kernels::BinaryOp::Add, anima::kernels::BinaryOp::Div, anima::kernels::BinaryOp::Maximum,
                        anima::kernels::BinaryOp::Minimum}) {
    ANIMA_CUDA_CHECK(kc::binary<double>(op, da.get(), la, db.get(), lb, dy.get(), n, nullptr));
    kcpu::binary<double>(op, a.data(), la, b.data(), lb, want.data(), n, anima::default_parallel());
    const auto got = dy.download();
    for (std::int64_t i = 0; i < n; ++i)
      if (std::isnan(want[i]))
        EXPECT_TRUE(std::isnan(got[i]));
      else
        EXPECT_EQ(got[i], want[i]) << i;
  }
  for (const auto op : {anima::kernels::UnaryOp::Relu, anima::kernels::UnaryOp::Exp, anima::kernels::UnaryOp::Clamp}) {
    ANIMA_CUDA_CHECK(kc::unary<double>(op, -0.25, 0.5, da.get(), la, dy.get(), n, nullptr));
    kcpu::unary<double>(op, -0.25, 0.5, a.data(), la, want.data(), n, anima::default_parallel());
    const auto got = dy.download();
    for (std::int64_t i = 0; i < n; ++i)
      if (std::isnan(want[i]))
        EXPECT_TRUE(std::isnan(got[i]));
      else
        EXPECT_NEAR(got[i], want[i], 1e-15 * (1 + std::fabs(want[i])));
  }
  ANIMA_CUDA_CHECK(kc::compare<double>(anima::kernels::CompareOp::Lt, da.get(), la, db.get(), lb, dyb, n, nullptr));
  std::unique_ptr<bool[]> want_b(new bool[n]);
  kcpu::compare<double>(anima::kernels::CompareOp::Lt, a.data(), la, b.data(), lb, want_b.get(), n,
                        anima::default_parallel());
  const auto got_b = dyb_bytes.download();
  for (std::int64_t i = 0; i < n; ++i) EXPECT_EQ(got_b[i] != 0, want_b[i]) << i;
  ANIMA_CUDA_CHECK(kc::where<double>(dyb, lo, da.get(), la, db.get(), lb, dy.get(), n, nullptr));
  kcpu::where<double>(want_b.get(), lo, a.data(), la, b.data(), lb, want.data(), n, anima::default_parallel());
  const auto got_w = dy.download();
  for (std::int64_t i = 0; i < n; ++i)
    if (std::isnan(want[i]))
      EXPECT_TRUE(std::isnan(got_w[i]));
    else
      EXPECT_EQ(got_w[i], want[i]) << i;
}

TEST(CudaCopy, StridedCopyCastAndFillMatchCpu) {
  ANIMA_SKIP_WITHOUT_GPU();
  Layout l;  // a transposed [3, 4] view of a [4, 3] buffer
  l.ndim = 2;
  l.sizes[0] = 3;
  l.sizes[1] = 4;
  l.strides[0] = 1;
  l.strides[1] = 3;
  l.contiguous = false;
  const std::int64_t n = 12;
  std::vector<float> x = lcg_values<float>(12, 41);
  x[3] = 0.f;
  x[5] = std::numeric_limits<float>::quiet_NaN();
  x[6] = -2.75f;
  DeviceBuffer<float> dx(x), dy(n);
  ANIMA_CUDA_CHECK(kc::strided_copy(4, dx.get(), l, dy.get(), n, nullptr));
  std::vector<float> want(n);
  kcpu::strided_copy(4, x.data(), l, want.data(), n);
  std::vector<float> got = dy.download();
  EXPECT_EQ(std::memcmp(got.data(), want.data(), n * 4), 0);
  Layout contiguous;
  contiguous.ndim = 1;
  contiguous.sizes[0] = n;
  contiguous.strides[0] = 1;
  ANIMA_CUDA_CHECK(kc::strided_copy(4, dx.get(), contiguous, dy.get(), n, nullptr));
  got = dy.download();
  EXPECT_EQ(std::memcmp(got.data(), x.data(), n * 4), 0);
  EXPECT_EQ(kc::strided_copy(3, dx.get(), l, dy.get(), n, nullptr), cudaErrorInvalidValue);  // widths 1, 2, 4, 8

  DeviceBuffer<double> dd(n);
  ANIMA_CUDA_CHECK((kc::cast<float, double>(dx.get(), l, dd.get(), n, nullptr)));
  std::vector<double> want_d(n);
  kcpu::cast<float, double>(x.data(), l, want_d.data(), n);
  const auto got_d = dd.download();
  for (std::int64_t i = 0; i < n; ++i)
    if (std::isnan(want_d[i]))
      EXPECT_TRUE(std::isnan(got_d[i]));
    else
      EXPECT_EQ(got_d[i], want_d[i]);
  DeviceBuffer<std::uint8_t> db_bytes(n);  // bool storage
  bool* db = reinterpret_cast<bool*>(db_bytes.get());
  ANIMA_CUDA_CHECK((kc::cast<float, bool>(dx.get(), l, db, n, nullptr)));
  std::unique_ptr<bool[]> want_b(new bool[n]);
  kcpu::cast<float, bool>(x.data(), l, want_b.get(), n);
  const auto got_b = db_bytes.download();
  for (std::int64_t i = 0; i < n; ++i) EXPECT_EQ(got_b[i] != 0, want_b[i]) << i;
  // NaN excluded: float -> int64 of NaN is undefined in C++ (see kernels/cuda/copy.cuh).
  std::vector<float> finite = x;
  finite[5] = 7.9f;
  dx.upload(finite);
  DeviceBuffer<std::int64_t> di(n);
  ANIMA_CUDA_CHECK((kc::cast<float, std::int64_t>(dx.get(), l, di.get(), n, nullptr)));
  std::vector<std::int64_t> want_i(n);
  kcpu::cast<float, std::int64_t>(finite.data(), l, want_i.data(), n);
  EXPECT_EQ(di.download(), want_i);

  ANIMA_CUDA_CHECK(kc::fill<std::int64_t>(di.get(), n, -5, nullptr));
  EXPECT_EQ(di.download(), std::vector<std::int64_t>(n, -5));
  ANIMA_CUDA_CHECK(kc::fill<bool>(db, n, true, nullptr));
  for (std::uint8_t v : db_bytes.download()) EXPECT_EQ(v, 1);
}

}  // namespace
