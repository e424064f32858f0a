// anima/backends/cuda/conv_cudnn.cuh — 2-D convolution through cuDNN (legacy convolution API):
// forward, backward data, backward filter, bias (geometry: anima/kernels/conv_math.hpp; NCHW / OIHW,
// contiguous, float or double, device pointers on the current device).
//
// Contract (CUTLASS-like): cudnn_conv_plan<T>(handle, pass, p) picks the algorithm and says how much
// workspace it needs; the caller allocates that much (anima's caching allocator) and passes it to
// cudnn_conv_forward / _backward_data / _backward_filter, which never allocate.
//
// Algorithm choice: cuDNN's heuristic (cudnnGet*Algorithm_v7, no GPU work, no trial runs): the first
// algorithm it ranks that is supported under FMA math and needs at most kCudnnMaxWorkspaceBytes of
// workspace (the workspace query doubles as the support check). The
// choice is cached per (pass, every size and option of the geometry, dtype, device) under a mutex.
// Math: CUDNN_FMA_MATH — no TF32 or reduced-precision tensor-core paths for float32, so results match
// a float32 reference to float32 accuracy (PyTorch's default allows TF32 in cuDNN; bench/compare_conv.py
// turns that off so both sides do the same arithmetic).
// Handle: every function takes the caller's cudnnHandle_t of the current device, bound to the stream
// the work goes on (cudnnSetStream; the CUDA backend's come from anima/backends/cuda/library_handles.cuh).
// Descriptors are created per call (a few microseconds; the plan, the costly part, is cached).
// Determinism: the heuristic may pick a backward-data or backward-filter algorithm that accumulates
// with atomics (cuDNN reports it as CUDNN_NON_DETERMINISTIC); then the last bits vary run to run.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <type_traits>
#include <vector>

#include <cuda_runtime.h>
#include <cudnn.h>

#include <anima/core/error.hpp>
#include <anima/kernels/conv_math.hpp>
#include <anima/backends/cuda/check.cuh>

namespace anima::cuda {

enum class CudnnConvPass : int { Forward = 0, BackwardData = 1, BackwardFilter = 2 };

struct CudnnConvPlan {
  int algo = 0;                                // cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t of the pass
  cudnnMathType_t math_type = CUDNN_FMA_MATH;  // always FMA (no TF32); kept so a later half path can differ
  std::size_t workspace_bytes = 0;
};

constexpr std::size_t kCudnnMaxWorkspaceBytes = std::size_t(1) << 30;  // 1 GiB

namespace cudnn_conv_detail {

template <class T>
constexpr cudnnDataType_t data_type() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "cuDNN conv supports float and double");
  return std::is_same_v<T, float> ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;
}

// cuDNN's scaling factors: float for float data, double for double data.
template <class T>
using Scale = T;

inline int to_int(std::int64_t v, const char* what) {
  ANIMA_CHECK(v >= 0 && v <= std::numeric_limits<int>::max(), "cudnn_conv", what, " = ", v,
              " does not fit cuDNN's int");
  return static_cast<int>(v);
}

// The descriptors of one convolution, destroyed with the object.
struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

  Descriptors(const kernels::Conv2dGeometry& p, cudnnDataType_t dt, cudnnMathType_t math) {
    try {
      ANIMA_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
      ANIMA_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
      ANIMA_CUDNN_CHECK(cudnnCreateTensorDescriptor(&bias));
      ANIMA_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
      ANIMA_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
      ANIMA_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, dt, to_int(p.N, "N"), to_int(p.C, "C"),
                                                   to_int(p.H, "H"), to_int(p.W, "W")));
      ANIMA_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, dt, to_int(p.N, "N"), to_int(p.O, "O"),
                                                   to_int(p.Ho, "Ho"), to_int(p.Wo, "Wo")));
      ANIMA_CUDNN_CHECK(cudnnSetTensor4dDescriptor(bias, CUDNN_TENSOR_NCHW, dt, 1, to_int(p.O, "O"), 1, 1));
      ANIMA_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, dt, CUDNN_TENSOR_NCHW, to_int(p.O, "O"),
                                                   to_int(p.c_per_group(), "C/groups"), to_int(p.kh, "kh"),
                                                   to_int(p.kw, "kw")));
      ANIMA_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
          conv, to_int(p.ph, "pad"), to_int(p.pw, "pad"), to_int(p.sh, "stride"), to_int(p.sw, "stride"),
          to_int(p.dh, "dilation"), to_int(p.dw, "dilation"), CUDNN_CROSS_CORRELATION, dt));
      ANIMA_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv, to_int(p.groups, "groups")));
      ANIMA_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, math));
    } catch (...) {
      destroy();
      throw;
    }
  }
  ~Descriptors() { destroy(); }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;

 private:
  void destroy() {
    if (conv) (void)cudnnDestroyConvolutionDescriptor(conv);
    if (w) (void)cudnnDestroyFilterDescriptor(w);
    if (bias) (void)cudnnDestroyTensorDescriptor(bias);
    if (y) (void)cudnnDestroyTensorDescriptor(y);
    if (x) (void)cudnnDestroyTensorDescriptor(x);
    conv = nullptr, w = nullptr, bias = nullptr, y = nullptr, x = nullptr;
  }
};

using PlanKey = std::array<std::int64_t, 20>;

inline PlanKey plan_key(CudnnConvPass pass, const kernels::Conv2dGeometry& p, cudnnDataType_t dt, int device) {
  return {static_cast<std::int64_t>(pass),
          p.N,
          p.C,
          p.H,
          p.W,
          p.O,
          p.kh,
          p.kw,
          p.sh,
          p.sw,
          p.ph,
          p.pw,
          p.dh,
          p.dw,
          p.groups,
          p.Ho,
          p.Wo,
          static_cast<std::int64_t>(dt),
          device,
          0};
}

// Walks cuDNN's ranking: the first algorithm that the heuristic rates as runnable, that reports no
// reduced-precision conversion, and whose workspace query succeeds under FMA math within the cap.
// `workspace(algo, &bytes)` is the pass's cudnnGet*WorkspaceSize on the plan's descriptors.
template <class Perf, class WorkspaceQuery>
bool pick(const Perf* perf, int count, const WorkspaceQuery& workspace, CudnnConvPlan& plan) {
  for (int i = 0; i < count; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
    std::size_t bytes = 0;
    if (workspace(perf[i].algo, &bytes) != CUDNN_STATUS_SUCCESS || bytes > kCudnnMaxWorkspaceBytes) continue;
    plan.algo = static_cast<int>(perf[i].algo);
    plan.math_type = CUDNN_FMA_MATH;
    plan.workspace_bytes = bytes;
    return true;
  }
  return false;
}

}  // namespace cudnn_conv_detail

// The algorithm and workspace for one pass of the convolution `p` in type T (cached).
template <class T>
CudnnConvPlan cudnn_conv_plan(cudnnHandle_t h, CudnnConvPass pass, const kernels::Conv2dGeometry& p) {
  using namespace cudnn_conv_detail;
  static std::mutex* mutex = new std::mutex();
  static auto* cache = new std::map<PlanKey, CudnnConvPlan>();
  int device = 0;
  ANIMA_CUDA_CHECK(cudaGetDevice(&device));
  const cudnnDataType_t dt = data_type<T>();
  const PlanKey key = plan_key(pass, p, dt, device);
  {
    std::lock_guard<std::mutex> lock(*mutex);
    auto it = cache->find(key);
    if (it != cache->end()) return it->second;
  }
  Descriptors d(p, dt, CUDNN_FMA_MATH);
  CudnnConvPlan plan;
  bool found = false;
  if (pass == CudnnConvPass::Forward) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    ANIMA_CUDNN_CHECK(
        cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf));
    found = pick(
        perf, n,
        [&](cudnnConvolutionFwdAlgo_t algo, std::size_t* bytes) {
          return cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, algo, bytes);
        },
        plan);
  } else if (pass == CudnnConvPass::BackwardData) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int n = 0;
    ANIMA_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x,
                                                                  CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf));
    found = pick(
        perf, n,
        [&](cudnnConvolutionBwdDataAlgo_t algo, std::size_t* bytes) {
          return cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, algo, bytes);
        },
        plan);
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int n = 0;
    ANIMA_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w,
                                                                    CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf));
    found = pick(
        perf, n,
        [&](cudnnConvolutionBwdFilterAlgo_t algo, std::size_t* bytes) {
          return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, algo, bytes);
        },
        plan);
  }
  ANIMA_CHECK(found, "cudnn_conv", "cuDNN has no algorithm for pass ", static_cast<int>(pass),
              " of the convolution x [", p.N, ", ", p.C, ", ", p.H, ", ", p.W, "], w [", p.O, ", ", p.c_per_group(),
              ", ", p.kh, ", ", p.kw, "], groups ", p.groups, " -> y [", p.N, ", ", p.O, ", ", p.Ho, ", ", p.Wo, "]");
  std::lock_guard<std::mutex> lock(*mutex);
  cache->emplace(key, plan);
  return plan;
}

// y [N, O, Ho, Wo] = conv(x, w) (+ b [O] when b != nullptr). workspace: plan.workspace_bytes.
template <class T>
void cudnn_conv_forward(cudnnHandle_t h, const kernels::Conv2dGeometry& p, const CudnnConvPlan& plan, const T* x,
                        const T* w, const T* b, T* y, void* workspace) {
  using namespace cudnn_conv_detail;
  Descriptors d(p, data_type<T>(), plan.math_type);
  const Scale<T> one = 1, zero = 0;
  ANIMA_CUDNN_CHECK(cudnnConvolutionForward(h, &one, d.x, x, d.w, w, d.conv,
                                            static_cast<cudnnConvolutionFwdAlgo_t>(plan.algo), workspace,
                                            plan.workspace_bytes, &zero, d.y, y));
  if (b) ANIMA_CUDNN_CHECK(cudnnAddTensor(h, &one, d.bias, b, &one, d.y, y));
}

// dx [N, C, H, W] (overwritten) from dy [N, O, Ho, Wo] and w.
template <class T>
void cudnn_conv_backward_data(cudnnHandle_t h, const kernels::Conv2dGeometry& p, const CudnnConvPlan& plan, const T* dy,
                              const T* w, T* dx, void* workspace) {
  using namespace cudnn_conv_detail;
  Descriptors d(p, data_type<T>(), plan.math_type);
  const Scale<T> one = 1, zero = 0;
  ANIMA_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, d.w, w, d.y, dy, d.conv,
                                                 static_cast<cudnnConvolutionBwdDataAlgo_t>(plan.algo), workspace,
                                                 plan.workspace_bytes, &zero, d.x, dx));
}

// dw [O, C/groups, kh, kw] and db [O] (nullptr: skipped), overwritten, from x and dy.
template <class T>
void cudnn_conv_backward_filter(cudnnHandle_t h, const kernels::Conv2dGeometry& p, const CudnnConvPlan& plan,
                                const T* x, const T* dy, T* dw, T* db, void* workspace) {
  using namespace cudnn_conv_detail;
  Descriptors d(p, data_type<T>(), plan.math_type);
  const Scale<T> one = 1, zero = 0;
  ANIMA_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, d.x, x, d.y, dy, d.conv,
                                                   static_cast<cudnnConvolutionBwdFilterAlgo_t>(plan.algo), workspace,
                                                   plan.workspace_bytes, &zero, d.w, dw));
  if (db) ANIMA_CUDNN_CHECK(cudnnConvolutionBackwardBias(h, &one, d.y, dy, &zero, d.bias, db));
}

}  // namespace anima::cuda
