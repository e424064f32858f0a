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
// way on load). The class count is the box predictor's output size (maskrcnn_num_classes).
#pragma once

#include <cstdint>
#include <string>

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
inline io::StateDict canonical_maskrcnn_state_dict(const io::StateDict& dict, const std::string& source = "state dict") {
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
              ": 'roi_heads.box_predictor.cls_score.weight' should be [classes >= 2, 1024], got ",
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

}  // namespace anima::nets::maskrcnn
