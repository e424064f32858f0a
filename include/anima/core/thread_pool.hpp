// anima/core/thread_pool.hpp — a fixed set of persistent worker threads and a blocking parallel_for.
//
// Depends only on the standard library and anima/kernels/parallel.hpp: parallel() and
// default_parallel() hand a pool to the CPU kernels as a kernels::ParallelFor.
//
// Model: one job at a time per pool. parallel_for(begin, end, grain, fn) splits [begin, end) into
// `nchunks = min(size(), max(1, (end - begin) / grain))` contiguous chunks of near-equal length
// (every chunk holds at least `grain` elements unless the whole range is shorter than `grain`).
// The calling thread and the workers take chunks from a shared counter; the call returns when
// every chunk has run. Workers sleep on a condition variable between jobs (no spinning).
//
// Nesting: a parallel_for called from inside a running chunk (on a worker or on the calling thread,
// on this pool or any other) runs the whole range inline on the current thread. This keeps the
// machine from being oversubscribed and makes nested calls deadlock-free.
//
// Exceptions: the first exception thrown by fn is captured, the chunks not yet started are
// skipped, and the exception is rethrown in the caller once every running chunk has finished.
//
// Concurrency: several threads may call parallel_for on the same pool; the calls are serialised.
//
// Determinism: which thread runs which chunk varies from run to run; the chunk boundaries depend
// only on (begin, end, grain, size()), so a fn whose result depends only on its chunk is
// run-to-run deterministic.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <anima/kernels/parallel.hpp>

namespace anima {

namespace thread_pool_detail {
// Depth of parallel regions the current thread is inside (0 = not inside any chunk).
inline thread_local int parallel_depth = 0;

struct DepthGuard {
  DepthGuard() { ++parallel_depth; }
  ~DepthGuard() { --parallel_depth; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;
};
}  // namespace thread_pool_detail

// Parses a thread count as given in ANIMA_NUM_THREADS: optional surrounding spaces/tabs around a
// positive decimal integer (an optional leading '+' is accepted). Returns the value, or 0 when
// `text` is null, empty, non-numeric, has trailing garbage, is <= 0, or exceeds 65536
// (a count that large is a typo, not a machine).
inline int parse_num_threads(const char* text) {
  if (text == nullptr) return 0;
  const char* p = text;
  while (*p == ' ' || *p == '\t') ++p;
  if (*p == '+') ++p;
  if (*p < '0' || *p > '9') return 0;
  long long value = 0;
  while (*p >= '0' && *p <= '9') {
    value = value * 10 + (*p - '0');
    if (value > 65536) return 0;
    ++p;
  }
  while (*p == ' ' || *p == '\t') ++p;
  if (*p != '\0' || value <= 0) return 0;
  return static_cast<int>(value);
}

// ANIMA_NUM_THREADS if it parses as a positive integer, else std::thread::hardware_concurrency()
// (which may report 0 when unknown; the result is always >= 1).
inline int default_num_threads() {
  const int from_env = parse_num_threads(std::getenv("ANIMA_NUM_THREADS"));
  if (from_env > 0) return from_env;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

class ThreadPool {
 public:
  using ChunkFn = std::function<void(int64_t, int64_t)>;

  // num_threads counts the calling thread: the pool starts num_threads - 1 workers.
  // num_threads <= 1 means every parallel_for runs inline on the caller.
  explicit ThreadPool(int num_threads) : num_threads_(std::max(1, num_threads)) {
    workers_.reserve(static_cast<size_t>(num_threads_ - 1));
    for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return num_threads_; }

  // This pool as the ParallelFor a CPU kernel takes (the pool must outlive it).
  kernels::ParallelFor parallel() {
    return kernels::ParallelFor(
        this,
        [](void* pool, int64_t begin, int64_t end, int64_t grain, const ChunkFn& fn) {
          static_cast<ThreadPool*>(pool)->parallel_for(begin, end, grain, fn);
        },
        num_threads_);
  }

  void parallel_for(int64_t begin, int64_t end, int64_t grain, const ChunkFn& fn) {
    if (end <= begin) return;
    const int64_t n = end - begin;
    grain = std::max<int64_t>(grain, 1);
    const int64_t nchunks = std::min<int64_t>(num_threads_, std::max<int64_t>(1, n / grain));
    if (nchunks == 1 || thread_pool_detail::parallel_depth > 0) {
      thread_pool_detail::DepthGuard guard;
      fn(begin, end);
      return;
    }

    std::lock_guard<std::mutex> submit(submit_mutex_);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_fn_ = &fn;
      job_begin_ = begin;
      job_base_ = n / nchunks;
      job_rem_ = n % nchunks;
      job_nchunks_ = nchunks;
      next_chunk_.store(0, std::memory_order_relaxed);
      error_ = nullptr;
      workers_pending_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    work_cv_.notify_all();

    run_chunks();

    std::exception_ptr error;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      done_cv_.wait(lock, [this] { return workers_pending_ == 0; });
      job_fn_ = nullptr;
      error = error_;
      error_ = nullptr;
    }
    if (error) std::rethrow_exception(error);
  }

 private:
  // Runs chunks of the current job until none are left. Called by the caller and each worker.
  void run_chunks() {
    thread_pool_detail::DepthGuard guard;
    for (;;) {
      const int64_t c = next_chunk_.fetch_add(1, std::memory_order_relaxed);
      if (c >= job_nchunks_) return;
      // Chunk c starts after c chunks of length base, the first `rem` of which are one longer.
      const int64_t lo = job_begin_ + c * job_base_ + std::min(c, job_rem_);
      const int64_t hi = lo + job_base_ + (c < job_rem_ ? 1 : 0);
      try {
        (*job_fn_)(lo, hi);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
        next_chunk_.store(job_nchunks_, std::memory_order_relaxed);  // skip chunks not yet started
      }
    }
  }

  void worker_loop() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      run_chunks();
      bool last = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        last = (--workers_pending_ == 0);
      }
      if (last) done_cv_.notify_one();
    }
  }

  const int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex submit_mutex_;  // serialises concurrent parallel_for calls on this pool
  std::mutex mutex_;         // guards the fields below (job fields are written under it)
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  uint64_t generation_ = 0;
  bool stop_ = false;
  int workers_pending_ = 0;
  std::exception_ptr error_;
  // Current job; read by workers after they observe the new generation under mutex_.
  const ChunkFn* job_fn_ = nullptr;
  int64_t job_begin_ = 0;
  int64_t job_base_ = 0;
  int64_t job_rem_ = 0;
  int64_t job_nchunks_ = 0;
  std::atomic<int64_t> next_chunk_{0};
};

// The process-wide pool, created on first use with default_num_threads() threads and joined at
// exit. Do not call it from static destructors that run after it has been destroyed.
inline ThreadPool& default_thread_pool() {
  static ThreadPool pool(default_num_threads());
  return pool;
}

// default_thread_pool() as the ParallelFor a CPU kernel takes.
inline kernels::ParallelFor default_parallel() { return default_thread_pool().parallel(); }

// parallel_for on default_thread_pool().
inline void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  default_thread_pool().parallel_for(begin, end, grain, fn);
}

}  // namespace anima
