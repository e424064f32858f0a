// anima/ops/roi_align.hpp — RoIAlign (He et al., "Mask R-CNN", ICCV 2017), torchvision 0.14's
// torchvision.ops.roi_align semantics.
//
// Shapes: input [N, C, H, W], rois [K, 5] rows (batch index, x1, y1, x2, y2) in image coordinates
// (same dtype and device as input), output [K, C, PH, PW] with (PH, PW) = output_size.
// Forward: the box is scaled by spatial_scale (and shifted by -0.5 when aligned), split into PH x PW
// bins; each bin averages grid_h x grid_w bilinear samples at the centres of a regular sub-grid
//   y[k, c, ph, pw] = (1 / count) Σ_{iy, ix} bilinear(x[b_k, c], y_s(ph, iy), x_s(pw, ix)),
// grid = sampling_ratio > 0 ? sampling_ratio : ceil(box size / output size), count = max(grid_h·grid_w, 1);
// aligned = false keeps torchvision's legacy rule that a box is at least 1x1. Boundary rules (a sample
// beyond -1 or the map's size contributes 0, the last row/column is clamped) and the per-sample math:
// anima/kernels/roi_align_math.hpp.
// Backward (w.r.t. input only; rois get no gradient, as torchvision):
//   dL/dx[b_k, c, taps] += dL/dy[k, c, ph, pw] · w_tap / count for every sample.
// Saved: the rois (contiguous), their host copy when given (host_rois), the geometry; no activation.
// Kernels: anima/kernels/cpu/roi_align.hpp (Reference, Nhwc), anima/kernels/cuda/roi_align.cuh
// (V1, V2 forward; Atomic, Deterministic (gather, host plan), DeterministicDevicePlan (the same gather
// and bits, plan built on the device), FixedPoint backward); RoiAlignAlgorithms picks one per backend
// (anima/backends/roi_align_algorithms.hpp).
// Bad input: wrong ranks/shapes/dtypes/devices and non-positive sizes -> anima::Error. CPU rois are
// validated: a batch index outside [0, N) (or NaN), a non-finite coordinate, or (adaptive sampling
// ratio) a box so large that its grid would exceed kernels::kRoiMaxAdaptiveGrid samples per bin and
// axis -> anima::Error naming the RoI (kernels clamp that grid: no undefined cast, no endless loop). CUDA rois are not
// validated on the host; there an invalid RoI gives zeros and no gradient
// (documented safe result, tested in tests/cuda/roi_align_parity_test.cpp). The CUDA default backward
// (Deterministic, the gather) plans its work on the host: from host_rois when given (see below),
// else from a copy of the rois read back from the device (one synchronisation).
// Determinism: forward is bitwise reproducible on every backend. Backward: CPU Reference and Nhwc, CUDA
// Deterministic (the CUDA default), DeterministicDevicePlan and FixedPoint are bitwise reproducible run
// to run; CUDA Atomic (float atomicAdd, torchvision's scheme) is not.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/tensor.hpp>
#include <anima/kernels/roi_align_math.hpp>
#include <anima/ops/factory.hpp>
#include <anima/backends/cpu/roi_align.hpp>

namespace anima {

namespace detail {

inline Tensor roi_contiguous(const Tensor& t) { return t.is_contiguous() ? t : contiguous_copy(t); }

// Checks input / rois / sizes and returns the geometry (num_rois, pooled size, options filled in).
inline kernels::RoiAlignGeometry roi_geometry(const Tensor& input, const Tensor& rois,
                                              std::array<std::int64_t, 2> output_size, double spatial_scale,
                                              const char* op) {
  ANIMA_CHECK(input.defined() && rois.defined(), op, "input and rois must be defined");
  ANIMA_CHECK(input.dim() == 4, op, "expected input [N, C, H, W], got shape ", shape_str(input.shape()));
  ANIMA_CHECK(is_floating(input.dtype()), op, "expected a float32 or float64 input, got ", dtype_name(input.dtype()));
  ANIMA_CHECK(rois.dim() == 2 && rois.shape()[1] == 5, op,
              "expected rois [K, 5] (batch index, x1, y1, x2, y2), got shape ", shape_str(rois.shape()));
  ANIMA_CHECK(rois.dtype() == input.dtype(), op, "rois must have the input's dtype ", dtype_name(input.dtype()),
              ", got ", dtype_name(rois.dtype()));
  ANIMA_CHECK(rois.device() == input.device(), op, "rois are on ", rois.device().str(), " but the input is on ",
              input.device().str());
  ANIMA_CHECK(input.device().is_cpu() || cuda_is_available(), op, "input is on ", input.device().str(),
              ", but CUDA is not available here (no CUDA device, or ", kCudaNotRegistered, ")");
  ANIMA_CHECK(input.shape()[1] > 0 && input.shape()[2] > 0 && input.shape()[3] > 0, op,
              "expected non-zero channel and spatial sizes, got input ", shape_str(input.shape()));
  ANIMA_CHECK(output_size[0] > 0 && output_size[1] > 0, op, "output_size must be positive, got (", output_size[0], ", ",
              output_size[1], ")");
  ANIMA_CHECK(std::isfinite(spatial_scale) && spatial_scale > 0, op, "spatial_scale must be positive and finite, got ",
              spatial_scale);
  kernels::RoiAlignGeometry g;
  g.batch = input.shape()[0];
  g.channels = input.shape()[1];
  g.height = input.shape()[2];
  g.width = input.shape()[3];
  g.num_rois = rois.shape()[0];
  g.pooled_h = output_size[0];
  g.pooled_w = output_size[1];
  g.spatial_scale = spatial_scale;
  return g;
}

// CPU rois: batch index in [0, N) and finite coordinates, else an Error naming the RoI. With an
// adaptive sampling ratio (g.sampling_ratio <= 0, RoIAlign only), also a box small enough for its
// grid (at most kernels::kRoiMaxAdaptiveGrid samples per bin and axis; see roi_adaptive_grid).
inline void check_rois_on_host(const Tensor& rois, std::int64_t batch, const char* op,
                               const kernels::RoiAlignGeometry* adaptive = nullptr) {
  if (!rois.device().is_cpu() || rois.numel() == 0) return;
  const std::vector<double> r = to_vector<double>(rois);
  for (std::size_t k = 0; k * 5 < r.size(); ++k) {
    const double b = r[k * 5];
    ANIMA_CHECK(b >= 0 && b < static_cast<double>(batch), op, "RoI ", k, " has batch index ", b,
                ", expected a value in [0, ", batch, ") (the input has ", batch, " image(s))");
    for (int j = 1; j < 5; ++j)
      ANIMA_CHECK(std::isfinite(r[k * 5 + j]), op, "RoI ", k, " has a non-finite coordinate (", r[k * 5 + 1], ", ",
                  r[k * 5 + 2], ", ", r[k * 5 + 3], ", ", r[k * 5 + 4], ")");
    if (adaptive != nullptr && adaptive->sampling_ratio <= 0) {
      const double scale = adaptive->spatial_scale;
      const double w = std::fabs(r[k * 5 + 3] - r[k * 5 + 1]) * scale,
                   h = std::fabs(r[k * 5 + 4] - r[k * 5 + 2]) * scale;
      const double limit = static_cast<double>(kernels::kRoiMaxAdaptiveGrid);
      ANIMA_CHECK(
          h / static_cast<double>(adaptive->pooled_h) < limit && w / static_cast<double>(adaptive->pooled_w) < limit,
          op, "RoI ", k, " is ", w, " x ", h, " map pixels: with the adaptive sampling ratio that is more than ",
          kernels::kRoiMaxAdaptiveGrid,
          " samples per bin along an axis (give a fixed sampling_ratio, or clip the box)");
    }
  }
}

}  // namespace detail

// input [N, C, H, W], rois [K, 5] -> [K, C, output_size[0], output_size[1]].
// host_rois: undefined, or (rois on a CUDA device) a CPU tensor holding exactly the same values as
// rois (same shape and dtype; e.g. the host tensor the rois were uploaded from). It is kept for the
// backward, whose CUDA Deterministic gather then plans from it without reading the rois back (no stream
// synchronisation). It must equal rois bit for bit (not checked: that would need the read-back it
// saves); MultiScaleRoIAlign passes the tensor it uploaded. Ignored when rois are on the CPU.
inline Tensor roi_align(const Tensor& input, const Tensor& rois, const Tensor& host_rois,
                        std::array<std::int64_t, 2> output_size, double spatial_scale, std::int64_t sampling_ratio,
                        bool aligned, RoiAlignAlgorithms algorithms) {
  kernels::RoiAlignGeometry g = detail::roi_geometry(input, rois, output_size, spatial_scale, "roi_align");
  g.sampling_ratio = sampling_ratio;
  g.aligned = aligned;
  detail::check_rois_on_host(rois, g.batch, "roi_align", &g);
  const Tensor x = detail::roi_contiguous(input);
  const Tensor r = detail::roi_contiguous(rois);
  Tensor hr;
  if (host_rois.defined() && !rois.device().is_cpu()) {
    ANIMA_CHECK(host_rois.device().is_cpu() && host_rois.dtype() == rois.dtype() && host_rois.shape() == rois.shape(),
                "roi_align", "host_rois must be a CPU copy of rois ", shape_str(rois.shape()), " ",
                dtype_name(rois.dtype()), ", got ", shape_str(host_rois.shape()), " ", dtype_name(host_rois.dtype()),
                " on ", host_rois.device().str());
    hr = detail::roi_contiguous(host_rois);
  }
  Tensor y =
      Tensor::empty({g.num_rois, g.channels, g.pooled_h, g.pooled_w}, TensorOptions(x.dtype()).with_device(x.device()));
  if (y.numel() > 0)
    kernel_for<RoiAlignForwardKernel>(x.device())(x.dtype(), algorithms, x.raw_data(), r.raw_data(), g, y.raw_data());
  const Shape x_shape = x.shape();
  record("roi_align", y, {input, rois}, [g, r, hr, x_shape, algorithms](const Tensor& grad) -> std::vector<Tensor> {
    const Tensor gy = detail::roi_contiguous(grad);
    Tensor gx = Tensor::empty(x_shape, TensorOptions(gy.dtype()).with_device(gy.device()));
    if (gx.numel() > 0)
      kernel_for<RoiAlignBackwardKernel>(gy.device())(gy.dtype(), algorithms, gy.raw_data(), r.raw_data(),
                                                      hr.defined() ? hr.raw_data() : nullptr, g, gx.raw_data());
    return {gx, Tensor()};  // rois get no gradient
  });
  return y;
}

inline Tensor roi_align(const Tensor& input, const Tensor& rois, std::array<std::int64_t, 2> output_size,
                        double spatial_scale, std::int64_t sampling_ratio, bool aligned,
                        RoiAlignAlgorithms algorithms) {
  return roi_align(input, rois, Tensor(), output_size, spatial_scale, sampling_ratio, aligned, algorithms);
}

inline Tensor roi_align(const Tensor& input /*[N,C,H,W]*/, const Tensor& rois /*[K,5]: batch index, x1, y1, x2, y2*/,
                        std::array<std::int64_t, 2> output_size, double spatial_scale = 1.0,
                        std::int64_t sampling_ratio = -1, bool aligned = false) {
  return roi_align(input, rois, output_size, spatial_scale, sampling_ratio, aligned, RoiAlignAlgorithms{});
}

// Boxes given per image (boxes[i]: [K_i, 4] x1, y1, x2, y2 of image i) -> rois [ΣK_i, 5] with the
// image index in column 0, in the order of the list (torchvision's convert_boxes_to_roi_format).
// boxes_to_roi_rows gives them on the host as float64 (exact: the boxes' values and small integers);
// boxes_to_rois places them, in the boxes' dtype, on the boxes' device.
inline std::vector<double> boxes_to_roi_rows(const std::vector<Tensor>& boxes) {
  ANIMA_CHECK(!boxes.empty(), "boxes_to_rois", "expected one [K_i, 4] box tensor per image, got an empty list");
  const DType dtype = boxes[0].dtype();
  const Device device = boxes[0].device();
  std::vector<double> rows;
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    const Tensor& b = boxes[i];
    ANIMA_CHECK(b.defined() && b.dim() == 2 && b.shape()[1] == 4, "boxes_to_rois", "boxes[", i,
                "] must be [K, 4] (x1, y1, x2, y2), got ",
                b.defined() ? shape_str(b.shape()) : std::string("undefined"));
    ANIMA_CHECK(b.dtype() == dtype && b.device() == device, "boxes_to_rois", "boxes[", i, "] is ",
                dtype_name(b.dtype()), " on ", b.device().str(), ", expected ", dtype_name(dtype), " on ", device.str(),
                " like boxes[0]");
    const std::vector<double> v = to_vector<double>(b);
    for (std::size_t k = 0; k * 4 < v.size(); ++k) {
      rows.push_back(static_cast<double>(i));
      rows.insert(rows.end(), v.begin() + static_cast<std::ptrdiff_t>(k * 4),
                  v.begin() + static_cast<std::ptrdiff_t>(k * 4 + 4));
    }
  }
  return rows;
}

inline Tensor boxes_to_rois(const std::vector<Tensor>& boxes) {
  const std::vector<double> rows = boxes_to_roi_rows(boxes);
  const std::int64_t k = static_cast<std::int64_t>(rows.size() / 5);
  Tensor rois = cast_copy(from_vector<double>(rows, {k, 5}), boxes[0].dtype());
  return boxes[0].device().is_cpu() ? rois : device_copy(rois, boxes[0].device());
}

// roi_align with boxes given per image (see boxes_to_rois).
inline Tensor roi_align(const Tensor& input, const std::vector<Tensor>& boxes, std::array<std::int64_t, 2> output_size,
                        double spatial_scale = 1.0, std::int64_t sampling_ratio = -1, bool aligned = false) {
  return roi_align(input, boxes_to_rois(boxes), output_size, spatial_scale, sampling_ratio, aligned);
}

}  // namespace anima
