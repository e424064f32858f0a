// anima/nets/classifier.hpp — ImageClassifier: what the ImageNet nets (VGG, ResNet, MobileNetV2,
// Inception v3) share for transfer learning: forward(x [N, 3, H, W]) -> logits [N, num_classes],
// replace_classifier(num_classes) (a new, freshly initialised last layer), classifier_prefix() (that
// layer's name, e.g. "fc"), and freeze_backbone() (every parameter but the head's stops requiring grad).
// A net sets num_classes_ when it builds or replaces its head, and builds a replacement head with new_head().
//
//   auto net = anima::nets::resnet50();
//   net->load_state_dict(weights);            // ImageNet weights, torchvision's names
//   net->replace_classifier(7);               // 7 emotions
//   net->freeze_backbone();                   // train the head only
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <anima/nn/init.hpp>
#include <anima/nn/linear.hpp>
#include <anima/nn/module.hpp>
#include <anima/nets/torchvision_init.hpp>

namespace anima::nets {

class ImageClassifier : public nn::Module {
 public:
  using nn::Module::Module;

  // Replaces the last layer by a new one of num_classes outputs, initialised as the net initialises it.
  virtual void replace_classifier(int num_classes) = 0;
  // The name of the last layer ("classifier.6", "fc", "classifier.1").
  virtual std::string classifier_prefix() const = 0;
  // Output classes of the current head.
  int num_classes() const { return num_classes_; }

  // Every layer that replace_classifier() replaces: the head, plus any auxiliary head
  // (inception_v3: "fc" and "AuxLogits.fc").
  virtual std::vector<std::string> head_prefixes() const { return {classifier_prefix()}; }

  // Freezes every parameter, then unfreezes the heads' (head_prefixes()).
  void freeze_backbone() {
    freeze("");
    for (const std::string& prefix : head_prefixes()) unfreeze(prefix);
  }

 protected:
  // A new Linear(in_features, num_classes) head on the net's device, initialised as `init` says.
  std::shared_ptr<nn::Linear> new_head(std::int64_t in_features, int num_classes, LinearInit init) const {
    std::shared_ptr<nn::Linear> head;
    {
      nn::SkipInitGuard skip;
      head = std::make_shared<nn::Linear>(in_features, num_classes);
    }
    init_torchvision_layer(*head, init);
    head->to(device());
    return head;
  }

  int num_classes_ = 0;
};

}  // namespace anima::nets
