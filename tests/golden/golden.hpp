// tests/golden/golden.hpp — reads the PyTorch fixtures of tests/golden/data (written by
// tools/golden/ops.py; see tests/golden/README.md) and compares an op's output and gradients.
//
// A family file (conv.safetensors, ...) holds cases; each case `<name>` has tensors
//   <name>/in/<arg>   the op's tensor arguments        <name>/out[/<i>]   expected output(s)
//   <name>/gout[/<i>] the upstream gradient(s)         <name>/grad/<arg>  expected d<out, gout>/d<arg>
//   <name>/after/<buffer>  buffers after an in-place update (batch norm running stats)
// and a metadata entry "<name>" = JSON {"op": ..., "dtype": ..., <op arguments>}.
//
// Use, one entry per op of the family with the number of cases the fixture holds for it:
//   golden::run_family("pool", {
//       {"max_pool2d", {7, [](golden::Case& c) { c.check(max_pool2d(c.input("x"), opts_from(c))); }}},
//       ...});
// c.check compares the output, runs backward with gout and compares the gradients (tolerances below).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/core/copy.hpp>
#include <anima/io/json_reader.hpp>
#include <anima/io/safetensors.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/reduce.hpp>

#ifndef ANIMA_GOLDEN_DIR
#error "ANIMA_GOLDEN_DIR (the folder of the golden fixtures) must be defined by the build"
#endif

namespace anima::golden {

// Tolerances, relative to the largest magnitude of each expected tensor (its scale):
//  - float64 cases: both sides compute in float64 from identical inputs, so they differ only by the
//    order of additions and by libm's last bit: about K * 2^-53 relative for sums of K <= ~10^3 terms
//    (< 1e-12). 1e-10 leaves a wide margin and still catches any wrong index, boundary or formula.
//  - float32 cases (names ending in _f32, heavy convs): identical float32 inputs, but float32
//    accumulation in a different order (our packed GEMM / im2col vs PyTorch's oneDNN/MKL): worst case
//    about K * 2^-24 relative with K <= 300 terms (~2e-5); 1e-4 covers it.
inline double tolerance(DType dtype) { return dtype == DType::Float32 ? 1e-4 : 1e-10; }

// Expects `actual` to equal `expected` (same shape) within rel * max|expected|; reports the first
// and the worst mismatch with their flat index.
inline void expect_close(const Tensor& actual, const Tensor& expected, double rel, const std::string& what) {
  ASSERT_TRUE(actual.defined()) << what << ": no tensor was produced";
  ASSERT_EQ(shape_str(actual.shape()), shape_str(expected.shape())) << what << ": shape differs";
  EXPECT_EQ(dtype_name(actual.dtype()), std::string(dtype_name(expected.dtype()))) << what << ": dtype differs";
  const std::vector<double> a = to_vector<double>(actual), e = to_vector<double>(expected);
  double scale = 0.0;
  for (double v : e) scale = std::max(scale, std::fabs(v));
  const double tol = rel * std::max(scale, 1e-30);
  std::size_t bad = 0, worst = 0;
  double worst_err = -1.0;
  for (std::size_t i = 0; i < e.size(); ++i) {
    const double err = std::fabs(a[i] - e[i]);
    if (!(err <= tol)) {  // NaN fails too
      ++bad;
      if (!(err <= worst_err)) {
        worst_err = err;
        worst = i;
      }
    }
  }
  if (bad > 0) {
    ADD_FAILURE() << what << ": " << bad << " of " << e.size() << " elements differ by more than " << tol
                  << " (= " << rel << " x scale " << scale << "); worst at flat index " << worst << ": got " << a[worst]
                  << ", expected " << e[worst] << " (error " << worst_err << ")";
  }
}

class Case {
 public:
  std::string name;
  std::string op;
  DType dtype = DType::Float64;
  io::JsonValue args;
  std::map<std::string, Tensor> tensors;  // keys without the "<name>/" prefix

  bool has(const std::string& key) const { return tensors.count(key) > 0; }
  const Tensor& stored(const std::string& key) const {
    auto it = tensors.find(key);
    if (it == tensors.end()) fail("golden", "case ", name, " has no tensor ", key);
    return it->second;
  }

  // The argument tensor `arg` as a fresh leaf (a copy: the fixture stays intact), requiring grad when
  // the fixture holds its gradient; undefined when the case has no such argument (e.g. no bias).
  Tensor input(const std::string& arg) {
    if (!has("in/" + arg)) return Tensor();
    Tensor t = contiguous_copy(stored("in/" + arg));
    if (has("grad/" + arg)) t.set_requires_grad(true);
    inputs_[arg] = t;
    return t;
  }

  // Arguments from the metadata JSON.
  bool has_arg(const std::string& key) const { return args.find(key) != nullptr; }
  const io::JsonValue& arg(const std::string& key) const {
    const io::JsonValue* v = args.find(key);
    if (!v) fail("golden", "case ", name, " has no argument \"", key, "\"");
    return *v;
  }
  double number(const std::string& key) const { return std::stod(checked_number(arg(key), key).text); }
  std::int64_t integer(const std::string& key) const { return std::stoll(checked_number(arg(key), key).text); }
  bool flag(const std::string& key) const {
    const io::JsonValue& v = arg(key);
    if (v.kind != io::JsonValue::Kind::Bool) fail("golden", "case ", name, " argument ", key, " is not a boolean");
    return v.boolean;
  }
  std::string text(const std::string& key) const {
    const io::JsonValue& v = arg(key);
    if (!v.is_string()) fail("golden", "case ", name, " argument ", key, " is not a string");
    return v.text;
  }
  std::vector<std::int64_t> integers(const std::string& key) const {
    std::vector<std::int64_t> out;
    for (const auto& item : array(key)) out.push_back(std::stoll(checked_number(item, key).text));
    return out;
  }
  std::array<std::int64_t, 2> pair(const std::string& key) const {
    const auto v = integers(key);
    if (v.size() != 2) fail("golden", "case ", name, " argument ", key, " is not a pair");
    return {v[0], v[1]};
  }
  std::array<double, 2> real_pair(const std::string& key) const {
    const auto& items = array(key);
    if (items.size() != 2) fail("golden", "case ", name, " argument ", key, " is not a pair");
    return {std::stod(checked_number(items[0], key).text), std::stod(checked_number(items[1], key).text)};
  }

  // Compares the outputs with <name>/out[/<i>], then back-propagates the stored upstream gradients
  // (sum_i <out_i, gout_i>) and compares the gradient of every input that has <name>/grad/<arg>.
  void check(const std::vector<Tensor>& outputs, double rel) {
    const bool several = outputs.size() > 1 || has("out/0");
    std::vector<Tensor> gouts;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const std::string suffix = several ? "/" + std::to_string(i) : "";
      expect_close(outputs[i], stored("out" + suffix), rel, name + " output" + suffix);
      gouts.push_back(stored("gout" + suffix));
    }
    if (several) {
      EXPECT_FALSE(has("out/" + std::to_string(outputs.size()))) << name << ": the op returned too few outputs";
    }
    // Every gradient in the fixture belongs to an argument the test passed to the op.
    for (const auto& kv : tensors) {
      if (kv.first.compare(0, 5, "grad/") == 0) {
        EXPECT_TRUE(inputs_.count(kv.first.substr(5))) << name << ": the test never passed " << kv.first.substr(5);
      }
    }
    bool any_grad = false;
    for (const auto& kv : inputs_) any_grad = any_grad || has("grad/" + kv.first);
    if (!any_grad) return;
    if (outputs.size() == 1) {
      ASSERT_TRUE(outputs[0].requires_grad()) << name << ": the output does not require grad";
      backward(outputs[0], gouts[0]);
    } else {
      Tensor total;
      for (std::size_t i = 0; i < outputs.size(); ++i) {
        Tensor term = sum(mul(outputs[i], gouts[i]));
        total = total.defined() ? add(total, term) : term;
      }
      backward(total);
    }
    for (const auto& kv : inputs_) {
      if (!has("grad/" + kv.first)) continue;
      expect_close(kv.second.grad(), stored("grad/" + kv.first), rel, name + " gradient of " + kv.first);
    }
  }
  void check(const Tensor& output, double rel) { check(std::vector<Tensor>{output}, rel); }
  // The same at the case's own tolerance (tolerance(dtype) above).
  void check(const std::vector<Tensor>& outputs) { check(outputs, tolerance(dtype)); }
  void check(const Tensor& output) { check(output, tolerance(dtype)); }

  // Compares a buffer the op updated in place (the tensor passed as `arg`) with <name>/after/<arg>.
  void check_after(const std::string& arg, const Tensor& buffer, double rel) const {
    expect_close(buffer, stored("after/" + arg), rel, name + " " + arg + " after the call");
  }

  // Forgets the inputs handed out so far (to run the same case again, e.g. with another algorithm).
  void reset() { inputs_.clear(); }

 private:
  const io::JsonValue& checked_number(const io::JsonValue& v, const std::string& key) const {
    if (!v.is_number()) fail("golden", "case ", name, " argument ", key, " is not a number");
    return v;
  }
  const std::vector<io::JsonValue>& array(const std::string& key) const {
    const io::JsonValue& v = arg(key);
    if (!v.is_array()) fail("golden", "case ", name, " argument ", key, " is not an array");
    return v.items;
  }
  std::map<std::string, Tensor> inputs_;
};

inline double tolerance(const Case& c) { return tolerance(c.dtype); }

// Every case of tests/golden/data/<family>.safetensors, in the script's order.
inline std::vector<Case> load_family(const std::string& family) {
  const std::string path = std::string(ANIMA_GOLDEN_DIR) + "/" + family + ".safetensors";
  const io::SafetensorsFile file = io::load_safetensors(path);
  auto meta = [&](const std::string& key) -> const std::string& {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end()) fail("golden", path, ": no metadata entry \"", key, "\"");
    return it->second;
  };
  const io::JsonValue names = io::parse_json(meta("cases"), "golden", path);
  std::vector<Case> cases;
  for (const auto& n : names.items) {
    Case c;
    c.name = n.text;
    c.args = io::parse_json(meta(c.name), "golden", path + " case " + c.name);
    c.op = c.args.find("op") ? c.args.find("op")->text : "";
    const io::JsonValue* dt = c.args.find("dtype");
    c.dtype = dt && dt->text == "float32" ? DType::Float32 : DType::Float64;
    const std::string prefix = c.name + "/";
    for (const auto& kv : file.tensors)
      if (kv.first.compare(0, prefix.size(), prefix) == 0) c.tensors[kv.first.substr(prefix.size())] = kv.second;
    cases.push_back(std::move(c));
  }
  return cases;
}

// How a family's test runs one op: the number of cases the fixture holds for it, and the call.
struct OpRun {
  int cases;
  std::function<void(Case&)> run;
};

// Runs every case of tests/golden/data/<family>.safetensors with the entry of its op (a case of an op
// the table lacks fails), each under a SCOPED_TRACE of its name; then expects each op's number of cases,
// so a fixture that gains or loses cases fails here until the test says so.
inline void run_family(const std::string& family, const std::map<std::string, OpRun>& ops) {
  std::map<std::string, int> counts;
  for (auto& c : load_family(family)) {
    SCOPED_TRACE(c.name);
    ++counts[c.op];
    auto it = ops.find(c.op);
    if (it == ops.end()) {
      ADD_FAILURE() << "unknown op " << c.op;
      continue;
    }
    it->second.run(c);
  }
  for (const auto& kv : ops) EXPECT_EQ(counts[kv.first], kv.second.cases) << kv.first << " cases in " << family;
}

// The geometry conv2d and conv_transpose2d share (stride, padding, dilation, groups), from the case.
template <class ConvOptions>
ConvOptions conv_geometry(const Case& c, ConvOptions o = {}) {
  o.stride = c.pair("stride");
  o.padding = c.pair("padding");
  o.dilation = c.pair("dilation");
  o.groups = c.integer("groups");
  return o;
}

}  // namespace anima::golden
