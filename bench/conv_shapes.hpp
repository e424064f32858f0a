// bench/conv_shapes.hpp — every distinct convolution of ResNet50, VGG16 and MobileNetV2 at 224x224
// (torchvision's architectures), for the conv benchmarks and bench/compare_conv.py.
//
// A shape is (C, O, H, W, k, stride, pad, groups) of the conv's input; padding is k/2 in all three
// nets. Benchmark names: BM_conv2d_<impl>/<name>/batch:<n> with <name> from conv_shape_name(), e.g.
// BM_conv2d_im2col/resnet50_l1_c64_o64_h56_k3_s1/batch:8; compare_conv.py parses c/o/h/k/s/g back
// out of the name, so keep that format.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace anima::bench {

struct ConvShape {
  const char* net;
  const char* tag;  // where in the net (first use)
  std::int64_t C, O, H, W, k, stride, pad, groups;
};

inline std::string conv_shape_name(const ConvShape& s) {
  std::string n = std::string(s.net) + "_" + s.tag + "_c" + std::to_string(s.C) + "_o" + std::to_string(s.O) + "_h" +
                  std::to_string(s.H) + "_k" + std::to_string(s.k) + "_s" + std::to_string(s.stride);
  if (s.groups > 1) n += "_g" + std::to_string(s.groups);
  return n;
}

// FLOPs of one forward pass at batch n: 2·n·O·Ho·Wo·(C/groups)·k·k.
inline double conv_shape_flops(const ConvShape& s, std::int64_t n) {
  const std::int64_t ho = (s.H + 2 * s.pad - s.k) / s.stride + 1, wo = (s.W + 2 * s.pad - s.k) / s.stride + 1;
  return 2.0 * static_cast<double>(n * s.O * ho * wo * (s.C / s.groups) * s.k * s.k);
}

inline bool conv_shape_is_depthwise(const ConvShape& s) { return s.groups > 1 && s.groups == s.C && s.O % s.C == 0; }

inline const std::vector<ConvShape>& conv_shapes() {
  static const std::vector<ConvShape> shapes = {
      // ResNet50 (torchvision v1.5: the stride sits on the bottleneck's 3x3). stem 7x7/2 -> maxpool ->
      // layer1..4 of 3/4/6/3 bottlenecks (1x1 reduce, 3x3, 1x1 expand x4); the first block of each
      // layer has a 1x1 downsample (stride 2 from layer2 on) and, from layer2, a strided 3x3.
      // Repeated shapes (e.g. layer1 conv3 == its downsample, 64 -> 256 at 56) are listed once.
      {"resnet50", "stem", 3, 64, 224, 224, 7, 2, 3, 1},
      {"resnet50", "l1", 64, 64, 56, 56, 1, 1, 0, 1},
      {"resnet50", "l1", 64, 64, 56, 56, 3, 1, 1, 1},
      {"resnet50", "l1", 64, 256, 56, 56, 1, 1, 0, 1},
      {"resnet50", "l1", 256, 64, 56, 56, 1, 1, 0, 1},
      {"resnet50", "l2", 256, 128, 56, 56, 1, 1, 0, 1},
      {"resnet50", "l2", 128, 128, 56, 56, 3, 2, 1, 1},
      {"resnet50", "l2", 128, 512, 28, 28, 1, 1, 0, 1},
      {"resnet50", "l2", 256, 512, 56, 56, 1, 2, 0, 1},
      {"resnet50", "l2", 512, 128, 28, 28, 1, 1, 0, 1},
      {"resnet50", "l2", 128, 128, 28, 28, 3, 1, 1, 1},
      {"resnet50", "l3", 512, 256, 28, 28, 1, 1, 0, 1},
      {"resnet50", "l3", 256, 256, 28, 28, 3, 2, 1, 1},
      {"resnet50", "l3", 256, 1024, 14, 14, 1, 1, 0, 1},
      {"resnet50", "l3", 512, 1024, 28, 28, 1, 2, 0, 1},
      {"resnet50", "l3", 1024, 256, 14, 14, 1, 1, 0, 1},
      {"resnet50", "l3", 256, 256, 14, 14, 3, 1, 1, 1},
      {"resnet50", "l4", 1024, 512, 14, 14, 1, 1, 0, 1},
      {"resnet50", "l4", 512, 512, 14, 14, 3, 2, 1, 1},
      {"resnet50", "l4", 512, 2048, 7, 7, 1, 1, 0, 1},
      {"resnet50", "l4", 1024, 2048, 14, 14, 1, 2, 0, 1},
      {"resnet50", "l4", 2048, 512, 7, 7, 1, 1, 0, 1},
      {"resnet50", "l4", 512, 512, 7, 7, 3, 1, 1, 1},
      // VGG16 (configuration D): 13 convs 3x3/1 pad 1 in 5 stages (64, 128, 256, 512, 512 channels)
      // separated by 2x2 max pools: 224, 112, 56, 28, 14.
      {"vgg16", "b1", 3, 64, 224, 224, 3, 1, 1, 1},
      {"vgg16", "b1", 64, 64, 224, 224, 3, 1, 1, 1},
      {"vgg16", "b2", 64, 128, 112, 112, 3, 1, 1, 1},
      {"vgg16", "b2", 128, 128, 112, 112, 3, 1, 1, 1},
      {"vgg16", "b3", 128, 256, 56, 56, 3, 1, 1, 1},
      {"vgg16", "b3", 256, 256, 56, 56, 3, 1, 1, 1},
      {"vgg16", "b4", 256, 512, 28, 28, 3, 1, 1, 1},
      {"vgg16", "b4", 512, 512, 28, 28, 3, 1, 1, 1},
      {"vgg16", "b5", 512, 512, 14, 14, 3, 1, 1, 1},
      // MobileNetV2 (width 1.0): stem 3x3/2 to 32; inverted residuals (t, c, n, s) = (1,16,1,1),
      // (6,24,2,2), (6,32,3,2), (6,64,4,2), (6,96,3,1), (6,160,3,2), (6,320,1,1): 1x1 expand (x t,
      // absent when t = 1), 3x3 depthwise (stride s in the first block of a stage), 1x1 project;
      // last 1x1 to 1280.
      {"mobilenetv2", "stem", 3, 32, 224, 224, 3, 2, 1, 1},
      {"mobilenetv2", "b1", 32, 32, 112, 112, 3, 1, 1, 32},
      {"mobilenetv2", "b1", 32, 16, 112, 112, 1, 1, 0, 1},
      {"mobilenetv2", "b2", 16, 96, 112, 112, 1, 1, 0, 1},
      {"mobilenetv2", "b2", 96, 96, 112, 112, 3, 2, 1, 96},
      {"mobilenetv2", "b2", 96, 24, 56, 56, 1, 1, 0, 1},
      {"mobilenetv2", "b3", 24, 144, 56, 56, 1, 1, 0, 1},
      {"mobilenetv2", "b3", 144, 144, 56, 56, 3, 1, 1, 144},
      {"mobilenetv2", "b3", 144, 24, 56, 56, 1, 1, 0, 1},
      {"mobilenetv2", "b4", 144, 144, 56, 56, 3, 2, 1, 144},
      {"mobilenetv2", "b4", 144, 32, 28, 28, 1, 1, 0, 1},
      {"mobilenetv2", "b5", 32, 192, 28, 28, 1, 1, 0, 1},
      {"mobilenetv2", "b5", 192, 192, 28, 28, 3, 1, 1, 192},
      {"mobilenetv2", "b5", 192, 32, 28, 28, 1, 1, 0, 1},
      {"mobilenetv2", "b7", 192, 192, 28, 28, 3, 2, 1, 192},
      {"mobilenetv2", "b7", 192, 64, 14, 14, 1, 1, 0, 1},
      {"mobilenetv2", "b8", 64, 384, 14, 14, 1, 1, 0, 1},
      {"mobilenetv2", "b8", 384, 384, 14, 14, 3, 1, 1, 384},
      {"mobilenetv2", "b8", 384, 64, 14, 14, 1, 1, 0, 1},
      {"mobilenetv2", "b11", 384, 96, 14, 14, 1, 1, 0, 1},
      {"mobilenetv2", "b12", 96, 576, 14, 14, 1, 1, 0, 1},
      {"mobilenetv2", "b12", 576, 576, 14, 14, 3, 1, 1, 576},
      {"mobilenetv2", "b12", 576, 96, 14, 14, 1, 1, 0, 1},
      {"mobilenetv2", "b14", 576, 576, 14, 14, 3, 2, 1, 576},
      {"mobilenetv2", "b14", 576, 160, 7, 7, 1, 1, 0, 1},
      {"mobilenetv2", "b15", 160, 960, 7, 7, 1, 1, 0, 1},
      {"mobilenetv2", "b15", 960, 960, 7, 7, 3, 1, 1, 960},
      {"mobilenetv2", "b15", 960, 160, 7, 7, 1, 1, 0, 1},
      {"mobilenetv2", "b17", 960, 320, 7, 7, 1, 1, 0, 1},
      {"mobilenetv2", "last", 320, 1280, 7, 7, 1, 1, 0, 1},
  };
  return shapes;
}

// The cases every conv benchmark runs, in registration order: batch 1, then batch 8, each over
// conv_shapes(); calls add(shape, batch).
template <class Add>
void for_each_conv_case(Add&& add) {
  for (std::int64_t batch : {1, 8})
    for (const ConvShape& s : conv_shapes()) add(s, batch);
}

}  // namespace anima::bench
