// anima/nets/maskrcnn/backbone.hpp — Mask R-CNN's backbone: a body and a Feature Pyramid Network
// (Lin et al., "Feature Pyramid Networks for Object Detection", CVPR 2017), as torchvision 0.14's
// BackboneWithFPN, with its names. Two bodies:
//   ResNet-50 with FrozenBatchNorm2d (resnet_fpn_backbone, maskrcnn_resnet50_fpn's), names body.conv1,
//     body.bn1, body.layer1..4 (nets/resnet.hpp without avgpool/fc);
//   MobileNetV2 with BatchNorm2d (mobilenet_v2_body.hpp), names body.0 .. body.18: a light detector.
//   fpn.inner_blocks.{i}.0.{weight,bias}       1x1 conv C_i -> F (ResNet-50: C = 256, 512, 1024, 2048)
//   fpn.layer_blocks.{i}.0.{weight,bias}       3x3 conv F -> F, padding 1 (F = fpn_channels, 256 in
//                                              torchvision's models)
// Forward, images [N, 3, H, W] -> five maps named "0", "1", "2", "3", "pool" (strides 4 .. 64):
//   c_1..c_4  = the body's four maps (ResNet-50: the outputs of layer1..layer4)
//   inner_3   = inner_blocks[3](c_4);  p_3 = layer_blocks[3](inner_3)
//   inner_i   = inner_blocks[i](c_{i+1}) + nearest_resize(inner_{i+1}, size of inner_blocks[i]'s output)
//   p_i       = layer_blocks[i](inner_i)                           (i = 2, 1, 0)
//   "pool"    = max_pool2d(p_3, kernel 1, stride 2)                (LastLevelMaxPool)
// Backward flows through every op; which parameters train is set by trainable_layers (torchvision's
// rule, the body's: ResNet-50, the last k of layer4, layer3, layer2, layer1, conv1 train, k = 0..5, k = 5
// also bn1, which as a FrozenBatchNorm2d has nothing to train); the FPN always trains.
// Initialisation: FPN convs kaiming_uniform_(a = 1), biases 0 (torchvision's); the body as its net.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/detection/multiscale_roi_align.hpp>
#include <anima/nets/maskrcnn/feature_body.hpp>
#include <anima/nets/maskrcnn/mobilenet_v2_body.hpp>
#include <anima/nets/resnet.hpp>
#include <anima/nn/conv.hpp>
#include <anima/nn/conv_norm_act.hpp>
#include <anima/nn/init.hpp>
#include <anima/nn/module.hpp>
#include <anima/nn/pool.hpp>
#include <anima/nn/sequential.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/interpolate.hpp>
#include <anima/ops/pool.hpp>

namespace anima::nets::maskrcnn {

using detection::FeatureMaps;

// The ResNet-50 trunk: conv1, bn1, relu, maxpool, layer1..layer4, returning the four layer outputs.
class ResNetBody : public FeatureBody {
 public:
  explicit ResNetBody(const NormLayer& norm = frozen_batch_norm_layer) : FeatureBody("ResNetBody") {
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(3, 64, 7, 2, 3, 1, 1, false));
    bn1 = register_module("bn1", norm(64));
    relu = register_module("relu", std::make_shared<nn::ReLU>());
    maxpool = register_module("maxpool", std::make_shared<nn::MaxPool2d>(3, 2, 1));
    const int blocks[4] = {3, 4, 6, 3};
    const std::int64_t planes[4] = {64, 128, 256, 512};
    std::int64_t inplanes = 64;
    for (int s = 0; s < 4; ++s) {
      auto layer = std::make_shared<nn::Sequential>();
      for (int b = 0; b < blocks[s]; ++b) {
        layer->push_back(std::make_shared<Bottleneck>(inplanes, planes[s], (b == 0 && s > 0) ? 2 : 1, norm));
        inplanes = planes[s] * Bottleneck::expansion;
      }
      layers[s] = register_module("layer" + std::to_string(s + 1), layer);
    }
  }

  // x [N, 3, H, W] -> {layer1 [N, 256, H/4, W/4], ..., layer4 [N, 2048, H/32, W/32]} (sizes rounded as
  // the convolutions round them).
  std::array<Tensor, 4> forward_layers(const Tensor& x) override {
    Tensor y = maxpool->forward(nn::conv_norm_act(*conv1, bn1.get(), ConvActivation::Relu, x));
    std::array<Tensor, 4> out;
    for (int s = 0; s < 4; ++s) out[s] = y = layers[s]->forward(y);
    return out;
  }

  // In eval: conv1 -> bn1 -> relu as one convolution (the Bottlenecks prepare their own).
  void prepare_inference() override { nn::prepare_conv_norm_act(*conv1, bn1.get(), ConvActivation::Relu); }

  std::vector<std::int64_t> level_channels() const override { return {256, 512, 1024, 2048}; }
  int max_trainable_layers() const override { return 5; }

  // torchvision's _resnet_fpn_extractor: the parameters outside the last k stages are frozen.
  void set_trainable_layers(int k) override {
    ANIMA_CHECK(k >= 0 && k <= 5, "ResNetBody", "trainable_layers must be in [0, 5], got ", k);
    const char* stages[5] = {"layer4", "layer3", "layer2", "layer1", "conv1"};
    std::vector<std::string> train(stages, stages + k);
    if (k == 5) train.push_back("bn1");
    for (auto& [name, p] : named_parameters()) {
      bool trains = false;
      for (const std::string& s : train) trains = trains || name.rfind(s, 0) == 0;
      p.set_requires_grad(trains);
    }
  }

  std::shared_ptr<nn::Conv2d> conv1;
  nn::ModulePtr bn1;
  std::shared_ptr<nn::ReLU> relu;
  std::shared_ptr<nn::MaxPool2d> maxpool;
  std::shared_ptr<nn::Sequential> layers[4];
};

class FeaturePyramidNetwork : public nn::Module {
 public:
  FeaturePyramidNetwork(const std::vector<std::int64_t>& in_channels, std::int64_t out_channels)
      : nn::Module("FeaturePyramidNetwork"), out_channels(out_channels) {
    ANIMA_CHECK(!in_channels.empty() && out_channels > 0, "FeaturePyramidNetwork",
                "needs at least one input level and a positive channel count");
    inner_blocks = register_module("inner_blocks", std::make_shared<nn::Sequential>());
    layer_blocks = register_module("layer_blocks", std::make_shared<nn::Sequential>());
    for (std::int64_t c : in_channels) {
      auto inner = std::make_shared<nn::Sequential>();
      inner->push_back(std::make_shared<nn::Conv2d>(c, out_channels, 1, 1, 0));
      inner_blocks->push_back(inner);
      auto layer = std::make_shared<nn::Sequential>();
      layer->push_back(std::make_shared<nn::Conv2d>(out_channels, out_channels, 3, 1, 1));
      layer_blocks->push_back(layer);
    }
    for (const auto& [name, p] : named_parameters()) {
      if (p.dim() == 4)
        nn::init::kaiming_uniform_(p, nn::init::FanMode::FanIn, 1.0);
      else
        nn::init::zeros_(p);
    }
  }

  // levels: the body's maps, finest first -> FPN maps "0".."L-1" then "pool" (anima::FeatureMaps, in
  // pyramid order, finest first).
  FeatureMaps forward_levels(const std::vector<Tensor>& levels) {
    const std::size_t n = levels.size();
    ANIMA_CHECK(n == inner_blocks->size(), "FeaturePyramidNetwork", "expected ", inner_blocks->size(),
                " input levels, got ", n);
    std::vector<Tensor> results(n);
    Tensor last_inner = (*inner_blocks)[n - 1]->forward(levels[n - 1]);
    results[n - 1] = (*layer_blocks)[n - 1]->forward(last_inner);
    for (std::size_t k = n - 1; k-- > 0;) {
      const Tensor lateral = (*inner_blocks)[k]->forward(levels[k]);
      InterpolateOptions up;
      up.size = std::array<std::int64_t, 2>{lateral.shape()[2], lateral.shape()[3]};
      up.mode = InterpolateMode::Nearest;
      last_inner = add(lateral, interpolate(last_inner, up));
      results[k] = (*layer_blocks)[k]->forward(last_inner);
    }
    FeatureMaps maps;
    for (std::size_t k = 0; k < n; ++k) maps.emplace_back(std::to_string(k), results[k]);
    Pool2dOptions pool;  // LastLevelMaxPool: F.max_pool2d(x, 1, 2, 0)
    pool.kernel_size = {1, 1};
    pool.stride = {2, 2};
    maps.emplace_back("pool", max_pool2d(results[n - 1], pool));
    return maps;
  }

  std::int64_t out_channels;
  std::shared_ptr<nn::Sequential> inner_blocks, layer_blocks;  // [i] is a Sequential holding the conv at 0
};

enum class BackboneKind { ResNet50, MobileNetV2 };

// "resnet50" / "mobilenet_v2", the names the command line and checkpoints use.
inline const char* backbone_name(BackboneKind kind) {
  return kind == BackboneKind::ResNet50 ? "resnet50" : "mobilenet_v2";
}
inline BackboneKind parse_backbone(const std::string& name) {
  if (name == "resnet50") return BackboneKind::ResNet50;
  if (name == "mobilenet_v2") return BackboneKind::MobileNetV2;
  fail("maskrcnn", "unknown backbone '", name, "': expected resnet50 or mobilenet_v2");
}

struct BackboneOptions {
  BackboneKind kind = BackboneKind::ResNet50;
  std::int64_t fpn_channels = 256;  // F: every FPN map's channels
  int trainable_layers = 3;         // body stages that train, counted from the deepest
  // ResNet-50's FrozenBatchNorm2d eps (torchvision's default 1e-5; the COCO checkpoints of
  // maskrcnn_resnet50_fpn were trained with 0, which torchvision restores with overwrite_eps).
  double frozen_bn_eps = 1e-5;
};

class BackboneWithFPN : public nn::Module {
 public:
  explicit BackboneWithFPN(BackboneOptions options = {})
      : nn::Module("BackboneWithFPN"), out_channels(options.fpn_channels) {
    ANIMA_CHECK(options.fpn_channels > 0, "BackboneWithFPN", "fpn_channels must be positive, got ",
                options.fpn_channels);
    if (options.kind == BackboneKind::ResNet50) {
      const double eps = options.frozen_bn_eps;
      body = register_module("body", std::make_shared<ResNetBody>([eps](std::int64_t channels) -> nn::ModulePtr {
                               return std::make_shared<nn::FrozenBatchNorm2d>(channels, eps);
                             }));
    } else {
      body = register_module("body", std::make_shared<MobileNetV2Body>());
    }
    fpn = register_module("fpn", std::make_shared<FeaturePyramidNetwork>(body->level_channels(), out_channels));
    set_trainable_layers(options.trainable_layers);
  }
  // ResNet-50 with `trainable_layers` stages training and FrozenBatchNorm2d at `frozen_bn_eps`.
  explicit BackboneWithFPN(int trainable_layers, double frozen_bn_eps = 1e-5)
      : BackboneWithFPN(BackboneOptions{BackboneKind::ResNet50, 256, trainable_layers, frozen_bn_eps}) {}

  void set_trainable_layers(int k) {
    body->set_trainable_layers(k);
    trainable_layers_ = k;
  }
  int trainable_layers() const { return trainable_layers_; }

  FeatureMaps forward_maps(const Tensor& images /*[N, 3, H, W]*/) {
    const std::array<Tensor, 4> c = body->forward_layers(images);
    return fpn->forward_levels({c[0], c[1], c[2], c[3]});
  }

  const std::int64_t out_channels;
  std::shared_ptr<FeatureBody> body;
  std::shared_ptr<FeaturePyramidNetwork> fpn;

 private:
  int trainable_layers_ = 3;
};

}  // namespace anima::nets::maskrcnn
