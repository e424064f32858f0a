// anima/core/dispatch.hpp — the one place that picks a backend for a tensor's device.
//
// Every op family declares a kernel *tag* next to its op (ops/<family>.hpp):
//
//   struct UnaryKernel {
//     using Fn = void(DType, UnaryOp, ..., const void* x, const kernels::Layout&, void* y, int64_t n);
//     static constexpr const char* name = "unary";
//     static void cpu(...);          // the CPU implementation, always present
//   };
//
// and calls `kernel_for<UnaryKernel>(device)(args...)`. The CPU entry is the tag's own `cpu`
// function, so a CPU-only build needs no registration. The CUDA backend, when a translation unit
// compiled by nvcc includes <anima/cuda/backend.cuh>, fills `KernelRegistry<Tag>::cuda` for every
// tag it implements and registers its DeviceRuntime (allocator, copies, synchronisation). Asking
// for a CUDA kernel that was not registered throws an Error that says how to register it.
#pragma once

#include <cstddef>

#include <anima/core/allocator.hpp>
#include <anima/core/device.hpp>
#include <anima/core/error.hpp>

namespace anima {

template <class Tag>
struct KernelRegistry {
  static inline typename Tag::Fn* cuda = nullptr;
};

// Services a device backend provides besides kernels.
struct DeviceRuntime {
  const char* name = "";
  int (*device_count)() = nullptr;
  Allocator* (*allocator)(int device_index) = nullptr;
  // Copies `bytes` between any two of host / this backend's devices (one side may be the CPU).
  void (*copy_bytes)(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes) = nullptr;
  void (*synchronize)(int device_index) = nullptr;
};

inline DeviceRuntime*& cuda_runtime_slot() {
  static DeviceRuntime* runtime = nullptr;
  return runtime;
}

inline constexpr const char* kCudaNotRegistered =
    "the CUDA backend is not registered in this program (build with ANIMA_CUDA=ON and compile one .cu "
    "file that includes <anima/cuda/backend.cuh>)";

inline DeviceRuntime& runtime_for(Device d, const char* op) {
  ANIMA_CHECK(d.is_cuda(), op, "no device runtime for ", d.str());
  DeviceRuntime* r = cuda_runtime_slot();
  ANIMA_CHECK(r != nullptr, op, "cannot use ", d.str(), ": ", kCudaNotRegistered);
  return *r;
}

template <class Tag>
typename Tag::Fn* kernel_for(Device d) {
  if (d.is_cpu()) return &Tag::cpu;
  typename Tag::Fn* fn = KernelRegistry<Tag>::cuda;
  ANIMA_CHECK(fn != nullptr, Tag::name, "no CUDA kernel registered for '", Tag::name, "' (", kCudaNotRegistered, ")");
  return fn;
}

// Number of CUDA devices usable by this program: 0 when the backend is not registered or no GPU is present.
inline int cuda_device_count() {
  DeviceRuntime* r = cuda_runtime_slot();
  return r && r->device_count ? r->device_count() : 0;
}
inline bool cuda_is_available() { return cuda_device_count() > 0; }

inline Allocator& allocator_for(Device d) {
  if (d.is_cpu()) return cpu_allocator();
  DeviceRuntime& r = runtime_for(d, "allocator");
  const int n = r.device_count();
  ANIMA_CHECK(d.index >= 0 && d.index < n, "allocator", "device ", d.str(), " does not exist (", n,
              " CUDA device(s) present)");
  return *r.allocator(d.index);
}

inline MemoryStats memory_stats(Device d) { return allocator_for(d).stats(); }

inline void synchronize(Device d) {
  if (d.is_cpu()) return;
  runtime_for(d, "synchronize").synchronize(d.index);
}

}  // namespace anima
