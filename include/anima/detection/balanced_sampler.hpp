// anima/detection/balanced_sampler.hpp — torchvision 0.14's BalancedPositiveNegativeSampler
// (models/detection/_utils.py): picks a fixed-size, class-balanced subset of anchors / proposals for
// the training loss.
//
// Per image, labels [P] int64 (>= 1 positive, 0 negative, -1 ignored):
//   num_pos = min(#positives, int(batch_size_per_image · positive_fraction))
//   num_neg = min(#negatives, batch_size_per_image - num_pos)
//   pos_mask / neg_mask [P] bool: num_pos positives / num_neg negatives chosen uniformly at random
//   without replacement (every subset of that size equally likely).
// Randomness: a partial Fisher-Yates shuffle driven by anima's Philox generator
// (anima/core/generator.hpp): for each image, the positives then the negatives, draw k uses uniform
// number (seed, offset + k). Same seed and same calls -> same masks, on any machine. It is not
// torch.randperm's stream, so the chosen subsets differ from torchvision's (tests check counts,
// subsets, reproducibility and that another seed chooses differently).
// Runs on the host; the masks are on the labels' device. Determinism: given the generator state.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/generator.hpp>
#include <anima/core/tensor.hpp>
#include <anima/kernels/philox.hpp>
#include <anima/ops/factory.hpp>

namespace anima::detection {

// Chooses k of the m entries of `items` uniformly without replacement: afterwards items[0 .. k) are
// the chosen ones. Draws k uniforms from `gen`.
inline void choose_without_replacement(std::vector<std::int64_t>& items, std::int64_t k, Generator& gen) {
  const std::int64_t m = static_cast<std::int64_t>(items.size());
  ANIMA_CHECK(k >= 0 && k <= m, "choose_without_replacement", "cannot choose ", k, " of ", m, " items");
  if (k == 0) return;
  const std::uint64_t offset = gen.advance(static_cast<std::uint64_t>(k));
  for (std::int64_t i = 0; i < k; ++i) {
    const double u = kernels::philox_uniform<double>(gen.seed(), offset, static_cast<std::uint64_t>(i));  // [0, 1)
    std::int64_t j = i + static_cast<std::int64_t>(u * static_cast<double>(m - i));
    if (j >= m) j = m - 1;  // u·(m - i) cannot round up to m - i for these sizes; kept for safety
    std::swap(items[static_cast<std::size_t>(i)], items[static_cast<std::size_t>(j)]);
  }
}

class BalancedPositiveNegativeSampler {
 public:
  BalancedPositiveNegativeSampler(std::int64_t batch_size_per_image, double positive_fraction)
      : batch_size_(batch_size_per_image), positive_fraction_(positive_fraction) {
    ANIMA_CHECK(batch_size_per_image >= 0, "BalancedPositiveNegativeSampler", "batch_size_per_image must be >= 0, got ",
                batch_size_per_image);
    ANIMA_CHECK(positive_fraction >= 0.0 && positive_fraction <= 1.0, "BalancedPositiveNegativeSampler",
                "positive_fraction must be in [0, 1], got ", positive_fraction);
  }

  std::int64_t batch_size_per_image() const { return batch_size_; }
  double positive_fraction() const { return positive_fraction_; }

  // labels per image [P_i] int64 -> (positive masks, negative masks), [P_i] bool each.
  std::pair<std::vector<Tensor>, std::vector<Tensor>> operator()(const std::vector<Tensor>& labels,
                                                                 Generator& gen = default_generator()) const {
    std::vector<Tensor> pos_masks, neg_masks;
    for (std::size_t img = 0; img < labels.size(); ++img) {
      const Tensor& l = labels[img];
      ANIMA_CHECK(l.defined() && l.dim() == 1, "BalancedPositiveNegativeSampler", "image ", img,
                  ": expected labels of shape [P], got ",
                  l.defined() ? shape_str(l.shape()) : std::string("undefined"));
      ANIMA_CHECK(l.dtype() == DType::Int64, "BalancedPositiveNegativeSampler", "image ", img,
                  ": expected int64 labels, got ", dtype_name(l.dtype()));
      const std::vector<std::int64_t> v = to_vector<std::int64_t>(l);
      std::vector<std::int64_t> positive, negative;
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] >= 1)
          positive.push_back(static_cast<std::int64_t>(i));
        else if (v[i] == 0)
          negative.push_back(static_cast<std::int64_t>(i));
      }
      std::int64_t num_pos = static_cast<std::int64_t>(static_cast<double>(batch_size_) * positive_fraction_);
      num_pos = std::min<std::int64_t>(static_cast<std::int64_t>(positive.size()), num_pos);
      const std::int64_t num_neg =
          std::min<std::int64_t>(static_cast<std::int64_t>(negative.size()), batch_size_ - num_pos);
      choose_without_replacement(positive, num_pos, gen);
      choose_without_replacement(negative, num_neg, gen);
      std::vector<char> pos(v.size(), 0), neg(v.size(), 0);
      for (std::int64_t k = 0; k < num_pos; ++k)
        pos[static_cast<std::size_t>(positive[static_cast<std::size_t>(k)])] = 1;
      for (std::int64_t k = 0; k < num_neg; ++k)
        neg[static_cast<std::size_t>(negative[static_cast<std::size_t>(k)])] = 1;
      pos_masks.push_back(to_mask(pos, l.device()));
      neg_masks.push_back(to_mask(neg, l.device()));
    }
    return {pos_masks, neg_masks};
  }

 private:
  static Tensor to_mask(const std::vector<char>& m, Device device) {
    std::unique_ptr<bool[]> b(new bool[m.size() > 0 ? m.size() : 1]);
    for (std::size_t i = 0; i < m.size(); ++i) b[i] = m[i] != 0;
    return from_buffer(b.get(), {static_cast<std::int64_t>(m.size())}, TensorOptions(DType::Bool).with_device(device));
  }

  std::int64_t batch_size_;
  double positive_fraction_;
};

}  // namespace anima::detection
