// anima/ops/roi_pool.hpp — RoIPool (Girshick, "Fast R-CNN", ICCV 2015), torchvision 0.14's
// torchvision.ops.roi_pool semantics. Kept beside RoIAlign for comparison and teaching.
//
// Shapes: input [N, C, H, W], rois [K, 5] (batch index, x1, y1, x2, y2), output [K, C, PH, PW].
// Forward: the box is scaled and rounded to whole pixels (start = round(x1·scale), end = round(x2·scale),
// inclusive, size = max(end - start + 1, 1)), split into PH x PW bins [floor(p·size/P), ceil((p+1)·size/P))
// clipped to the map; y = max over the bin (0 for an empty bin). Saved: the int64 argmax of every
// output (flat h·W + w in its plane; -1 for an empty bin, which routes no gradient) and the rois.
// Backward: dL/dx[b_k, c, argmax] += dL/dy[k, c, ph, pw]; rois get no gradient.
// Bin math: anima/kernels/roi_align_math.hpp (roi_pool_bin); kernels: anima/kernels/cpu/roi_pool.hpp,
// anima/kernels/cuda/roi_pool.cuh. Bad input: as roi_align (anima/ops/roi_align.hpp).
// Determinism: forward bitwise reproducible; backward: CPU deterministic (channel-parallel, RoIs in
// order); CUDA uses float atomicAdd (as torchvision), not bitwise reproducible when RoIs overlap.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <anima/autograd/node.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/tensor.hpp>
#include <anima/ops/roi_align.hpp>
#include <anima/backends/cpu/roi_pool.hpp>

namespace anima {

// input [N, C, H, W], rois [K, 5] -> [K, C, output_size[0], output_size[1]]
inline Tensor roi_pool(const Tensor& input, const Tensor& rois, std::array<std::int64_t, 2> output_size,
                       double spatial_scale = 1.0) {
  const kernels::RoiAlignGeometry g = detail::roi_geometry(input, rois, output_size, spatial_scale, "roi_pool");
  detail::check_rois_on_host(rois, g.batch, "roi_pool");
  const Tensor x = detail::roi_contiguous(input);
  const Tensor r = detail::roi_contiguous(rois);
  const TensorOptions to = TensorOptions(x.dtype()).with_device(x.device());
  Tensor y = Tensor::empty({g.num_rois, g.channels, g.pooled_h, g.pooled_w}, to);
  Tensor argmax = Tensor::empty(y.shape(), TensorOptions(DType::Int64).with_device(x.device()));
  if (y.numel() > 0)
    kernel_for<RoiPoolForwardKernel>(x.device())(x.dtype(), x.raw_data(), r.raw_data(), g, y.raw_data(),
                                                 argmax.data<std::int64_t>());
  const Shape x_shape = x.shape();
  record("roi_pool", y, {input, rois}, [g, r, argmax, x_shape](const Tensor& grad) -> std::vector<Tensor> {
    const Tensor gy = detail::roi_contiguous(grad);
    Tensor gx = Tensor::empty(x_shape, TensorOptions(gy.dtype()).with_device(gy.device()));
    if (gx.numel() > 0)
      kernel_for<RoiPoolBackwardKernel>(gy.device())(gy.dtype(), gy.raw_data(), argmax.data<std::int64_t>(),
                                                     r.raw_data(), g, gx.raw_data());
    return {gx, Tensor()};
  });
  return y;
}

}  // namespace anima
