// Mask R-CNN training end to end: a freshly initialised R50-FPN overfits a few synthetic cartoon frames
// (drawn by tools/synth, as `anima synth` draws them) with the five-term multitask loss and plain SGD,
// and then finds every face in those frames with the right character and a mask of IoU >= 0.8.
// This proves that the losses, their backward and the optimiser step fit together (the golden tests
// prove each is torchvision's); it says nothing about speed or generalisation.
//
// The set-up, and why:
//   frames   192x128 frames of stream 11 with 1 or 2 faces, all at least 24 px tall (a face of a few
//            pixels cannot reach IoU 0.8 through a 28x28 mask), until both characters are in; the
//            transform keeps them at that size (min_size 128, max_size 192).
//   targets  per face: its outline's bounding box, label 1 (Tom) or 2 (Jerry), the outline rasterised
//            (tools/synth/geometry.hpp rasterize_polygon) as the mask.
//   weights  torchvision's initialisation; there is no ImageNet backbone here, and a ResNet-50 whose
//            FrozenBatchNorm2d layers are all identities multiplies its activations at every block,
//            so each bottleneck's last FrozenBatchNorm2d scale starts at 0.2 (the blocks start near the
//            identity, as zero_init_residual would make them, but still learn).
//   samplers 32 RoIs per image for the RoI heads (so at most 8 positives per image reach the mask
//            head, whose four 256-channel 3x3 convolutions on 14x14 maps are most of a step's work),
//            128 anchors per image for the RPN (the defaults, 512 and 256, only cost time on frames
//            with one or two faces), the default generator seeded.
//   thresholds  the total loss of the last step at most a tenth of the first; after training, for each
//            face the best-IoU detection of its label (score >= 0.5, mask prob > 0.5) reaches mask IoU 0.8.
#include <gtest/gtest.h>

#include <cairo.h>

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/generator.hpp>
#include <anima/nets/maskrcnn/mask_rcnn.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/optim/sgd.hpp>

#include "synth/geometry.hpp"
#include "synth/image_io.hpp"
#include "synth/scene.hpp"

namespace {

using namespace anima;
using nets::maskrcnn::DetectionTarget;

constexpr int kWidth = 192, kHeight = 128;

struct Frame {
  Tensor image;                                  // [3, H, W] in [0, 1]
  DetectionTarget target;                        // boxes, labels, masks
  std::vector<std::vector<std::uint8_t>> masks;  // the same masks, for the IoU check
  std::vector<std::int64_t> labels;
};

// Frames of the stream with 1 or 2 faces, all at least 24 px tall, taken in order while they bring a
// character not seen yet: a frame with Tom and a frame with Jerry (or one frame with both).
std::vector<Frame> training_frames() {
  std::vector<Frame> frames;
  synth::OutlineContext scratch;
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, kWidth, kHeight);
  cairo_t* cr = cairo_create(surface);
  synth::RgbImage rgb;
  bool wanted[3] = {false, true, true};  // by label: Tom (1) and Jerry (2) still missing
  for (std::uint64_t index = 0; (wanted[1] || wanted[2]) && index < 1000; ++index) {
    const synth::FrameSpec spec = synth::sample_frame(11, index, kWidth, kHeight, scratch.get());
    if (spec.faces.empty() || spec.faces.size() > 2) continue;
    bool big = true, brings = false;
    for (const auto& f : spec.faces) big = big && f.box.h >= 24;
    for (const auto& f : spec.faces) brings = brings || wanted[static_cast<int>(f.style.who)];
    if (!big || !brings) continue;
    for (const auto& f : spec.faces) wanted[static_cast<int>(f.style.who)] = false;
    synth::render_frame(cr, spec);
    synth::surface_to_rgb(surface, rgb);
    Frame fr;
    std::vector<float> px(static_cast<std::size_t>(3 * kWidth * kHeight));
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < kWidth * kHeight; ++i)
        px[static_cast<std::size_t>(c * kWidth * kHeight + i)] =
            rgb.pixels[static_cast<std::size_t>(i * 3 + c)] / 255.0f;
    fr.image = from_vector<float>(px, {3, kHeight, kWidth});
    std::vector<float> boxes, masks;
    for (const auto& f : spec.faces) {
      boxes.insert(boxes.end(), {static_cast<float>(f.box.x), static_cast<float>(f.box.y),
                                 static_cast<float>(f.box.x + f.box.w), static_cast<float>(f.box.y + f.box.h)});
      fr.labels.push_back(static_cast<std::int64_t>(f.style.who));
      fr.masks.push_back(synth::rasterize_polygon(f.polygon, kWidth, kHeight));
      masks.insert(masks.end(), fr.masks.back().begin(), fr.masks.back().end());
    }
    const std::int64_t g = static_cast<std::int64_t>(spec.faces.size());
    fr.target.boxes = from_vector<float>(boxes, {g, 4});
    fr.target.labels = from_vector<std::int64_t>(fr.labels, {g});
    fr.target.masks = from_vector<float>(masks, {g, kHeight, kWidth});
    frames.push_back(std::move(fr));
  }
  cairo_destroy(cr);
  cairo_surface_destroy(surface);
  return frames;
}

double scalar(const Tensor& t) { return to_vector<double>(t)[0]; }

double mask_iou(const std::vector<float>& prob, std::size_t offset, const std::vector<std::uint8_t>& truth) {
  std::size_t inter = 0, uni = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const bool p = prob[offset + i] > 0.5f, t = truth[i] != 0;
    inter += p && t;
    uni += p || t;
  }
  return uni == 0 ? 0.0 : static_cast<double>(inter) / static_cast<double>(uni);
}

TEST(MaskRcnnTraining, OverfitsSyntheticFramesAndFindsTheFaces) {
  manual_seed(5);
  const std::vector<Frame> frames = training_frames();
  ASSERT_FALSE(frames.empty());
  nets::maskrcnn::MaskRcnnOptions o;
  o.num_classes = 3;
  o.transform.min_size = kHeight;
  o.transform.max_size = kWidth;
  o.roi_heads.batch_size_per_image = 32;
  o.rpn.batch_size_per_image = 128;
  auto model = std::make_shared<nets::maskrcnn::MaskRCNN>(o);
  {
    const io::StateDict sd = model->state_dict();
    for (const auto& [name, t] : sd.items())
      if (name.find(".bn3.weight") != std::string::npos) copy_into(t, mul(t, 0.2));
  }
  std::vector<Tensor> images;
  std::vector<DetectionTarget> targets;
  for (const Frame& f : frames) {
    images.push_back(f.image);
    targets.push_back(f.target);
  }
  std::vector<Tensor> params;
  for (const auto& [name, p] : model->named_parameters())
    if (p.requires_grad()) params.push_back(p);
  optim::SGD sgd(params, optim::SGDOptions{0.01, 0.9, 1e-4});
  model->train(true);
  const int steps = 120;
  double first = 0, last = 0;
  for (int step = 0; step < steps; ++step) {
    const nets::maskrcnn::MaskRcnnLosses l = model->losses(images, targets);
    const Tensor total = l.total();
    const double value = scalar(total);
    if (step == 0) first = value;
    last = value;
    if (step % 10 == 0 || step == steps - 1)
      std::printf("step %3d  total %.4f  objectness %.4f  rpn_box %.4f  classifier %.4f  box %.4f  mask %.4f\n", step,
                  value, scalar(l.loss_objectness), scalar(l.loss_rpn_box_reg), scalar(l.loss_classifier),
                  scalar(l.loss_box_reg), scalar(l.loss_mask));
    ASSERT_TRUE(std::isfinite(value)) << "step " << step;
    sgd.zero_grad();
    backward(total);
    sgd.step();
  }
  EXPECT_LE(last, first / 10) << "first " << first << ", last " << last;

  model->train(false);
  const std::vector<nets::maskrcnn::ImageDetections> dets = model->detect(images);
  std::printf("%zu frames, %zu params\n", frames.size(), params.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const std::vector<float> scores = to_vector<float>(dets[i].scores);
    const std::vector<std::int64_t> labels = to_vector<std::int64_t>(dets[i].labels);
    const std::vector<float> probs = to_vector<float>(dets[i].masks);
    for (std::size_t g = 0; g < frames[i].labels.size(); ++g) {
      double best = 0;
      for (std::size_t d = 0; d < scores.size(); ++d)
        if (scores[d] >= 0.5f && labels[d] == frames[i].labels[g])
          best = std::max(best, mask_iou(probs, d * kWidth * kHeight, frames[i].masks[g]));
      std::printf("frame %zu face %zu (label %lld): best mask IoU %.3f among %zu detections\n", i, g,
                  static_cast<long long>(frames[i].labels[g]), best, scores.size());
      EXPECT_GE(best, 0.8) << "frame " << i << " face " << g;
    }
  }
}

}  // namespace
