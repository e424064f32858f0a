// anima/backends/conv_algorithms.hpp — the 2-D convolution implementations each backend offers.
//
// Each backend has its own enum listing only what it runs, so a choice for one backend can never be
// asked of the other; ConvAlgorithms carries one choice per backend and each backend reads its own.
//   CPU   Auto        Depthwise when the geometry is depthwise (conv_supports), else Im2colGemm
//         Reference   plain loops (kernels/cpu/conv_reference.hpp)
//         Im2colGemm  im2col + packed GEMM on the thread pool (kernels/cpu/conv_im2col.hpp)
//         Depthwise   direct depthwise loops (kernels/cpu/conv_depthwise.hpp); depthwise geometry only
//   CUDA  Auto, Cudnn cuDNN for every pass (backends/cuda/conv_cudnn.cuh)
//         ImplicitGemm our implicit-GEMM forward kernel (kernels/cuda/conv_implicit_gemm.cuh); it has no
//                     backward kernels, so the backward passes run on cuDNN
#pragma once

#include <anima/kernels/conv_math.hpp>

namespace anima {

enum class CpuConvAlgorithm { Auto, Reference, Im2colGemm, Depthwise };
enum class CudaConvAlgorithm { Auto, Cudnn, ImplicitGemm };

// What runs on each backend; the tensors' device picks the field that applies.
struct ConvAlgorithms {
  CpuConvAlgorithm cpu = CpuConvAlgorithm::Auto;
  CudaConvAlgorithm cuda = CudaConvAlgorithm::Auto;
};

inline const char* conv_algorithm_name(CpuConvAlgorithm a) {
  switch (a) {
    case CpuConvAlgorithm::Auto: return "Auto";
    case CpuConvAlgorithm::Reference: return "Reference";
    case CpuConvAlgorithm::Im2colGemm: return "Im2colGemm";
    case CpuConvAlgorithm::Depthwise: return "Depthwise";
  }
  return "?";
}
inline const char* conv_algorithm_name(CudaConvAlgorithm a) {
  switch (a) {
    case CudaConvAlgorithm::Auto: return "Auto";
    case CudaConvAlgorithm::Cudnn: return "Cudnn";
    case CudaConvAlgorithm::ImplicitGemm: return "ImplicitGemm";
  }
  return "?";
}

// Whether the algorithm runs this geometry (every pass). Depthwise needs groups == C > 1 and O a
// multiple of C; everything else runs every valid geometry.
inline bool conv_supports(CpuConvAlgorithm a, const kernels::Conv2dGeometry& p) {
  return a != CpuConvAlgorithm::Depthwise || p.is_depthwise();
}
inline bool conv_supports(CudaConvAlgorithm /*a*/, const kernels::Conv2dGeometry& /*p*/) { return true; }

}  // namespace anima
