// anima/autograd/gradcheck.hpp — compare backward() with central finite differences in float64.
//
// For f(x_1..x_n) -> y, pick a random direction r (Philox normal, fixed seed) of y's shape and let
// L(x) = Σ y·r. Then dL/dx_i = J_iᵀ r, which backward() computes analytically; numerically
//   dL/dx_i[j] ≈ (L(x + eps e_j) - L(x - eps e_j)) / (2 eps).
// (This is PyTorch's "fast mode": one random projection of the Jacobian instead of every column. A
// wrong entry of J can only hide if it is orthogonal to a random r: probability 0.)
// Tolerances (PyTorch's gradcheck defaults): |analytic - numeric| <= atol + rtol·|numeric| with
// eps = 1e-6, atol = 1e-5, rtol = 1e-3. In float64 the truncation error of the central
// difference is O(eps²·|f'''|) ~ 1e-12 and the rounding error ~ 1e-16·|L|/eps ~ 1e-10·|L|, both far
// below atol for the O(1)-scaled inputs tests use. Inputs must avoid kinks (relu at 0, ties of max).
// The check uses no op of its own: r comes from the CPU random kernel, the analytic side is
// backward(y, r), and the projections Σ y·r are summed on the host.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/grad_mode.hpp>
#include <anima/backends/cpu/factory.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>

namespace anima {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  std::uint64_t seed = 20240613;
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0.0;  // over all checked elements
  std::string report;          // the first mismatches, "input i element j: analytic a, numeric n"
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

inline GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, GradcheckOptions opts = {}) {
  // Private float64 copies that we can perturb in place.
  std::vector<Tensor> xs;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
    if (!in.requires_grad()) {
      xs.push_back(in);
      continue;
    }
    ANIMA_CHECK(in.dtype() == DType::Float64 && in.device().is_cpu(), "gradcheck", "input ", i,
                " requires grad but is ", dtype_name(in.dtype()), " on ", in.device().str(),
                " (gradcheck needs float64 CPU inputs)");
    Tensor x = contiguous_copy(in);
    x.set_requires_grad(true);
    xs.push_back(x);
  }
  Tensor y = f(xs);
  ANIMA_CHECK(y.dtype() == DType::Float64, "gradcheck", "f must return float64, got ", dtype_name(y.dtype()));
  ANIMA_CHECK(y.device().is_cpu(), "gradcheck", "f must return a CPU tensor, got one on ", y.device().str());
  Generator gen(opts.seed);
  Tensor r = Tensor::empty(y.shape(), TensorOptions(DType::Float64));
  RandomKernel::cpu(DType::Float64, kernels::Distribution::Normal, r.raw_data(), r.numel(), gen.seed(),
                    gen.advance(static_cast<std::uint64_t>(r.numel())), 0.0, 1.0);
  const std::vector<double> r_values = to_vector<double>(r);
  auto projected = [&](const Tensor& out) {
    const std::vector<double> v = to_vector<double>(out);
    double total = 0.0;
    for (std::size_t k = 0; k < v.size(); ++k) total += v[k] * r_values[k];
    return total;
  };

  ANIMA_CHECK(y.requires_grad(), "gradcheck", "the output does not depend on any input that requires grad");
  backward(y, r);

  GradcheckResult result;
  std::ostringstream report;
  int reported = 0;
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (!xs[i].requires_grad()) continue;
    Tensor analytic = xs[i].grad();
    std::vector<double> a = analytic.defined() ? to_vector<double>(analytic) : std::vector<double>(xs[i].numel(), 0.0);
    double* data = xs[i].data<double>();
    for (std::int64_t j = 0; j < xs[i].numel(); ++j) {
      const double saved = data[j];
      data[j] = saved + opts.eps;
      const double plus = projected(f(xs));
      data[j] = saved - opts.eps;
      const double minus = projected(f(xs));
      data[j] = saved;
      const double numeric = (plus - minus) / (2.0 * opts.eps);
      const double err = std::fabs(a[j] - numeric);
      result.max_abs_error = std::max(result.max_abs_error, err);
      if (!(err <= opts.atol + opts.rtol * std::fabs(numeric))) {  // also catches NaN
        result.ok = false;
        if (reported++ < 10)
          report << "input " << i << " element " << j << ": analytic " << a[j] << ", numeric " << numeric << "\n";
      }
    }
  }
  result.report = report.str();
  return result;
}

}  // namespace anima
