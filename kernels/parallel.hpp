// anima/kernels/parallel.hpp — ParallelFor: the parallel loop a CPU kernel is handed by its caller.
//
// Every CPU kernel that runs work in parallel takes a `const ParallelFor& parallel` as its last
// parameter (internal helpers that take a body callback: just before the callback) and uses nothing
// else for threads; kernels never reach a thread pool themselves, and it has no default. The caller
// picks the threads: anima::default_parallel() (the process-wide pool),
// ThreadPool::parallel() (a given pool), or ParallelFor{} (serial, on the calling thread).
//
// Contract of parallel(begin, end, grain, body), what a kernel may assume:
//   - begin >= end: body is not called.
//   - Otherwise [begin, end) is cut into nchunks = min(size(), max(1, (end - begin) / grain))
//     contiguous chunks of near-equal length (grain < 1 counts as 1), and body(lo, hi) runs once per
//     chunk: the chunks cover [begin, end) exactly once. The chunk boundaries depend only on
//     (begin, end, grain, size()), so a body whose result depends only on its chunk is run-to-run
//     deterministic; which thread runs which chunk is not.
//   - Chunks may run concurrently on different threads, one of them the calling thread: body must
//     only write what its chunk owns. The call returns once every chunk has finished.
//   - size() is the thread count, the most chunks one call makes (1 for serial): kernels size their
//     per-thread workspace slots by it.
//   - Nesting is allowed and never deadlocks: called from inside a body that a thread pool is running,
//     a ParallelFor runs its whole range inline on the current thread (no oversubscription). The
//     serial ParallelFor{} does not open such a region: a pool's ParallelFor called from its body
//     still spreads over the pool.
//   - The first exception thrown by body is rethrown to the caller after the running chunks have
//     finished; chunks not yet started are skipped.
// The serial ParallelFor{} calls body(begin, end) once on the calling thread (when begin < end).
// A ParallelFor refers to its pool without owning it: the pool must outlive every call.
#pragma once

#include <cstdint>
#include <functional>

namespace anima::kernels {

class ParallelFor {
 public:
  using Body = std::function<void(std::int64_t, std::int64_t)>;
  // Runs body over [begin, end) on the threads behind `context`, as described above.
  using RunFn = void (*)(void* context, std::int64_t begin, std::int64_t end, std::int64_t grain, const Body& body);

  // Serial: size() == 1, every call runs body(begin, end) inline.
  ParallelFor() = default;

  // Parallel on `context` (e.g. a thread pool) through `run`, with up to `num_threads` chunks a call.
  ParallelFor(void* context, RunFn run, int num_threads)
      : context_(context), run_(run), num_threads_(num_threads < 1 ? 1 : num_threads) {}

  void operator()(std::int64_t begin, std::int64_t end, std::int64_t grain, const Body& body) const {
    if (end <= begin) return;
    if (run_ == nullptr) {
      body(begin, end);
      return;
    }
    run_(context_, begin, end, grain, body);
  }

  // The most chunks one call runs (the thread count); 1 for the serial ParallelFor.
  int size() const { return num_threads_; }

 private:
  void* context_ = nullptr;
  RunFn run_ = nullptr;
  int num_threads_ = 1;
};

// fn(i) for every i in [0, n) on `parallel`, in chunks of about 32K elements of work (work_per_item
// elements each): the loop over planes or channels the CPU kernels share.
template <class F>
void for_each_item(const ParallelFor& parallel, std::int64_t n, std::int64_t work_per_item, const F& fn) {
  const std::int64_t grain = work_per_item > 0 ? (32768 + work_per_item - 1) / work_per_item : 1;
  parallel(0, n, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) fn(i);
  });
}

}  // namespace anima::kernels
