// anima/backends/cuda/backend.cuh — the CUDA backend as one call: anima::cuda::register_backend() puts
// the CUDA runtime (allocators, copies, synchronisation) and every CUDA kernel into anima's dispatch
// table (anima/core/dispatch.hpp).
//
// A program that uses CUDA calls it once, from code compiled by nvcc, before its first CUDA tensor;
// calling it again is harmless. Nothing registers itself: a program that never calls it (or a loader
// that does, see anima::set_cuda_backend_loader) has no CUDA backend, and asking for a CUDA tensor
// then fails with an Error that says so. The `anima` tool keeps this in a plugin it loads on first
// CUDA use, so its CPU work never loads the CUDA libraries.
#pragma once

#include <anima/backends/cuda/activation.cuh>
#include <anima/backends/cuda/batch_norm.cuh>
#include <anima/backends/cuda/box_ops.cuh>
#include <anima/backends/cuda/conv.cuh>
#include <anima/backends/cuda/copy.cuh>
#include <anima/backends/cuda/elementwise.cuh>
#include <anima/backends/cuda/factory.cuh>
#include <anima/backends/cuda/index_rows.cuh>
#include <anima/backends/cuda/interpolate.cuh>
#include <anima/backends/cuda/matmul.cuh>
#include <anima/backends/cuda/nms.cuh>
#include <anima/backends/cuda/paste_masks.cuh>
#include <anima/backends/cuda/pool.cuh>
#include <anima/backends/cuda/reduce.cuh>
#include <anima/backends/cuda/roi_align.cuh>
#include <anima/backends/cuda/roi_pool.cuh>
#include <anima/backends/cuda/softmax.cuh>
#include <anima/backends/cuda/runtime.cuh>

namespace anima::cuda {

inline void register_backend() {
  register_runtime();
  register_activation_kernels();
  register_batch_norm_kernels();
  register_box_ops_kernels();
  register_conv_kernels();
  register_copy_kernels();
  register_elementwise_kernels();
  register_factory_kernels();
  register_index_rows_kernels();
  register_interpolate_kernels();
  register_matmul_kernels();
  register_nms_kernels();
  register_paste_masks_kernels();
  register_pool_kernels();
  register_reduce_kernels();
  register_roi_align_kernels();
  register_roi_pool_kernels();
  register_softmax_kernels();
}

}  // namespace anima::cuda
