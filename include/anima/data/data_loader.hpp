// anima/data/data_loader.hpp — batches of a dataset's samples, in a shuffled order that depends only on
// a seed and the epoch, made by worker threads ahead of use (torch.utils.data.DataLoader's job).
//
// Order: epoch e visits the indices 0..N-1 in random_permutation(N, seed, e · 2^32) (a Philox
// Fisher-Yates shuffle, anima/core/generator.hpp), or in order without shuffling; batch b holds
// positions [b·B, (b+1)·B) of it; the last, shorter batch is dropped with drop_last.
// Batches are made by make_batch(request) — on `workers` threads, up to workers · prefetch batches
// ahead of the one being consumed, or on the calling thread with 0 workers — and returned in order:
// the result never depends on the number of workers or on timing, only on (seed, epoch, batch).
// Augmentation randomness should come from sample_seed(seed, epoch, index), so that a sample gets the
// same augmentation whatever its batch or worker.
// position() is {epoch, next batch}: saved in a checkpoint and given back to seek(), a resumed run
// continues with exactly the batches an uninterrupted one would have seen.
// An exception from make_batch is rethrown by next() when that batch's turn comes.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/core/generator.hpp>

namespace anima::data {

struct DataLoaderOptions {
  std::size_t batch_size = 32;
  bool shuffle = true;
  bool drop_last = false;
  std::uint64_t seed = 0;
  int workers = 0;   // threads making batches; 0: on the caller's thread
  int prefetch = 2;  // batches in flight per worker
};

struct LoaderPosition {
  std::uint64_t epoch = 0;
  std::uint64_t batch = 0;  // the next batch next() returns
  bool operator==(const LoaderPosition& o) const { return epoch == o.epoch && batch == o.batch; }
};

struct BatchRequest {
  std::uint64_t epoch = 0, batch = 0;
  std::vector<std::size_t> indices;  // dataset indices, in order
};

// A 64-bit seed for sample `index` in `epoch` (SplitMix64 finalisation of the three).
inline std::uint64_t sample_seed(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) {
  auto mix = [](std::uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  return mix(mix(mix(seed) ^ epoch) ^ index);
}

template <class Batch>
class DataLoader {
 public:
  using MakeBatch = std::function<Batch(const BatchRequest&)>;

  DataLoader(std::size_t dataset_size, DataLoaderOptions options, MakeBatch make_batch)
      : size_(dataset_size), o_(options), make_(std::move(make_batch)) {
    ANIMA_CHECK(o_.batch_size >= 1, "DataLoader", "batch_size must be >= 1, got ", o_.batch_size);
    ANIMA_CHECK(o_.workers >= 0 && o_.prefetch >= 1, "DataLoader", "workers must be >= 0 and prefetch >= 1, got ",
                o_.workers, " and ", o_.prefetch);
    ANIMA_CHECK(dataset_size < (std::size_t{1} << 32), "DataLoader", "at most 2^32 - 1 samples, got ", dataset_size);
    ANIMA_CHECK(batches_per_epoch() >= 1, "DataLoader", dataset_size, " samples make no batch of ", o_.batch_size,
                o_.drop_last ? " with drop_last" : "");
    for (int i = 0; i < o_.workers; ++i) threads_.emplace_back([this] { work(); });
    start_epoch(0);
  }

  ~DataLoader() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_workers_.notify_all();
    for (auto& t : threads_) t.join();
  }
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  std::size_t batches_per_epoch() const {
    return o_.drop_last ? size_ / o_.batch_size : (size_ + o_.batch_size - 1) / o_.batch_size;
  }
  LoaderPosition position() const { return pos_; }

  // Continues from `p` (a position() saved earlier).
  void seek(LoaderPosition p) {
    ANIMA_CHECK(p.batch <= batches_per_epoch(), "DataLoader", "position batch ", p.batch, " is past the ",
                batches_per_epoch(), " batches of an epoch");
    start_epoch(p.epoch);
    pos_.batch = p.batch;
    refill();
  }

  // The dataset indices of epoch `epoch`, in visiting order.
  std::vector<std::size_t> epoch_order(std::uint64_t epoch) const {
    std::vector<std::size_t> order(size_);
    if (!o_.shuffle) {
      for (std::size_t i = 0; i < size_; ++i) order[i] = i;
      return order;
    }
    const auto perm = random_permutation(static_cast<std::int64_t>(size_), o_.seed, epoch << 32);
    for (std::size_t i = 0; i < size_; ++i) order[i] = static_cast<std::size_t>(perm[i]);
    return order;
  }

  // The next batch of the current epoch; nullopt once the epoch is over (then the position is the
  // next epoch's first batch).
  std::optional<Batch> next() {
    if (pos_.batch >= batches_per_epoch()) {
      start_epoch(pos_.epoch + 1);
      return std::nullopt;
    }
    if (threads_.empty()) return make_(request(pos_.batch++));
    refill();  // queues this batch and the ones after it
    const std::uint64_t b = pos_.batch++;
    std::unique_lock<std::mutex> lock(mutex_);
    batch_ready_.wait(lock, [&] { return done_.count(b) != 0; });
    Result r = std::move(done_.at(b));
    done_.erase(b);
    lock.unlock();
    if (r.error) std::rethrow_exception(r.error);
    return std::move(*r.batch);
  }

 private:
  struct Result {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };
  struct Job {
    std::uint64_t generation;
    BatchRequest request;
  };

  BatchRequest request(std::uint64_t b) const {
    BatchRequest r;
    r.epoch = pos_.epoch;
    r.batch = b;
    const std::size_t first = static_cast<std::size_t>(b) * o_.batch_size;
    const std::size_t last = std::min(size_, first + o_.batch_size);
    r.indices.assign(order_.begin() + static_cast<std::ptrdiff_t>(first),
                     order_.begin() + static_cast<std::ptrdiff_t>(last));
    return r;
  }

  // Drops what was queued or made for another position and starts `epoch` at batch 0.
  void start_epoch(std::uint64_t epoch) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++generation_;
      queue_.clear();
      done_.clear();
      queued_until_ = 0;
    }
    pos_ = {epoch, 0};
    order_ = epoch_order(epoch);
    queued_until_ = 0;
  }

  // Queues the batches [position, position + workers · prefetch) not queued yet.
  void refill() {
    if (threads_.empty()) return;
    const std::uint64_t window = static_cast<std::uint64_t>(o_.workers) * static_cast<std::uint64_t>(o_.prefetch);
    const std::uint64_t end = std::min<std::uint64_t>(pos_.batch + window, batches_per_epoch());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (queued_until_ < pos_.batch) queued_until_ = pos_.batch;
      for (; queued_until_ < end; ++queued_until_) queue_.push_back({generation_, request(queued_until_)});
    }
    wake_workers_.notify_all();
  }

  void work() {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_workers_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      Result r;
      try {
        r.batch.emplace(make_(job.request));
      } catch (...) {
        r.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (job.generation != generation_) continue;  // made for a position left since
        done_.emplace(job.request.batch, std::move(r));
      }
      batch_ready_.notify_all();
    }
  }

  std::size_t size_;
  DataLoaderOptions o_;
  MakeBatch make_;
  LoaderPosition pos_;
  std::vector<std::size_t> order_;

  std::mutex mutex_;
  std::condition_variable wake_workers_, batch_ready_;
  std::deque<Job> queue_;
  std::map<std::uint64_t, Result> done_;
  std::uint64_t generation_ = 0;
  std::uint64_t queued_until_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace anima::data
