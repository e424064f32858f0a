// anima_cuda_tests and anima_ops_tests: registers the CUDA backend (anima::cuda::register_backend()) before
// the first test.
#include <gtest/gtest.h>

#include <anima/backends/cuda/backend.cuh>

namespace {

class CudaBackendEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { anima::cuda::register_backend(); }
};

[[maybe_unused]] ::testing::Environment* const kCudaBackend =
    ::testing::AddGlobalTestEnvironment(new CudaBackendEnvironment);

}  // namespace
