// tools/anima/classify_command.hpp — `anima classify`: ImageNet-style classification of images.
//
//   anima classify --net NET --weights FILE [--topk 5] [--resize 256] [--crop 224] [--labels FILE]
//                  [--device cpu|cuda[:N]] [--batch N] [--json] [--logits] [--no-transform-input] IMAGE...
//
// NET: vgg16, vgg16_bn, resnet50, mobilenet_v2, inception_v3 (anima/nets/registry.hpp). FILE: a
// torchvision checkpoint (.pth) or safetensors with torchvision's names (anima::io::load_weights),
// loaded strictly; the number of classes is read from the classifier's weight, so a fine-tuned head
// (8 emotions, say) loads as well as ImageNet's 1000 classes.
// Preprocessing is torchvision's ImageNet evaluation transform (anima/data/imagenet_transforms.hpp):
// the shorter side resized to --resize with PIL's antialiased bilinear filter (0: no resize), a centre
// crop of --crop (0: none), [0, 1], ImageNet mean/std. Defaults: 256/224, inception_v3 342/299 (the
// sizes of torchvision's weights). inception_v3 runs with transform_input on, as torchvision's
// inception_v3(weights=...) does; --no-transform-input turns it off (for weights trained without it).
// Images (PNG, JPEG, BMP) are decoded by stb_image through tools/anima/image_file.hpp to RGB (alpha
// dropped, grey replicated, as PIL's convert("RGB")); JPEG decoders may differ from PIL's libjpeg by a
// few levels on some pixels.
// Output: per image the top-k classes with softmax probabilities; --json prints
//   [{"file": ..., "topk": [{"index": i, "label": "...", "prob": p}, ...], "logits": [...]}]
// ("logits" only with --logits). Labels: --labels FILE (one per line), else weights/imagenet_classes.txt
// found beside the executable (../../weights, ../share/anima), in the source tree, or in ./weights;
// labels are used when their count equals the number of classes (else the index stands alone).
// --device runs the net there (the CUDA backend is loaded on demand); --batch N runs up to N images per
// forward (consecutive images of the same size after the transform; with --crop 0 a change of size
// starts a new batch). Results do not depend on the batch size beyond float32 rounding.
// Errors (missing or corrupt image or weights, weights of another net, an unknown or absent device)
// are anima::Errors: one message, exit status 2.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/data/imagenet_transforms.hpp>
#include <anima/data/pil_resize.hpp>
#include <anima/io/weights_file.hpp>
#include <anima/nets/classifier.hpp>
#include <anima/nets/inception_v3.hpp>
#include <anima/nets/registry.hpp>
#include <anima/nn/inference.hpp>
#include <anima/nn/init.hpp>
#include <anima/ops/concat.hpp>
#include <anima/ops/copy_ops.hpp>
#include <anima/ops/view.hpp>

#include "device_option.hpp"
#include "image_file.hpp"
#include "labels_file.hpp"

namespace anima::cli {

struct ClassifyOptions {
  std::string net;
  std::string weights;
  std::vector<std::string> images;
  int topk = 5;
  int resize = -1;  // -1: the net's default (256, inception_v3 342); 0: no resize
  int crop = -1;    // -1: the net's default (224, inception_v3 299); 0: no crop
  std::string labels;
  bool json = false;
  bool logits = false;
  bool no_transform_input = false;
  std::string device = "cpu";
  int batch = 1;
};

struct ClassPrediction {
  int index = 0;
  std::string label;  // empty when no labels fit the net
  double prob = 0;
};

struct ClassifyResult {
  std::string file;
  std::vector<ClassPrediction> topk;  // most probable first
  std::vector<float> logits;          // [num_classes]
};

// The classifier layer's name per net (checked against the built net's classifier_prefix()).
inline std::string classifier_weight_name(const std::string& net) {
  if (net == "vgg16" || net == "vgg16_bn") return "classifier.6.weight";
  if (net == "mobilenet_v2") return "classifier.1.weight";
  if (net == "resnet50" || net == "inception_v3") return "fc.weight";
  fail("classify", "unknown net '", net, "' (known: ", nets::net_names_str(), ")");
}

// The net for `sd`: its class count from the classifier weight; inception_v3 with the aux head when
// the weights have one. Weights are loaded strictly (every name and shape must match).
inline std::shared_ptr<nn::Module> build_classifier(const std::string& net, const io::StateDict& sd,
                                                    bool transform_input, const std::string& source) {
  const std::string head = classifier_weight_name(net);
  const Tensor* w = sd.find(head);
  ANIMA_CHECK(w != nullptr && w->dim() == 2, "classify", "'", source, "' has no ", head,
              " [classes, features]: is it a ", net, " checkpoint with torchvision's names?");
  const int classes = static_cast<int>(w->size(0));
  std::shared_ptr<nn::Module> model;
  {
    nn::SkipInitGuard skip;  // every value is overwritten by the weights
    if (net == "inception_v3")
      model = nets::inception_v3(classes, sd.contains("AuxLogits.fc.weight"), transform_input);
    else
      model = nets::make_net(net, classes);
  }
  auto* cls = dynamic_cast<nets::ImageClassifier*>(model.get());
  ANIMA_CHECK(cls != nullptr && cls->classifier_prefix() + ".weight" == head, "classify", "net '", net,
              "' does not have the classifier ", head);
  try {
    model->load_state_dict(sd, /*strict=*/true);
  } catch (const Error& e) {
    fail("classify", "the weights in '", source, "' do not fit ", net, ": ", e.what());
  }
  model->eval();
  return model;
}

// weights/<relative> beside the executable (../../weights from build/tools/anima, ../share/anima when
// installed), in the source tree, or under the working folder; empty when none has it.
inline std::filesystem::path find_project_file(const std::filesystem::path& relative) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path() / ".." / ".." / "weights" / relative);
    candidates.push_back(exe.parent_path() / ".." / "share" / "anima" / relative);
  }
  candidates.push_back(fs::path(__FILE__).parent_path() / ".." / ".." / "weights" / relative);
  candidates.push_back(fs::path("weights") / relative);
  for (const auto& c : candidates)
    if (fs::is_regular_file(c, ec)) return c;
  return {};
}

// weights/imagenet_classes.txt, found as find_project_file finds it.
inline std::filesystem::path find_default_labels() { return find_project_file("imagenet_classes.txt"); }

// Softmax in double on the host (p_k = e^(l_k - max) / sum_i e^(l_i - max)), so probabilities sum to
// 1 within 1e-15 (float32's softmax can exceed 1 by ~1e-7). Non-finite logits are an error naming
// `file` and the weights.
inline std::vector<double> softmax_probabilities(const std::vector<float>& logits, const std::string& file,
                                                 const std::string& weights) {
  for (float l : logits)
    ANIMA_CHECK(std::isfinite(l), "classify", "the net gave a non-finite logit for '", file,
                "' (NaN or infinity in the weights '", weights, "'?)");
  std::vector<double> prob(logits.begin(), logits.end());
  const double top = *std::max_element(prob.begin(), prob.end());
  double total = 0;
  for (double& p : prob) total += (p = std::exp(p - top));
  for (double& p : prob) p /= total;
  return prob;
}

// The probabilities and the top k classes.
inline ClassifyResult rank_classes(const std::string& file, std::vector<float> logits,
                                   const std::vector<std::string>& labels, const ClassifyOptions& o) {
  ClassifyResult r;
  r.file = file;
  r.logits = std::move(logits);
  const std::vector<double> prob = softmax_probabilities(r.logits, file, o.weights);
  std::vector<int> order(prob.size());
  std::iota(order.begin(), order.end(), 0);
  const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(o.topk), order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                    [&](int a, int b) { return prob[a] > prob[b] || (prob[a] == prob[b] && a < b); });
  for (std::size_t i = 0; i < k; ++i)
    r.topk.push_back({order[i], labels.empty() ? std::string() : labels[order[i]], prob[order[i]]});
  return r;
}

// [B, 3, S, S'] from B images of one shape [3, S, S'].
inline Tensor stack_images(const std::vector<Tensor>& images) {
  std::vector<Tensor> rows;
  for (const Tensor& x : images) rows.push_back(unsqueeze(x, 0));
  return rows.size() == 1 ? rows[0] : concat(rows, 0);
}

// A classifier loaded for running on image files: the net (on its device), its class count and the
// transform sizes.
struct LoadedClassifier {
  std::shared_ptr<nn::Module> model;
  int classes = 0;
  Device device = Device::cpu();
  int resize = 0, crop = 0;
};

// The transform size `key` ("resize", "image_size") that `anima train classifier` records in the
// weights' metadata, or -1 when the file has none.
inline int trained_transform_size(const std::string& weights, const char* key) {
  if (io::detect_weights_format(weights) != io::WeightsFormat::Safetensors) return -1;
  const std::map<std::string, std::string> metadata = io::load_safetensors(weights).metadata;
  const auto it = metadata.find(key);
  if (it == metadata.end()) return -1;
  char* end = nullptr;
  const long v = std::strtol(it->second.c_str(), &end, 10);
  ANIMA_CHECK(end != it->second.c_str() && *end == '\0' && v >= 8 && v <= 4096, "classify", "'", weights,
              "' has metadata ", key, " '", it->second, "', expected a size of 8 to 4096 pixels");
  return static_cast<int>(v);
}

// The net of `o.net` with the weights `o.weights`, on `o.device`, with the transform sizes of `o`: when
// unset, the sizes the weights were trained at (their metadata), else the net's defaults.
inline LoadedClassifier load_classifier(const ClassifyOptions& o, const char* command) {
  const bool inception = o.net == "inception_v3";
  LoadedClassifier c;
  const int trained_resize = o.resize >= 0 ? -1 : trained_transform_size(o.weights, "resize");
  const int trained_crop = o.crop >= 0 ? -1 : trained_transform_size(o.weights, "image_size");
  c.resize = o.resize >= 0 ? o.resize : trained_resize >= 0 ? trained_resize : (inception ? 342 : 256);
  c.crop = o.crop >= 0 ? o.crop : trained_crop >= 0 ? trained_crop : (inception ? 299 : 224);
  classifier_weight_name(o.net);  // an unknown net fails before the weights are read
  c.device = parse_device_option(o.device, command);
  require_device(c.device, command);
  const io::StateDict sd = io::load_weights(o.weights);
  NoGradGuard no_grad;
  c.model = build_classifier(o.net, sd, inception && !o.no_transform_input, o.weights);
  c.classes = dynamic_cast<nets::ImageClassifier&>(*c.model).num_classes();
  if (c.device.is_cuda()) c.model->to(c.device);
  nn::prepare_inference(*c.model);  // eval-only from here: batch norms folded, weights packed once
  return c;
}

// Runs the net on every file, up to `batch` images per forward (consecutive images of one size after
// the transform), calling on_logits(index of the file, its logits) in file order. A file that cannot
// be read or decoded is an Error naming it, unless `on_unreadable` is given: then it is called with
// the file's index and the error, and the file is left out.
inline void run_classifier(const LoadedClassifier& c, const std::vector<std::string>& files, int batch,
                           const std::function<void(std::size_t, std::vector<float>)>& on_logits,
                           const std::function<void(std::size_t, const Error&)>& on_unreadable = {}) {
  ANIMA_CHECK(batch > 0, "classify", "--batch must be positive, got ", batch);
  NoGradGuard no_grad;
  std::vector<Tensor> pending;  // transformed images [3, S, S'] of one size, not yet run
  std::vector<std::size_t> pending_files;
  auto run_pending = [&] {
    if (pending.empty()) return;
    const Tensor images = c.device.is_cuda() ? to(stack_images(pending), c.device) : stack_images(pending);
    const std::vector<float> all = to_vector<float>(to(c.model->forward(images), Device::cpu()));  // [B, classes]
    for (std::size_t b = 0; b < pending.size(); ++b) {
      const auto row = all.begin() + static_cast<std::ptrdiff_t>(b) * c.classes;
      on_logits(pending_files[b], std::vector<float>(row, row + c.classes));
    }
    pending.clear();
    pending_files.clear();
  };
  for (std::size_t i = 0; i < files.size(); ++i) {
    Tensor x;
    try {
      x = data::imagenet_eval_transform(load_rgb(files[i], "classify"), c.resize, c.crop);  // [3, S, S']
    } catch (const Error& e) {
      if (!on_unreadable) throw;
      on_unreadable(i, e);
      continue;
    }
    if (!pending.empty() && x.shape() != pending.front().shape()) run_pending();
    pending.push_back(x);
    pending_files.push_back(i);
    if (static_cast<int>(pending.size()) == batch) run_pending();
  }
  run_pending();
}

inline std::vector<ClassifyResult> classify_images(const ClassifyOptions& o) {
  ANIMA_CHECK(!o.images.empty(), "classify", "no images given");
  ANIMA_CHECK(o.topk > 0, "classify", "--topk must be positive, got ", o.topk);
  ANIMA_CHECK(o.batch > 0, "classify", "--batch must be positive, got ", o.batch);
  const LoadedClassifier c = load_classifier(o, "classify");

  std::vector<std::string> labels;
  if (!o.labels.empty()) {
    labels = read_labels_file(o.labels, "classify");
    ANIMA_CHECK(static_cast<int>(labels.size()) == c.classes, "classify", "'", o.labels, "' has ", labels.size(),
                " labels but the net has ", c.classes, " classes");
  } else if (const auto path = find_default_labels(); !path.empty()) {
    labels = read_labels_file(path, "classify");
    if (static_cast<int>(labels.size()) != c.classes) labels.clear();  // ImageNet's names, another head
  }

  std::vector<ClassifyResult> results;
  run_classifier(c, o.images, o.batch, [&](std::size_t i, std::vector<float> logits) {
    results.push_back(rank_classes(o.images[i], std::move(logits), labels, o));
  });
  return results;
}

inline std::string classify_json(const std::vector<ClassifyResult>& results, bool with_logits) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : results) {
    nlohmann::json j;
    j["file"] = r.file;
    j["topk"] = nlohmann::json::array();
    for (const auto& p : r.topk) j["topk"].push_back({{"index", p.index}, {"label", p.label}, {"prob", p.prob}});
    if (with_logits) j["logits"] = r.logits;
    out.push_back(j);
  }
  return out.dump(2);
}

inline void print_classify_text(const std::vector<ClassifyResult>& results) {
  for (const auto& r : results) {
    std::printf("%s\n", r.file.c_str());
    for (std::size_t i = 0; i < r.topk.size(); ++i)
      std::printf("  %2zu. %8.5f  %4d  %s\n", i + 1, r.topk[i].prob, r.topk[i].index, r.topk[i].label.c_str());
  }
}

// Registers `anima classify`; its exit status goes to `status`.
inline CLI::App* add_classify_command(CLI::App& app, int& status) {
  auto opts = std::make_shared<ClassifyOptions>();
  CLI::App* cmd =
      app.add_subcommand("classify", "classify images with an ImageNet-style net (top-k with probabilities)");
  cmd->add_option("--net", opts->net, "vgg16, vgg16_bn, resnet50, mobilenet_v2 or inception_v3")
      ->required()
      ->check(CLI::IsMember(nets::net_names()));
  cmd->add_option("--weights", opts->weights, "weights: torchvision .pth or safetensors")->required();
  cmd->add_option("--topk", opts->topk, "classes to print per image (default 5)")->check(CLI::PositiveNumber);
  cmd->add_option(
         "--resize", opts->resize,
         "shorter side before the crop (default: the weights' training size, else 256, inception_v3 342; 0: none)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--crop", opts->crop,
                  "centre crop (default: the weights' training size, else 224, inception_v3 299; 0: none)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--labels", opts->labels, "class names, one per line (default weights/imagenet_classes.txt)");
  cmd->add_option("--device", opts->device, "cpu (default), cuda or cuda:N");
  cmd->add_option("--batch", opts->batch, "images per forward (default 1)")->check(CLI::PositiveNumber);
  cmd->add_flag("--json", opts->json, "print JSON");
  cmd->add_flag("--logits", opts->logits, "with --json: include every logit");
  cmd->add_flag("--no-transform-input", opts->no_transform_input,
                "inception_v3: do not map ImageNet-normalised input to [-1, 1] (torchvision's transform_input)");
  cmd->add_option("images", opts->images, "image files")->required();
  cmd->callback([opts, &status] {
    const auto results = classify_images(*opts);
    if (opts->json)
      std::printf("%s\n", classify_json(results, opts->logits).c_str());
    else
      print_classify_text(results);
    status = 0;
  });
  return cmd;
}

}  // namespace anima::cli
