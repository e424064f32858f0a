// Tests for anima/kernels/cpu/gemm*.hpp, anima/core/thread_pool.hpp and anima/kernels/parallel.hpp.
//
// GEMM: gemm_packed (every ISA this CPU supports x 1 and 4 threads) against gemm_reference run in
// a wider type (float -> double, double -> long double), so the oracle's own rounding is
// negligible. Tolerance, per element of C:
//     |packed - ref| <= (K + 2) * eps(T) * scale_ij,
//     scale_ij = |alpha| * sum_p |op(A)_ip| |op(B)_pj| + |beta| |C_ij|
// This is the classic worst-case bound for a K-term dot product (gamma_K, Higham, "Accuracy and
// Stability of Numerical Algorithms", 3.1) plus two roundings for alpha (folded into packed A) and
// the beta update. It holds for any summation order, so it never flakes, yet a missing or doubled
// term (size ~ scale / K) exceeds it by orders of magnitude. The scale is computed by the same
// reference on |A|, |B|, |C|.
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/gemm.hpp>
#include <anima/kernels/parallel.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace cpu = anima::kernels::cpu;
using anima::ThreadPool;
using anima::kernels::ParallelFor;

// ---------------------------------------------------------------------------------------------
// GEMM helpers

template <class T>
struct Wider;
template <>
struct Wider<float> {
  using type = double;
};
template <>
struct Wider<double> {
  using type = long double;
};

struct AlignedFree {
  void operator()(void* p) const { ::operator delete(p, std::align_val_t(64)); }
};

// Workspace of exactly the advertised size, so AddressSanitizer catches any overrun.
std::unique_ptr<unsigned char, AlignedFree> make_workspace(size_t bytes) {
  if (bytes == 0) return nullptr;
  return std::unique_ptr<unsigned char, AlignedFree>(
      static_cast<unsigned char*>(::operator new(bytes, std::align_val_t(64))));
}

struct GemmCase {
  int64_t M, N, K;
  bool ta, tb;
  double alpha, beta;
  int64_t pad;  // extra elements per row in every ld (ld > width)
};

std::string describe(const GemmCase& c) {
  return "M=" + std::to_string(c.M) + " N=" + std::to_string(c.N) + " K=" + std::to_string(c.K) +
         " ta=" + std::to_string(c.ta) + " tb=" + std::to_string(c.tb) + " alpha=" + std::to_string(c.alpha) +
         " beta=" + std::to_string(c.beta) + " pad=" + std::to_string(c.pad);
}

const std::vector<cpu::GemmIsa>& supported_isas() {
  static const std::vector<cpu::GemmIsa> isas = [] {
    std::vector<cpu::GemmIsa> v;
    for (cpu::GemmIsa isa : {cpu::GemmIsa::avx512f, cpu::GemmIsa::avx2_fma, cpu::GemmIsa::portable})
      if (cpu::gemm_packed_isa_supported(isa)) v.push_back(isa);
    return v;
  }();
  return isas;
}

// Restores automatic ISA selection when a test ends, even on failure.
struct IsaGuard {
  ~IsaGuard() { cpu::gemm_packed_force_isa(cpu::GemmIsa::automatic); }
};

// Runs one case on every ISA x {serial, pool of 1, pool of 4}; checks the tolerance above, that
// the padding of C (columns N..ldc) is never touched, and that the result does not depend on the
// thread count when beta is 0 or 1 (see "Determinism" in gemm_packed.hpp).
template <class T>
void check_case(const GemmCase& c) {
  using W = typename Wider<T>::type;
  SCOPED_TRACE(describe(c));
  const int64_t a_rows = c.ta ? c.K : c.M, a_cols = c.ta ? c.M : c.K;
  const int64_t b_rows = c.tb ? c.N : c.K, b_cols = c.tb ? c.K : c.N;
  const int64_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.N + c.pad;

  std::mt19937 rng(static_cast<unsigned>(c.M * 7919 + c.N * 104729 + c.K * 31 + c.ta * 2 + c.tb));
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  auto fill = [&](std::vector<T>& v) {
    for (T& x : v) x = static_cast<T>(dist(rng));
  };
  std::vector<T> A(static_cast<size_t>(std::max<int64_t>(1, a_rows * lda)));
  std::vector<T> B(static_cast<size_t>(std::max<int64_t>(1, b_rows * ldb)));
  std::vector<T> C0(static_cast<size_t>(c.M * ldc));
  fill(A);
  fill(B);
  fill(C0);
  const T alpha = static_cast<T>(c.alpha), beta = static_cast<T>(c.beta);
  if (beta == T(0))  // beta == 0 must not read C: poison it
    for (T& x : C0) x = std::numeric_limits<T>::quiet_NaN();
  const T sentinel = T(12345.0);
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = c.N; j < ldc; ++j) C0[i * ldc + j] = sentinel;

  // Oracle and error scale in the wider type.
  std::vector<W> Aw(A.begin(), A.end()), Bw(B.begin(), B.end()), ref(C0.begin(), C0.end());
  cpu::gemm_reference<W>(c.ta, c.tb, c.M, c.N, c.K, W(alpha), Aw.data(), lda, Bw.data(), ldb, W(beta), ref.data(), ldc);
  for (W& x : Aw) x = std::fabs(x);
  for (W& x : Bw) x = std::fabs(x);
  std::vector<W> scale(C0.size());
  for (size_t i = 0; i < C0.size(); ++i) scale[i] = std::fabs(W(C0[i]));
  cpu::gemm_reference<W>(c.ta, c.tb, c.M, c.N, c.K, W(std::fabs(alpha)), Aw.data(), lda, Bw.data(), ldb,
                         W(std::fabs(beta)), scale.data(), ldc);
  const W tol_factor = W(c.K + 2) * W(std::numeric_limits<T>::epsilon());

  IsaGuard guard;
  ThreadPool pool1(1), pool4(4);
  for (cpu::GemmIsa isa : supported_isas()) {
    ASSERT_TRUE(cpu::gemm_packed_force_isa(isa));
    SCOPED_TRACE(std::string("isa=") + cpu::gemm_packed_config<T>().name);
    std::vector<T> first;
    const std::pair<const char*, ParallelFor> runs[] = {
        {"serial", ParallelFor()}, {"pool of 1", pool1.parallel()}, {"pool of 4", pool4.parallel()}};
    for (const auto& [how, parallel] : runs) {
      const int threads = parallel.size();
      SCOPED_TRACE("threads=" + std::to_string(threads) + " (" + how + ")");
      auto ws = make_workspace(cpu::gemm_packed_workspace_bytes<T>(c.M, c.N, c.K, threads));
      std::vector<T> C = C0;
      cpu::gemm_packed<T>(c.ta, c.tb, c.M, c.N, c.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc, ws.get(),
                          parallel);
      int64_t bad = 0;
      for (int64_t i = 0; i < c.M; ++i) {
        for (int64_t j = 0; j < ldc; ++j) {
          const size_t k = static_cast<size_t>(i * ldc + j);
          if (j >= c.N) {
            if (C[k] != sentinel && bad++ < 5) ADD_FAILURE() << "padding written at " << i << "," << j;
            continue;
          }
          const W err = std::fabs(W(C[k]) - ref[k]);
          const W tol = tol_factor * scale[k];
          if (!(err <= tol) && bad++ < 5)
            ADD_FAILURE() << "C[" << i << "," << j << "] = " << double(C[k]) << ", reference " << double(ref[k])
                          << ", |err| " << double(err) << " > tol " << double(tol);
        }
      }
      ASSERT_EQ(bad, 0);
      // The same product with A packed once beforehand (gemm_packed_pack_a): the packed values are the
      // ones the GEMM packs itself, so the result is bitwise the same.
      const int64_t packed_elements = cpu::gemm_packed_a_elements<T>(c.M, c.K, isa);
      auto packed = make_workspace(static_cast<size_t>(std::max<int64_t>(1, packed_elements)) * sizeof(T));
      const cpu::GemmPrepackedA<T> pre = cpu::gemm_packed_pack_a<T>(c.ta, c.M, c.K, alpha, A.data(), lda,
                                                                   reinterpret_cast<T*>(packed.get()), isa);
      EXPECT_EQ(pre.isa, isa);
      std::vector<T> C_pre = C0;
      cpu::gemm_packed<T>(c.ta, c.tb, c.M, c.N, c.K, alpha, A.data(), lda, B.data(), ldb, beta, C_pre.data(), ldc,
                          ws.get(), parallel, pre);
      ASSERT_EQ(0, std::memcmp(C.data(), C_pre.data(), C.size() * sizeof(T))) << "prepacked A differs";
      if (beta == T(0) || beta == T(1)) {
        if (first.empty())
          first = C;
        else
          ASSERT_EQ(0, std::memcmp(first.data(), C.data(), C.size() * sizeof(T)))
              << "result depends on the thread count";
      }
    }
  }
}

std::vector<GemmCase> small_cases() {
  const int64_t shapes[][3] = {{1, 1, 1},    {1, 7, 3},   {5, 1, 9},   {2, 3, 4},   {13, 31, 17},
                               {14, 32, 8},  {15, 33, 9}, {6, 16, 5},  {7, 17, 5},  {37, 53, 29},
                               {64, 64, 64}, {29, 3, 71}, {3, 70, 45}, {1, 129, 64}};
  const double alphas[] = {1.0, -0.75};
  const double betas[] = {0.0, 1.0, 0.5};
  std::vector<GemmCase> cases;
  for (const auto& s : shapes)
    for (int t = 0; t < 4; ++t)
      for (double alpha : alphas)
        for (double beta : betas)
          cases.push_back({s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, alpha, beta,
                           (s[0] + s[1]) % 3 == 0 ? int64_t(0) : int64_t(5)});
  return cases;
}

// Shapes that cross every cache block (MC, KC, NC) of every ISA, and are big enough to be threaded.
template <class T>
std::vector<GemmCase> blocked_cases() {
  int64_t mc = 0, kc = 0, nc = 0, mr = 1, nr = 1;
  for (cpu::GemmIsa isa : supported_isas()) {
    const auto& cfg = cpu::gemm_packed_config<T>(isa);
    mc = std::max(mc, cfg.mc), kc = std::max(kc, cfg.kc), nc = std::max(nc, cfg.nc);
    mr = std::max<int64_t>(mr, cfg.mr), nr = std::max<int64_t>(nr, cfg.nr);
  }
  std::vector<GemmCase> cases;
  for (int t = 0; t < 4; ++t) {
    const bool ta = (t & 1) != 0, tb = (t & 2) != 0;
    cases.push_back({2 * mc + 3, 3 * nr + 5, kc + 7, ta, tb, 1.0, 0.0, 3});  // M and K blocks
    cases.push_back({150, 170, 130, ta, tb, -1.5, 0.25, 0});                 // threaded, beta
    cases.push_back({mr + 1, nc + 5, 33, ta, tb, 1.0, 1.0, 1});              // N blocks
  }
  cases.push_back({301, 257, 2 * kc + 1, false, false, 0.5, 1.0, 0});  // several K blocks
  return cases;
}

TEST(GemmPacked, FloatSmallShapesAllTransposesAlphaBeta) {
  for (const GemmCase& c : small_cases()) check_case<float>(c);
}

TEST(GemmPacked, DoubleSmallShapesAllTransposesAlphaBeta) {
  for (const GemmCase& c : small_cases()) check_case<double>(c);
}

TEST(GemmPacked, FloatShapesCrossingCacheBlocks) {
  for (const GemmCase& c : blocked_cases<float>()) check_case<float>(c);
}

TEST(GemmPacked, DoubleShapesCrossingCacheBlocks) {
  for (const GemmCase& c : blocked_cases<double>()) check_case<double>(c);
}

TEST(GemmPacked, KZeroScalesCByBeta) {
  for (double beta : {0.0, 1.0, -2.0})
    for (int t = 0; t < 4; ++t) check_case<float>({9, 11, 0, (t & 1) != 0, (t & 2) != 0, 1.0, beta, 2});
}

TEST(GemmPacked, AlphaZeroScalesCByBeta) {
  for (double beta : {0.0, 3.0}) check_case<double>({20, 40, 30, false, true, 0.0, beta, 0});
}

TEST(GemmPacked, EmptyMOrNIsANoOp) {
  float c = 7.0f, a = 1.0f, b = 1.0f;
  cpu::gemm_packed<float>(false, false, 0, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1, nullptr, ParallelFor());
  cpu::gemm_packed<float>(false, false, 1, 0, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1, nullptr, ParallelFor());
  EXPECT_EQ(c, 7.0f);
}

TEST(GemmPacked, IsaSelection) {
  IsaGuard guard;
  const std::string automatic = cpu::gemm_packed_isa();
  EXPECT_TRUE(automatic == "avx512f" || automatic == "avx2+fma" || automatic == "portable");
  if (cpu::cpu_supports_avx512f()) {
    EXPECT_EQ(automatic, "avx512f");
  }
  ASSERT_TRUE(cpu::gemm_packed_force_isa(cpu::GemmIsa::portable));
  EXPECT_STREQ(cpu::gemm_packed_isa(), "portable");
  if (!cpu::cpu_supports_avx2_fma()) {
    EXPECT_FALSE(cpu::gemm_packed_force_isa(cpu::GemmIsa::avx2_fma));
    EXPECT_STREQ(cpu::gemm_packed_isa(), "portable");  // unchanged after a refused force
  }
  ASSERT_TRUE(cpu::gemm_packed_force_isa(cpu::GemmIsa::automatic));
  EXPECT_EQ(automatic, cpu::gemm_packed_isa());
}

TEST(GemmReference, SmallExampleByHand) {
  // [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50]; C = 2 * that + 1 * [1 1; 1 1].
  const double A[] = {1, 2, 3, 4}, B[] = {5, 6, 7, 8};
  double C[] = {1, 1, 1, 1};
  cpu::gemm_reference<double>(false, false, 2, 2, 2, 2.0, A, 2, B, 2, 1.0, C, 2);
  EXPECT_EQ(C[0], 39);
  EXPECT_EQ(C[1], 45);
  EXPECT_EQ(C[2], 87);
  EXPECT_EQ(C[3], 101);
  // A^T * B^T = (B A)^T: B A = [23 34; 31 46].
  cpu::gemm_reference<double>(true, true, 2, 2, 2, 1.0, A, 2, B, 2, 0.0, C, 2);
  EXPECT_EQ(C[0], 23);
  EXPECT_EQ(C[1], 31);
  EXPECT_EQ(C[2], 34);
  EXPECT_EQ(C[3], 46);
}

// ---------------------------------------------------------------------------------------------
// ThreadPool

TEST(ThreadPool, CoversEveryIndexExactlyOnceInChunksOfAtLeastGrain) {
  for (int threads : {1, 2, 4, 7}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {1, 2, 3, 10, 100, 1001}) {
      for (int64_t grain : {1, 3, 64, 5000}) {
        const int64_t begin = -17;
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<int> chunks{0};
        std::atomic<bool> short_chunk{false};
        pool.parallel_for(begin, begin + n, grain, [&](int64_t lo, int64_t hi) {
          ++chunks;
          if (hi - lo < std::min(grain, n)) short_chunk = true;
          for (int64_t i = lo; i < hi; ++i) ++hits[static_cast<size_t>(i - begin)];
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << i;
        EXPECT_FALSE(short_chunk);
        EXPECT_LE(chunks.load(), threads);
      }
    }
  }
}

TEST(ThreadPool, EmptyRangeCallsNothing) {
  ThreadPool pool(3);
  int calls = 0;
  pool.parallel_for(5, 5, 1, [&](int64_t, int64_t) { ++calls; });
  pool.parallel_for(5, 2, 1, [&](int64_t, int64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(ThreadPool, ChunksRunConcurrently) {
  // Two chunks that each wait for the other can only both finish if they run at the same time.
  ThreadPool pool(2);
  std::atomic<int> arrived{0};
  std::atomic<bool> timed_out{false};
  pool.parallel_for(0, 2, 1, [&](int64_t, int64_t) {
    ++arrived;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (arrived.load() < 2) {
      if (std::chrono::steady_clock::now() > deadline) {
        timed_out = true;
        return;
      }
      std::this_thread::yield();
    }
  });
  EXPECT_FALSE(timed_out);
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> hits(16 * 16);
  pool.parallel_for(0, 16, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const std::thread::id outer = std::this_thread::get_id();
      pool.parallel_for(0, 16, 1, [&](int64_t lo2, int64_t hi2) {
        EXPECT_EQ(std::this_thread::get_id(), outer);  // inline on the same thread
        for (int64_t j = lo2; j < hi2; ++j) ++hits[static_cast<size_t>(i * 16 + j)];
      });
      anima::parallel_for(0, 4, 1, [&](int64_t, int64_t) {
        EXPECT_EQ(std::this_thread::get_id(), outer);  // other pools too
      });
    }
  });
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
}

TEST(ThreadPool, FirstExceptionIsRethrownAndPoolStaysUsable) {
  ThreadPool pool(4);
  for (int round = 0; round < 3; ++round) {
    EXPECT_THROW(pool.parallel_for(0, 100, 1,
                                   [&](int64_t lo, int64_t) {
                                     if (lo >= 50) throw std::runtime_error("chunk failed");
                                   }),
                 std::runtime_error);
  }
  try {
    pool.parallel_for(0, 4, 1, [](int64_t, int64_t) { throw std::invalid_argument("bad"); });
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "bad");
  }
  std::atomic<int64_t> sum{0};
  pool.parallel_for(0, 1000, 10, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) sum += i;
  });
  EXPECT_EQ(sum.load(), 999 * 1000 / 2);
  // An inline (single-thread) pool propagates exceptions as well.
  ThreadPool inline_pool(1);
  EXPECT_THROW(inline_pool.parallel_for(0, 10, 1, [](int64_t, int64_t) { throw 42; }), int);
}

TEST(ThreadPool, ConcurrentCallersAreSerialised) {
  ThreadPool pool(3);
  std::atomic<int64_t> total{0};
  auto caller = [&] {
    for (int r = 0; r < 200; ++r) pool.parallel_for(0, 64, 1, [&](int64_t lo, int64_t hi) { total += hi - lo; });
  };
  std::thread t1(caller), t2(caller);
  t1.join();
  t2.join();
  EXPECT_EQ(total.load(), 2 * 200 * 64);
}

TEST(ThreadPool, ManyShortJobs) {
  ThreadPool pool(4);
  int64_t total = 0;
  std::vector<int64_t> part(4);
  for (int r = 0; r < 2000; ++r) {
    std::fill(part.begin(), part.end(), 0);
    pool.parallel_for(0, 4, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) part[static_cast<size_t>(i)] = i + 1;
    });
    for (int64_t v : part) total += v;
  }
  EXPECT_EQ(total, 2000 * 10);
}

TEST(ThreadPool, ParseNumThreads) {
  // A positive decimal count up to 65536, surrounding blanks allowed; anything else (null, empty,
  // zero, negative, trailing text, fractions, out of range) is 0.
  const std::vector<std::pair<const char*, int>> cases = {{"4", 4},
                                                          {"1", 1},
                                                          {" 8\t", 8},
                                                          {"+3", 3},
                                                          {"012", 12},
                                                          {"65536", 65536},
                                                          {nullptr, 0},
                                                          {"", 0},
                                                          {"  ", 0},
                                                          {"0", 0},
                                                          {"-2", 0},
                                                          {"abc", 0},
                                                          {"4x", 0},
                                                          {"4 4", 0},
                                                          {"2.5", 0},
                                                          {"65537", 0},
                                                          {"99999999999999999999999", 0}};
  for (const auto& c : cases) EXPECT_EQ(anima::parse_num_threads(c.first), c.second) << (c.first ? c.first : "null");
}

TEST(ThreadPool, DefaultNumThreadsReadsEnvironment) {
  const char* old = std::getenv("ANIMA_NUM_THREADS");
  const std::string saved = old ? old : "";
  ASSERT_EQ(setenv("ANIMA_NUM_THREADS", "3", 1), 0);
  EXPECT_EQ(anima::default_num_threads(), 3);
  ASSERT_EQ(setenv("ANIMA_NUM_THREADS", "lots", 1), 0);
  const unsigned hw = std::thread::hardware_concurrency();
  EXPECT_EQ(anima::default_num_threads(), hw == 0 ? 1 : static_cast<int>(hw));
  ASSERT_EQ(unsetenv("ANIMA_NUM_THREADS"), 0);
  EXPECT_GE(anima::default_num_threads(), 1);
  if (old) setenv("ANIMA_NUM_THREADS", saved.c_str(), 1);
}

TEST(ThreadPool, DefaultPoolIsSharedAndWorks) {
  EXPECT_EQ(&anima::default_thread_pool(), &anima::default_thread_pool());
  EXPECT_GE(anima::default_thread_pool().size(), 1);
  std::atomic<int64_t> sum{0};
  anima::parallel_for(0, 100, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) sum += i;
  });
  EXPECT_EQ(sum.load(), 4950);
}

// ---------------------------------------------------------------------------------------------
// ParallelFor

TEST(ParallelFor, SerialRunsTheWholeRangeInlineOnce) {
  const ParallelFor serial;
  EXPECT_EQ(serial.size(), 1);
  std::vector<std::pair<int64_t, int64_t>> chunks;
  const std::thread::id caller = std::this_thread::get_id();
  serial(-3, 1000, 1, [&](int64_t lo, int64_t hi) {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    chunks.emplace_back(lo, hi);
  });
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0], std::make_pair(int64_t{-3}, int64_t{1000}));
  serial(5, 5, 1, [&](int64_t, int64_t) { ADD_FAILURE() << "empty range ran"; });
  serial(5, 2, 1, [&](int64_t, int64_t) { ADD_FAILURE() << "reversed range ran"; });
}

TEST(ParallelFor, OfAPoolCutsTheSameChunksAsThePool) {
  for (int threads : {1, 3, 4}) {
    ThreadPool pool(threads);
    const ParallelFor parallel = pool.parallel();
    EXPECT_EQ(parallel.size(), threads);
    for (int64_t grain : {0, 1, 7, 5000}) {
      std::mutex mutex;
      std::vector<std::pair<int64_t, int64_t>> from_pool, from_parallel;
      pool.parallel_for(2, 103, grain, [&](int64_t lo, int64_t hi) {
        std::lock_guard<std::mutex> lock(mutex);
        from_pool.emplace_back(lo, hi);
      });
      parallel(2, 103, grain, [&](int64_t lo, int64_t hi) {
        std::lock_guard<std::mutex> lock(mutex);
        from_parallel.emplace_back(lo, hi);
      });
      std::sort(from_pool.begin(), from_pool.end());
      std::sort(from_parallel.begin(), from_parallel.end());
      EXPECT_EQ(from_parallel, from_pool) << "threads " << threads << ", grain " << grain;
    }
    EXPECT_THROW(parallel(0, 8, 1, [](int64_t, int64_t) { throw std::invalid_argument("bad"); }),
                 std::invalid_argument);
  }
}

TEST(ParallelFor, DefaultParallelRunsOnTheDefaultPool) {
  EXPECT_EQ(anima::default_parallel().size(), anima::default_thread_pool().size());
  std::atomic<int64_t> sum{0};
  anima::default_parallel()(0, 100, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) sum += i;
  });
  EXPECT_EQ(sum.load(), 4950);
}

}  // namespace
