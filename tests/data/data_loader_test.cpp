// anima::data::DataLoader: every sample once per epoch, in an order fixed by (seed, epoch); the same
// batches with 0, 1 or 4 workers whatever the timing; drop_last; resuming from a saved position gives
// the batches an uninterrupted run gets; errors of make_batch reach the consumer.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <anima/data/data_loader.hpp>

#include "../core/expect_error.hpp"

namespace anima {
namespace {

using data::BatchRequest;
using testing::contains;
using testing::error_of;
using data::DataLoader;
using data::DataLoaderOptions;
using Batch = std::vector<std::uint64_t>;  // per sample: index · 1000 + its augmentation draw

// A batch made from the request alone, with sleeps that scramble the workers' finishing order.
Batch make_batch(const BatchRequest& r, std::uint64_t seed) {
  std::this_thread::sleep_for(std::chrono::microseconds((r.batch * 7919) % 5 * 300));
  Batch b;
  for (std::size_t i : r.indices) b.push_back(i * 1000 + data::sample_seed(seed, r.epoch, i) % 1000);
  return b;
}

std::vector<Batch> run_epochs(std::size_t n, DataLoaderOptions o, int epochs) {
  DataLoader<Batch> loader(n, o, [seed = o.seed](const BatchRequest& r) { return make_batch(r, seed); });
  std::vector<Batch> all;
  for (int e = 0; e < epochs; ++e) {
    while (auto b = loader.next()) all.push_back(*b);
    EXPECT_EQ(loader.position(), (data::LoaderPosition{static_cast<std::uint64_t>(e) + 1, 0}));
  }
  return all;
}

TEST(DataLoader, EverySampleOncePerEpochInASeededOrder) {
  DataLoaderOptions o;
  o.batch_size = 8;
  o.seed = 42;
  DataLoader<Batch> loader(50, o, [](const BatchRequest& r) { return Batch(r.indices.begin(), r.indices.end()); });
  EXPECT_EQ(loader.batches_per_epoch(), 7u);
  std::vector<std::vector<std::size_t>> orders;
  for (int e = 0; e < 3; ++e) {
    std::vector<std::size_t> seen;
    std::size_t batches = 0;
    while (auto b = loader.next()) {
      seen.insert(seen.end(), b->begin(), b->end());
      EXPECT_EQ(b->size(), ++batches < 7 ? 8u : 2u);
    }
    EXPECT_EQ(seen, loader.epoch_order(static_cast<std::uint64_t>(e)));
    std::vector<std::size_t> sorted = seen;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::size_t> all(50);
    std::iota(all.begin(), all.end(), 0u);
    EXPECT_EQ(sorted, all) << "epoch " << e;
    orders.push_back(seen);
  }
  EXPECT_NE(orders[0], orders[1]);
  EXPECT_NE(orders[1], orders[2]);
  // The same seed gives the same orders; another seed others; no shuffle keeps the dataset's order.
  DataLoader<Batch> again(50, o, [](const BatchRequest& r) { return Batch(r.indices.begin(), r.indices.end()); });
  EXPECT_EQ(again.epoch_order(1), orders[1]);
  o.seed = 43;
  DataLoader<Batch> other(50, o, [](const BatchRequest& r) { return Batch(r.indices.begin(), r.indices.end()); });
  EXPECT_NE(other.epoch_order(0), orders[0]);
  o.shuffle = false;
  DataLoader<Batch> plain(50, o, [](const BatchRequest& r) { return Batch(r.indices.begin(), r.indices.end()); });
  std::vector<std::size_t> in_order(50);
  std::iota(in_order.begin(), in_order.end(), 0u);
  EXPECT_EQ(plain.epoch_order(5), in_order);
}

TEST(DataLoader, WorkersDoNotChangeTheBatches) {
  DataLoaderOptions o;
  o.batch_size = 5;
  o.seed = 7;
  const std::vector<Batch> reference = run_epochs(37, o, 3);
  ASSERT_EQ(reference.size(), 3u * 8u);
  for (int workers : {1, 4}) {
    o.workers = workers;
    EXPECT_EQ(run_epochs(37, o, 3), reference) << workers << " workers";
  }
}

TEST(DataLoader, DropLast) {
  DataLoaderOptions o;
  o.batch_size = 8;
  o.drop_last = true;
  const std::vector<Batch> batches = run_epochs(50, o, 1);
  ASSERT_EQ(batches.size(), 6u);
  for (const Batch& b : batches) EXPECT_EQ(b.size(), 8u);
  EXPECT_TRUE(contains(error_of([&] { DataLoader<Batch> l(5, o, [](const BatchRequest&) { return Batch(); }); }),
                       "5 samples make no batch of 8 with drop_last"));
}

TEST(DataLoader, ResumingFromAPositionGivesTheSameBatches) {
  for (int workers : {0, 3}) {
    DataLoaderOptions o;
    o.batch_size = 4;
    o.seed = 11;
    o.workers = workers;
    const std::vector<Batch> reference = run_epochs(30, o, 3);  // 8 batches per epoch
    // Stop after 11 batches (epoch 1, batch 3), then resume in a new loader.
    DataLoader<Batch> first(30, o, [](const BatchRequest& r) { return make_batch(r, 11); });
    std::vector<Batch> got;
    while (got.size() < 11) {
      if (auto b = first.next()) got.push_back(*b);
    }
    const data::LoaderPosition saved = first.position();
    EXPECT_EQ(saved, (data::LoaderPosition{1, 3}));
    DataLoader<Batch> resumed(30, o, [](const BatchRequest& r) { return make_batch(r, 11); });
    resumed.seek(saved);
    while (got.size() < reference.size()) {
      if (auto b = resumed.next()) got.push_back(*b);
    }
    EXPECT_EQ(got, reference) << workers << " workers";
  }
}

TEST(DataLoader, ErrorsReachTheConsumerInTurn) {
  for (int workers : {0, 2}) {
    DataLoaderOptions o;
    o.batch_size = 2;
    o.shuffle = false;
    o.workers = workers;
    DataLoader<Batch> loader(10, o, [](const BatchRequest& r) {
      if (r.batch == 2) throw Error("anima::test: cannot decode sample 4");
      return Batch(r.indices.begin(), r.indices.end());
    });
    EXPECT_TRUE(loader.next().has_value());
    EXPECT_TRUE(loader.next().has_value());
    EXPECT_TRUE(contains(error_of([&] { loader.next(); }), "cannot decode sample 4")) << workers;
    EXPECT_EQ(*loader.next(), (Batch{6, 7})) << "the loader goes on after an error";
  }
  DataLoaderOptions bad;
  bad.batch_size = 0;
  EXPECT_TRUE(contains(error_of([&] { DataLoader<Batch> l(4, bad, [](const BatchRequest&) { return Batch(); }); }),
                       "batch_size must be >= 1"));
  DataLoader<Batch> l(4, DataLoaderOptions{}, [](const BatchRequest&) { return Batch(); });
  EXPECT_TRUE(contains(error_of([&] { l.seek({0, 9}); }), "position batch 9 is past the 1 batches"));
}

}  // namespace
}  // namespace anima
