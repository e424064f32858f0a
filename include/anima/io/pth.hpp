// anima/io/pth.hpp — PyTorch checkpoints (.pth / .pt written by torch.save) without Python.
//
// Two container formats carry the same pickled object:
//   zip (torch >= 1.6, the default): a zip archive (zip_reader.hpp) of stored entries
//     <prefix>/data.pkl        the pickled object; tensors refer to storages by persistent id
//     <prefix>/data/<key>      each storage's raw bytes, little-endian
//     <prefix>/version, <prefix>/byteorder ("little"; torch >= 2.1), .data/serialization_id, ...
//   legacy (torch < 1.6, and _use_new_zipfile_serialization=False; old torchvision files such as
//   vgg16-397923af.pth): one stream of
//     pickle(magic number 0x1950a86a20f9469cfc6c)  pickle(protocol version 1001)
//     pickle(sys_info {"little_endian": True, "type_sizes": ...})  pickle(the object)
//     pickle(sorted list of storage keys)  then per key: int64 element count + the raw bytes
// A persistent id is ("storage", torch.<T>Storage, key, location, numel) in the zip format and
// ("storage", torch.<T>Storage, root_key, location, numel, view_metadata) in the legacy one, where
// view_metadata is None or (view_key, offset, numel), a window (in elements) of the root storage.
//
// The object may be a state_dict (an OrderedDict/dict of name -> tensor), or a dict that holds one
// under "state_dict" or "model" (checkpoints that also hold an epoch or optimizer state); those are
// unwrapped. A "module." prefix (nn.DataParallel) is stripped from every name. Tensors are rebuilt by
// torch._utils._rebuild_tensor_v2 (storage, storage_offset, size, stride, ...) or the older
// _rebuild_tensor (storage, storage_offset, size, stride); _rebuild_parameter(_with_state) and
// torch._tensor._rebuild_from_type_v2 (a Parameter / Tensor subclass, torch >= 1.12) wrap one. Any layout
// is read — views at an offset, non-contiguous strides, several tensors sharing one storage — into a
// fresh contiguous tensor per name (no sharing survives the load).
//
// dtypes: Float, Double, Long and Bool storages load as float32, float64, int64 and bool; Half and
// BFloat16 are converted to float32 (exactly, as safetensors.hpp does); Int, Short, Char and Byte (and
// UntypedStorage, bytes) are widened to int64. Other storages (complex, quantized) are errors.
//
// Safety: only the classes named above are accepted (pickle.hpp executes nothing); every storage size
// is bounded by the file (its zip entry's exact size, or the bytes left in the legacy stream) before
// it is allocated; every tensor's largest element index is checked to lie inside its storage, with
// overflow-checked arithmetic, before a byte is copied; all tensors together may need at most 8 times
// the file's size (+64 MiB), so many views of one storage cannot exhaust memory. Every failure is an anima::Error
// "anima::load_pth: <file>: <what was expected, what was found>".
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <anima/core/dtype.hpp>
#include <anima/core/error.hpp>
#include <anima/core/shape.hpp>
#include <anima/core/tensor.hpp>
#include <anima/io/binary_file.hpp>
#include <anima/io/pickle.hpp>
#include <anima/io/safetensors.hpp>  // detail::half_bits_to_float, bfloat16_bits_to_float, host_is_little_endian
#include <anima/io/state_dict.hpp>
#include <anima/io/zip_reader.hpp>

namespace anima::io {

namespace detail {

// How a torch storage class is laid out in the file and what anima dtype it loads as.
struct PthStorageType {
  enum class Convert { Copy, Half, BFloat16, Int32, Int16, Int8, UInt8, Bool };
  const char* name;     // the class name under `torch.`
  std::uint64_t bytes;  // per element in the file
  DType loads_as;
  Convert convert;
};

inline const PthStorageType* pth_storage_type(const std::string& module, const std::string& name) {
  using C = PthStorageType::Convert;
  static const PthStorageType table[] = {
      {"FloatStorage", 4, DType::Float32, C::Copy},  {"DoubleStorage", 8, DType::Float64, C::Copy},
      {"HalfStorage", 2, DType::Float32, C::Half},   {"BFloat16Storage", 2, DType::Float32, C::BFloat16},
      {"LongStorage", 8, DType::Int64, C::Copy},     {"IntStorage", 4, DType::Int64, C::Int32},
      {"ShortStorage", 2, DType::Int64, C::Int16},   {"CharStorage", 1, DType::Int64, C::Int8},
      {"ByteStorage", 1, DType::Int64, C::UInt8},    {"BoolStorage", 1, DType::Bool, C::Bool},
      {"UntypedStorage", 1, DType::Int64, C::UInt8},
  };
  if (module == "torch.storage" && (name == "UntypedStorage" || name == "_UntypedStorage")) return &table[10];
  if (module != "torch") return nullptr;
  for (const auto& t : table)
    if (name == t.name) return &t;
  return nullptr;
}

// A storage as the file has it (one zip entry or one block of the legacy stream).
struct PthRootStorage {
  std::string key;
  const PthStorageType* type = nullptr;
  std::uint64_t numel = 0;  // elements
};
// What a persistent id returns: a window of a root storage (the whole of it in the zip format).
struct PthStorageView {
  std::size_t root = 0;
  std::uint64_t offset = 0, numel = 0;  // elements
};
struct PthTensorRef {
  std::size_t view = 0;
  std::int64_t offset = 0;  // elements, within the view
  Shape size, stride;
};

constexpr int kPthStorageTag = 1;
constexpr int kPthTensorTag = 2;
constexpr std::size_t kPthMaxRank = 32;
// Elements beyond which a tensor may not exceed its storage (stride-0 expanded tensors are legal,
// but a corrupt size must not make us allocate terabytes from a 4-byte storage).
constexpr std::uint64_t kPthMaxExpandedNumel = std::uint64_t{1} << 24;
constexpr std::uint64_t kPthIndexLimit = std::uint64_t{1} << 62;

class PthHooks : public pickle::Hooks {
 public:
  explicit PthHooks(std::uint64_t file_size) : file_size_(file_size) {}

  std::vector<PthRootStorage> roots;
  std::vector<PthStorageView> views;
  std::vector<PthTensorRef> tensors;

  pickle::Value* find_class(pickle::Unpickler& u, const std::string& module, const std::string& name) override {
    const bool ok =
        (module == "collections" && name == "OrderedDict") ||
        (module == "torch._utils" && (name == "_rebuild_tensor_v2" || name == "_rebuild_tensor" ||
                                      name == "_rebuild_parameter" || name == "_rebuild_parameter_with_state")) ||
        (module == "torch._tensor" && name == "_rebuild_from_type_v2") || (module == "torch" && name == "Tensor") ||
        (module == "torch.nn.parameter" && name == "Parameter") || pth_storage_type(module, name) != nullptr;
    if (!ok)
      u.error("unsupported class '", module, ".", name,
              "' (anima reads state_dicts: tensors in dicts; not pickled modules, TorchScript or other objects)");
    pickle::Value* v = u.make(pickle::Value::Kind::Global);
    v->module = module;
    v->name = name;
    return v;
  }

  pickle::Value* reduce(pickle::Unpickler& u, pickle::Value* callable, pickle::Value* args) override {
    if (!callable->is(pickle::Value::Kind::Global))
      u.error("REDUCE of ", pickle::kind_name(callable->kind), ", expected a class");
    const std::string full = callable->module + "." + callable->name;
    const auto& a = args->items;
    if (full == "collections.OrderedDict") {
      pickle::Value* d = u.make(pickle::Value::Kind::Dict);
      if (a.empty()) return d;
      // Python 2 wrote OrderedDict((key, value) pairs) as REDUCE(OrderedDict, ([[k, v], ...],)).
      if (a.size() != 1 || !a[0]->is_sequence()) u.error("collections.OrderedDict expects () or (list of pairs,)");
      for (pickle::Value* kv : a[0]->items) {
        if (!kv->is_sequence() || kv->items.size() != 2) u.error("collections.OrderedDict expects [key, value] pairs");
        d->entries.emplace_back(kv->items[0], kv->items[1]);
      }
      return d;
    }
    if (full == "torch._utils._rebuild_tensor_v2" || full == "torch._utils._rebuild_tensor") {
      if (a.size() < 4)
        u.error(full, " expects (storage, storage_offset, size, stride, ...), found ", a.size(), " arguments");
      return rebuild_tensor(u, full, a[0], a[1], a[2], a[3]);
    }
    if (full == "torch._utils._rebuild_parameter" || full == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || !is_tensor(a[0])) u.error(full, " expects a tensor as its first argument");
      return a[0];
    }
    if (full == "torch._tensor._rebuild_from_type_v2") {  // (func, type, args, state): a Tensor subclass
      if (a.size() != 4 || !a[2]->is_tuple()) u.error(full, " expects (func, type, args, state)");
      if (!a[1]->is(pickle::Value::Kind::Global) ||
          !((a[1]->module == "torch" && a[1]->name == "Tensor") ||
            (a[1]->module == "torch.nn.parameter" && a[1]->name == "Parameter")))
        u.error(full, ": unsupported tensor type (expected torch.Tensor or torch.nn.parameter.Parameter)");
      // Only the plain rebuild functions may be wrapped (no recursion through nested wrappers).
      if (!a[0]->is(pickle::Value::Kind::Global) || a[0]->module != "torch._utils" ||
          (a[0]->name != "_rebuild_tensor_v2" && a[0]->name != "_rebuild_tensor"))
        u.error(full, " expects torch._utils._rebuild_tensor_v2 as its function");
      pickle::Value* t = reduce(u, a[0], a[2]);
      if (!is_tensor(t)) u.error(full, " expects its function to rebuild a tensor");
      return t;
    }
    u.error("unsupported call of '", full, "'");
  }

  pickle::Value* persistent_load(pickle::Unpickler& u, pickle::Value* pid) override {
    using K = pickle::Value::Kind;
    if (!pid->is_tuple() || pid->items.empty() || !pid->items[0]->is_string())
      u.error("expected a persistent id ('storage', ...), found ", pickle::kind_name(pid->kind));
    const auto& p = pid->items;
    if (p[0]->text != "storage") u.error("unsupported persistent id kind '", p[0]->text, "' (expected 'storage')");
    if (p.size() != 5 && p.size() != 6)
      u.error("a storage persistent id has 5 (zip) or 6 (legacy) fields, found ", p.size());
    if (!p[1]->is(K::Global))
      u.error("the storage persistent id's type is ", pickle::kind_name(p[1]->kind), ", expected a class");
    const PthStorageType* type = pth_storage_type(p[1]->module, p[1]->name);
    if (!type) u.error("unsupported storage type '", p[1]->module, ".", p[1]->name, "'");
    const std::string key = key_of(u, p[2], "storage key");
    if (!p[4]->is_int() || p[4]->integer < 0) u.error("storage '", key, "': expected a non-negative element count");
    const auto numel = static_cast<std::uint64_t>(p[4]->integer);
    if (numel > file_size_ / type->bytes)
      u.error("storage '", key, "' claims ", numel, " elements of ", type->bytes, " bytes, more than the whole file (",
              file_size_, " bytes)");
    std::size_t root;
    auto it = root_index_.find(key);
    if (it == root_index_.end()) {
      root = roots.size();
      root_index_.emplace(key, root);
      roots.push_back({key, type, numel});
    } else {
      root = it->second;
      if (roots[root].type != type || roots[root].numel != numel)
        u.error("storage '", key, "' appears as ", roots[root].numel, " x ", roots[root].type->name, " and as ", numel,
                " x ", type->name);
    }
    PthStorageView view{root, 0, numel};
    if (p.size() == 6 && !p[5]->is(K::None)) {  // legacy view_metadata (view_key, offset, numel)
      const pickle::Value* vm = p[5];
      if (!vm->is_tuple() || vm->items.size() != 3 || !vm->items[1]->is_int() || !vm->items[2]->is_int())
        u.error("storage '", key, "': expected view metadata (view_key, offset, size)");
      const std::int64_t off = vm->items[1]->integer, n = vm->items[2]->integer;
      if (off < 0 || n < 0 || static_cast<std::uint64_t>(off) > numel ||
          static_cast<std::uint64_t>(n) > numel - static_cast<std::uint64_t>(off))
        u.error("storage '", key, "': view [", off, ", ", off, " + ", n, ") lies outside the storage's ", numel,
                " elements");
      view.offset = static_cast<std::uint64_t>(off);
      view.numel = static_cast<std::uint64_t>(n);
    }
    views.push_back(view);
    pickle::Value* v = u.make(K::Object);
    v->tag = kPthStorageTag;
    v->handle = static_cast<std::int64_t>(views.size() - 1);
    return v;
  }

  void build(pickle::Unpickler& u, pickle::Value* object, pickle::Value* /*state*/) override {
    // OrderedDict state (the state_dict's `_metadata` attribute) and tensor state are not needed.
    if (object->is_dict() || is_tensor(object)) return;
    u.error("BUILD of ", pickle::kind_name(object->kind), " is not supported");
  }

  static bool is_tensor(const pickle::Value* v) {
    return v->is(pickle::Value::Kind::Object) && v->tag == kPthTensorTag;
  }

 private:
  static std::string key_of(pickle::Unpickler& u, const pickle::Value* v, const char* what) {
    if (v->is_string()) return v->text;
    if (v->is_int()) return std::to_string(v->integer);
    u.error("expected the ", what, " to be a string, found ", pickle::kind_name(v->kind));
  }

  static Shape int_tuple(pickle::Unpickler& u, const std::string& fn, const pickle::Value* v, const char* what) {
    if (!v->is_sequence())
      u.error(fn, ": expected ", what, " to be a tuple of ints, found ", pickle::kind_name(v->kind));
    if (v->items.size() > kPthMaxRank)
      u.error(fn, ": ", what, " has ", v->items.size(), " dimensions, at most ", kPthMaxRank, " allowed");
    Shape s;
    for (const pickle::Value* x : v->items) {
      if (!x->is_int() || x->integer < 0) u.error(fn, ": expected ", what, " to hold non-negative ints");
      s.push_back(x->integer);
    }
    return s;
  }

  pickle::Value* rebuild_tensor(pickle::Unpickler& u, const std::string& fn, pickle::Value* storage,
                                pickle::Value* offset, pickle::Value* size_v, pickle::Value* stride_v) {
    if (!storage->is(pickle::Value::Kind::Object) || storage->tag != kPthStorageTag)
      u.error(fn, ": expected a storage as the first argument, found ", pickle::kind_name(storage->kind));
    if (!offset->is_int() || offset->integer < 0) u.error(fn, ": expected a non-negative storage offset");
    PthTensorRef t;
    t.view = static_cast<std::size_t>(storage->handle);
    t.offset = offset->integer;
    t.size = int_tuple(u, fn, size_v, "size");
    t.stride = int_tuple(u, fn, stride_v, "stride");
    if (t.size.size() != t.stride.size())
      u.error(fn, ": size ", shape_str(t.size), " and stride ", shape_str(t.stride), " differ in rank");
    const PthStorageView& view = views[t.view];
    // numel and the largest element index, overflow-checked (every factor is bounded before multiplying).
    std::uint64_t numel = 1, last = static_cast<std::uint64_t>(t.offset);
    bool empty = false;
    for (std::size_t i = 0; i < t.size.size(); ++i) {
      const auto n = static_cast<std::uint64_t>(t.size[i]);
      const auto st = static_cast<std::uint64_t>(t.stride[i]);
      if (n == 0) empty = true;
      if (n > 1 && numel > kPthIndexLimit / n) u.error(fn, ": size ", shape_str(t.size), " is too large");
      numel *= (n == 0 ? 1 : n);
      if (n > 1 && st > 0) {
        if (st > kPthIndexLimit / (n - 1) || last > kPthIndexLimit - st * (n - 1))
          u.error(fn, ": size ", shape_str(t.size), " with stride ", shape_str(t.stride), " is too large");
        last += st * (n - 1);
      }
    }
    if (!empty) {
      if (last >= view.numel)
        u.error(fn, ": a tensor of size ", shape_str(t.size), ", stride ", shape_str(t.stride), " at offset ", t.offset,
                " reads element ", last, " of a storage of ", view.numel, " elements");
      if (numel > view.numel && numel > kPthMaxExpandedNumel)
        u.error(fn, ": a tensor of ", numel, " elements over a storage of ", view.numel, " elements");
    }
    // Many tensors may view one storage; together they must not ask for much more memory than the
    // file could ever describe (8x: int8 -> int64 is the widest conversion), or a small file could
    // make us allocate without bound.
    const std::uint64_t out_bytes = (empty ? 0 : numel) * element_size(roots[view.root].type->loads_as);
    total_bytes_ += out_bytes;
    if (out_bytes > kPthIndexLimit || total_bytes_ > 8 * file_size_ + (std::uint64_t{64} << 20))
      u.error(fn, ": the tensors so far need ", total_bytes_, " bytes, more than 8 times the file (", file_size_,
              " bytes) plus 64 MiB; the file is corrupt");
    tensors.push_back(std::move(t));
    pickle::Value* v = u.make(pickle::Value::Kind::Object);
    v->tag = kPthTensorTag;
    v->handle = static_cast<std::int64_t>(tensors.size() - 1);
    return v;
  }

  std::uint64_t file_size_;
  std::uint64_t total_bytes_ = 0;  // of every tensor rebuilt so far, as loaded
  std::map<std::string, std::size_t> root_index_;
};

// One converted element: storage element `i` (bounded by the caller) into out[j].
inline void pth_convert(const PthStorageType& type, const unsigned char* src, std::uint64_t i, void* out,
                        std::uint64_t j) {
  using C = PthStorageType::Convert;
  const unsigned char* p = src + i * type.bytes;
  switch (type.convert) {
    case C::Copy:
      std::memcpy(static_cast<unsigned char*>(out) + j * type.bytes, p, static_cast<std::size_t>(type.bytes));
      return;
    case C::Half: static_cast<float*>(out)[j] = half_bits_to_float(le_u16(p)); return;
    case C::BFloat16: static_cast<float*>(out)[j] = bfloat16_bits_to_float(le_u16(p)); return;
    case C::Int32: static_cast<std::int64_t*>(out)[j] = static_cast<std::int32_t>(le_u32(p)); return;
    case C::Int16: static_cast<std::int64_t*>(out)[j] = static_cast<std::int16_t>(le_u16(p)); return;
    case C::Int8: static_cast<std::int64_t*>(out)[j] = static_cast<std::int8_t>(p[0]); return;
    case C::UInt8: static_cast<std::int64_t*>(out)[j] = p[0]; return;
    case C::Bool: static_cast<unsigned char*>(out)[j] = p[0]; return;
  }
}

// A fresh contiguous tensor from `ref` over the root storage's bytes (already bounds-checked by
// rebuild_tensor against the view, and the view against the root).
inline Tensor pth_materialize(const PthHooks& h, const PthTensorRef& ref, const std::vector<unsigned char>& bytes,
                              const std::string& path, const std::string& name) {
  const PthStorageView& view = h.views[ref.view];
  const PthStorageType& type = *h.roots[view.root].type;
  Tensor out = Tensor::empty(ref.size, TensorOptions(type.loads_as));
  const auto n = static_cast<std::uint64_t>(out.numel());
  if (n == 0) return out;
  const std::uint64_t base = view.offset + static_cast<std::uint64_t>(ref.offset);
  void* dst = out.raw_data();
  if (type.convert == PthStorageType::Convert::Copy && ref.stride == contiguous_strides(ref.size)) {
    std::memcpy(dst, bytes.data() + base * type.bytes, static_cast<std::size_t>(n * type.bytes));
  } else {
    // Walk the index space in row-major order, carrying the storage index with it.
    const std::size_t rank = ref.size.size();
    std::vector<std::int64_t> idx(rank, 0);
    std::uint64_t src = base;
    for (std::uint64_t j = 0; j < n; ++j) {
      pth_convert(type, bytes.data(), src, dst, j);
      for (std::size_t d = rank; d-- > 0;) {
        if (++idx[d] < ref.size[d]) {
          src += static_cast<std::uint64_t>(ref.stride[d]);
          break;
        }
        src -= static_cast<std::uint64_t>(ref.stride[d]) * static_cast<std::uint64_t>(ref.size[d] - 1);
        idx[d] = 0;
      }
    }
  }
  if (type.convert == PthStorageType::Convert::Bool) {
    const unsigned char* b = static_cast<const unsigned char*>(dst);
    for (std::uint64_t j = 0; j < n; ++j)
      if (b[j] > 1)
        fail("load_pth", path, ": tensor \"", name, "\": bool element ", j, " is ", static_cast<int>(b[j]),
             ", expected 0 or 1");
  }
  return out;
}

// The state_dict inside the unpickled object: (name, tensor index) in file order.
inline std::vector<std::pair<std::string, std::size_t>> pth_state_dict_entries(const pickle::Value* root,
                                                                               const std::string& path) {
  constexpr const char* op = "load_pth";
  if (!root->is_dict())
    fail(op, path, ": expected the checkpoint to hold a dict of tensors (a state_dict), found ",
         pickle::kind_name(root->kind));
  // {"state_dict": {...}, "epoch": ...} or {"model": {...}, ...}: the tensors are one level down.
  for (int depth = 0; depth < 8; ++depth) {
    const pickle::Value* inner = root->get("state_dict");
    if (!inner || !inner->is_dict()) inner = root->get("model");
    if (!inner || !inner->is_dict()) break;
    root = inner;
  }
  std::vector<std::pair<std::string, std::size_t>> out;
  for (const auto& e : root->entries) {
    if (!e.first->is_string())
      fail(op, path, ": expected the state_dict's keys to be strings, found ", pickle::kind_name(e.first->kind));
    std::string name = e.first->text;
    if (!PthHooks::is_tensor(e.second))
      fail(op, path, ": state_dict entry \"", name, "\" is ", pickle::kind_name(e.second->kind), ", expected a tensor");
    while (name.compare(0, 7, "module.") == 0 && name.size() > 7) name.erase(0, 7);  // nn.DataParallel
    out.emplace_back(std::move(name), static_cast<std::size_t>(e.second->handle));
  }
  return out;
}

// Buffered sequential reads of a BinaryFile, for the legacy format's back-to-back pickles.
class PthFileSource : public pickle::Source {
 public:
  explicit PthFileSource(BinaryFile& f) : f_(f) {}
  std::uint64_t position() const override { return pos_; }
  std::uint64_t remaining() const override { return f_.size() - pos_; }
  void read(unsigned char* dst, std::uint64_t n) override {
    while (n > 0) {
      if (pos_ < buf_start_ || pos_ >= buf_start_ + buf_.size()) {
        const std::uint64_t len = remaining() < 65536 ? remaining() : 65536;
        buf_ = f_.read_vector(pos_, len, "the pickle stream");
        buf_start_ = pos_;
      }
      const std::uint64_t have = buf_start_ + buf_.size() - pos_;
      const std::uint64_t k = n < have ? n : have;
      std::memcpy(dst, buf_.data() + (pos_ - buf_start_), static_cast<std::size_t>(k));
      dst += k;
      pos_ += k;
      n -= k;
    }
  }

 private:
  BinaryFile& f_;
  std::uint64_t pos_ = 0;
  std::uint64_t buf_start_ = 0;
  std::vector<unsigned char> buf_;
};

// Fills `out` (indexed like `entries`) with the tensors that live in root storage `root`.
inline void pth_fill_from_root(const PthHooks& h, std::size_t root, const std::vector<unsigned char>& bytes,
                               const std::vector<std::pair<std::string, std::size_t>>& entries,
                               std::vector<Tensor>& out, const std::string& path) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const PthTensorRef& ref = h.tensors[entries[i].second];
    if (h.views[ref.view].root == root) out[i] = pth_materialize(h, ref, bytes, path, entries[i].first);
  }
}

// The common case, one contiguous tensor that is the whole storage and loads without conversion, is
// read straight into the tensor's memory (no second copy of the largest layers: loading a 528 MB
// VGG16 file then peaks at the size of its tensors). Returns the entry's index, or SIZE_MAX.
inline std::size_t pth_direct_entry(const PthHooks& h, std::size_t root,
                                    const std::vector<std::pair<std::string, std::size_t>>& entries) {
  std::size_t found = SIZE_MAX;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const PthTensorRef& ref = h.tensors[entries[i].second];
    if (h.views[ref.view].root != root) continue;
    if (found != SIZE_MAX) return SIZE_MAX;  // shared by several tensors
    found = i;
  }
  if (found == SIZE_MAX) return SIZE_MAX;
  const PthTensorRef& ref = h.tensors[entries[found].second];
  const PthStorageView& view = h.views[ref.view];
  const PthRootStorage& rs = h.roots[root];
  const bool whole = view.offset == 0 && ref.offset == 0 && ref.stride == contiguous_strides(ref.size) &&
                     static_cast<std::uint64_t>(numel_of(ref.size)) == rs.numel;
  return whole && rs.type->convert == PthStorageType::Convert::Copy ? found : SIZE_MAX;
}

inline StateDict pth_assemble(const std::vector<std::pair<std::string, std::size_t>>& entries,
                              std::vector<Tensor>& tensors) {
  StateDict sd;
  for (std::size_t i = 0; i < entries.size(); ++i) sd.insert(entries[i].first, std::move(tensors[i]));
  return sd;
}

inline StateDict load_pth_zip(BinaryFile& file) {
  constexpr const char* op = "load_pth";
  const std::string& path = file.path();
  ZipReader zip(file);
  // The archive's one top-level folder holds data.pkl (torch names it after the file: "archive/", "resnet50/").
  const ZipEntry* pkl = nullptr;
  for (const auto& e : zip.entries()) {
    const auto slash = e.name.find('/');
    if (slash != std::string::npos && slash > 0 && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      pkl = &e;
      break;
    }
  }
  if (!pkl) {
    std::string names;
    for (std::size_t i = 0; i < zip.entries().size() && i < 5; ++i) names += (i ? ", " : "") + zip.entries()[i].name;
    fail(op, path, ": a zip archive without <folder>/data.pkl: not a PyTorch checkpoint (entries: ", names,
         zip.entries().size() > 5 ? ", ..." : "", ")");
  }
  const std::string prefix = pkl->name.substr(0, pkl->name.size() - 8);  // "archive/"
  if (const ZipEntry* bo = zip.find(prefix + "byteorder")) {
    if (bo->size > 16) fail(op, path, ": the byteorder entry has ", bo->size, " bytes, expected \"little\"");
    const std::vector<unsigned char> b = zip.read(*bo);
    const std::string order(b.begin(), b.end());
    if (order != "little")
      fail(op, path, ": the checkpoint's byte order is \"", order, "\"; anima reads little-endian files");
  }
  const std::vector<unsigned char> pickle_bytes = zip.read(*pkl);
  PthHooks hooks(file.size());
  pickle::Unpickler u(hooks, op, path + " (" + pkl->name + ")");
  pickle::BufferSource src(pickle_bytes.data(), pickle_bytes.size());
  const pickle::Value* root = u.load(src);
  const auto entries = pth_state_dict_entries(root, path);

  std::vector<Tensor> tensors(entries.size());
  std::vector<bool> done(hooks.roots.size(), false);
  for (const auto& e : entries) {
    const std::size_t r = hooks.views[hooks.tensors[e.second].view].root;
    if (done[r]) continue;
    done[r] = true;
    const PthRootStorage& root_storage = hooks.roots[r];
    const std::string entry_name = prefix + "data/" + root_storage.key;
    const ZipEntry* data = zip.find(entry_name);
    if (!data)
      fail(op, path, ": storage '", root_storage.key, "' (of tensor \"", e.first, "\") has no zip entry ", entry_name);
    const std::uint64_t expected = root_storage.numel * root_storage.type->bytes;
    if (data->size != expected)
      fail(op, path, ": zip entry ", entry_name, " has ", data->size, " bytes, expected ", expected, " (",
           root_storage.numel, " x ", root_storage.type->name, ")");
    const std::size_t direct = pth_direct_entry(hooks, r, entries);
    if (direct != SIZE_MAX) {
      const std::uint64_t start = zip.data_offset(*data);  // checks the entry lies inside the archive
      Tensor t = Tensor::empty(hooks.tensors[entries[direct].second].size, TensorOptions(root_storage.type->loads_as));
      file.read_at(start, t.raw_data(), expected, "zip entry \"" + entry_name + "\"");
      tensors[direct] = std::move(t);
      continue;
    }
    const std::vector<unsigned char> bytes = zip.read(*data);
    pth_fill_from_root(hooks, r, bytes, entries, tensors, path);
  }
  return pth_assemble(entries, tensors);
}

inline StateDict load_pth_legacy(BinaryFile& file) {
  constexpr const char* op = "load_pth";
  const std::string& path = file.path();
  PthHooks hooks(file.size());
  pickle::Unpickler u(hooks, op, path);
  PthFileSource src(file);
  // 0x1950a86a20f9469cfc6c, as LONG1 writes it: 10 bytes, little-endian.
  static const unsigned char magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  const pickle::Value* m = u.load(src);
  if (!m->is(pickle::Value::Kind::BigInt) || m->text.size() != 10 || std::memcmp(m->text.data(), magic, 10) != 0)
    fail(op, path,
         ": not a PyTorch legacy checkpoint: the first pickle is not the magic number 0x1950a86a20f9469cfc6c");
  const pickle::Value* version = u.load(src);
  if (!version->is_int() || version->integer != 1001)
    fail(op, path, ": legacy checkpoint protocol version ",
         version->is_int() ? std::to_string(version->integer) : std::string(pickle::kind_name(version->kind)),
         ", expected 1001");
  const pickle::Value* sys_info = u.load(src);
  if (!sys_info->is_dict())
    fail(op, path, ": expected the legacy checkpoint's sys_info dict, found ", pickle::kind_name(sys_info->kind));
  if (const pickle::Value* le = sys_info->get("little_endian"))
    if (!le->is(pickle::Value::Kind::Bool) || !le->boolean)
      fail(op, path, ": the checkpoint was written on a big-endian machine; anima reads little-endian files");
  const pickle::Value* root = u.load(src);
  const auto entries = pth_state_dict_entries(root, path);
  const pickle::Value* keys = u.load(src);
  if (!keys->is(pickle::Value::Kind::List))
    fail(op, path, ": expected the list of storage keys, found ", pickle::kind_name(keys->kind));

  std::map<std::string, std::size_t> root_of;
  for (std::size_t r = 0; r < hooks.roots.size(); ++r) root_of.emplace(hooks.roots[r].key, r);
  std::vector<bool> loaded(hooks.roots.size(), false);
  std::vector<Tensor> tensors(entries.size());
  std::uint64_t pos = src.position();
  for (const pickle::Value* k : keys->items) {
    std::string key;
    if (k->is_string())
      key = k->text;
    else if (k->is_int())
      key = std::to_string(k->integer);
    else
      fail(op, path, ": expected storage keys to be strings, found ", pickle::kind_name(k->kind));
    auto it = root_of.find(key);
    if (it == root_of.end()) fail(op, path, ": the storage key list names '", key, "', which no tensor uses");
    const std::size_t r = it->second;
    if (loaded[r]) fail(op, path, ": the storage key list names '", key, "' twice");
    loaded[r] = true;
    const PthRootStorage& rs = hooks.roots[r];
    unsigned char count_bytes[8];
    file.read_at(pos, count_bytes, 8, "the element count of storage '" + key + "'");
    const std::uint64_t count = le_u64(count_bytes);
    if (count != rs.numel)
      fail(op, path, ": storage '", key, "' has ", count, " elements in the data section, expected ", rs.numel,
           " (from its persistent id)");
    pos += 8;
    const std::uint64_t nbytes = rs.numel * rs.type->bytes;  // bounded by the file size in persistent_load
    const std::size_t direct = pth_direct_entry(hooks, r, entries);
    if (direct != SIZE_MAX) {
      if (!file.contains(pos, nbytes))  // before allocating
        fail(op, path, ": truncated or corrupt: storage '", key, "' needs ", nbytes, " bytes at offset ", pos,
             ", the file has ", file.size(), " bytes");
      Tensor t = Tensor::empty(hooks.tensors[entries[direct].second].size, TensorOptions(rs.type->loads_as));
      file.read_at(pos, t.raw_data(), nbytes, "storage '" + key + "'");
      tensors[direct] = std::move(t);
    } else {
      const std::vector<unsigned char> bytes = file.read_vector(pos, nbytes, "storage '" + key + "'");
      pth_fill_from_root(hooks, r, bytes, entries, tensors, path);
    }
    pos += nbytes;
  }
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (!tensors[i].defined())
      fail(op, path, ": the data of tensor \"", entries[i].first, "\" (storage '",
           hooks.roots[hooks.views[hooks.tensors[entries[i].second].view].root].key,
           "') is missing from the storage list");
  return pth_assemble(entries, tensors);
}

}  // namespace detail

// Reads a PyTorch checkpoint (zip or legacy format, told apart by the first bytes) into a StateDict
// in the file's order.
inline StateDict load_pth(const std::string& path) {
  constexpr const char* op = "load_pth";
  ANIMA_CHECK(detail::host_is_little_endian(), op, path, ": checkpoint data is little-endian; this host is not");
  BinaryFile file(path, op);
  unsigned char head[4] = {0, 0, 0, 0};
  const std::uint64_t n = file.size() < 4 ? file.size() : 4;
  file.read_at(0, head, n, "the file header");
  if (n >= 4 && head[0] == 'P' && head[1] == 'K' && ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6)))
    return detail::load_pth_zip(file);
  if (n >= 2 && head[0] == 0x80) return detail::load_pth_legacy(file);
  fail(op, path,
       ": not a PyTorch checkpoint (expected a zip archive starting with \"PK\" or a legacy pickle stream "
       "starting with 0x80; the file has ",
       file.size(), " bytes", n > 0 ? "" : ", it is empty", ")");
}

}  // namespace anima::io
