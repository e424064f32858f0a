// anima/backends/cpu/paste_masks.hpp — the dispatch tag of paste_masks_in_image
// (anima/detection/paste_masks.hpp) and its CPU entry (anima/kernels/cpu/paste_masks.hpp). CUDA:
// anima/backends/cuda/paste_masks.cuh.
#pragma once

#include <cstdint>

#include <anima/core/dtype.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/kernels/cpu/paste_masks.hpp>
#include <anima/kernels/paste_masks_math.hpp>

namespace anima {

// Dispatch tag. Contract: masks contiguous [R, M, M]; boxes int64 [R, 4] (X0, Y0, X1, Y1 inclusive,
// already expanded) on the same device; out contiguous [R, H, W], every element written.
struct PasteMasksKernel {
  using Fn = void(DType dtype, const void* masks, const std::int64_t* boxes, const kernels::PasteMasksGeometry& g,
                  void* out);
  static constexpr const char* name = "paste_masks_in_image";
  static void cpu(DType dtype, const void* masks, const std::int64_t* boxes, const kernels::PasteMasksGeometry& g,
                  void* out) {
    ANIMA_DISPATCH_FLOATING(dtype, name, [&] {
      kernels::cpu::paste_masks_rows<scalar_t>(static_cast<const scalar_t*>(masks), boxes, g,
                                               static_cast<scalar_t*>(out), default_parallel());
    });
  }
};

}  // namespace anima
