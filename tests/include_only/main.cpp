// A program built from a plain checkout with nothing but `c++ -std=c++17 -Iinclude main.cpp -pthread`:
// the op headers, the kernels they use (reached as <anima/kernels/...>) and a net (<anima/nets/...>)
// must all resolve through include/ alone. It runs a small forward and backward so that a header that
// compiles but links to nothing would be caught too.
#include <cstdio>

#include <anima/autograd/engine.hpp>
#include <anima/kernels/cpu/gemm_reference.hpp>
#include <anima/nets/mobilenet_v2.hpp>
#include <anima/ops/conv.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/reduce.hpp>
#include <anima/ops/roi_align.hpp>

int main() {
  using namespace anima;
  Tensor x = ones({1, 2, 6, 6}, TensorOptions().with_requires_grad());
  Tensor w = ones({3, 2, 3, 3});
  Conv2dOptions conv_options;
  conv_options.padding = {1, 1};
  Tensor y = conv2d(x, w, Tensor(), conv_options);
  Tensor rois = from_vector<float>({0, 0, 0, 4, 4}, {1, 5});
  Tensor pooled = roi_align(y, rois, {2, 2}, 1.0, 2, true);
  Tensor loss = sum(pooled);
  backward(loss);
  auto net = nets::mobilenet_v2(8, 0.25);
  const double value = item<double>(sum(y));
  std::printf("conv sum %.1f, roi_align sum %.3f, grad defined %d, mobilenet_v2 parameters %zu\n", value,
              item<double>(loss), x.grad().defined() ? 1 : 0, net->named_parameters().size());
  // 3x3 all-ones kernel over 2 all-ones 6x6 channels, padding 1: each output channel sums to 2·16·16.
  return value == 3 * 2 * 16 * 16 && x.grad().defined() && !net->named_parameters().empty() ? 0 : 1;
}
