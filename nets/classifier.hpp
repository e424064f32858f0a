// anima/nets/classifier.hpp — ImageClassifier: what the ImageNet nets (VGG, ResNet, MobileNetV2,
// Inception v3) share for transfer learning: forward(x [N, 3, H, W]) -> logits [N, num_classes],
// replace_classifier(num_classes) (a new, freshly initialised last layer), classifier_prefix() (that
// layer's name, e.g. "fc"), and freeze_backbone() (every parameter but the head's stops requiring grad).
//
//   auto net = anima::nets::resnet50();
//   net->load_state_dict(weights);            // ImageNet weights, torchvision's names
//   net->replace_classifier(7);               // 7 emotions
//   net->freeze_backbone();                   // train the head only
#pragma once

#include <string>
#include <vector>

#include <anima/nn/module.hpp>

namespace anima::nets {

class ImageClassifier : public nn::Module {
 public:
  using nn::Module::Module;

  // Replaces the last layer by a new one of num_classes outputs, initialised as the net initialises it.
  virtual void replace_classifier(int num_classes) = 0;
  // The name of the last layer ("classifier.6", "fc", "classifier.1").
  virtual std::string classifier_prefix() const = 0;
  // Output classes of the current head.
  virtual int num_classes() const = 0;

  // Every layer that replace_classifier() replaces: the head, plus any auxiliary head
  // (inception_v3: "fc" and "AuxLogits.fc").
  virtual std::vector<std::string> head_prefixes() const { return {classifier_prefix()}; }

  // Freezes every parameter, then unfreezes the heads' (head_prefixes()).
  void freeze_backbone() {
    freeze("");
    for (const std::string& prefix : head_prefixes()) unfreeze(prefix);
  }
};

}  // namespace anima::nets
