// anima/ops/factory.hpp — making tensors: empty, zeros, ones, full, arange, from a user buffer
// (copied or viewed), rand (uniform [0, 1)) and randn (standard normal) from Philox.
//
// Shapes are checked (no negative sizes); created tensors are leaves, with requires_grad from the
// options. Random draws advance the generator (default: anima::default_generator()).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/generator.hpp>
#include <anima/core/tensor.hpp>
#include <anima/backends/cpu/factory.hpp>

namespace anima {

inline Tensor empty(const Shape& shape, TensorOptions opts = {}) { return Tensor::empty(shape, opts); }

inline Tensor full(const Shape& shape, double value, TensorOptions opts = {}) {
  const bool requires_grad = opts.requires_grad;
  Tensor t = Tensor::empty(shape, opts.with_requires_grad(false));
  if (t.numel() > 0) kernel_for<FillKernel>(t.device())(t.dtype(), t.raw_data(), t.numel(), value);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}
inline Tensor zeros(const Shape& shape, TensorOptions opts = {}) { return full(shape, 0.0, opts); }
inline Tensor ones(const Shape& shape, TensorOptions opts = {}) { return full(shape, 1.0, opts); }
inline Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), TensorOptions(t.dtype()).with_device(t.device())); }
inline Tensor ones_like(const Tensor& t) { return ones(t.shape(), TensorOptions(t.dtype()).with_device(t.device())); }

// start, start + step, ... < end (as torch.arange); default dtype float32, Int64 allowed.
inline Tensor arange(double start, double end, double step = 1.0, TensorOptions opts = {}) {
  ANIMA_CHECK(step != 0.0, "arange", "step must be non-zero");
  ANIMA_CHECK(std::isfinite(start) && std::isfinite(end), "arange", "start and end must be finite");
  const double count = std::ceil((end - start) / step);
  const std::int64_t n = count > 0 ? static_cast<std::int64_t>(count) : 0;
  Tensor host = Tensor::empty({n}, TensorOptions(DType::Float64));
  double* p = host.data<double>();
  for (std::int64_t i = 0; i < n; ++i) p[i] = start + static_cast<double>(i) * step;
  Tensor typed = cast_copy(host, opts.dtype);
  Tensor out = opts.device.is_cpu() ? typed : device_copy(typed, opts.device);
  if (opts.requires_grad) out.set_requires_grad(true);
  return out;
}
inline Tensor arange(double end, TensorOptions opts = {}) { return arange(0.0, end, 1.0, opts); }

// A new tensor holding a copy of `count` values from `data` (host memory), moved to opts.device.
template <class T>
Tensor from_buffer(const T* data, const Shape& shape, TensorOptions opts = {}) {
  opts.dtype = dtype_of<T>::value;
  Tensor host = Tensor::empty(shape, TensorOptions(opts.dtype));
  copy_bytes(host.raw_data(), Device::cpu(), data, Device::cpu(), static_cast<std::size_t>(host.numel()) * sizeof(T));
  Tensor out = opts.device.is_cpu() ? host : device_copy(host, opts.device);
  if (opts.requires_grad) out.set_requires_grad(true);
  return out;
}
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions opts = {}) {
  ANIMA_CHECK(static_cast<std::int64_t>(values.size()) == numel_of(shape), "from_vector", "got ", values.size(),
              " values for shape ", shape_str(shape), " (", numel_of(shape), " elements)");
  return from_buffer(values.data(), shape, opts);
}

// A tensor viewing user memory without copying (host memory, or device memory for a CUDA device).
// The caller keeps `data` alive and unchanged in size while the tensor or any view of it lives.
template <class T>
Tensor view_of_buffer(T* data, const Shape& shape, Device device = Device::cpu()) {
  for (auto d : shape) ANIMA_CHECK(d >= 0, "view_of_buffer", "negative size in shape ", shape_str(shape));
  auto storage = Storage::borrow(data, static_cast<std::size_t>(numel_of(shape)) * sizeof(T), device);
  return Tensor::view_of(std::move(storage), dtype_of<T>::value, shape, contiguous_strides(shape), 0);
}

inline Tensor random_tensor(kernels::Distribution dist, const Shape& shape, double a, double b, TensorOptions opts,
                            Generator& gen) {
  ANIMA_CHECK(is_floating(opts.dtype), "random", "random tensors must be float32 or float64, got ",
              dtype_name(opts.dtype));
  const bool requires_grad = opts.requires_grad;
  Tensor t = Tensor::empty(shape, opts.with_requires_grad(false));
  const std::uint64_t offset = gen.advance(static_cast<std::uint64_t>(t.numel()));
  if (t.numel() > 0)
    kernel_for<RandomKernel>(t.device())(t.dtype(), dist, t.raw_data(), t.numel(), gen.seed(), offset, a, b);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

// Uniform in [lo, hi).
inline Tensor rand(const Shape& shape, TensorOptions opts = {}, Generator& gen = default_generator(), double lo = 0.0,
                   double hi = 1.0) {
  return random_tensor(kernels::Distribution::Uniform, shape, lo, hi, opts, gen);
}
// Normal(mean, std).
inline Tensor randn(const Shape& shape, TensorOptions opts = {}, Generator& gen = default_generator(),
                    double mean = 0.0, double stddev = 1.0) {
  return random_tensor(kernels::Distribution::Normal, shape, mean, stddev, opts, gen);
}

}  // namespace anima
