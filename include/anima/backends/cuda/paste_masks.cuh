// anima/backends/cuda/paste_masks.cuh — CUDA entry of the paste_masks_in_image kernel tag
// (anima/backends/cpu/paste_masks.hpp), run on anima::cuda::current_stream(). Kernel, numerics and
// determinism: anima/kernels/cuda/paste_masks.cuh.
#pragma once

#include <cstdint>

#include <anima/backends/cuda/check.cuh>
#include <anima/core/dispatch.hpp>
#include <anima/core/dtype.hpp>
#include <anima/backends/cuda/runtime.cuh>
#include <anima/backends/cpu/paste_masks.hpp>
#include <anima/kernels/cuda/paste_masks.cuh>

namespace anima::cuda {

inline void paste_masks(DType dtype, const void* masks, const std::int64_t* boxes, const kernels::PasteMasksGeometry& g,
                        void* out) {
  ANIMA_DISPATCH_FLOATING(dtype, PasteMasksKernel::name, [&] {
    ANIMA_CUDA_CHECK(kernels::cuda::paste_masks<scalar_t>(static_cast<const scalar_t*>(masks), boxes, g,
                                                          static_cast<scalar_t*>(out), current_stream()));
  });
}

// Puts this header's CUDA entries into the dispatch table; called by register_backend().
inline void register_paste_masks_kernels() { KernelRegistry<PasteMasksKernel>::cuda = &paste_masks; }

}  // namespace anima::cuda
