// anima/nn/module.hpp — nn::Module: a tree of named parameters, buffers and child modules with
// torchvision's names ("layer1.0.conv1.weight"), train/eval, state_dict / load_state_dict, freezing
// by name prefix, and moving to a device.
//
// Names and order are PyTorch's:
//   named_parameters(): the module's own parameters in registration order, then each child's
//     (depth first, children in registration order), a tensor shared by two names listed once;
//   named_buffers(): the same walk over buffers;
//   state_dict(): per module (depth first) its parameters, then its buffers, then its children —
//     torch.nn.Module.state_dict's order, so BatchNorm2d gives weight, bias, running_mean,
//     running_var, num_batches_tracked.
// load_state_dict(dict, strict = true) checks every name first: in strict mode any missing,
// unexpected or wrongly shaped entry throws anima::Error listing ALL of them by name, and nothing is
// copied; non-strict copies every entry whose name and shape match, skips the rest, and returns them
// in a LoadReport (unlike PyTorch, which raises on a wrong shape even when not strict: skipping lets a
// 1000-class ImageNet checkpoint load into a 7-class model, whose new head stays as initialised).
// Values are copied into the existing tensors (same TensorImpl, so handles held by an optimiser stay
// valid), converted to the tensor's dtype (float64 -> float32, int64 <-> float) and device.
// to(device) also keeps each parameter's TensorImpl and swaps its storage (gradients are dropped).
//
// Modules are built and held through std::shared_ptr (register_module takes one); they cannot be
// copied. A module whose forward is one tensor to one tensor overrides forward(); others (detection
// heads, Inception with its auxiliary logits) add their own methods and leave forward() throwing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/io/state_dict.hpp>

namespace anima::nn {

using NamedTensor = std::pair<std::string, Tensor>;

class Module;
using ModulePtr = std::shared_ptr<Module>;

// An entry whose shape differs between the module and the state dict.
struct ShapeMismatch {
  std::string name;
  Shape module_shape;  // what the module holds
  Shape dict_shape;    // what the state dict holds
};

// What load_state_dict found (names in the module's order, then the dict's order for unexpected).
struct LoadReport {
  std::vector<std::string> missing;        // in the module, absent from the dict
  std::vector<std::string> unexpected;     // in the dict, not in the module
  std::vector<ShapeMismatch> wrong_shape;  // in both, shapes differ (not copied)
  std::vector<std::string> loaded;         // copied

  bool ok() const { return missing.empty() && unexpected.empty() && wrong_shape.empty(); }

  // One line per kind of problem, every name listed.
  std::string str() const {
    std::string s;
    auto list = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      s += str_cat("\n  ", what, " (", names.size(), "): ");
      for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
    };
    list("missing", missing);
    list("unexpected", unexpected);
    if (!wrong_shape.empty()) {
      s += str_cat("\n  wrong shape (", wrong_shape.size(), "): ");
      for (std::size_t i = 0; i < wrong_shape.size(); ++i)
        s += str_cat(i ? ", " : "", wrong_shape[i].name, " (module ", shape_str(wrong_shape[i].module_shape),
                     ", state dict ", shape_str(wrong_shape[i].dict_shape), ")");
    }
    return s;
  }
};

// True when `name` is `prefix` or lies under it ("layer1" covers "layer1.0.conv1.weight", not
// "layer10.weight"); the empty prefix covers every name.
inline bool name_under(const std::string& name, const std::string& prefix) {
  if (prefix.empty()) return true;
  if (name.size() < prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return false;
  return name.size() == prefix.size() || name[prefix.size()] == '.';
}

class Module {
 public:
  explicit Module(std::string type_name = "Module") : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The class name used in messages ("Conv2d", "ResNet").
  const std::string& type_name() const { return type_name_; }

  // One tensor in, one tensor out. Modules without such a forward leave this throwing.
  virtual Tensor forward(const Tensor& x) {
    (void)x;
    fail(type_name_.c_str(), "this module has no single-tensor forward(x)");
  }
  Tensor operator()(const Tensor& x) { return forward(x); }

  // ---- registration ------------------------------------------------------------------------------
  // Adds a parameter (a leaf that requires grad unless requires_grad is false) and returns the handle,
  // which shares the module's tensor. Names are unique within a module and contain no '.'.
  Tensor register_parameter(const std::string& name, Tensor t, bool requires_grad = true) {
    check_new_name(name, "register_parameter");
    ANIMA_CHECK(t.defined(), "register_parameter", type_name_, ": parameter '", name, "' is undefined");
    ANIMA_CHECK(t.is_leaf(), "register_parameter", type_name_, ": parameter '", name,
                "' must be a leaf tensor (detach it first)");
    ANIMA_CHECK(is_floating(t.dtype()), "register_parameter", type_name_, ": parameter '", name,
                "' must be float32 or float64, got ", dtype_name(t.dtype()));
    t.set_requires_grad(requires_grad);
    parameters_.emplace_back(name, t);
    return t;
  }

  // Adds a buffer (state saved in state_dict that is not trained: running statistics, counters).
  Tensor register_buffer(const std::string& name, Tensor t) {
    check_new_name(name, "register_buffer");
    ANIMA_CHECK(t.defined(), "register_buffer", type_name_, ": buffer '", name, "' is undefined");
    buffers_.emplace_back(name, t);
    return t;
  }

  // Adds a child module; its names get the prefix "<name>.". The child takes this module's mode.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    check_new_name(name, "register_module");
    ANIMA_CHECK(module != nullptr, "register_module", type_name_, ": child '", name, "' is null");
    module->train(training_);
    children_.emplace_back(name, module);
    return module;
  }

  // Replaces an existing child (same place in the order): a new classifier head, say.
  template <class M>
  std::shared_ptr<M> replace_module(const std::string& name, std::shared_ptr<M> module) {
    ANIMA_CHECK(module != nullptr, "replace_module", type_name_, ": new child '", name, "' is null");
    for (auto& c : children_)
      if (c.first == name) {
        module->train(training_);
        c.second = module;
        release_inference();
        return module;
      }
    fail("replace_module", type_name_, " has no child named '", name, "'");
  }

  // ---- lookup ------------------------------------------------------------------------------------
  // The child of that name (not dotted); throws if there is none.
  ModulePtr child(const std::string& name) const {
    for (const auto& c : children_)
      if (c.first == name) return c.second;
    fail("child", type_name_, " has no child named '", name, "'");
  }

  // The module at a dotted path ("layer1.0.downsample"); "" is this module... as a raw pointer.
  Module* submodule(const std::string& path) {
    Module* m = this;
    std::size_t start = 0;
    while (start < path.size()) {
      const std::size_t dot = path.find('.', start);
      const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      Module* next = nullptr;
      for (const auto& c : m->children_)
        if (c.first == part) next = c.second.get();
      ANIMA_CHECK(next != nullptr, "submodule", type_name_, " has no module '", path, "' (no '", part, "' in ",
                  m->type_name_, ")");
      m = next;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return m;
  }

  // A parameter or buffer by its full dotted name ("layer1.0.bn1.running_var"); throws if absent.
  Tensor tensor(const std::string& full_name) const {
    for (const auto& nt : state_entries(""))
      if (nt.first == full_name) return nt.second;
    fail("tensor", type_name_, " has no parameter or buffer named '", full_name, "'");
  }

  // ---- walks (PyTorch's order) ------------------------------------------------------------------
  std::vector<NamedTensor> named_parameters(const std::string& prefix = "", bool recurse = true) const {
    std::vector<NamedTensor> out;
    std::unordered_set<const TensorImpl*> seen;
    walk_tensors(prefix, recurse, /*buffers=*/false, out, seen);
    return out;
  }
  std::vector<NamedTensor> named_buffers(const std::string& prefix = "", bool recurse = true) const {
    std::vector<NamedTensor> out;
    std::unordered_set<const TensorImpl*> seen;
    walk_tensors(prefix, recurse, /*buffers=*/true, out, seen);
    return out;
  }
  std::vector<Tensor> parameters(bool recurse = true) const {
    std::vector<Tensor> out;
    for (auto& nt : named_parameters("", recurse)) out.push_back(nt.second);
    return out;
  }
  // Parameters whose full name lies under `prefix` (see name_under); e.g. the head's for a param group.
  std::vector<Tensor> parameters_under(const std::string& prefix) const {
    std::vector<Tensor> out;
    for (auto& nt : named_parameters())
      if (name_under(nt.first, prefix)) out.push_back(nt.second);
    return out;
  }
  const std::vector<std::pair<std::string, ModulePtr>>& named_children() const { return children_; }
  // This module (named `prefix`, "" at the root) and every descendant, depth first (pre-order).
  std::vector<std::pair<std::string, Module*>> named_modules(const std::string& prefix = "") {
    std::vector<std::pair<std::string, Module*>> out;
    collect_modules(prefix, out);
    return out;
  }

  // Number of parameter elements (only those that require grad when trainable_only).
  std::int64_t num_parameters(bool trainable_only = false) const {
    std::int64_t n = 0;
    for (auto& nt : named_parameters())
      if (!trainable_only || nt.second.requires_grad()) n += nt.second.numel();
    return n;
  }

  // ---- mode --------------------------------------------------------------------------------------
  // Training mode (batch statistics in BatchNorm, dropout active) for this module and all below it.
  virtual void train(bool on = true) {
    training_ = on;
    if (on) release_inference();
    for (auto& c : children_) c.second->train(on);
  }
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // ---- inference preparation (anima/nn/inference.hpp) --------------------------------------------
  // nn::prepare_inference(root) calls release_inference() and then prepare_inference() on every module,
  // parents before children. A module that can fuse work for eval-only forwards (a convolution with the
  // batch norm and activation after it, its weights packed once) prepares it here; the default does
  // nothing. What was prepared is a snapshot of the parameters: train(true), load_state_dict, to(device)
  // and replace_module drop it.
  virtual void prepare_inference() {}
  virtual void release_inference() {}

  // ---- freezing ----------------------------------------------------------------------------------
  // Sets requires_grad of every parameter whose name lies under `prefix` ("" = all; "layer4" = that
  // stage); returns how many; a prefix that names no parameter is an error (a typo freezes nothing).
  // Freezing drops the parameter's gradient, so an optimiser skips it.
  std::size_t set_requires_grad(const std::string& prefix, bool value) {
    std::size_t n = 0;
    for (auto& nt : named_parameters()) {
      if (!name_under(nt.first, prefix)) continue;
      nt.second.set_requires_grad(value);
      if (!value) nt.second.zero_grad();
      ++n;
    }
    ANIMA_CHECK(n > 0, "set_requires_grad", type_name_, " has no parameter named '", prefix, "' or under '", prefix,
                ".'");
    return n;
  }
  std::size_t freeze(const std::string& prefix = "") { return set_requires_grad(prefix, false); }
  std::size_t unfreeze(const std::string& prefix = "") { return set_requires_grad(prefix, true); }

  // ---- state -------------------------------------------------------------------------------------
  // Parameters and buffers under torchvision's names; the tensors share the module's data (detached).
  io::StateDict state_dict() const {
    io::StateDict sd;
    for (auto& nt : state_entries("")) sd.insert(nt.first, detach(nt.second));
    return sd;
  }

  LoadReport load_state_dict(const io::StateDict& dict, bool strict = true) {
    const std::vector<NamedTensor> entries = state_entries("");
    LoadReport report;
    std::unordered_set<std::string> own;
    std::vector<std::pair<Tensor, const Tensor*>> to_copy;
    for (const auto& nt : entries) {
      own.insert(nt.first);
      const Tensor* src = dict.find(nt.first);
      if (src == nullptr) {
        report.missing.push_back(nt.first);
      } else if (!src->defined() || src->shape() != nt.second.shape()) {
        report.wrong_shape.push_back({nt.first, nt.second.shape(), src->defined() ? src->shape() : Shape{}});
      } else {
        const DType from = src->dtype();
        ANIMA_CHECK(from == DType::Float32 || from == DType::Float64 || from == DType::Int64 || from == DType::Bool,
                    "load_state_dict", "entry '", nt.first, "' ", shape_str(src->shape()), " is ", dtype_name(from),
                    ", which cannot be converted to the module's ", dtype_name(nt.second.dtype()),
                    " (readers convert float16/bfloat16 to float32)");
        to_copy.emplace_back(nt.second, src);
        report.loaded.push_back(nt.first);
      }
    }
    for (const auto& item : dict.items())
      if (own.count(item.first) == 0) report.unexpected.push_back(item.first);
    if (strict && !report.ok())
      fail("load_state_dict", "the state dict does not match ", type_name_, " (", report.missing.size(), " missing, ",
           report.unexpected.size(), " unexpected, ", report.wrong_shape.size(),
           " wrongly shaped; nothing loaded):", report.str());
    NoGradGuard no_grad;
    for (auto& [dst, src] : to_copy) {
      Tensor value = *src;
      if (value.dtype() != dst.dtype()) value = cast_copy(value, dst.dtype());
      if (value.device() != dst.device()) value = device_copy(value, dst.device());
      copy_into(dst, value);
    }
    after_load();
    return report;
  }

  // ---- device ------------------------------------------------------------------------------------
  // Moves every parameter and buffer to `device`, keeping each tensor's identity (its TensorImpl), so
  // handles held elsewhere see the new data. Gradients are dropped.
  void to(Device device) {
    std::unordered_set<const TensorImpl*> moved;
    for (Module* m : all_modules()) {
      m->release_inference();
      for (auto* list : {&m->parameters_, &m->buffers_})
        for (auto& nt : *list) {
          TensorImpl* impl = nt.second.impl();
          if (!moved.insert(impl).second) continue;
          impl->grad.reset();
          if (nt.second.device() == device) continue;
          const Tensor copy = device_copy(nt.second, device);
          impl->storage = copy.storage();
          impl->offset = 0;
          impl->strides = copy.strides();
        }
    }
  }

  // The device of the first parameter or buffer (CPU for a module with none).
  Device device() const {
    for (auto& nt : state_entries("")) return nt.second.device();
    return Device::cpu();
  }

 protected:
  // Called on each module (depth first) after load_state_dict copied values in: a module that keeps a
  // host-side mirror of a buffer (BatchNorm2d's batch counter) refreshes it here.
  virtual void on_state_loaded() {}

 private:
  void check_new_name(const std::string& name, const char* op) const {
    ANIMA_CHECK(!name.empty(), op, type_name_, ": names must not be empty");
    ANIMA_CHECK(name.find('.') == std::string::npos, op, type_name_, ": name '", name, "' must not contain '.'");
    auto taken = [&](const auto& list) {
      for (const auto& e : list)
        if (e.first == name) return true;
      return false;
    };
    ANIMA_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), op, type_name_, ": name '", name,
                "' is already used");
  }

  static std::string join(const std::string& prefix, const std::string& name) {
    return prefix.empty() ? name : prefix + "." + name;
  }

  void walk_tensors(const std::string& prefix, bool recurse, bool buffers, std::vector<NamedTensor>& out,
                    std::unordered_set<const TensorImpl*>& seen) const {
    for (const auto& nt : buffers ? buffers_ : parameters_)
      if (seen.insert(nt.second.impl()).second) out.emplace_back(join(prefix, nt.first), nt.second);
    if (!recurse) return;
    for (const auto& c : children_) c.second->walk_tensors(join(prefix, c.first), true, buffers, out, seen);
  }

  // state_dict's order: own parameters, own buffers, then each child's.
  std::vector<NamedTensor> state_entries(const std::string& prefix) const {
    std::vector<NamedTensor> out;
    append_state(prefix, out);
    return out;
  }
  void append_state(const std::string& prefix, std::vector<NamedTensor>& out) const {
    for (const auto& nt : parameters_) out.emplace_back(join(prefix, nt.first), nt.second);
    for (const auto& nt : buffers_) out.emplace_back(join(prefix, nt.first), nt.second);
    for (const auto& c : children_) c.second->append_state(join(prefix, c.first), out);
  }

  void collect_modules(const std::string& prefix, std::vector<std::pair<std::string, Module*>>& out) {
    out.emplace_back(prefix, this);
    for (auto& c : children_) c.second->collect_modules(join(prefix, c.first), out);
  }
  std::vector<Module*> all_modules() {
    std::vector<Module*> out;
    for (auto& nm : named_modules()) out.push_back(nm.second);
    return out;
  }
  void after_load() {
    for (Module* m : all_modules()) {
      m->release_inference();
      m->on_state_loaded();
    }
  }

  std::string type_name_;
  bool training_ = true;
  std::vector<NamedTensor> parameters_;
  std::vector<NamedTensor> buffers_;
  std::vector<std::pair<std::string, ModulePtr>> children_;
};

}  // namespace anima::nn
