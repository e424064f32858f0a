// anima/kernels/cuda/copy.cuh — gather a strided tensor into contiguous memory, and convert dtypes (CUDA).
//
//   y[i] = x[layout.offset(i)]            for i in [0, n)       (strided_copy, elements of 1/2/4/8 bytes)
//   y[i] = To(x[layout.offset(i)])        for i in [0, n)       (cast between float/double/int64/bool)
//   y[ly.offset(i)] = x[lx.offset(i)]     for i in [0, n)       (copy_into: strided destination)
// Same contract as anima/kernels/cpu/copy.hpp. A contiguous strided_copy is one cudaMemcpyAsync
// (device to device) on the stream. Conversions are C++ static_casts: x != 0 for bool (NaN -> true);
// float -> int64 truncates toward zero. Out-of-range or NaN float -> int64 is undefined in C++; here
// the GPU's conversion saturates (NaN -> 0x8000000000000000), which may differ from the CPU.
// Determinism: one thread per output element: run-to-run deterministic.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include <anima/kernels/cuda/status.cuh>
#include <anima/kernels/cuda/elementwise.cuh>  // grid_1d, kBlock, grid-stride helpers
#include <anima/kernels/layout.hpp>

namespace anima::kernels::cuda {

template <class T>
__global__ void strided_copy_kernel(const T* __restrict__ x, Layout layout, T* __restrict__ y, std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) y[i] = x[layout.offset(i)];
}

template <class T>
__global__ void copy_into_kernel(const T* __restrict__ x, Layout lx, T* __restrict__ y, Layout ly, std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) y[ly.offset(i)] = x[lx.offset(i)];
}

template <class From, class To, bool Contiguous>
__global__ void cast_kernel(const From* __restrict__ x, Layout layout, To* __restrict__ y, std::int64_t n) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride())
    y[i] = static_cast<To>(x[Contiguous ? i : layout.offset(i)]);
}

template <class T>
[[nodiscard]] cudaError_t strided_copy_typed(const T* x, const Layout& layout, T* y, std::int64_t n,
                                             cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (layout.contiguous) {
    ANIMA_KERNEL_TRY(cudaMemcpyAsync(y, x, static_cast<std::size_t>(n) * sizeof(T), cudaMemcpyDeviceToDevice, stream));
    return cudaSuccess;
  }
  strided_copy_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(x, layout, y, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

[[nodiscard]] inline cudaError_t strided_copy(std::size_t element_bytes, const void* x, const Layout& layout, void* y,
                                              std::int64_t n, cudaStream_t stream) {
  switch (element_bytes) {
    case 1:
      return strided_copy_typed(static_cast<const std::uint8_t*>(x), layout, static_cast<std::uint8_t*>(y), n, stream);
    case 2:
      return strided_copy_typed(static_cast<const std::uint16_t*>(x), layout, static_cast<std::uint16_t*>(y), n,
                                stream);
    case 4:
      return strided_copy_typed(static_cast<const std::uint32_t*>(x), layout, static_cast<std::uint32_t*>(y), n,
                                stream);
    case 8:
      return strided_copy_typed(static_cast<const std::uint64_t*>(x), layout, static_cast<std::uint64_t*>(y), n,
                                stream);
    default: return cudaErrorInvalidValue;  // element widths are 1, 2, 4 or 8 bytes
  }
}

template <class T>
[[nodiscard]] cudaError_t copy_into_typed(const T* x, const Layout& lx, T* y, const Layout& ly, std::int64_t n,
                                          cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  copy_into_kernel<T><<<grid_1d(n), kBlock, 0, stream>>>(x, lx, y, ly, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

[[nodiscard]] inline cudaError_t copy_into(std::size_t element_bytes, const void* x, const Layout& lx, void* y,
                                           const Layout& ly, std::int64_t n, cudaStream_t stream) {
  switch (element_bytes) {
    case 1:
      return copy_into_typed(static_cast<const std::uint8_t*>(x), lx, static_cast<std::uint8_t*>(y), ly, n, stream);
    case 2:
      return copy_into_typed(static_cast<const std::uint16_t*>(x), lx, static_cast<std::uint16_t*>(y), ly, n, stream);
    case 4:
      return copy_into_typed(static_cast<const std::uint32_t*>(x), lx, static_cast<std::uint32_t*>(y), ly, n, stream);
    case 8:
      return copy_into_typed(static_cast<const std::uint64_t*>(x), lx, static_cast<std::uint64_t*>(y), ly, n, stream);
    default: return cudaErrorInvalidValue;  // element widths are 1, 2, 4 or 8 bytes
  }
}

template <class From, class To>
[[nodiscard]] cudaError_t cast(const From* x, const Layout& layout, To* y, std::int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (layout.contiguous)
    cast_kernel<From, To, true><<<grid_1d(n), kBlock, 0, stream>>>(x, layout, y, n);
  else
    cast_kernel<From, To, false><<<grid_1d(n), kBlock, 0, stream>>>(x, layout, y, n);
  ANIMA_KERNEL_TRY_LAUNCH();
  return cudaSuccess;
}

}  // namespace anima::kernels::cuda
