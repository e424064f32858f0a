// anima/kernels/mul_rn.hpp — a product rounded on its own, on both backends.
//
// nvcc contracts `a + b·c` into one fused multiply-add (one rounding) where g++ (x86-64 without -mfma,
// as torchvision's CPU build) rounds the product first. Where a result must be the same bits on the
// CPU and the GPU (NMS decides `iou > threshold`; the RoIAlign sample coordinates feed the gather
// backward's tables, built on either side), the products that feed a sum are written mul_rn(a, b):
// __fmul_rn / __dmul_rn on the device (never contracted), a plain product on the host.
#pragma once

#include <anima/kernels/host_device.hpp>

namespace anima::kernels {

ANIMA_HD float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

ANIMA_HD double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

}  // namespace anima::kernels
