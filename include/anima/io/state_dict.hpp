// anima/io/state_dict.hpp — StateDict: named tensors in file order, what a weight file holds and what
// a module's parameters and buffers are saved as (PyTorch's state_dict: "layer1.0.conv1.weight" ->
// tensor). Names are unique; lookups are by exact name. Readers (safetensors, .pth) produce one;
// nn::Module::load_state_dict consumes one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>

namespace anima::io {

class StateDict {
 public:
  using Item = std::pair<std::string, Tensor>;

  // Appends `name`; a name that is already present is an error (a weight file with two tensors of
  // one name is corrupt).
  void insert(std::string name, Tensor tensor) {
    ANIMA_CHECK(!name.empty(), "StateDict", "a tensor name must not be empty");
    ANIMA_CHECK(index_.find(name) == index_.end(), "StateDict", "duplicate tensor name '", name, "'");
    index_.emplace(name, items_.size());
    items_.emplace_back(std::move(name), std::move(tensor));
  }

  // Replaces the tensor of an existing name, or appends a new one.
  void set(const std::string& name, Tensor tensor) {
    auto it = index_.find(name);
    if (it == index_.end()) {
      insert(name, std::move(tensor));
    } else {
      items_[it->second].second = std::move(tensor);
    }
  }

  bool contains(const std::string& name) const { return index_.count(name) != 0; }

  // nullptr when absent.
  const Tensor* find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }

  const Tensor& at(const std::string& name) const {
    const Tensor* t = find(name);
    ANIMA_CHECK(t != nullptr, "StateDict", "no tensor named '", name, "'");
    return *t;
  }

  const std::vector<Item>& items() const { return items_; }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

  // Total number of elements over all tensors.
  std::int64_t numel() const {
    std::int64_t n = 0;
    for (const auto& it : items_) n += it.second.numel();
    return n;
  }

 private:
  std::vector<Item> items_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace anima::io
