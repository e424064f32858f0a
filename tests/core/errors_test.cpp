// Bad arguments raise anima::Error naming the op and the shapes involved (the acceptance point of
// the core issue), across op families: shape mismatch, wrong device, out-of-range dims.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/matmul.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/view.hpp>

#include "expect_error.hpp"

namespace anima {
namespace {

using anima::testing::expect_error;

TEST(Errors, ShapeMismatch) {
  expect_error([] { add(zeros({2, 3}), zeros({3, 2})); }, {"anima::add", "[2, 3]", "[3, 2]"});
  expect_error([] { where(gt(zeros({4}), zeros({4})), zeros({4}), zeros({5})); }, {"anima::where", "[4]", "[5]"});
  expect_error([] { matmul(zeros({2, 3}), zeros({4, 5})); }, {"anima::matmul", "[2, 3]", "[4, 5]"});
  expect_error([] { matmul(zeros({2, 2, 3}), zeros({3, 3, 4})); }, {"anima::matmul", "[2]", "[3]"});
  expect_error([] { bmm(zeros({2, 2, 3}), zeros({3, 3, 4})); }, {"anima::bmm", "[2, 2, 3]", "[3, 3, 4]"});
  expect_error([] { reshape(zeros({2, 3}), {4, 2}); }, {"anima::reshape", "[2, 3]", "[4, 2]"});
  expect_error([] { expand(zeros({2, 3}), {4, 3}); }, {"anima::expand", "[2, 3]", "[4, 3]"});
}

TEST(Errors, OutOfRangeDims) {
  const Tensor x = zeros({2, 3, 4});
  expect_error([&] { sum(x, {3}); }, {"anima::sum", "dim 3", "[2, 3, 4]"});
  expect_error([&] { mean(x, {-4}); }, {"anima::mean", "dim -4", "[2, 3, 4]"});
  expect_error([&] { max(x, 5); }, {"anima::max", "[2, 3, 4]"});
  expect_error([&] { argmax(x, 3); }, {"anima::argmax", "[2, 3, 4]"});
  expect_error([&] { permute(x, {0, 1, 3}); }, {"anima::permute", "[2, 3, 4]"});
  expect_error([&] { transpose(x, 0, 3); }, {"anima::transpose", "[2, 3, 4]"});
  expect_error([&] { narrow(x, 1, 2, 2); }, {"anima::narrow", "[2, 3, 4]"});
  expect_error([&] { unsqueeze(x, 5); }, {"anima::unsqueeze", "[2, 3, 4]"});
  expect_error([&] { squeeze(x, -5); }, {"anima::squeeze", "[2, 3, 4]"});
  expect_error([&] { flatten(x, 2, 1); }, {"anima::flatten"});
  expect_error([&] { (void)x.size(3); }, {"anima::size", "[2, 3, 4]"});
}

TEST(Errors, WrongDeviceOrDtype) {
  // A tensor that claims to live on cuda:0 (its memory is never touched: the checks come first).
  float fake[6] = {};
  const Tensor on_gpu = view_of_buffer(fake, {2, 3}, Device::cuda(0));
  expect_error([&] { mul(zeros({2, 3}), on_gpu); }, {"anima::mul", "cpu", "cuda:0", "[2, 3]"});
  expect_error([&] { matmul(zeros({3, 2}), on_gpu); }, {"anima::matmul", "cuda:0", "[3, 2]"});
  expect_error([&] { where(gt(zeros({2, 3}), zeros({2, 3})), on_gpu, on_gpu); }, {"anima::where", "cuda:0"});
  expect_error([&] { add(zeros({2}), zeros({2}, DType::Float64)); }, {"anima::add", "float32", "float64"});
  expect_error([&] { sum(zeros({2}, DType::Int64)); }, {"anima::sum", "int64", "[2]"});
  // Without a registered CUDA backend, asking for device memory names the device and the remedy.
  if (!cuda_is_available()) expect_error([] { zeros({2}, Device::cuda(0)); }, {"cuda:0", "backend"});
}

}  // namespace
}  // namespace anima
