// CUDA streams (anima/backends/cuda/stream.cuh): the current stream is set and restored per device and
// per thread; ops give the same results on a non-default stream as on the legacy default stream; ops
// enqueue their work on the current stream and nowhere else (checked by capturing them into a CUDA
// graph in global capture mode, where any work on the legacy stream, any synchronising call and any
// cudaMalloc makes CUDA report an error); the caching allocator reuses a block only on its own stream;
// host-to-device copies through the pinned staging buffers arrive whole and are refused while the
// stream is capturing. Every test skips without a GPU (part of anima_cuda_tests).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <cuda_runtime.h>

#include <anima/backends/cuda/backend.cuh>
#include <anima/backends/cuda/caching_allocator.cuh>
#include <anima/backends/cuda/pinned_staging.cuh>
#include <anima/backends/cuda/stream.cuh>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/ops/conv.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/matmul.hpp>
#include <anima/ops/roi_align.hpp>
#include <anima/ops/view.hpp>

namespace anima {
namespace {

#define ANIMA_SKIP_WITHOUT_GPU() \
  if (::anima::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device"

// A stream that does not synchronise with the legacy default stream, destroyed with the object.
class OwnedStream {
 public:
  OwnedStream() { ANIMA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~OwnedStream() { (void)cudaStreamDestroy(stream_); }
  OwnedStream(const OwnedStream&) = delete;
  OwnedStream& operator=(const OwnedStream&) = delete;
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

// The CPU inputs of the op tests: conv x [2, 3, 9, 11], w [4, 3, 3, 3], b [4]; matmul a [5, 7], m [7, 6];
// roi_align rois [3, 5] over the conv input.
struct Inputs {
  std::vector<Tensor> host;

  Inputs() {
    Generator gen(2024);
    const TensorOptions f32(DType::Float32);
    host = {
        randn({2, 3, 9, 11}, f32, gen),
        randn({4, 3, 3, 3}, f32, gen),
        randn({4}, f32, gen),
        randn({5, 7}, f32, gen),
        randn({7, 6}, f32, gen),
        from_vector<float>({0, 0.5f, 1.0f, 6.5f, 7.0f, 1, 2.0f, 0.0f, 10.0f, 8.5f, 0, 3.0f, 3.0f, 3.5f, 9.0f}, {3, 5})};
  }

  // The inputs uploaded to cuda:0 on the current stream.
  std::vector<Tensor> on_device() const {
    std::vector<Tensor> out;
    for (const Tensor& t : host) out.push_back(device_copy(t, Device::cuda(0)));
    return out;
  }
};

// The ops of these tests on device inputs, all enqueued on the current stream with no host
// synchronisation: conv2d with bias, matmul, roi_align forward, a strided device-to-device copy of a
// transposed view, relu(a + a), and a same-device copy.
std::vector<Tensor> run_ops(const std::vector<Tensor>& in) {
  Conv2dOptions conv_options;
  conv_options.padding = {1, 1};
  const Tensor y = conv2d(in[0], in[1], in[2], conv_options);
  const Tensor m = matmul(in[3], in[4]);
  const Tensor r = roi_align(in[0], in[5], {3, 2}, 0.5, 2, true);
  const Tensor t = contiguous_copy(transpose(m, 0, 1));
  const Tensor e = relu(add(in[3], in[3]));
  const Tensor c = device_copy(y, Device::cuda(0));
  return {y, m, r, t, e, c};
}

std::vector<std::vector<float>> to_host(const std::vector<Tensor>& ts) {
  std::vector<std::vector<float>> out;
  for (const Tensor& t : ts) out.push_back(to_vector<float>(t));
  return out;
}

void expect_same_bits(const std::vector<std::vector<float>>& expected, const std::vector<std::vector<float>>& got,
                      const std::string& what) {
  ASSERT_EQ(expected.size(), got.size()) << what;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(expected[i].size(), got[i].size()) << what << ": output " << i;
    EXPECT_EQ(0, std::memcmp(expected[i].data(), got[i].data(), expected[i].size() * sizeof(float)))
        << what << ": output " << i << " differs";
  }
}

TEST(CudaStream, StreamGuardSetsAndRestoresTheCurrentStreamPerDeviceAndThread) {
  ANIMA_SKIP_WITHOUT_GPU();
  cuda::DeviceGuard on_device0(0);
  EXPECT_EQ(cuda::current_stream(0), nullptr);  // the legacy default stream until a stream is set
  EXPECT_EQ(cuda::current_stream(), nullptr);
  OwnedStream a, b;
  {
    cuda::StreamGuard guard(a.get());
    EXPECT_EQ(guard.device(), 0);
    EXPECT_EQ(cuda::current_stream(0), a.get());
    EXPECT_EQ(cuda::current_stream(), a.get());
    {
      cuda::StreamGuard inner(0, b.get());
      EXPECT_EQ(cuda::current_stream(), b.get());
      EXPECT_EQ(inner.previous_stream(), a.get());
    }
    EXPECT_EQ(cuda::current_stream(), a.get());
    // Another thread has its own current stream.
    cudaStream_t seen_by_other_thread = a.get();
    std::thread other([&] { seen_by_other_thread = cuda::current_stream(0); });
    other.join();
    EXPECT_EQ(seen_by_other_thread, nullptr);
  }
  EXPECT_EQ(cuda::current_stream(0), nullptr);

  if (cuda::device_count() < 2) return;  // the rest needs a second device
  cudaStream_t on_device1 = nullptr;
  {
    cuda::DeviceGuard device1(1);
    ANIMA_CUDA_CHECK(cudaStreamCreateWithFlags(&on_device1, cudaStreamNonBlocking));
  }
  {
    cuda::StreamGuard guard(on_device1);  // the stream's own device: cuda:1
    EXPECT_EQ(guard.device(), 1);
    EXPECT_EQ(cuda::current_stream(1), on_device1);
    EXPECT_EQ(cuda::current_stream(0), nullptr);  // cuda:0, the current device, is untouched
    EXPECT_EQ(cuda::current_stream(), nullptr);
    {
      cuda::StreamGuard device0(0, a.get());
      EXPECT_EQ(cuda::current_stream(0), a.get());
      EXPECT_EQ(cuda::current_stream(1), on_device1);
    }
    EXPECT_EQ(cuda::current_stream(0), nullptr);
  }
  EXPECT_EQ(cuda::current_stream(1), nullptr);
  EXPECT_THROW(cuda::set_current_stream(0, on_device1), Error);  // a cuda:1 stream cannot serve cuda:0
  ANIMA_CUDA_CHECK(cudaStreamDestroy(on_device1));
}

TEST(CudaStream, OpsOnANonDefaultStreamMatchTheDefaultStream) {
  ANIMA_SKIP_WITHOUT_GPU();
  cuda::DeviceGuard on_device0(0);
  const Inputs inputs;
  const auto expected = to_host(run_ops(inputs.on_device()));
  OwnedStream s;
  std::vector<std::vector<float>> got;
  {
    cuda::StreamGuard guard(s.get());
    got = to_host(run_ops(inputs.on_device()));  // uploads, ops and downloads all on s
  }
  expect_same_bits(expected, got, "on a non-default stream");
}

TEST(CudaStream, OpsEnqueueWorkOnlyOnTheCurrentStream) {
  ANIMA_SKIP_WITHOUT_GPU();
  cuda::DeviceGuard on_device0(0);
  const Inputs inputs;
  OwnedStream s;
  cuda::StreamGuard guard(s.get());
  const std::vector<Tensor> in = inputs.on_device();
  // Outside the capture: the first run creates the cuBLAS / cuDNN handles, picks the cuDNN algorithm
  // and fills the caching allocator's blocks for s (cudaMalloc is not allowed while capturing); its
  // results, read back (device-to-host copies synchronise the stream, so they stay outside), are
  // what the graph must reproduce. Host-to-device copies are outside too: they are refused while
  // capturing (see PinnedStagingRefusesACopyWhileTheStreamIsCapturing).
  const auto expected = to_host(run_ops(in));
  ANIMA_CUDA_CHECK(cudaStreamSynchronize(s.get()));

  ANIMA_CUDA_CHECK(cudaStreamBeginCapture(s.get(), cudaStreamCaptureModeGlobal));
  std::vector<Tensor> outputs;
  std::string error;
  try {
    outputs = run_ops(in);
  } catch (const Error& e) {
    error = e.what();
  }
  cudaGraph_t graph = nullptr;
  const cudaError_t end = cudaStreamEndCapture(s.get(), &graph);
  (void)cudaGetLastError();
  ASSERT_EQ(error, "") << "an op failed while its stream was being captured";
  ASSERT_EQ(end, cudaSuccess) << "the capture was invalidated (work outside the current stream, or a "
                                 "synchronising call): "
                              << cudaGetErrorName(end);
  // Replaying the graph writes the outputs' blocks, still held by `outputs`.
  cudaGraphExec_t exec = nullptr;
  ANIMA_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  ANIMA_CUDA_CHECK(cudaGraphLaunch(exec, s.get()));
  ANIMA_CUDA_CHECK(cudaStreamSynchronize(s.get()));
  const auto got = to_host(outputs);
  ANIMA_CUDA_CHECK(cudaGraphExecDestroy(exec));
  ANIMA_CUDA_CHECK(cudaGraphDestroy(graph));
  expect_same_bits(expected, got, "replayed from the captured graph");
}

TEST(CudaStream, CachingAllocatorReusesABlockOnlyOnItsOwnStream) {
  ANIMA_SKIP_WITHOUT_GPU();
  cuda::DeviceGuard on_device0(0);
  cuda::CudaCachingAllocator alloc(0);  // a private instance
  OwnedStream s1, s2;
  void* p = alloc.allocate(4096, s1.get());
  alloc.deallocate(p, 4096);
  void* q = alloc.allocate(4096, s2.get());  // another stream: the cached block is not handed out
  EXPECT_NE(q, p);
  void* r = alloc.allocate(4096, s1.get());  // its own stream: reused
  EXPECT_EQ(r, p);
  alloc.deallocate(r, 4096);
  {
    cuda::StreamGuard guard(s1.get());
    void* current = alloc.allocate(4096);  // allocate(bytes) uses the current stream, s1
    EXPECT_EQ(current, p);
    alloc.deallocate(current, 4096);
  }
  void* legacy = alloc.allocate(4096);  // the legacy default stream: neither cached block
  EXPECT_NE(legacy, p);
  EXPECT_NE(legacy, q);
  alloc.deallocate(legacy, 4096);
  alloc.deallocate(q, 4096);
  EXPECT_EQ(alloc.cached_bytes(), 3 * 4096u);
  alloc.empty_cache();
  EXPECT_EQ(alloc.stats().reserved_bytes, 0u);
}

TEST(CudaStream, PinnedStagingCopiesWholeBuffersAndBoundsItsChunks) {
  ANIMA_SKIP_WITHOUT_GPU();
  cuda::DeviceGuard on_device0(0);
  OwnedStream s;
  cuda::PinnedStaging staging(0);                                          // a private pool
  const std::size_t bytes = 2 * cuda::PinnedStaging::kChunkBytes + 12345;  // three chunks, the last partial
  std::vector<unsigned char> host(bytes), back(bytes);
  for (std::size_t i = 0; i < bytes; ++i) host[i] = static_cast<unsigned char>(i * 7 + 3);
  void* dev = nullptr;
  ANIMA_CUDA_CHECK(cudaMalloc(&dev, bytes));
  staging.copy_to_device(dev, host.data(), bytes, s.get());
  host.assign(bytes, 0);  // the source may be reused as soon as the call returns
  ANIMA_CUDA_CHECK(cudaMemcpyAsync(back.data(), dev, bytes, cudaMemcpyDeviceToHost, s.get()));
  ANIMA_CUDA_CHECK(cudaStreamSynchronize(s.get()));
  for (std::size_t i = 0; i < bytes; ++i)
    if (back[i] != static_cast<unsigned char>(i * 7 + 3)) {
      ADD_FAILURE() << "byte " << i << " is " << int(back[i]);
      break;
    }
  // Many more copies than chunks: the pool reuses chunks and never holds more than kMaxChunks.
  const std::size_t small = 1000;
  for (std::size_t i = 0; i < 4 * cuda::PinnedStaging::kMaxChunks; ++i) {
    std::vector<unsigned char> v(small, static_cast<unsigned char>(i));
    staging.copy_to_device(static_cast<char*>(dev) + (i % 8) * small, v.data(), small, s.get());
  }
  ANIMA_CUDA_CHECK(cudaStreamSynchronize(s.get()));
  EXPECT_LE(staging.chunk_count(), cuda::PinnedStaging::kMaxChunks);
  ANIMA_CUDA_CHECK(cudaMemcpy(back.data(), dev, 8 * small, cudaMemcpyDeviceToHost));
  const std::size_t last = 4 * cuda::PinnedStaging::kMaxChunks - 1;  // the last copy into slot last % 8
  EXPECT_EQ(back[(last % 8) * small], static_cast<unsigned char>(last));
  ANIMA_CUDA_CHECK(cudaFree(dev));
}

TEST(CudaStream, PinnedStagingRefusesACopyWhileTheStreamIsCapturing) {
  ANIMA_SKIP_WITHOUT_GPU();
  cuda::DeviceGuard on_device0(0);
  OwnedStream s;
  cuda::PinnedStaging staging(0);
  void* dev = nullptr;
  ANIMA_CUDA_CHECK(cudaMalloc(&dev, 64));
  const std::vector<unsigned char> host(64, 1);
  ANIMA_CUDA_CHECK(cudaStreamBeginCapture(s.get(), cudaStreamCaptureModeGlobal));
  std::string error;
  try {
    staging.copy_to_device(dev, host.data(), host.size(), s.get());
  } catch (const Error& e) {
    error = e.what();
  }
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(s.get(), &graph), cudaSuccess);  // the refusal left the capture valid
  if (graph) ANIMA_CUDA_CHECK(cudaGraphDestroy(graph));
  EXPECT_NE(error.find("cannot be captured"), std::string::npos) << error;
  ANIMA_CUDA_CHECK(cudaFree(dev));
}

}  // namespace
}  // namespace anima
