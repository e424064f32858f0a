// anima/nets/maskrcnn/checkpoint.hpp — Mask R-CNN checkpoints of every torchvision version under one
// set of names, the ones torchvision 0.14 writes (and MaskRCNN's state_dict uses):
//
//   written by torchvision <= 0.12 (e.g. maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth)   read as
//   backbone.fpn.inner_blocks.{i}.{weight,bias}                                    backbone.fpn.inner_blocks.{i}.0.*
//   backbone.fpn.layer_blocks.{i}.{weight,bias}                                    backbone.fpn.layer_blocks.{i}.0.*
//   rpn.head.conv.{weight,bias}                                                    rpn.head.conv.0.0.*
//   roi_heads.mask_head.mask_fcn{k}.{weight,bias}   (k = 1..4)                     roi_heads.mask_head.{k-1}.0.*
//
// Names already in the new form pass unchanged, so both namings load. `*.num_batches_tracked` entries
// are dropped: a model built without pretrained weights has plain BatchNorm2d layers that write them,
// and the FrozenBatchNorm2d layers that read the checkpoint have none (torchvision drops them the same
// way on load). The class count is the box predictor's output size (maskrcnn_num_classes); the rest of
// the architecture (which body, the FPN's and the heads' widths) is read from the tensors' names and
// shapes as well (maskrcnn_architecture).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <anima/core/error.hpp>
#include <anima/io/state_dict.hpp>

namespace anima::nets::maskrcnn {

namespace checkpoint_detail {

inline bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "<prefix><digits>.<rest>" -> digits and rest; false when the name does not have that form.
inline bool split_index(const std::string& name, const std::string& prefix, int& index, std::string& rest) {
  if (!starts_with(name, prefix)) return false;
  std::size_t i = prefix.size(), j = i;
  while (j < name.size() && name[j] >= '0' && name[j] <= '9') ++j;
  if (j == i || j - i > 3 || j >= name.size() || name[j] != '.') return false;
  index = std::stoi(name.substr(i, j - i));
  rest = name.substr(j + 1);
  return true;
}

}  // namespace checkpoint_detail

// The name torchvision 0.14 gives the entry `name` of any Mask R-CNN checkpoint.
inline std::string canonical_maskrcnn_name(const std::string& name) {
  using namespace checkpoint_detail;
  int index = 0;
  std::string rest;
  for (const char* blocks : {"backbone.fpn.inner_blocks.", "backbone.fpn.layer_blocks."})
    if (split_index(name, blocks, index, rest) && (rest == "weight" || rest == "bias"))
      return blocks + std::to_string(index) + ".0." + rest;
  if (name == "rpn.head.conv.weight" || name == "rpn.head.conv.bias")
    return "rpn.head.conv.0.0." + name.substr(std::string("rpn.head.conv.").size());
  if (split_index(name, "roi_heads.mask_head.mask_fcn", index, rest) && index >= 1 &&
      (rest == "weight" || rest == "bias"))
    return "roi_heads.mask_head." + std::to_string(index - 1) + ".0." + rest;
  return name;
}

// The checkpoint under torchvision 0.14's names, without num_batches_tracked; `source` (the file) names
// the origin in errors. Two entries that map to the same name (a file mixing both namings) are an error.
inline io::StateDict canonical_maskrcnn_state_dict(const io::StateDict& dict,
                                                   const std::string& source = "state dict") {
  io::StateDict out;
  for (const auto& [name, tensor] : dict.items()) {
    if (checkpoint_detail::ends_with(name, ".num_batches_tracked")) continue;
    const std::string canonical = canonical_maskrcnn_name(name);
    ANIMA_CHECK(!out.contains(canonical), "maskrcnn checkpoint", source, ": entries '", name,
                "' and another both name '", canonical, "' (old and new torchvision names mixed)");
    out.insert(canonical, tensor);
  }
  return out;
}

// The number of classes (background included) of a canonical checkpoint: the rows of the box
// predictor's cls_score, checked against bbox_pred (4 per class) and the mask logits (1 per class).
inline std::int64_t maskrcnn_num_classes(const io::StateDict& dict, const std::string& source = "state dict") {
  constexpr const char* op = "maskrcnn checkpoint";
  const Tensor* cls = dict.find("roi_heads.box_predictor.cls_score.weight");
  ANIMA_CHECK(cls != nullptr, op, source,
              ": no 'roi_heads.box_predictor.cls_score.weight' (is this a Mask R-CNN checkpoint?)");
  ANIMA_CHECK(cls->dim() == 2 && cls->shape()[0] >= 2, op, source,
              ": 'roi_heads.box_predictor.cls_score.weight' should be [classes >= 2, features], got ",
              shape_str(cls->shape()));
  const std::int64_t classes = cls->shape()[0];
  if (const Tensor* box = dict.find("roi_heads.box_predictor.bbox_pred.weight"))
    ANIMA_CHECK(box->dim() == 2 && box->shape()[0] == 4 * classes, op, source,
                ": 'roi_heads.box_predictor.bbox_pred.weight' should have ", 4 * classes, " rows for ", classes,
                " classes, got ", shape_str(box->shape()));
  if (const Tensor* mask = dict.find("roi_heads.mask_predictor.mask_fcn_logits.weight"))
    ANIMA_CHECK(mask->dim() == 4 && mask->shape()[0] == classes, op, source,
                ": 'roi_heads.mask_predictor.mask_fcn_logits.weight' should have ", classes, " outputs for ", classes,
                " classes, got ", shape_str(mask->shape()));
  return classes;
}

// What a canonical Mask R-CNN checkpoint says about the model it fits.
struct MaskRcnnArchitecture {
  std::int64_t num_classes = 0;           // background included
  bool mobilenet_v2_body = false;         // backbone.body.0.* (MobileNetV2) rather than body.conv1 (ResNet-50)
  std::int64_t fpn_channels = 0;          // backbone.fpn.inner_blocks.0.0.weight's rows
  std::int64_t representation_size = 0;   // roi_heads.box_head.fc6.weight's rows
  std::vector<std::int64_t> mask_layers;  // roi_heads.mask_head.{k}.0.weight's rows, k = 0, 1, ...
  std::int64_t mask_dim_reduced = 0;      // roi_heads.mask_predictor.conv5_mask.weight's columns
};

inline MaskRcnnArchitecture maskrcnn_architecture(const io::StateDict& dict, const std::string& source = "state dict") {
  constexpr const char* op = "maskrcnn checkpoint";
  MaskRcnnArchitecture a;
  a.num_classes = maskrcnn_num_classes(dict, source);
  const bool resnet = dict.contains("backbone.body.conv1.weight");
  a.mobilenet_v2_body = dict.contains("backbone.body.0.0.weight");
  ANIMA_CHECK(resnet != a.mobilenet_v2_body, op, source,
              ": expected either a ResNet-50 body ('backbone.body.conv1.weight') or a MobileNetV2 body "
              "('backbone.body.0.0.weight')",
              resnet ? ", found both" : ", found neither");
  const auto rows = [&](const std::string& name, std::int64_t dim, std::int64_t axis) -> std::int64_t {
    const Tensor* t = dict.find(name);
    ANIMA_CHECK(t != nullptr, op, source, ": no '", name, "'");
    ANIMA_CHECK(t->dim() == dim && t->shape()[static_cast<std::size_t>(axis)] > 0, op, source, ": '", name,
                "' should have ", dim, " dimensions, got ", shape_str(t->shape()));
    return t->shape()[static_cast<std::size_t>(axis)];
  };
  a.fpn_channels = rows("backbone.fpn.inner_blocks.0.0.weight", 4, 0);
  a.representation_size = rows("roi_heads.box_head.fc6.weight", 2, 0);
  for (int k = 0; dict.contains("roi_heads.mask_head." + std::to_string(k) + ".0.weight"); ++k)
    a.mask_layers.push_back(rows("roi_heads.mask_head." + std::to_string(k) + ".0.weight", 4, 0));
  ANIMA_CHECK(!a.mask_layers.empty(), op, source, ": no mask head ('roi_heads.mask_head.0.0.weight')");
  a.mask_dim_reduced = rows("roi_heads.mask_predictor.conv5_mask.weight", 4, 1);
  return a;
}

}  // namespace anima::nets::maskrcnn
