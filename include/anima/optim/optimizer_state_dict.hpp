// anima/optim/optimizer_state_dict.hpp — the names and the checked reading of an optimiser's saved
// state, shared by every optimiser with per-parameter state:
//   "state.<g>.<i>.<slot>"  a tensor of parameter i of group g ("step" is a float64 scalar), present
//                           only for parameters that have state;
//   "param_groups.<g>.lr"   group g's learning rate, a float64 scalar (schedules change it).
// OptimizerStateReader reads entries, remembers which it used, and finish() rejects any entry left
// over, so a state saved by a differently configured optimiser fails with its name instead of loading
// half. Every failure is an anima::Error naming the operation and the entry.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <utility>

#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/io/state_dict.hpp>
#include <anima/ops/factory.hpp>

namespace anima::optim {

inline std::string param_state_key(std::size_t group, std::size_t index, const char* slot) {
  return "state." + std::to_string(group) + "." + std::to_string(index) + "." + slot;
}
inline std::string group_lr_key(std::size_t group) { return "param_groups." + std::to_string(group) + ".lr"; }

// Writes a parameter's step count and a group's learning rate as float64 scalars.
inline void insert_step(io::StateDict& dict, std::size_t group, std::size_t index, std::int64_t step) {
  dict.insert(param_state_key(group, index, "step"),
              full({}, static_cast<double>(step), TensorOptions(DType::Float64)));
}
inline void insert_group_lr(io::StateDict& dict, std::size_t group, double lr) {
  dict.insert(group_lr_key(group), full({}, lr, TensorOptions(DType::Float64)));
}

class OptimizerStateReader {
 public:
  // `op` names the loading operation in messages, e.g. "Adam::load_state_dict".
  OptimizerStateReader(const io::StateDict& dict, std::string op) : dict_(dict), op_(std::move(op)) {}

  // Group g's learning rate (>= 0).
  double group_lr(std::size_t group) {
    const std::string key = group_lr_key(group);
    const double lr = read_scalar(key);
    ANIMA_CHECK(lr >= 0.0, op_.c_str(), "entry '", key, "' is ", lr, ", a learning rate must be >= 0");
    return lr;
  }

  // Whether the parameter has saved state (its "step" entry); one without starts anew.
  bool has_param_state(std::size_t group, std::size_t index) const { return has(group, index, "step"); }
  // Whether the parameter's tensor `slot` was saved.
  bool has(std::size_t group, std::size_t index, const char* slot) const {
    return dict_.contains(param_state_key(group, index, slot));
  }

  // The parameter's step count: a whole number >= 1.
  std::int64_t step(std::size_t group, std::size_t index) {
    const std::string key = param_state_key(group, index, "step");
    const double v = read_scalar(key);
    ANIMA_CHECK(v >= 1.0 && v <= 9007199254740992.0 && v == std::floor(v), op_.c_str(), "entry '", key, "' is ", v,
                ", a step count must be a whole number >= 1");
    return static_cast<std::int64_t>(v);
  }

  // The parameter's tensor `slot`, shaped as `param`, converted to its dtype and device.
  Tensor tensor_like(std::size_t group, std::size_t index, const char* slot, const Tensor& param) {
    const std::string key = param_state_key(group, index, slot);
    const Tensor& t = entry(key);
    ANIMA_CHECK(t.shape() == param.shape(), op_.c_str(), "entry '", key, "' has shape ", shape_str(t.shape()),
                " but its parameter has shape ", shape_str(param.shape()));
    ANIMA_CHECK(is_floating(t.dtype()), op_.c_str(), "entry '", key, "' is ", dtype_name(t.dtype()),
                ", expected a floating tensor");
    Tensor c = cast_copy(t, param.dtype());
    return c.device() == param.device() ? c : device_copy(c, param.device());
  }

  // Throws on the first entry nothing read; `expected` says what state was expected, for the message.
  void finish(const std::string& expected) const {
    for (const auto& item : dict_.items())
      ANIMA_CHECK(used_.count(item.first) != 0, op_.c_str(), "unexpected entry '", item.first, "': not the state of ",
                  expected, " (a parameter's tensors come with its 'state.<g>.<i>.step')");
  }

 private:
  const Tensor& entry(const std::string& key) {
    const Tensor* t = dict_.find(key);
    if (t == nullptr) fail(op_.c_str(), "missing entry '", key, "'");
    used_.insert(key);
    return *t;
  }

  double read_scalar(const std::string& key) {
    const Tensor& t = entry(key);
    ANIMA_CHECK(t.numel() == 1, op_.c_str(), "entry '", key, "' must hold one value, got shape ", shape_str(t.shape()));
    return item<double>(t);
  }

  const io::StateDict& dict_;
  std::string op_;
  std::unordered_set<std::string> used_;
};

}  // namespace anima::optim
