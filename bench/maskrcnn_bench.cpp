// Mask R-CNN R50-FPN on the CPU (anima/nets/maskrcnn/mask_rcnn.hpp), float32, the thread pool's threads:
//
//   BM_maskrcnn/eval/800      one 800x800 image, torchvision mode (min 800, max 1333), whole eval forward
//                             (eval rows: the model prepared by nn::prepare_inference, as the CLI runs it)
//   BM_maskrcnn/eval/square1280  one 720x1280 frame in the paper's square mode (1280x1280 batch)
//   BM_maskrcnn/train/800     a training step at batch 2 (two 800x800 images, two objects each): forward
//                             with the five losses, backward (no optimiser step)
// Each eval row also reports the stages, in ms per iteration (counters): transform, backbone (body +
// FPN), rpn, box (box head, predictor, postprocess), mask (mask head, predictor), paste (boxes and masks
// back to the image).
//
// Weights: the file named by ANIMA_BENCH_MASKRCNN_WEIGHTS (bench/compare_maskrcnn.py writes torchvision's
// freshly initialised model there, so both sides run the same weights), else anima's own initialisation.
// The box score threshold is 0 on both sides, so that every image keeps its 100 detections and the mask
// head and the pasting do their full work (a random head's scores are all below torchvision's 0.05).
// The images are the golden tests' formula pattern (values in [0, 1]).
//
// Run: anima_bench_maskrcnn [--benchmark_filter=eval] [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <anima/autograd/engine.hpp>
#include <anima/autograd/grad_mode.hpp>
#include <anima/io/weights_file.hpp>
#include <anima/nets/maskrcnn/mask_rcnn.hpp>
#include <anima/nn/inference.hpp>

namespace {

using namespace anima;
using namespace anima::nets::maskrcnn;

// img[c, y, x] = |q - 64| / 64, q = (x (c + 1 + n) + y (3 - c + 2 n)) mod 128.
Tensor pattern_image(std::int64_t n, std::int64_t h, std::int64_t w) {
  std::vector<float> v(static_cast<std::size_t>(3 * h * w));
  for (std::int64_t c = 0; c < 3; ++c)
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x) {
        const std::int64_t q = (x * (c + 1 + n) + y * (3 - c + 2 * n)) % 128;
        v[static_cast<std::size_t>((c * h + y) * w + x)] = static_cast<float>(q > 64 ? q - 64 : 64 - q) / 64.0f;
      }
  return from_vector<float>(v, {3, h, w});
}

std::shared_ptr<MaskRCNN> bench_model(const TransformOptions& transform) {
  MaskRcnnOptions o;
  o.transform = transform;
  o.roi_heads.score_thresh = 0.0;
  const char* path = std::getenv("ANIMA_BENCH_MASKRCNN_WEIGHTS");
  if (path != nullptr && *path != '\0') return maskrcnn_from_state_dict(io::load_weights(path), o, path);
  return std::make_shared<MaskRCNN>(o);
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// One eval forward, stage by stage (what MaskRCNN::detect does), adding each stage's time to `stages`.
std::vector<ImageDetections> timed_detect(MaskRCNN& m, const std::vector<Tensor>& images,
                                          std::map<std::string, double>& stages) {
  auto t = std::chrono::steady_clock::now();
  const TransformedBatch batch = m.transform.forward(images);
  stages["transform"] += ms_since(t);
  t = std::chrono::steady_clock::now();
  const FeatureMaps features = m.backbone->forward_maps(batch.images.tensors);
  stages["backbone"] += ms_since(t);
  t = std::chrono::steady_clock::now();
  const RpnOutput rpn = m.rpn->forward(batch.images, features);
  stages["rpn"] += ms_since(t);
  t = std::chrono::steady_clock::now();
  RoiHeadsOutput heads;
  std::tie(heads.class_logits, heads.box_regression) =
      m.roi_heads->box_forward(features, rpn.boxes, batch.images.image_sizes);
  m.roi_heads->postprocess_detections(heads.class_logits, heads.box_regression, rpn.boxes, batch.images.image_sizes,
                                      heads);
  stages["box"] += ms_since(t);
  t = std::chrono::steady_clock::now();
  heads.mask_logits = m.roi_heads->mask_forward(features, heads.boxes, batch.images.image_sizes);
  heads.masks = maskrcnn_inference(heads.mask_logits, heads.labels);
  stages["mask"] += ms_since(t);
  t = std::chrono::steady_clock::now();
  std::vector<ImageDetections> out = m.postprocess(heads, batch.resizes);
  stages["paste"] += ms_since(t);
  return out;
}

void run_eval(benchmark::State& state, TransformOptions transform, std::int64_t h, std::int64_t w) {
  try {
    NoGradGuard no_grad;
    auto model = bench_model(transform);
    nn::prepare_inference(*model);  // eval, as the CLI runs it: norms folded, weights packed once
    const std::vector<Tensor> images = {pattern_image(0, h, w)};
    std::map<std::string, double> stages;
    timed_detect(*model, images, stages);  // warm-up
    stages.clear();
    std::int64_t detections = 0;
    for (auto _ : state) {
      const std::vector<ImageDetections> d = timed_detect(*model, images, stages);
      detections = d[0].boxes.shape()[0];
      benchmark::DoNotOptimize(d[0].masks.raw_data());
    }
    for (const auto& [stage, ms] : stages)
      state.counters[stage + "_ms"] = benchmark::Counter(ms, benchmark::Counter::kAvgIterations);
    state.counters["detections"] = static_cast<double>(detections);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// Two objects per image, with elliptic masks (as the golden training fixture, scaled to the image).
DetectionTarget bench_target(std::int64_t h, std::int64_t w) {
  const std::vector<std::vector<double>> boxes = {{0.1 * w, 0.12 * h, 0.5 * w, 0.6 * h},
                                                  {0.45 * w, 0.3 * h, 0.92 * w, 0.85 * h}};
  std::vector<double> flat, masks;
  for (const auto& b : boxes) {
    flat.insert(flat.end(), b.begin(), b.end());
    const double cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2, rx = (b[2] - b[0]) / 2, ry = (b[3] - b[1]) / 2;
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x) {
        const double dx = (x + 0.5 - cx) / rx, dy = (y + 0.5 - cy) / ry;
        masks.push_back(dx * dx + dy * dy <= 1.0 ? 1.0 : 0.0);
      }
  }
  return {cast_copy(from_vector<double>(flat, {2, 4}), DType::Float32), from_vector<std::int64_t>({1, 2}, {2}),
          cast_copy(from_vector<double>(masks, {2, h, w}), DType::Float32)};
}

void run_train(benchmark::State& state, std::int64_t side) {
  try {
    TransformOptions t;
    auto model = bench_model(t);
    model->train(true);
    const std::vector<Tensor> images = {pattern_image(0, side, side), pattern_image(1, side, side)};
    const std::vector<DetectionTarget> targets = {bench_target(side, side), bench_target(side, side)};
    auto step = [&] {
      for (auto& [name, p] : model->named_parameters()) p.zero_grad();
      const MaskRcnnLosses l = model->losses(images, targets);
      backward(l.total());
    };
    step();  // warm-up
    for (auto _ : state) step();
    state.counters["images/s"] = benchmark::Counter(2.0, benchmark::Counter::kIsIterationInvariantRate);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

TransformOptions torchvision_mode() { return {}; }

TransformOptions square_mode(std::int64_t side) {
  TransformOptions t;
  t.mode = ResizeMode::Square;
  t.square_side = side;
  return t;
}

const bool kRegistered = [] {
  benchmark::RegisterBenchmark("BM_maskrcnn/eval/800", run_eval, torchvision_mode(), 800, 800)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_maskrcnn/eval/square1280", run_eval, square_mode(1280), 720, 1280)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_maskrcnn/train/800", run_train, 800)->UseRealTime()->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
