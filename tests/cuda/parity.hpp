// tests/cuda/parity.hpp — the CPU-vs-CUDA parity helper of the detection parity tests in tests/cuda
// (index_rows, nms, paste_masks, roi_align; their CPU cases are in tests/detect). The op tests run every
// case on every backend through tests/ops/backend_harness.hpp instead.
//
// expect_parity(name, f, inputs, tol) runs f on the CPU inputs and on copies of them moved to
// cuda:0 (leaves keep requires_grad), compares the outputs elementwise, then back-propagates the
// same random upstream gradient on both sides and compares every input gradient.
// |cuda - cpu| <= atol + rtol·|cpu| per element; each test states why its tolerance is what it is.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/generator.hpp>
#include <anima/ops/copy_ops.hpp>
#include <anima/ops/factory.hpp>

#define ANIMA_REQUIRE_CUDA()                                                       \
  do {                                                                             \
    if (!::anima::cuda_is_available()) GTEST_SKIP() << "no CUDA device available"; \
  } while (0)

namespace anima::testing {

struct Tolerance {
  double rtol = 1e-5;
  double atol = 1e-6;
};

using ParityFn = std::function<Tensor(const std::vector<Tensor>&)>;

inline void expect_close(const std::string& what, const Tensor& cpu, const Tensor& cuda, Tolerance tol) {
  ASSERT_TRUE(cuda.device().is_cuda()) << what << ": result of the CUDA run is on " << cuda.device().str();
  ASSERT_EQ(cpu.shape(), cuda.shape()) << what;
  ASSERT_EQ(cpu.dtype(), cuda.dtype()) << what;
  const auto a = to_vector<double>(cpu), b = to_vector<double>(cuda);
  int reported = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const bool both_nan = std::isnan(a[i]) && std::isnan(b[i]);
    const bool ok = both_nan || std::fabs(a[i] - b[i]) <= tol.atol + tol.rtol * std::fabs(a[i]);
    if (!ok && reported++ < 5) ADD_FAILURE() << what << " element " << i << ": cpu " << a[i] << ", cuda " << b[i];
  }
}

// Runs f on both backends; compares outputs and (when some input requires grad) input gradients.
inline void expect_parity(const std::string& name, const ParityFn& f, const std::vector<Tensor>& inputs,
                          Tolerance tol = {}) {
  std::vector<Tensor> cpu_in, cuda_in;
  for (const auto& t : inputs) {
    Tensor c = contiguous_copy(t);
    Tensor g = device_copy(t, Device::cuda(0));
    if (t.requires_grad()) {
      c.set_requires_grad(true);
      g.set_requires_grad(true);
    }
    cpu_in.push_back(c);
    cuda_in.push_back(g);
  }
  Tensor y_cpu = f(cpu_in);
  Tensor y_cuda = f(cuda_in);
  expect_close(name + " output", y_cpu, y_cuda, tol);
  if (!y_cpu.requires_grad()) return;
  Generator gen(99);
  Tensor upstream = randn(y_cpu.shape(), TensorOptions(y_cpu.dtype()), gen);
  backward(y_cpu, upstream);
  backward(y_cuda, device_copy(upstream, Device::cuda(0)));
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    ASSERT_EQ(cpu_in[i].grad().defined(), cuda_in[i].grad().defined()) << name << " grad of input " << i;
    if (cpu_in[i].grad().defined())
      expect_close(name + " grad of input " + std::to_string(i), cpu_in[i].grad(), cuda_in[i].grad(), tol);
  }
}

}  // namespace anima::testing
