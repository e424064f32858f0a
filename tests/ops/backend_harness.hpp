// tests/ops/backend_harness.hpp — runs every op case once per backend, against the float64 CPU
// reference (the scheme of ggml's test-backend-ops): a case is written once, as a TEST_P of a suite
// declared with ANIMA_BACKEND_SUITE (or a BackendTest subclass with helpers of its own, instantiated
// with ANIMA_INSTANTIATE_BACKENDS), and gtest runs it for each backend of this binary:
//   "cpu"     always;
//   "cuda:0"  when the binary registers the CUDA backend (ANIMA_TEST_CUDA_BACKEND, set by
//             tests/CMakeLists.txt with tests/cuda/register_cuda_backend.cu); without a device the
//             instance reports GTEST_SKIP.
// Test names read Suite.Case/cpu and Suite.Case/cuda0.
//
// Inside a case (a BackendTest):
//   device(), options(dtype)        where this instance runs;
//   to_backend(t)                   a copy of a CPU-built tensor on this backend (a fresh leaf that
//                                   keeps requires_grad);
//   expect_matches_reference(what, f, inputs, tol)
//                                   runs f on the inputs moved to this backend and on their float64
//                                   CPU copies (the reference), compares the outputs, then back-propagates
//                                   one random upstream gradient on both and compares every input
//                                   gradient; a second function may serve as the reference (e.g. a
//                                   CPU loop algorithm);
//   expect_gradcheck(what, f, inputs)
//                                   float64 central differences (anima/autograd/gradcheck.hpp) of f run
//                                   on this backend: the inputs and the output cross to and from the
//                                   device through the differentiable to(), so one check serves all;
//   foreign(shape)                  a tensor on another device, for the wrong-device errors.
//
// Tolerances (struct Tolerance) are relative to the scale of the expected tensor, its largest
// magnitude: |got - ref| <= rel * max|ref| for every element (NaN only matches NaN). Each case states
// why its tolerance is what it is; integer and bool outputs always compare exactly. A float32 case is
// compared with float64 of the very same (float32) values, so the tolerance covers the float32
// arithmetic of the backend only; ANIMA_TEST_SHOW_ERRORS=1 prints each comparison's worst error.
// A case that makes sense on one backend only is a plain TEST whose comment says so.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <list>
#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/gradcheck.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/generator.hpp>
#include <anima/ops/copy_ops.hpp>
#include <anima/ops/factory.hpp>

#include "core/expect_error.hpp"
#include "core/random_inputs.hpp"

namespace anima::testing {

// The backends this binary runs its cases on (see the top of this file).
inline std::vector<std::string> backend_names() {
  std::vector<std::string> names = {"cpu"};
#ifdef ANIMA_TEST_CUDA_BACKEND
  names.push_back("cuda:0");
#endif
  return names;
}

// The backends usable now: the CPU, and cuda:0 when a CUDA device is present.
inline std::vector<Device> backends_present() {
  std::vector<Device> devices = {Device::cpu()};
  if (cuda_is_available()) devices.push_back(Device::cuda(0));
  return devices;
}

inline Device parse_backend(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  if (name.compare(0, 5, "cuda:") == 0) return Device::cuda(std::stoi(name.substr(5)));
  ADD_FAILURE() << "unknown backend " << name;
  return Device::cpu();
}

// gtest parameter names may hold only letters, digits and '_': "cuda:0" -> "cuda0".
struct BackendParamName {
  std::string operator()(const ::testing::TestParamInfo<std::string>& info) const {
    std::string s;
    for (char c : info.param)
      if (std::isalnum(static_cast<unsigned char>(c))) s += c;
    return s;
  }
};

// |got - ref| <= rel * max|ref| for every element; the input gradients of expect_matches_reference are
// held to grad_rel instead when it is set (>= 0), for ops whose forward is exact but whose backward sums.
struct Tolerance {
  double rel = 0.0;
  double grad_rel = -1.0;
  constexpr Tolerance for_gradients() const { return {grad_rel >= 0.0 ? grad_rel : rel, -1.0}; }
};
constexpr Tolerance kExact{0.0};

// The reference copy of a test input: float64 for floating tensors (integer and bool ones as they are),
// on the CPU, a fresh leaf that keeps requires_grad.
inline Tensor reference_copy(const Tensor& t) {
  if (!t.defined()) return t;
  Tensor host = t.device().is_cpu() ? t : device_copy(t, Device::cpu());
  Tensor r = is_floating(t.dtype()) ? cast_copy(host, DType::Float64) : contiguous_copy(host);
  if (t.requires_grad()) r.set_requires_grad(true);
  return r;
}

// A copy of t on `device`, same dtype, a fresh leaf that keeps requires_grad.
inline Tensor copy_to(const Tensor& t, Device device) {
  if (!t.defined()) return t;
  Tensor c = t.device() == device ? contiguous_copy(t) : device_copy(t, device);
  if (t.requires_grad()) c.set_requires_grad(true);
  return c;
}

// Expects `got` (any device) to match `ref` within tol (relative to max|ref|); integer and bool
// tensors exactly. Reports how many elements differ and the worst one.
inline void expect_close(const std::string& what, const Tensor& got, const Tensor& ref, Tolerance tol) {
  ASSERT_TRUE(got.defined()) << what << ": no tensor was produced";
  ASSERT_TRUE(ref.defined()) << what << ": no reference tensor";
  ASSERT_EQ(shape_str(got.shape()), shape_str(ref.shape())) << what << ": shape differs";
  if (is_floating(ref.dtype())) {
    EXPECT_TRUE(is_floating(got.dtype())) << what << ": got " << dtype_name(got.dtype());
  } else {
    EXPECT_EQ(dtype_name(got.dtype()), std::string(dtype_name(ref.dtype()))) << what << ": dtype differs";
    tol = kExact;
  }
  const std::vector<double> a = to_vector<double>(got), e = to_vector<double>(ref);
  double scale = 0.0;
  for (double v : e)
    if (std::isfinite(v)) scale = std::max(scale, std::fabs(v));
  const double bound = tol.rel * scale;
  std::size_t bad = 0, worst = 0;
  double worst_err = -1.0;
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(e[i])) continue;
    if (a[i] == e[i]) continue;  // also equal infinities
    const double err = std::fabs(a[i] - e[i]);
    if (err <= bound) continue;  // NaN against a number fails here
    ++bad;
    if (!(err <= worst_err)) {
      worst_err = err;
      worst = i;
    }
  }
  // ANIMA_TEST_SHOW_ERRORS=1 prints every comparison's worst error as a fraction of its scale, to
  // size tolerances.
  if (const char* show = std::getenv("ANIMA_TEST_SHOW_ERRORS"); show && *show == '1') {
    double max_err = 0.0;
    for (std::size_t i = 0; i < e.size(); ++i)
      if (std::isfinite(a[i]) && std::isfinite(e[i])) max_err = std::max(max_err, std::fabs(a[i] - e[i]));
    std::printf("[errors] %s: %.3g of scale %.3g (tolerance %.3g)\n", what.c_str(),
                scale > 0 ? max_err / scale : max_err, scale, tol.rel);
  }
  if (bad > 0) {
    ADD_FAILURE() << what << ": " << bad << " of " << e.size() << " elements differ by more than " << bound
                  << " (= " << tol.rel << " x scale " << scale << "); worst at flat index " << worst << ": got "
                  << a[worst] << ", expected " << e[worst] << " (error " << worst_err << ")";
  }
}

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (device().is_cuda() && !cuda_is_available()) GTEST_SKIP() << "no CUDA device available";
  }

  Device device() const { return parse_backend(GetParam()); }
  bool on_cpu() const { return device().is_cpu(); }
  TensorOptions options(DType dtype = DType::Float32) const { return TensorOptions(dtype).with_device(device()); }
  Tensor to_backend(const Tensor& t) const { return copy_to(t, device()); }

  // A tensor claiming another device: on the CPU instance a CUDA view of host memory that is never
  // read (every op checks devices before touching data), on a CUDA instance a CPU tensor.
  Tensor foreign(const Shape& shape, DType dtype = DType::Float32) {
    if (!on_cpu()) return zeros(shape, TensorOptions(dtype));
    foreign_buffers_.emplace_back(static_cast<std::size_t>(std::max<std::int64_t>(numel_of(shape), 1)), 0);
    std::int64_t* p = foreign_buffers_.back().data();  // 8-byte elements: room for every dtype
    switch (dtype) {
      case DType::Float64: return view_of_buffer(reinterpret_cast<double*>(p), shape, Device::cuda(0));
      case DType::Int64: return view_of_buffer(p, shape, Device::cuda(0));
      default: return view_of_buffer(reinterpret_cast<float*>(p), shape, Device::cuda(0));
    }
  }

  // f on this backend (inputs as given, moved here) against `reference` on float64 CPU copies; then
  // the input gradients for one Philox-normal upstream gradient (rounded to the output's dtype, so both
  // sides back-propagate the same values).
  void expect_matches_reference(const std::string& what, const OpFn& f, const OpFn& reference,
                                const std::vector<Tensor>& inputs, Tolerance tol) const {
    SCOPED_TRACE(what + " on " + device().str());
    std::vector<Tensor> ref_in, in;
    for (const Tensor& t : inputs) {
      ref_in.push_back(reference_copy(t));
      in.push_back(to_backend(t));
    }
    const Tensor y_ref = reference(ref_in);
    const Tensor y = f(in);
    ASSERT_TRUE(y.defined()) << what;
    EXPECT_EQ(y.device(), device()) << what << ": the result is on another device";
    expect_close(what + " output", y, y_ref, tol);
    ASSERT_EQ(y.requires_grad(), y_ref.requires_grad()) << what;
    if (!y.requires_grad()) return;
    Generator gen(99);
    const Tensor upstream = randn(y.shape(), TensorOptions(y.dtype()), gen);
    backward(y_ref, cast_copy(upstream, DType::Float64));
    backward(y, copy_to(upstream, device()));
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
      const std::string name = what + " grad of input " + std::to_string(i);
      ASSERT_EQ(in[i].grad().defined(), ref_in[i].grad().defined()) << name;
      if (ref_in[i].grad().defined()) expect_close(name, in[i].grad(), ref_in[i].grad(), tol.for_gradients());
    }
  }
  void expect_matches_reference(const std::string& what, const OpFn& f, const std::vector<Tensor>& inputs,
                                Tolerance tol) const {
    expect_matches_reference(what, f, f, inputs, tol);
  }

  // gradcheck (float64, CPU leaves) of f evaluated on this backend.
  void expect_gradcheck(const std::string& what, const OpFn& f, const std::vector<Tensor>& inputs,
                        GradcheckOptions opts = {}) const {
    const Device d = device();
    const OpFn on_backend = [&](const std::vector<Tensor>& xs) {
      if (d.is_cpu()) return f(xs);
      std::vector<Tensor> moved;
      for (const Tensor& x : xs) moved.push_back(x.defined() ? to(x, d) : x);
      return to(f(moved), Device::cpu());
    };
    const GradcheckResult r = gradcheck(on_backend, inputs, opts);
    EXPECT_TRUE(r.ok) << what << " on " << d.str() << "\n" << r.report << "max abs error " << r.max_abs_error;
  }

 private:
  std::list<std::vector<std::int64_t>> foreign_buffers_;
};

}  // namespace anima::testing

// Runs the TEST_Ps of `Suite` (a class derived from anima::testing::BackendTest) once per backend.
#define ANIMA_INSTANTIATE_BACKENDS(Suite)                                                   \
  INSTANTIATE_TEST_SUITE_P(, Suite, ::testing::ValuesIn(::anima::testing::backend_names()), \
                           ::anima::testing::BackendParamName())

// Declares the suite `Suite` (a plain BackendTest) and runs its TEST_Ps once per backend.
#define ANIMA_BACKEND_SUITE(Suite)                       \
  class Suite : public ::anima::testing::BackendTest {}; \
  ANIMA_INSTANTIATE_BACKENDS(Suite)
