// bench/cuda_paste_masks_bench.cu — paste_masks_in_image on the GPU (float32): the problem of
// bench/paste_masks_bench.cpp (R = 100 soft 28x28 masks into an 800x800 image, boxes 20..300 px, some
// crossing the borders) and the same byte count (output written once + masks read once), so GB/s compare:
//   BM_CudaPasteMasks/pixel     paste_masks_pixel_kernel (v1): one thread per output pixel
// Kernel: anima/kernels/cuda/paste_masks.cuh. Integer boxes come from the host (as the op does). Each
// iteration is one launch timed with CUDA events (UseManualTime) after a warm-up. With no GPU the
// benchmark reports "no CUDA device".
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include <cuda_runtime.h>

#include <anima/detection/paste_masks.hpp>
#include <anima/kernels/cuda/check.cuh>
#include <anima/kernels/cuda/paste_masks.cuh>
#include <anima/ops/factory.hpp>

namespace {

constexpr std::int64_t kMasks = 100, kM = 28, kImage = 800;

bool have_device() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return n > 0;
}

void BM_CudaPasteMasks(benchmark::State& state) {
  if (!have_device()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> masks(static_cast<std::size_t>(kMasks * kM * kM)), boxes;
  for (float& v : masks) v = unit(rng);
  for (std::int64_t r = 0; r < kMasks; ++r) {
    const float w = 20.0f + 280.0f * unit(rng), h = 20.0f + 280.0f * unit(rng);
    const float x1 = -40.0f + (kImage + 40.0f - w * 0.5f) * unit(rng), y1 = -40.0f + (kImage + 40.0f - h * 0.5f) * unit(rng);
    boxes.insert(boxes.end(), {x1, y1, x1 + w, y1 + h});
  }
  anima::kernels::PasteMasksGeometry g;
  g.masks = kMasks;
  g.mask_size = kM;
  g.padding = 1;
  g.image_h = g.image_w = kImage;
  const std::vector<std::int64_t> ib = anima::detail::paste_integer_boxes(anima::from_vector(boxes, {kMasks, 4}), g);
  float *d_masks = nullptr, *d_out = nullptr;
  std::int64_t* d_boxes = nullptr;
  const std::size_t out_bytes = static_cast<std::size_t>(kMasks * kImage * kImage) * sizeof(float);
  ANIMA_CUDA_CHECK(cudaMalloc(&d_masks, masks.size() * sizeof(float)));
  ANIMA_CUDA_CHECK(cudaMalloc(&d_boxes, ib.size() * sizeof(std::int64_t)));
  ANIMA_CUDA_CHECK(cudaMalloc(&d_out, out_bytes));
  ANIMA_CUDA_CHECK(cudaMemcpy(d_masks, masks.data(), masks.size() * sizeof(float), cudaMemcpyHostToDevice));
  ANIMA_CUDA_CHECK(cudaMemcpy(d_boxes, ib.data(), ib.size() * sizeof(std::int64_t), cudaMemcpyHostToDevice));
  cudaEvent_t start = nullptr, stop = nullptr;
  ANIMA_CUDA_CHECK(cudaEventCreate(&start));
  ANIMA_CUDA_CHECK(cudaEventCreate(&stop));
  anima::kernels::cuda::paste_masks<float>(d_masks, d_boxes, g, d_out, nullptr);  // warm-up
  ANIMA_CUDA_CHECK(cudaDeviceSynchronize());
  for (auto _ : state) {
    ANIMA_CUDA_CHECK(cudaEventRecord(start, nullptr));
    anima::kernels::cuda::paste_masks<float>(d_masks, d_boxes, g, d_out, nullptr);
    ANIMA_CUDA_CHECK(cudaEventRecord(stop, nullptr));
    ANIMA_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    ANIMA_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms * 1e-3);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(out_bytes + masks.size() * sizeof(float)));
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaFree(d_masks);
  cudaFree(d_boxes);
  cudaFree(d_out);
}
BENCHMARK(BM_CudaPasteMasks)->Name("BM_CudaPasteMasks/pixel")->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
