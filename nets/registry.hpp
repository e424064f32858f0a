// anima/nets/registry.hpp — the ImageNet classifiers by name, for the CLI and for generic code:
//
//   auto net = anima::nets::make_net("resnet50", 7);   // std::shared_ptr<nn::Module>
//   Tensor logits = net->forward(x);                    // x [N, 3, S, S], S = net_input_size("resnet50")
//
// Names: vgg16, vgg16_bn, resnet50, mobilenet_v2, inception_v3 (torchvision's function names; each
// net freshly initialised as torchvision initialises it; inception_v3 with aux_logits = true and
// transform_input = false, torchvision's defaults without weights).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/nn/module.hpp>
#include <anima/nets/inception_v3.hpp>
#include <anima/nets/mobilenet_v2.hpp>
#include <anima/nets/resnet.hpp>
#include <anima/nets/vgg.hpp>

namespace anima::nets {

struct NetInfo {
  const char* name;
  int input_size;  // the side of the square input it was designed for (ImageNet preprocessing)
};

inline const std::vector<NetInfo>& net_infos() {
  static const std::vector<NetInfo> infos{
      {"vgg16", 224}, {"vgg16_bn", 224}, {"resnet50", 224}, {"mobilenet_v2", 224}, {"inception_v3", 299}};
  return infos;
}

inline std::vector<std::string> net_names() {
  std::vector<std::string> names;
  for (const auto& i : net_infos()) names.emplace_back(i.name);
  return names;
}

inline std::string net_names_str() {
  std::string s;
  for (const auto& i : net_infos()) s += (s.empty() ? "" : ", ") + std::string(i.name);
  return s;
}

inline int net_input_size(const std::string& name) {
  for (const auto& i : net_infos())
    if (name == i.name) return i.input_size;
  fail("net_input_size", "unknown net '", name, "' (known: ", net_names_str(), ")");
}

inline std::shared_ptr<nn::Module> make_net(const std::string& name, int num_classes = 1000) {
  ANIMA_CHECK(num_classes > 0, "make_net", "num_classes must be positive, got ", num_classes, " for '", name, "'");
  if (name == "vgg16") return vgg16(num_classes);
  if (name == "vgg16_bn") return vgg16_bn(num_classes);
  if (name == "resnet50") return resnet50(num_classes);
  if (name == "mobilenet_v2") return mobilenet_v2(num_classes);
  if (name == "inception_v3") return inception_v3(num_classes);
  fail("make_net", "unknown net '", name, "' (known: ", net_names_str(), ")");
}

}  // namespace anima::nets
