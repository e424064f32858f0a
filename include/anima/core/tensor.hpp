// anima/core/tensor.hpp — the Tensor handle: a view (offset, shape, strides, dtype) of a Storage,
// plus the autograd fields (requires_grad, grad, grad_fn).
//
// Tensor is a cheap, shared handle (like torch.Tensor): copying it shares the data. Operations are
// free functions declared by the op headers (anima/ops/...): add(a, b), matmul(a, b), reshape(t, s),
// with operators + - * / for the elementwise ones. This header knows nothing about ops or autograd
// beyond the fields, so it can be included on its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <anima/core/device.hpp>
#include <anima/core/dtype.hpp>
#include <anima/core/error.hpp>
#include <anima/core/shape.hpp>
#include <anima/core/storage.hpp>
#include <anima/kernels/layout.hpp>

namespace anima {

struct Node;  // autograd/node.hpp

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  std::int64_t offset = 0;  // in elements
  Shape shape;
  Shape strides;  // in elements
  DType dtype = DType::Float32;

  // Autograd. A leaf has no grad_fn; gradients of leaves that require grad accumulate into `grad`.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<Node> grad_fn;
};

struct TensorOptions {
  DType dtype = DType::Float32;
  Device device = Device::cpu();
  bool requires_grad = false;

  TensorOptions() = default;
  TensorOptions(DType t) : dtype(t) {}    // NOLINT: implicit, so `zeros({2}, DType::Float64)` reads well
  TensorOptions(Device d) : device(d) {}  // NOLINT
  TensorOptions with_dtype(DType t) const {
    auto o = *this;
    o.dtype = t;
    return o;
  }
  TensorOptions with_device(Device d) const {
    auto o = *this;
    o.device = d;
    return o;
  }
  TensorOptions with_requires_grad(bool r = true) const {
    auto o = *this;
    o.requires_grad = r;
    return o;
  }
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // A new tensor with fresh, uninitialised, contiguous memory.
  static Tensor empty(const Shape& shape, TensorOptions opts = {}) {
    for (auto d : shape) ANIMA_CHECK(d >= 0, "empty", "negative size in shape ", shape_str(shape));
    auto impl = std::make_shared<TensorImpl>();
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->dtype = opts.dtype;
    impl->storage =
        std::make_shared<Storage>(static_cast<std::size_t>(numel_of(shape)) * element_size(opts.dtype), opts.device);
    impl->requires_grad = opts.requires_grad;
    return Tensor(std::move(impl));
  }

  // A view of existing storage (no copy).
  static Tensor view_of(std::shared_ptr<Storage> storage, DType dtype, Shape shape, Shape strides,
                        std::int64_t offset) {
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = std::move(storage);
    impl->dtype = dtype;
    impl->shape = std::move(shape);
    impl->strides = std::move(strides);
    impl->offset = offset;
    return Tensor(std::move(impl));
  }

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return checked().shape; }
  const Shape& strides() const { return checked().strides; }
  std::int64_t dim() const { return static_cast<std::int64_t>(shape().size()); }
  std::int64_t size(std::int64_t d) const { return shape()[normalize_dim(d, shape(), "size")]; }
  std::int64_t stride(std::int64_t d) const { return strides()[normalize_dim(d, shape(), "stride")]; }
  std::int64_t numel() const { return numel_of(shape()); }
  std::int64_t offset() const { return checked().offset; }
  DType dtype() const { return checked().dtype; }
  Device device() const { return checked().storage->device(); }
  const std::shared_ptr<Storage>& storage() const { return checked().storage; }

  bool is_contiguous() const {
    const auto& s = shape();
    const auto& st = strides();
    std::int64_t expected = 1;
    for (std::size_t i = s.size(); i-- > 0;) {
      if (s[i] != 1 && st[i] != expected) return false;
      expected *= s[i];
    }
    return true;
  }

  // Address of the first element (device memory for CUDA tensors).
  void* raw_data() const {
    const auto& i = checked();
    return static_cast<char*>(i.storage->data()) + i.offset * static_cast<std::int64_t>(element_size(i.dtype));
  }
  template <class T>
  T* data() const {
    ANIMA_CHECK(dtype_of<T>::value == dtype(), "data", "tensor holds ", dtype_name(dtype()), ", asked for ",
                dtype_name(dtype_of<T>::value));
    return static_cast<T*>(raw_data());
  }

  // How an elementwise kernel reads this tensor when producing an output of this tensor's shape.
  kernels::Layout layout() const { return layout_as(shape()); }
  // ... or an output of shape `out` that this tensor broadcasts to (stride 0 on broadcast dims).
  kernels::Layout layout_as(const Shape& out) const {
    const auto& s = shape();
    const auto& st = strides();
    ANIMA_CHECK(out.size() <= static_cast<std::size_t>(kernels::kMaxDims), "layout", "tensors of more than ",
                kernels::kMaxDims, " dimensions are not supported, got ", shape_str(out));
    ANIMA_CHECK(s.size() <= out.size(), "layout", "cannot broadcast ", shape_str(s), " to ", shape_str(out));
    kernels::Layout l;
    l.ndim = static_cast<int>(out.size());
    const std::size_t lead = out.size() - s.size();
    bool contiguous = true;
    std::int64_t expected = 1;
    for (std::size_t i = out.size(); i-- > 0;) {
      l.sizes[i] = out[i];
      std::int64_t stride = 0;
      if (i >= lead) {
        const std::int64_t si = s[i - lead];
        ANIMA_CHECK(si == out[i] || si == 1, "layout", "cannot broadcast ", shape_str(s), " to ", shape_str(out));
        stride = si == 1 && out[i] != 1 ? 0 : st[i - lead];
      }
      l.strides[i] = stride;
      if (out[i] != 1 && stride != expected) contiguous = false;
      expected *= out[i];
    }
    l.contiguous = contiguous;
    return l;
  }

  // Autograd fields.
  bool requires_grad() const { return checked().requires_grad; }
  // Marks a leaf as a parameter whose gradient backward() accumulates.
  Tensor& set_requires_grad(bool value) {
    ANIMA_CHECK(!value || is_floating(dtype()), "set_requires_grad", "only floating tensors can require grad, got ",
                dtype_name(dtype()));
    ANIMA_CHECK(is_leaf(), "set_requires_grad", "only leaf tensors can change requires_grad (use detach())");
    checked().requires_grad = value;
    return *this;
  }
  bool is_leaf() const { return checked().grad_fn == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return checked().grad_fn; }
  Tensor grad() const { return Tensor(checked().grad); }
  void set_grad(const Tensor& g) { checked().grad = g.impl_; }
  // Drops the accumulated gradient (the next backward starts from zero), as PyTorch's set_to_none.
  void zero_grad() { checked().grad.reset(); }

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  TensorImpl& checked() const {
    if (!impl_) fail("Tensor", "use of an undefined tensor");
    return *impl_;
  }
  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace anima
