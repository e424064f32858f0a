// bench/cuda_paste_masks_bench.cu — paste_masks_in_image on the GPU (float32): the problem and byte
// count of bench/paste_masks_bench.cpp (bench/paste_masks_problem.hpp: R = 100 soft 28x28 masks into an
// 800x800 image, boxes 20..300 px, some crossing the borders; output written once + masks read once),
// so GB/s compare:
//   BM_CudaPasteMasks/pixel     paste_masks_pixel_kernel (v1): one thread per output pixel
// Kernel: anima/kernels/cuda/paste_masks.cuh. Integer boxes come from the host (as the op does). Each
// iteration is one launch timed with CUDA events (UseManualTime) after a warm-up, with the L2 flushed
// before each launch (bench/cuda_timer.cuh). With no GPU the benchmark reports "no CUDA device".
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include <cuda_runtime.h>

#include <anima/detection/paste_masks.hpp>
#include <anima/backends/cuda/check.cuh>
#include <anima/kernels/cuda/paste_masks.cuh>
#include <anima/ops/factory.hpp>

#include "cuda_device_required.cuh"
#include "cuda_timer.cuh"
#include "paste_masks_problem.hpp"

namespace {

using anima::bench::kPasteImage;
using anima::bench::kPasteMasks;

void BM_CudaPasteMasks(benchmark::State& state) {
  if (anima::bench::skip_without_cuda_device(state)) return;
  const anima::bench::PasteMasksProblem p = anima::bench::make_paste_masks_problem();
  const anima::kernels::PasteMasksGeometry g = anima::bench::paste_masks_geometry();
  const std::vector<std::int64_t> ib =
      anima::detail::paste_integer_boxes(anima::from_vector(p.boxes, {kPasteMasks, 4}), g);
  float *d_masks = nullptr, *d_out = nullptr;
  std::int64_t* d_boxes = nullptr;
  const std::size_t out_bytes = static_cast<std::size_t>(kPasteMasks * kPasteImage * kPasteImage) * sizeof(float);
  ANIMA_CUDA_CHECK(cudaMalloc(&d_masks, p.masks.size() * sizeof(float)));
  ANIMA_CUDA_CHECK(cudaMalloc(&d_boxes, ib.size() * sizeof(std::int64_t)));
  ANIMA_CUDA_CHECK(cudaMalloc(&d_out, out_bytes));
  ANIMA_CUDA_CHECK(cudaMemcpy(d_masks, p.masks.data(), p.masks.size() * sizeof(float), cudaMemcpyHostToDevice));
  ANIMA_CUDA_CHECK(cudaMemcpy(d_boxes, ib.data(), ib.size() * sizeof(std::int64_t), cudaMemcpyHostToDevice));
  anima::bench::time_cuda_iterations(
      state, [&] { ANIMA_CUDA_CHECK(anima::kernels::cuda::paste_masks<float>(d_masks, d_boxes, g, d_out, nullptr)); });
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * anima::bench::paste_masks_bytes());
  cudaFree(d_masks);
  cudaFree(d_boxes);
  cudaFree(d_out);
}
BENCHMARK(BM_CudaPasteMasks)->Name("BM_CudaPasteMasks/pixel")->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
