// anima/nn/pool.hpp — pooling modules over [N, C, H, W]: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d
// (torch.nn semantics; anima/ops/pool.hpp). stride 0 (the default) means stride = kernel_size.
#pragma once

#include <cstdint>

#include <anima/ops/pool.hpp>
#include <anima/nn/module.hpp>
#include <anima/nn/size2.hpp>

namespace anima::nn {

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Size2 kernel_size, Size2 stride = 0, Size2 padding = 0, bool ceil_mode = false)
      : Module("MaxPool2d") {
    opts.kernel_size = kernel_size.arr();
    opts.stride = stride.arr();
    opts.padding = padding.arr();
    opts.ceil_mode = ceil_mode;
  }
  Tensor forward(const Tensor& x) override { return max_pool2d(x, opts); }
  Pool2dOptions opts;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Size2 kernel_size, Size2 stride = 0, Size2 padding = 0, bool ceil_mode = false,
                     bool count_include_pad = true)
      : Module("AvgPool2d") {
    opts.kernel_size = kernel_size.arr();
    opts.stride = stride.arr();
    opts.padding = padding.arr();
    opts.ceil_mode = ceil_mode;
    opts.count_include_pad = count_include_pad;
  }
  Tensor forward(const Tensor& x) override { return avg_pool2d(x, opts); }
  Pool2dOptions opts;
};

// [N, C, H, W] -> [N, C, output_size.h, output_size.w]
class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2 output_size) : Module("AdaptiveAvgPool2d"), output_size(output_size) {}
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, output_size.arr()); }
  Size2 output_size;
};

}  // namespace anima::nn
