// anima/kernels/cpu/copy.hpp — gather a strided tensor into contiguous memory, and convert dtypes.
//
//   y[i] = x[layout.offset(i)]            for i in [0, n)       (strided_copy)
//   y[i] = To(x[layout.offset(i)])        for i in [0, n)       (cast)
//   y[ly.offset(i)] = x[lx.offset(i)]     for i in [0, n)       (copy_into: strided destination)
// Copying only needs the element's width, so strided_copy works on bytes of width 1, 2, 4 or 8.
// The *_reference loops are the definitions above; the others walk the merged dimensions row by row
// (strided_rows.hpp: one offset computation per row instead of per element), same result.
#pragma once

#include <cstdint>
#include <cstring>

#include <anima/kernels/cpu/strided_rows.hpp>
#include <anima/kernels/layout.hpp>

namespace anima::kernels::cpu {

template <class T>
void strided_copy_reference(const T* x, const Layout& layout, T* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = x[layout.offset(i)];
}

template <class T>
void copy_into_reference(const T* x, const Layout& lx, T* y, const Layout& ly, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[ly.offset(i)] = x[lx.offset(i)];
}

template <class From, class To>
void cast(const From* x, const Layout& layout, To* y, std::int64_t n) {
  const Layout* layouts[1] = {&layout};
  const StridedRows<1> rows(layouts);
  const std::int64_t sx = rows.inner_stride(0);
  rows.for_each_row(0, n, [&](std::int64_t i, const std::int64_t* offsets, std::int64_t length) {
    const From* xr = x + offsets[0];
    To* yr = y + i;
    if (sx == 1) {
      for (std::int64_t j = 0; j < length; ++j) yr[j] = static_cast<To>(xr[j]);
    } else {
      for (std::int64_t j = 0; j < length; ++j) yr[j] = static_cast<To>(xr[j * sx]);
    }
  });
}

template <class T>
void strided_copy_typed(const T* x, const Layout& layout, T* y, std::int64_t n) {
  if (layout.contiguous) {
    std::memcpy(y, x, static_cast<std::size_t>(n) * sizeof(T));
    return;
  }
  cast<T, T>(x, layout, y, n);
}

inline void strided_copy(std::size_t element_bytes, const void* x, const Layout& layout, void* y, std::int64_t n) {
  switch (element_bytes) {
    case 1: strided_copy_typed(static_cast<const std::uint8_t*>(x), layout, static_cast<std::uint8_t*>(y), n); break;
    case 2: strided_copy_typed(static_cast<const std::uint16_t*>(x), layout, static_cast<std::uint16_t*>(y), n); break;
    case 4: strided_copy_typed(static_cast<const std::uint32_t*>(x), layout, static_cast<std::uint32_t*>(y), n); break;
    case 8: strided_copy_typed(static_cast<const std::uint64_t*>(x), layout, static_cast<std::uint64_t*>(y), n); break;
    default: break;  // the op layer only passes widths 1, 2, 4, 8
  }
}

// y[ly.offset(i)] = x[lx.offset(i)]: writes into a strided destination (a view of a larger tensor).
template <class T>
void copy_into_typed(const T* x, const Layout& lx, T* y, const Layout& ly, std::int64_t n) {
  const Layout* layouts[2] = {&lx, &ly};
  const StridedRows<2> rows(layouts);
  const std::int64_t sx = rows.inner_stride(0), sy = rows.inner_stride(1);
  rows.for_each_row(0, n, [&](std::int64_t, const std::int64_t* offsets, std::int64_t length) {
    const T* xr = x + offsets[0];
    T* yr = y + offsets[1];
    if (sx == 1 && sy == 1) {
      for (std::int64_t j = 0; j < length; ++j) yr[j] = xr[j];
    } else {
      for (std::int64_t j = 0; j < length; ++j) yr[j * sy] = xr[j * sx];
    }
  });
}

inline void copy_into(std::size_t element_bytes, const void* x, const Layout& lx, void* y, const Layout& ly,
                      std::int64_t n) {
  switch (element_bytes) {
    case 1: copy_into_typed(static_cast<const std::uint8_t*>(x), lx, static_cast<std::uint8_t*>(y), ly, n); break;
    case 2: copy_into_typed(static_cast<const std::uint16_t*>(x), lx, static_cast<std::uint16_t*>(y), ly, n); break;
    case 4: copy_into_typed(static_cast<const std::uint32_t*>(x), lx, static_cast<std::uint32_t*>(y), ly, n); break;
    case 8: copy_into_typed(static_cast<const std::uint64_t*>(x), lx, static_cast<std::uint64_t*>(y), ly, n); break;
    default: break;
  }
}

}  // namespace anima::kernels::cpu
