// anima/nets/inception_v3.hpp — Inception v3 (Szegedy et al. 2016, "Rethinking the Inception
// Architecture for Computer Vision"), torchvision 0.14's Inception3 with its parameter names:
//
//   Conv2d_1a_3x3.conv.weight, Conv2d_1a_3x3.bn.{weight,bias,running_mean,running_var,num_batches_tracked},
//   Mixed_5b.branch1x1.conv.weight, ..., AuxLogits.conv0 / conv1 / fc, fc.weight, fc.bias
//
// BasicConv2d = Conv2d (no bias) -> BatchNorm2d (eps 0.001) -> ReLU. Shapes for a 299x299 input:
//   x [N, 3, 299, 299] -> (transform_input) -> Conv2d_1a_3x3 s2 [N, 32, 149, 149] -> Conv2d_2a_3x3
//   [N, 32, 147, 147] -> Conv2d_2b_3x3 p1 [N, 64, 147, 147] -> maxpool 3/2 [N, 64, 73, 73] ->
//   Conv2d_3b_1x1 [N, 80, 73, 73] -> Conv2d_4a_3x3 [N, 192, 71, 71] -> maxpool 3/2 [N, 192, 35, 35] ->
//   Mixed_5b/5c/5d (InceptionA) [N, 256|288|288, 35, 35] -> Mixed_6a (InceptionB) [N, 768, 17, 17] ->
//   Mixed_6b..6e (InceptionC) [N, 768, 17, 17] -> [AuxLogits, training only: [N, num_classes]] ->
//   Mixed_7a (InceptionD) [N, 1280, 8, 8] -> Mixed_7b/7c (InceptionE) [N, 2048, 8, 8] ->
//   adaptive avg pool 1x1 -> dropout(0.5) -> flatten [N, 2048] -> fc [N, num_classes]
// Branch outputs are concatenated along channels in torchvision's order.
// transform_input (torchvision sets it for its ImageNet weights, which were trained on inputs scaled to
// [-1, 1]): x_c <- x_c · (std_c / 0.5) + (mean_c − 0.5) / 0.5 with ImageNet's mean/std, so an input
// normalised the usual way is mapped to what those weights expect. Each step is the float32 op torch
// does (x·a, then + b, a and b rounded to float32).
// Outputs: forward(x) is the logits; forward_with_aux(x) also returns the auxiliary logits, defined
// only in training mode with aux_logits (torchvision's InceptionOutputs). The auxiliary classifier
// adds its loss during training (torchvision's recipe: loss + 0.4 · aux_loss).
// Initialisation as torchvision's init_weights: every conv and linear weight truncated normal on
// [-2, 2] with std 0.1 (AuxLogits.conv1: 0.01, AuxLogits.fc: 0.001), BatchNorm weight 1 bias 0, linear
// biases PyTorch's default; the numbers differ (another generator), the distributions do not.
// Determinism: as the ops it is built from (CPU: bitwise reproducible for a fixed thread count;
// dropout draws from the generator in training mode).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/core/tensor.hpp>
#include <anima/nn/batch_norm.hpp>
#include <anima/nn/conv.hpp>
#include <anima/nn/conv_norm_act.hpp>
#include <anima/nn/dropout.hpp>
#include <anima/nn/init.hpp>
#include <anima/nn/linear.hpp>
#include <anima/nn/module.hpp>
#include <anima/nn/size2.hpp>
#include <anima/nets/classifier.hpp>
#include <anima/ops/concat.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/pool.hpp>
#include <anima/ops/view.hpp>

namespace anima::nets {

namespace inception_detail {

inline Tensor max_pool_3x3_s2(const Tensor& x) {  // [N, C, H, W] -> [N, C, (H-3)/2+1, (W-3)/2+1]
  Pool2dOptions o;
  o.kernel_size = {3, 3};
  o.stride = {2, 2};
  return max_pool2d(x, o);
}

inline Tensor avg_pool(const Tensor& x, std::int64_t k, std::int64_t s, std::int64_t p) {
  Pool2dOptions o;
  o.kernel_size = {k, k};
  o.stride = {s, s};
  o.padding = {p, p};
  return avg_pool2d(x, o);  // count_include_pad = true, as F.avg_pool2d's default
}

}  // namespace inception_detail

// Conv2d (no bias) -> BatchNorm2d (eps 0.001) -> ReLU. `stddev`: the truncated-normal init's std.
class BasicConv2d : public nn::Module {
 public:
  BasicConv2d(std::int64_t in, std::int64_t out, nn::Size2 kernel, nn::Size2 stride = 1, nn::Size2 padding = 0,
              double stddev = 0.1)
      : Module("BasicConv2d") {
    conv = register_module("conv", std::make_shared<nn::Conv2d>(in, out, kernel, stride, padding, 1, 1, false));
    bn = register_module("bn", std::make_shared<nn::BatchNorm2d>(out, 0.001));
    nn::init::trunc_normal_(conv->weight, 0.0, stddev, -2.0, 2.0);
  }
  Tensor forward(const Tensor& x) override { return nn::conv_norm_act(*conv, bn.get(), ConvActivation::Relu, x); }
  // In eval: conv -> bn -> relu as one convolution (nn/conv_norm_act.hpp).
  void prepare_inference() override { nn::prepare_conv_norm_act(*conv, bn.get(), ConvActivation::Relu); }

  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::BatchNorm2d> bn;
};

using BasicConv2dPtr = std::shared_ptr<BasicConv2d>;

// 35x35 block: 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg 3x3 -> 1x1 (pool_features)
// [N, in, H, W] -> [N, 224 + pool_features, H, W]
class InceptionA : public nn::Module {
 public:
  InceptionA(std::int64_t in, std::int64_t pool_features) : Module("InceptionA") {
    branch1x1 = add("branch1x1", in, 64, 1);
    branch5x5_1 = add("branch5x5_1", in, 48, 1);
    branch5x5_2 = add("branch5x5_2", 48, 64, 5, 1, 2);
    branch3x3dbl_1 = add("branch3x3dbl_1", in, 64, 1);
    branch3x3dbl_2 = add("branch3x3dbl_2", 64, 96, 3, 1, 1);
    branch3x3dbl_3 = add("branch3x3dbl_3", 96, 96, 3, 1, 1);
    branch_pool = add("branch_pool", in, pool_features, 1);
  }
  Tensor forward(const Tensor& x) override {
    Tensor b1 = branch1x1->forward(x);
    Tensor b5 = branch5x5_2->forward(branch5x5_1->forward(x));
    Tensor b3 = branch3x3dbl_3->forward(branch3x3dbl_2->forward(branch3x3dbl_1->forward(x)));
    Tensor bp = branch_pool->forward(inception_detail::avg_pool(x, 3, 1, 1));
    return concat({b1, b5, b3, bp}, 1);
  }
  BasicConv2dPtr branch1x1, branch5x5_1, branch5x5_2, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3, branch_pool;

 private:
  BasicConv2dPtr add(const std::string& name, std::int64_t in, std::int64_t out, nn::Size2 k, nn::Size2 s = 1,
                     nn::Size2 p = 0) {
    return register_module(name, std::make_shared<BasicConv2d>(in, out, k, s, p));
  }
};

// Grid reduction 35 -> 17: 3x3 s2 | 1x1 -> 3x3 -> 3x3 s2 | max 3x3 s2. [N, in, 35, 35] -> [N, 480 + in, 17, 17]
class InceptionB : public nn::Module {
 public:
  explicit InceptionB(std::int64_t in) : Module("InceptionB") {
    branch3x3 = register_module("branch3x3", std::make_shared<BasicConv2d>(in, 384, 3, 2));
    branch3x3dbl_1 = register_module("branch3x3dbl_1", std::make_shared<BasicConv2d>(in, 64, 1));
    branch3x3dbl_2 = register_module("branch3x3dbl_2", std::make_shared<BasicConv2d>(64, 96, 3, 1, 1));
    branch3x3dbl_3 = register_module("branch3x3dbl_3", std::make_shared<BasicConv2d>(96, 96, 3, 2));
  }
  Tensor forward(const Tensor& x) override {
    Tensor b3 = branch3x3->forward(x);
    Tensor bd = branch3x3dbl_3->forward(branch3x3dbl_2->forward(branch3x3dbl_1->forward(x)));
    Tensor bp = inception_detail::max_pool_3x3_s2(x);
    return concat({b3, bd, bp}, 1);
  }
  BasicConv2dPtr branch3x3, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3;
};

// 17x17 block with factorised 7x7 convs (1x7 and 7x1, c7 channels inside). [N, in, H, W] -> [N, 768, H, W]
class InceptionC : public nn::Module {
 public:
  InceptionC(std::int64_t in, std::int64_t c7) : Module("InceptionC") {
    const nn::Size2 k17(1, 7), k71(7, 1), p17(0, 3), p71(3, 0);
    branch1x1 = add("branch1x1", in, 192, 1, 0);
    branch7x7_1 = add("branch7x7_1", in, c7, 1, 0);
    branch7x7_2 = add("branch7x7_2", c7, c7, k17, p17);
    branch7x7_3 = add("branch7x7_3", c7, 192, k71, p71);
    branch7x7dbl_1 = add("branch7x7dbl_1", in, c7, 1, 0);
    branch7x7dbl_2 = add("branch7x7dbl_2", c7, c7, k71, p71);
    branch7x7dbl_3 = add("branch7x7dbl_3", c7, c7, k17, p17);
    branch7x7dbl_4 = add("branch7x7dbl_4", c7, c7, k71, p71);
    branch7x7dbl_5 = add("branch7x7dbl_5", c7, 192, k17, p17);
    branch_pool = add("branch_pool", in, 192, 1, 0);
  }
  Tensor forward(const Tensor& x) override {
    Tensor b1 = branch1x1->forward(x);
    Tensor b7 = branch7x7_3->forward(branch7x7_2->forward(branch7x7_1->forward(x)));
    Tensor bd = branch7x7dbl_1->forward(x);
    bd = branch7x7dbl_5->forward(branch7x7dbl_4->forward(branch7x7dbl_3->forward(branch7x7dbl_2->forward(bd))));
    Tensor bp = branch_pool->forward(inception_detail::avg_pool(x, 3, 1, 1));
    return concat({b1, b7, bd, bp}, 1);
  }
  BasicConv2dPtr branch1x1, branch7x7_1, branch7x7_2, branch7x7_3, branch7x7dbl_1, branch7x7dbl_2, branch7x7dbl_3,
      branch7x7dbl_4, branch7x7dbl_5, branch_pool;

 private:
  BasicConv2dPtr add(const std::string& name, std::int64_t in, std::int64_t out, nn::Size2 k, nn::Size2 p) {
    return register_module(name, std::make_shared<BasicConv2d>(in, out, k, 1, p));
  }
};

// Grid reduction 17 -> 8: 1x1 -> 3x3 s2 | 1x1 -> 1x7 -> 7x1 -> 3x3 s2 | max 3x3 s2.
// [N, in, 17, 17] -> [N, 512 + in, 8, 8]
class InceptionD : public nn::Module {
 public:
  explicit InceptionD(std::int64_t in) : Module("InceptionD") {
    branch3x3_1 = register_module("branch3x3_1", std::make_shared<BasicConv2d>(in, 192, 1));
    branch3x3_2 = register_module("branch3x3_2", std::make_shared<BasicConv2d>(192, 320, 3, 2));
    branch7x7x3_1 = register_module("branch7x7x3_1", std::make_shared<BasicConv2d>(in, 192, 1));
    branch7x7x3_2 =
        register_module("branch7x7x3_2", std::make_shared<BasicConv2d>(192, 192, nn::Size2(1, 7), 1, nn::Size2(0, 3)));
    branch7x7x3_3 =
        register_module("branch7x7x3_3", std::make_shared<BasicConv2d>(192, 192, nn::Size2(7, 1), 1, nn::Size2(3, 0)));
    branch7x7x3_4 = register_module("branch7x7x3_4", std::make_shared<BasicConv2d>(192, 192, 3, 2));
  }
  Tensor forward(const Tensor& x) override {
    Tensor b3 = branch3x3_2->forward(branch3x3_1->forward(x));
    Tensor b7 = branch7x7x3_4->forward(branch7x7x3_3->forward(branch7x7x3_2->forward(branch7x7x3_1->forward(x))));
    Tensor bp = inception_detail::max_pool_3x3_s2(x);
    return concat({b3, b7, bp}, 1);
  }
  BasicConv2dPtr branch3x3_1, branch3x3_2, branch7x7x3_1, branch7x7x3_2, branch7x7x3_3, branch7x7x3_4;
};

// 8x8 block with the 3x3 convs split into parallel 1x3 and 3x1. [N, in, H, W] -> [N, 2048, H, W]
class InceptionE : public nn::Module {
 public:
  explicit InceptionE(std::int64_t in) : Module("InceptionE") {
    const nn::Size2 k13(1, 3), k31(3, 1), p13(0, 1), p31(1, 0);
    branch1x1 = add("branch1x1", in, 320, 1, 0);
    branch3x3_1 = add("branch3x3_1", in, 384, 1, 0);
    branch3x3_2a = add("branch3x3_2a", 384, 384, k13, p13);
    branch3x3_2b = add("branch3x3_2b", 384, 384, k31, p31);
    branch3x3dbl_1 = add("branch3x3dbl_1", in, 448, 1, 0);
    branch3x3dbl_2 = add("branch3x3dbl_2", 448, 384, 3, 1);
    branch3x3dbl_3a = add("branch3x3dbl_3a", 384, 384, k13, p13);
    branch3x3dbl_3b = add("branch3x3dbl_3b", 384, 384, k31, p31);
    branch_pool = add("branch_pool", in, 192, 1, 0);
  }
  Tensor forward(const Tensor& x) override {
    Tensor b1 = branch1x1->forward(x);
    Tensor b3 = branch3x3_1->forward(x);
    b3 = concat({branch3x3_2a->forward(b3), branch3x3_2b->forward(b3)}, 1);
    Tensor bd = branch3x3dbl_2->forward(branch3x3dbl_1->forward(x));
    bd = concat({branch3x3dbl_3a->forward(bd), branch3x3dbl_3b->forward(bd)}, 1);
    Tensor bp = branch_pool->forward(inception_detail::avg_pool(x, 3, 1, 1));
    return concat({b1, b3, bd, bp}, 1);
  }
  BasicConv2dPtr branch1x1, branch3x3_1, branch3x3_2a, branch3x3_2b, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3a,
      branch3x3dbl_3b, branch_pool;

 private:
  BasicConv2dPtr add(const std::string& name, std::int64_t in, std::int64_t out, nn::Size2 k, nn::Size2 p) {
    return register_module(name, std::make_shared<BasicConv2d>(in, out, k, 1, p));
  }
};

// Auxiliary classifier on the 17x17 grid: avg 5x5 s3 -> conv0 1x1 (128) -> conv1 5x5 (768) ->
// adaptive avg 1x1 -> flatten -> fc. [N, in, 17, 17] -> [N, num_classes]
class InceptionAux : public nn::Module {
 public:
  InceptionAux(std::int64_t in, std::int64_t num_classes) : Module("InceptionAux") {
    conv0 = register_module("conv0", std::make_shared<BasicConv2d>(in, 128, 1));
    conv1 = register_module("conv1", std::make_shared<BasicConv2d>(128, 768, 5, 1, 0, /*stddev=*/0.01));
    fc = register_module("fc", std::make_shared<nn::Linear>(768, num_classes));
    nn::init::trunc_normal_(fc->weight, 0.0, 0.001, -2.0, 2.0);
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = conv1->forward(conv0->forward(inception_detail::avg_pool(x, 5, 3, 0)));  // [N, 768, 1, 1] at 17x17
    h = flatten(adaptive_avg_pool2d(h, {1, 1}), 1);
    return fc->forward(h);
  }
  BasicConv2dPtr conv0, conv1;
  std::shared_ptr<nn::Linear> fc;
};

// torchvision's InceptionOutputs: aux_logits is undefined in eval mode or without the aux head.
struct InceptionOutputs {
  Tensor logits;      // [N, num_classes]
  Tensor aux_logits;  // [N, num_classes] or undefined
};

class Inception3 : public ImageClassifier {
 public:
  Inception3(int num_classes = 1000, bool aux_logits = true, bool transform_input = false, double dropout_p = 0.5)
      : ImageClassifier("Inception3"), transform_input(transform_input) {
    ANIMA_CHECK(num_classes > 0, "inception_v3", "num_classes must be positive, got ", num_classes);
    num_classes_ = num_classes;
    Conv2d_1a_3x3 = conv("Conv2d_1a_3x3", 3, 32, 3, 2);
    Conv2d_2a_3x3 = conv("Conv2d_2a_3x3", 32, 32, 3);
    Conv2d_2b_3x3 = conv("Conv2d_2b_3x3", 32, 64, 3, 1, 1);
    Conv2d_3b_1x1 = conv("Conv2d_3b_1x1", 64, 80, 1);
    Conv2d_4a_3x3 = conv("Conv2d_4a_3x3", 80, 192, 3);
    Mixed_5b = register_module("Mixed_5b", std::make_shared<InceptionA>(192, 32));
    Mixed_5c = register_module("Mixed_5c", std::make_shared<InceptionA>(256, 64));
    Mixed_5d = register_module("Mixed_5d", std::make_shared<InceptionA>(288, 64));
    Mixed_6a = register_module("Mixed_6a", std::make_shared<InceptionB>(288));
    Mixed_6b = register_module("Mixed_6b", std::make_shared<InceptionC>(768, 128));
    Mixed_6c = register_module("Mixed_6c", std::make_shared<InceptionC>(768, 160));
    Mixed_6d = register_module("Mixed_6d", std::make_shared<InceptionC>(768, 160));
    Mixed_6e = register_module("Mixed_6e", std::make_shared<InceptionC>(768, 192));
    if (aux_logits) AuxLogits = register_module("AuxLogits", std::make_shared<InceptionAux>(768, num_classes));
    Mixed_7a = register_module("Mixed_7a", std::make_shared<InceptionD>(768));
    Mixed_7b = register_module("Mixed_7b", std::make_shared<InceptionE>(1280));
    Mixed_7c = register_module("Mixed_7c", std::make_shared<InceptionE>(2048));
    dropout = register_module("dropout", std::make_shared<nn::Dropout>(dropout_p));
    fc = register_module("fc", std::make_shared<nn::Linear>(2048, num_classes));
    nn::init::trunc_normal_(fc->weight, 0.0, 0.1, -2.0, 2.0);
  }

  // x [N, 3, H, W] (H, W >= 75; 299 for ImageNet) -> logits [N, num_classes], and the auxiliary logits
  // [N, num_classes] in training mode when the net has the aux head.
  InceptionOutputs forward_with_aux(const Tensor& input) {
    ANIMA_CHECK(input.dim() == 4 && input.size(1) == 3, "inception_v3", "expected input [N, 3, H, W], got ",
                shape_str(input.shape()));
    ANIMA_CHECK(input.size(2) >= 75 && input.size(3) >= 75, "inception_v3",
                "expected an input of at least 75x75 (299x299 for ImageNet), got ", input.size(2), "x", input.size(3));
    Tensor x = transform_input ? apply_transform_input(input) : input;
    x = Conv2d_2b_3x3->forward(Conv2d_2a_3x3->forward(Conv2d_1a_3x3->forward(x)));
    x = inception_detail::max_pool_3x3_s2(x);
    x = Conv2d_4a_3x3->forward(Conv2d_3b_1x1->forward(x));
    x = inception_detail::max_pool_3x3_s2(x);
    x = Mixed_5d->forward(Mixed_5c->forward(Mixed_5b->forward(x)));
    x = Mixed_6a->forward(x);
    x = Mixed_6e->forward(Mixed_6d->forward(Mixed_6c->forward(Mixed_6b->forward(x))));
    InceptionOutputs out;
    if (AuxLogits && is_training()) out.aux_logits = AuxLogits->forward(x);
    x = Mixed_7c->forward(Mixed_7b->forward(Mixed_7a->forward(x)));
    x = adaptive_avg_pool2d(x, {1, 1});
    x = flatten(dropout->forward(x), 1);
    out.logits = fc->forward(x);
    return out;
  }

  Tensor forward(const Tensor& x) override { return forward_with_aux(x).logits; }

  // A new classifier for fine-tuning: fc and AuxLogits.fc become fresh Linear layers with
  // num_classes outputs (PyTorch's default Linear initialisation, as `model.fc = nn.Linear(...)` in
  // torchvision's fine-tuning recipe), on the net's device. classifier_prefix() names fc;
  // head_prefixes() names both, so freeze_backbone() leaves both trainable.
  void replace_classifier(int num_classes) override {
    ANIMA_CHECK(num_classes > 0, "inception_v3", "num_classes must be positive, got ", num_classes);
    fc = replace_module("fc", new_head(2048, num_classes, LinearInit::PyTorchDefault));
    if (AuxLogits) {
      AuxLogits->fc = AuxLogits->replace_module("fc", new_head(768, num_classes, LinearInit::PyTorchDefault));
    }
    num_classes_ = num_classes;
  }
  std::string classifier_prefix() const override { return "fc"; }
  std::vector<std::string> head_prefixes() const override {
    if (AuxLogits) return {"fc", "AuxLogits.fc"};
    return {"fc"};
  }

  // torchvision's _transform_input: channel c -> x_c · (std_c / 0.5) + (mean_c − 0.5) / 0.5.
  // [N, 3, H, W] -> [N, 3, H, W]
  static Tensor apply_transform_input(const Tensor& x) {
    const double mean[3] = {0.485, 0.456, 0.406}, stdv[3] = {0.229, 0.224, 0.225};
    std::vector<Tensor> ch;
    for (int c = 0; c < 3; ++c) ch.push_back(add(mul(narrow(x, 1, c, 1), stdv[c] / 0.5), (mean[c] - 0.5) / 0.5));
    return concat(ch, 1);
  }

  bool transform_input;
  BasicConv2dPtr Conv2d_1a_3x3, Conv2d_2a_3x3, Conv2d_2b_3x3, Conv2d_3b_1x1, Conv2d_4a_3x3;
  std::shared_ptr<InceptionA> Mixed_5b, Mixed_5c, Mixed_5d;
  std::shared_ptr<InceptionB> Mixed_6a;
  std::shared_ptr<InceptionC> Mixed_6b, Mixed_6c, Mixed_6d, Mixed_6e;
  std::shared_ptr<InceptionAux> AuxLogits;  // null without the aux head
  std::shared_ptr<InceptionD> Mixed_7a;
  std::shared_ptr<InceptionE> Mixed_7b, Mixed_7c;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> fc;

 private:
  BasicConv2dPtr conv(const std::string& name, std::int64_t in, std::int64_t out, nn::Size2 k, nn::Size2 s = 1,
                      nn::Size2 p = 0) {
    return register_module(name, std::make_shared<BasicConv2d>(in, out, k, s, p));
  }
};

// torchvision.models.inception_v3(weights=None, num_classes, aux_logits, transform_input): the net
// with torchvision's initialisation (use nn::SkipInitGuard when weights are loaded next).
inline std::shared_ptr<Inception3> inception_v3(int num_classes = 1000, bool aux_logits = true,
                                                bool transform_input = false) {
  return std::make_shared<Inception3>(num_classes, aux_logits, transform_input);
}

}  // namespace anima::nets
