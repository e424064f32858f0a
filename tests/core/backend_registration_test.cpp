// The CUDA backend is registered explicitly (anima::cuda::register_backend()) or by a loader that runs
// on the first CUDA use; nothing registers itself. This CPU test binary never registers CUDA, so every
// CUDA request must fail with an Error that says how to register, and a loader must be run (and
// retried after a failure) exactly when CUDA is first asked for.
#include <gtest/gtest.h>

#include <anima/core/dispatch.hpp>
#include <anima/core/tensor.hpp>

#include "expect_error.hpp"

namespace anima {
namespace {

using anima::testing::expect_error;

int loader_calls = 0;

void failing_loader() {
  ++loader_calls;
  fail("plugin", "cannot find libanima_cuda.so (test loader)");
}

Tensor cuda_tensor() { return Tensor::empty({2, 3}, TensorOptions().with_device(Device::cuda(0))); }

TEST(BackendRegistration, CudaWithoutRegistrationIsANamedError) {
  set_cuda_backend_loader(nullptr);
  EXPECT_EQ(cuda_device_count(), 0);
  EXPECT_FALSE(cuda_is_available());
  expect_error([] { cuda_tensor(); }, {"cuda:0", "register_backend()"});
}

TEST(BackendRegistration, LoaderRunsOnFirstCudaUseAndIsRetriedAfterFailing) {
  loader_calls = 0;
  set_cuda_backend_loader(&failing_loader);
  EXPECT_EQ(loader_calls, 0) << "setting a loader must not run it";
  const Tensor cpu = Tensor::empty({4}, TensorOptions());  // CPU work never touches the loader
  EXPECT_EQ(cpu.numel(), 4);
  EXPECT_EQ(loader_calls, 0);
  expect_error([] { cuda_tensor(); }, {"libanima_cuda.so", "test loader"});
  EXPECT_EQ(loader_calls, 1);
  EXPECT_EQ(cuda_device_count(), 0) << "a failing loader means no CUDA device";
  EXPECT_EQ(loader_calls, 2) << "a loader that threw is tried again";
  set_cuda_backend_loader(nullptr);
}

}  // namespace
}  // namespace anima
