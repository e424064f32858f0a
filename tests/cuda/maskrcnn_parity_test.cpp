// CPU-vs-CUDA parity of the whole Mask R-CNN (anima/nets/maskrcnn/mask_rcnn.hpp): the golden model's eval
// forward on the golden batch, and one float64 training step with the golden targets (skipped without a
// CUDA device). The model, images and targets are those of tests/nets/maskrcnn_golden_test.cpp, whose CPU
// results equal torchvision's.
//
// Tolerances: eval in float32, as the golden test against torchvision (cuDNN and our CUDA kernels sum in
// other orders than the CPU: ~1e-6 relative on features): boxes 0.05 px, scores and mask probabilities
// 1e-4, detections matched by label and IoU > 0.99 with equal counts. Training in float64: 1e-8 of each
// tensor's scale (atomics in the CUDA backward change only the order of float64 additions).
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <anima/autograd/engine.hpp>
#include <anima/nets/maskrcnn/mask_rcnn.hpp>

#include "nets/maskrcnn_golden.hpp"
#include "nets/net_golden.hpp"
#include "parity.hpp"

namespace anima::nets::maskrcnn {
namespace {

std::vector<Tensor> on(const std::vector<Tensor>& ts, Device d) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(anima::to(t, d));
  return out;
}

double iou(const std::vector<double>& a, std::size_t i, const std::vector<double>& b, std::size_t j) {
  const double iw = std::min(a[4 * i + 2], b[4 * j + 2]) - std::max(a[4 * i], b[4 * j]);
  const double ih = std::min(a[4 * i + 3], b[4 * j + 3]) - std::max(a[4 * i + 1], b[4 * j + 1]);
  if (iw <= 0 || ih <= 0) return 0.0;
  const double area_a = (a[4 * i + 2] - a[4 * i]) * (a[4 * i + 3] - a[4 * i + 1]);
  const double area_b = (b[4 * j + 2] - b[4 * j]) * (b[4 * j + 3] - b[4 * j + 1]);
  return iw * ih / (area_a + area_b - iw * ih);
}

TEST(CudaParity, MaskRcnnEval) {
  ANIMA_REQUIRE_CUDA();
  NoGradGuard no_grad;
  auto cpu = fixture::golden_model(91);
  auto gpu = fixture::golden_model(91);
  gpu->to(Device::cuda(0));
  const std::vector<Tensor> images = fixture::formula_batch();
  const std::vector<ImageDetections> a = cpu->detect(images), b = gpu->detect(on(images, Device::cuda(0)));
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t n = 0; n < a.size(); ++n) {
    ASSERT_TRUE(b[n].boxes.device().is_cuda());
    ASSERT_EQ(a[n].boxes.shape()[0], b[n].boxes.shape()[0]) << "image " << n << ": detection counts differ";
    const std::vector<double> ab = to_vector<double>(a[n].boxes), bb = to_vector<double>(b[n].boxes);
    const std::vector<double> as = to_vector<double>(a[n].scores), bs = to_vector<double>(b[n].scores);
    const std::vector<std::int64_t> al = to_vector<std::int64_t>(a[n].labels),
                                    bl = to_vector<std::int64_t>(b[n].labels);
    const Tensor bm = anima::to(b[n].masks, Device::cpu());
    std::vector<bool> used(bl.size(), false);
    for (std::size_t i = 0; i < al.size(); ++i) {
      std::size_t best = bl.size();
      double best_iou = 0.99;
      for (std::size_t j = 0; j < bl.size(); ++j)
        if (!used[j] && bl[j] == al[i] && iou(ab, i, bb, j) > best_iou) {
          best_iou = iou(ab, i, bb, j);
          best = j;
        }
      ASSERT_LT(best, bl.size()) << "image " << n << ": CPU detection " << i << " has no CUDA match";
      used[best] = true;
      for (int c = 0; c < 4; ++c) EXPECT_NEAR(ab[4 * i + c], bb[4 * best + c], 0.05) << "image " << n << " row " << i;
      EXPECT_NEAR(as[i], bs[best], 1e-4) << "image " << n << " row " << i;
      const std::vector<double> ma = to_vector<double>(narrow(a[n].masks, 0, static_cast<std::int64_t>(i), 1));
      const std::vector<double> mb = to_vector<double>(narrow(bm, 0, static_cast<std::int64_t>(best), 1));
      double worst = 0.0;
      for (std::size_t k = 0; k < ma.size(); ++k) worst = std::max(worst, std::fabs(ma[k] - mb[k]));
      EXPECT_LE(worst, 1e-4) << "image " << n << " mask " << i;
    }
  }
}

// The first positives and negatives by index: a sampler that depends only on the labels, so both devices
// draw the same rows whenever they label the candidates alike.
FgBgSampler first_rows(std::int64_t batch_size, double positive_fraction) {
  return [batch_size, positive_fraction](const std::vector<Tensor>& labels) {
    std::vector<Tensor> pos, neg;
    for (const Tensor& l : labels) {
      const std::vector<std::int64_t> v = to_vector<std::int64_t>(l);
      const auto max_pos = static_cast<std::int64_t>(static_cast<double>(batch_size) * positive_fraction);
      std::vector<double> p(v.size(), 0.0), q(v.size(), 0.0);
      std::int64_t np = 0, nq = 0;
      for (std::size_t k = 0; k < v.size(); ++k)
        if (v[k] >= 1 && np < max_pos) {
          p[k] = 1.0;
          ++np;
        }
      for (std::size_t k = 0; k < v.size(); ++k)
        if (v[k] == 0 && nq < batch_size - np) {
          q[k] = 1.0;
          ++nq;
        }
      const auto n = static_cast<std::int64_t>(v.size());
      pos.push_back(anima::to(cast_copy(from_vector<double>(p, {n}), DType::Bool), l.device()));
      neg.push_back(anima::to(cast_copy(from_vector<double>(q, {n}), DType::Bool), l.device()));
    }
    return std::make_pair(pos, neg);
  };
}

// The five losses and the gradients of their sum, for a float64 model on `device`.
std::map<std::string, Tensor> training_step(Device device) {
  const io::SafetensorsFile file = fixture::load_fixture("maskrcnn_train");
  auto model = fixture::golden_model(3);
  nets_golden::convert_to_float64(*model);
  model->to(device);
  model->train(true);
  model->rpn->fg_bg_sampler = first_rows(256, 0.5);
  model->roi_heads->fg_bg_sampler = first_rows(512, 0.25);
  std::vector<DetectionTarget> targets;
  for (int i = 0; i < 2; ++i) {
    const std::string n = "train/target/" + std::to_string(i);
    targets.push_back({anima::to(fixture::fixture_tensor(file, n + "/boxes"), device),
                       anima::to(fixture::fixture_tensor(file, n + "/labels"), device),
                       anima::to(fixture::fixture_tensor(file, n + "/masks"), device)});
  }
  const MaskRcnnLosses l = model->losses(on(fixture::formula_batch(DType::Float64), device), targets);
  backward(l.total());
  std::map<std::string, Tensor> out = {{"loss_objectness", l.loss_objectness},
                                       {"loss_rpn_box_reg", l.loss_rpn_box_reg},
                                       {"loss_classifier", l.loss_classifier},
                                       {"loss_box_reg", l.loss_box_reg},
                                       {"loss_mask", l.loss_mask}};
  for (const auto& [name, p] : model->named_parameters())
    if (p.requires_grad()) out["grad/" + name] = anima::to(p.grad(), Device::cpu());
  for (auto& [name, t] : out) t = anima::to(t, Device::cpu());
  return out;
}

TEST(CudaParity, MaskRcnnTrainingStepFloat64) {
  ANIMA_REQUIRE_CUDA();
  const std::map<std::string, Tensor> a = training_step(Device::cpu()), b = training_step(Device::cuda(0));
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    fixture::expect_rel_close(b.at(name), t, 1e-8, name);
  }
}

}  // namespace
}  // namespace anima::nets::maskrcnn
