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
// function (anima/backends/cpu/<op>.hpp), so a CPU-only program needs no registration.
//
// The CUDA backend is registered explicitly, never by static initialisation: one call,
// anima::cuda::register_backend() (anima/backends/cuda/backend.cuh, compiled by nvcc), fills
// `KernelRegistry<Tag>::cuda` for every tag and registers the DeviceRuntime (allocators, copies,
// synchronisation). A program that keeps the backend in a plugin sets a loader instead
// (set_cuda_backend_loader): it runs once, on the first CUDA use, and registers the backend then, so
// CPU-only work never loads the CUDA libraries. Asking for a CUDA kernel that was not registered
// throws an Error that says how to register it.
#pragma once

#include <cstddef>
#include <mutex>

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
    "the CUDA backend is not registered in this program (build with ANIMA_CUDA=ON and call "
    "anima::cuda::register_backend() from <anima/backends/cuda/backend.cuh> in a .cu file)";

// A function that registers the CUDA backend (for example by opening a plugin that calls
// anima::cuda::register_backend()); it may throw an Error saying why it could not.
using BackendLoader = void (*)();

inline BackendLoader& cuda_backend_loader_slot() {
  static BackendLoader loader = nullptr;
  return loader;
}

// Sets the loader that ensure_cuda_backend() runs on the first CUDA use. Set it before that use.
inline void set_cuda_backend_loader(BackendLoader loader) { cuda_backend_loader_slot() = loader; }

// The registered CUDA runtime, running the loader first (once) when there is none yet; nullptr when
// no backend is registered and no loader is set. A loader that throws is tried again on the next call.
inline DeviceRuntime* ensure_cuda_backend() {
  if (DeviceRuntime* r = cuda_runtime_slot()) return r;
  static std::once_flag once;
  std::call_once(once, [] {
    if (BackendLoader loader = cuda_backend_loader_slot()) loader();
  });
  return cuda_runtime_slot();
}

inline DeviceRuntime& runtime_for(Device d, const char* op) {
  ANIMA_CHECK(d.is_cuda(), op, "no device runtime for ", d.str());
  DeviceRuntime* r = ensure_cuda_backend();
  ANIMA_CHECK(r != nullptr, op, "cannot use ", d.str(), ": ", kCudaNotRegistered);
  return *r;
}

template <class Tag>
typename Tag::Fn* kernel_for(Device d) {
  if (d.is_cpu()) return &Tag::cpu;
  ensure_cuda_backend();
  typename Tag::Fn* fn = KernelRegistry<Tag>::cuda;
  ANIMA_CHECK(fn != nullptr, Tag::name, "no CUDA kernel registered for '", Tag::name, "' (", kCudaNotRegistered, ")");
  return fn;
}

// Number of CUDA devices usable by this program: 0 when no GPU is present, or when the backend is not
// registered and no loader is set or the loader fails (ensure_cuda_backend() reports why).
inline int cuda_device_count() {
  DeviceRuntime* r = nullptr;
  try {
    r = ensure_cuda_backend();
  } catch (const Error&) {
    return 0;
  }
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
