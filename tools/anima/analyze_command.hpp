// tools/anima/analyze_command.hpp — `anima analyze`: a cartoon video in, who shows which emotion when
// out; the system of Jain et al. (2021) as one command.
//
//   anima analyze VIDEO --out DIR [--every 15] [--detector W] [--classifier W] [--net NET]
//                 [--batch 32] [--square S] [--score 0.5] [--mask-threshold 0.5]
//                 [--device cpu|cuda[:N]] [--no-video] [--quiet]
//   anima analyze --resume DIR      continue a run that was stopped (killed, crashed, Ctrl-C)
//
// The pipeline is the paper's: every --every-th frame is decoded (OpenCV, a reader thread decoding
// ahead) and turned BGR -> RGB; Mask R-CNN (--detector: a checkpoint `anima detect` reads) letterboxes
// it into a --square x --square canvas (default: the side the detector was trained at, which `anima
// train detector --square` records in its weights, else 1280) and finds the faces; each face with
// score >= --score is cut out by its box and multiplied by its binary mask (probability >
// --mask-threshold; background black, data::masked_face_crop), resized to 256 x 256, then given the
// classifier's evaluation transform (the sizes its weights say it was trained at, else resize 256,
// centre crop 224; inception_v3 342 / 299) and ImageNet normalisation, as
// `anima train classifier` trained it; faces are classified --batch at a time, batches filled across
// frames, by the --classifier (a checkpoint of NET; NET and the class names come from the weights'
// metadata when `anima train classifier` wrote them, --net otherwise). Without --detector and
// --classifier the demo models weights/demo/{detector,classifier}.safetensors are used.
// DIR receives (each written to a temporary name and renamed): timeline.json, timeline.csv,
// subtitles.srt, subtitles.vtt (tools/anima/analyze_timeline.hpp), annotated.mp4 (the sampled frames,
// at fps / every, with masks, boxes and "<character> <emotion> <probability>" drawn; not with
// --no-video), report.html with its pictures and faces/<class>.png, the most probable face of each
// class (tools/anima/analyze_report.hpp). A progress line goes to stderr.
// While it runs, DIR/analyze_state.jsonl holds the settings and every finished frame
// (tools/anima/analyze_state.hpp); --resume DIR reads it, decodes the finished frames again only to
// draw them and to crop the best faces, and runs the nets from the first unfinished frame on: the
// outputs are those of a run never stopped (the wall time aside). The state goes once the outputs are
// written.
// Failures: a missing or unreadable video, weights that do not load, an unknown net are errors before
// anything is written. A video that breaks off (frames the container announced that cannot be
// decoded, a decoder failure) gives the files for what was read, marked "complete": false with the
// reason, then an error naming the video: exit status 2.
#pragma once

#include <csignal>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/error.hpp>
#include <anima/data/face_crop.hpp>
#include <anima/data/imagenet_transforms.hpp>
#include <anima/io/atomic_file.hpp>
#include <anima/io/coco_rle.hpp>
#include <anima/io/safetensors.hpp>
#include <anima/io/weights_file.hpp>
#include <anima/nn/inference.hpp>

#include "analyze_state.hpp"
#include "analyze_timeline.hpp"
#include "classify_command.hpp"
#include "detect_command.hpp"
#include "frame_prefetch.hpp"
#include "media.hpp"
#include "progress_line.hpp"

namespace anima::cli {

// weights/demo/<file> beside the executable (build tree or installed), in the source tree or under
// the working folder; empty when none has it.
inline std::string find_demo_weights(const std::string& file) {
  const std::filesystem::path found = find_project_file(std::filesystem::path("demo") / file);
  return found.empty() ? std::string() : found.string();
}

inline std::vector<std::string> metadata_labels(const std::map<std::string, std::string>& metadata,
                                                const std::string& path) {
  const auto it = metadata.find("labels");
  if (it == metadata.end()) return {};
  try {
    return nlohmann::json::parse(it->second).get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    fail("analyze", "'", path, "': the metadata \"labels\" is not a JSON list of strings: ", e.what());
  }
}

// Adds the time from its construction to its destruction to `total` (seconds).
class StageClock {
 public:
  explicit StageClock(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~StageClock() { total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  StageClock(const StageClock&) = delete;
  StageClock& operator=(const StageClock&) = delete;

 private:
  double& total_;
  std::chrono::steady_clock::time_point start_;
};

// A face waiting for the classifier.
struct PendingFace {
  std::size_t frame = 0;  // sequence number of its frame
  std::size_t face = 0;   // index in that frame
  Tensor input;           // [3, S, S]
  data::ImageU8 crop;     // the masked 256 x 256 crop
};

// A sampled frame whose faces are not all classified yet.
struct PendingFrame {
  AnalyzedFrame result;
  RgbImage image;  // kept only for the annotated video
  std::size_t unclassified = 0;
};

class VideoAnalysis {
 public:
  explicit VideoAnalysis(const AnalyzeOptions& given) : o_(given) {
    if (!given.resume.empty()) {
      AnalyzeState state = read_analyze_state(given.resume);
      o_ = state.options;
      o_.quiet = given.quiet;
      o_.kill_after_frames = given.kill_after_frames;
      ANIMA_CHECK(file_bytes(o_.video) == state.video_bytes, "analyze", "--resume: the video '", o_.video,
                  "' is not the one the run in '", given.resume, "' started on (it had ", state.video_bytes,
                  " bytes)");
      resumed_frames_ = std::move(state.frames);
    }
    const AnalyzeOptions& o = o_;
    ANIMA_CHECK(o.every >= 1, "analyze", "--every must be at least 1, got ", o.every);
    ANIMA_CHECK(o.batch >= 1, "analyze", "--batch must be at least 1, got ", o.batch);
    ANIMA_CHECK(o.square == 0 || o.square >= 32, "analyze", "--square must be at least 32, got ", o.square);
    ANIMA_CHECK(o.score >= 0 && o.score <= 1, "analyze", "--score must be in [0, 1], got ", o.score);
    ANIMA_CHECK(o.mask_threshold >= 0 && o.mask_threshold <= 1, "analyze", "--mask-threshold must be in [0, 1], got ",
                o.mask_threshold);
    ANIMA_CHECK(!o.out.empty(), "analyze", "--out DIR is required");
    // The video is opened first, so that a bad video is reported before the models are read.
    video_ = media_plugin().open_video_frames(o.video, o.every, "analyze");
    detector_path_ = o.detector.empty() ? find_demo_weights("detector.safetensors") : o.detector;
    classifier_path_ = o.classifier.empty() ? find_demo_weights("classifier.safetensors") : o.classifier;
    ANIMA_CHECK(!detector_path_.empty(), "analyze",
                "no --detector given and no demo detector (weights/demo/detector.safetensors) was found");
    ANIMA_CHECK(!classifier_path_.empty(), "analyze",
                "no --classifier given and no demo classifier (weights/demo/classifier.safetensors) was found");
    device_ = parse_device_option(o.device, "analyze");
    require_device(device_, "analyze");
    load_detector();
    load_classifier_net();
    for (const nlohmann::json& f : resumed_frames_)
      done_.push_back(frame_from_json(f, classes_, analyze_state_path(o_.out).string()));
  }

  const std::string& out_dir() const { return o_.out; }

  // Runs the whole video; writes the files; throws when the video broke off (after writing).
  AnalyzeResult run() {
    namespace fs = std::filesystem;
    const auto start = std::chrono::steady_clock::now();
    ANIMA_CHECK(video_ != nullptr, "analyze", "the video '", o_.video, "' was analysed already");
    const std::unique_ptr<VideoFrames> video = std::move(video_);
    std::error_code ec;
    fs::create_directories(o_.out, ec);
    ANIMA_CHECK(fs::is_directory(o_.out), "analyze", "cannot create the output folder '", o_.out, "'");
    result_ = AnalyzeResult{};
    result_.video = o_.video;
    result_.every = o_.every;
    result_.classes = classes_;
    result_.best.assign(classes_.size(), BestFace{});
    result_.settings = {{"every", o_.every},         {"square", o_.square}, {"score", o_.score},
                        {"mask_threshold", o_.mask_threshold}, {"batch", o_.batch},   {"device", device_.str()},
                        {"crop", 256},               {"classifier_resize", classifier_.resize},
                        {"classifier_crop", classifier_.crop}};
    result_.models = {{"detector", detector_path_},
                      {"detector_classes", detector_names_},
                      {"classifier", classifier_path_},
                      {"net", net_},
                      {"classes", classes_}};
    {
      const VideoStreamStats& s = video->stats();  // the container's figures, read before decoding starts
      result_.fps = s.fps;
      result_.frames_announced = s.announced;
      result_.width = s.width;
      result_.height = s.height;
    }
    const std::size_t expected =
        result_.frames_announced > 0 ? static_cast<std::size_t>((result_.frames_announced + o_.every - 1) / o_.every) : 0;
    ProgressLine progress("analyze", expected, "frames", o_.quiet);
    progress_ = &progress;
    // What a killed run left half-written (the annotated video's temporary file above all).
    io::remove_stale_temporaries(o_.out);
    io::remove_stale_temporaries(std::filesystem::path(o_.out) / "faces");
    state_ = std::make_unique<AnalyzeStateWriter>(o_, done_, classes_);
    result_.frames = done_;
    std::string broke_off;
    {
      FramePrefetcher frames(*video, 4);
      SampledFrame frame;
      while (true) {
        try {  // only the decoder's failures end the video early; the nets' errors propagate
          StageClock clock(result_.stage_seconds["waiting_for_frames"]);
          if (!frames.next(frame)) break;
        } catch (const std::exception& e) {
          broke_off = e.what();
          break;
        }
        analyze_frame(std::move(frame));
      }
    }
    while (!pending_faces_.empty()) classify_pending(pending_faces_.size());
    flush_frames();
    const VideoStreamStats& s = video->stats();
    if (broke_off.empty() && s.missing > 0)
      broke_off = "the video announced " + std::to_string(s.announced) + " frames but could be decoded only up to frame " +
                  std::to_string(s.announced - s.missing) + " (truncated or corrupt)";
    if (sink_) sink_->finish();
    result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (result_.frames.empty() && !broke_off.empty())
      fail("analyze", "no frame of video '", o_.video, "' could be decoded: ", broke_off);
    ANIMA_CHECK(!result_.frames.empty(), "analyze", "no frame of video '", o_.video,
                "' could be decoded (corrupt, truncated or empty?)");
    result_.complete = broke_off.empty();
    result_.error = broke_off;
    write_timeline_files(result_, o_.out);
    media_plugin().analyze_report(result_, o_.out);
    state_->remove();
    if (!result_.complete)
      fail("analyze", "video '", o_.video, "' broke off: ", broke_off, "; what was read is in '", o_.out,
           "', marked incomplete");
    return std::move(result_);
  }

 private:
  void load_detector() {
    nets::maskrcnn::MaskRcnnOptions options;
    if (o_.square == 0) o_.square = trained_square_side(detector_path_, 1280, "analyze");
    options.transform = resize_options(0, 0, o_.square, "analyze");
    std::map<std::string, std::string> metadata;
    NoGradGuard no_grad;
    detector_ = load_maskrcnn(detector_path_, options, metadata);
    detector_names_ = detect_class_names(detector_->num_classes(), "", metadata, detector_path_);
    if (device_.is_cuda()) detector_->to(device_);
    nn::prepare_inference(*detector_);  // eval-only from here: batch norms folded, weights packed once
    detect_options_.weights = detector_path_;
    detect_options_.score = o_.score;
    detect_options_.mask_threshold = o_.mask_threshold;
  }

  void load_classifier_net() {
    const std::map<std::string, std::string> metadata = weights_metadata(classifier_path_);
    net_ = o_.net;
    if (const auto it = metadata.find("net"); net_.empty() && it != metadata.end()) net_ = it->second;
    ANIMA_CHECK(!net_.empty(), "analyze", "'", classifier_path_,
                "' does not say which net it is (no \"net\" metadata): give --net (", nets::net_names_str(), ")");
    ClassifyOptions c;
    c.net = net_;
    c.weights = classifier_path_;
    c.device = o_.device;
    classifier_ = load_classifier(c, "analyze");
    classes_ = metadata_labels(metadata, classifier_path_);
    if (classes_.empty())
      for (int k = 0; k < classifier_.classes; ++k) classes_.push_back("class_" + std::to_string(k));
    ANIMA_CHECK(static_cast<int>(classes_.size()) == classifier_.classes, "analyze", "'", classifier_path_, "' names ",
                classes_.size(), " classes in its metadata but its head has ", classifier_.classes);
  }

  void analyze_frame(SampledFrame frame) {
    NoGradGuard no_grad;
    if (result_.width == 0) result_.width = frame.rgb.width, result_.height = frame.rgb.height;
    if (replayed_ < done_.size()) return replay_frame(std::move(frame));
    PendingFrame pf;
    pf.result.frame = frame.index;
    pf.result.time = frame.time;
    pf.image.width = frame.rgb.width;
    pf.image.height = frame.rgb.height;
    pf.image.pixels = std::move(frame.rgb.pixels);
    DetectResult detections;
    {
      StageClock clock(result_.stage_seconds["detect"]);
      Tensor x = image_tensor(pf.image);
      if (device_.is_cuda()) x = to(x, device_);
      std::vector<nets::maskrcnn::ImageDetections> dets = detector_->detect({x});
      nets::maskrcnn::ImageDetections& d = dets.at(0);
      if (device_.is_cuda()) {
        d.boxes = to(d.boxes, Device::cpu());
        d.scores = to(d.scores, Device::cpu());
        d.labels = to(d.labels, Device::cpu());
      }
      detections = collect_detections(o_.video, pf.image, d, detect_options_, detector_names_);
    }
    {
      StageClock clock(result_.stage_seconds["crop"]);
      data::ImageU8 rgb(0, 0, 3);
      rgb.width = pf.image.width;
      rgb.height = pf.image.height;
      rgb.pixels = std::move(pf.image.pixels);
      const std::size_t sequence = first_pending_ + pending_frames_.size();
      for (std::size_t k = 0; k < detections.detections.size(); ++k) {
        const Detection& det = detections.detections[k];
        AnalyzedFace face;
        face.detected_as = det.label;
        face.score = det.score;
        face.box = {det.box[0], det.box[1], det.box[2], det.box[3]};
        face.mask = det.mask;
        pf.result.faces.push_back(face);
        PendingFace pending;
        pending.frame = sequence;
        pending.face = k;
        pending.crop = data::masked_face_crop(rgb, io::coco_rle_decode(det.mask), face.box, 256);
        pending.input = data::imagenet_eval_transform(pending.crop, classifier_.resize, classifier_.crop);
        pending_faces_.push_back(std::move(pending));
      }
      pf.unclassified = detections.detections.size();
      if (!o_.no_video) pf.image.pixels = std::move(rgb.pixels);
    }
    pending_frames_.push_back(std::move(pf));
    while (pending_faces_.size() >= static_cast<std::size_t>(o_.batch)) classify_pending(static_cast<std::size_t>(o_.batch));
    flush_frames();
  }

  // Classifies the first n pending faces in one forward.
  void classify_pending(std::size_t n) {
    NoGradGuard no_grad;
    StageClock clock(result_.stage_seconds["classify"]);
    std::vector<Tensor> inputs;
    for (std::size_t i = 0; i < n; ++i) inputs.push_back(pending_faces_[i].input);
    Tensor batch = stack_images(inputs);
    if (classifier_.device.is_cuda()) batch = to(batch, classifier_.device);
    const std::vector<float> logits = to_vector<float>(to(classifier_.model->forward(batch), Device::cpu()));
    const std::size_t k = classes_.size();
    for (std::size_t i = 0; i < n; ++i) {
      PendingFace& p = pending_faces_[i];
      PendingFrame& pf = pending_frames_.at(p.frame - first_pending_);
      AnalyzedFace& face = pf.result.faces.at(p.face);
      face.probabilities = softmax_probabilities(
          std::vector<float>(logits.begin() + static_cast<std::ptrdiff_t>(i * k),
                             logits.begin() + static_cast<std::ptrdiff_t>((i + 1) * k)),
          o_.video, classifier_path_);
      const std::size_t top = static_cast<std::size_t>(
          std::max_element(face.probabilities.begin(), face.probabilities.end()) - face.probabilities.begin());
      face.class_name = classes_[top];
      face.probability = face.probabilities[top];
      const auto [emotion, character] = split_class_name(face.class_name);
      face.emotion = emotion;
      face.character = character.empty() ? face.detected_as : character;
      consider_best(face, pf.result, [&] { return std::move(p.crop); });
      --pf.unclassified;
    }
    pending_faces_.erase(pending_faces_.begin(), pending_faces_.begin() + static_cast<std::ptrdiff_t>(n));
  }

  // Hands on every frame at the front whose faces are all classified: drawn into the video, added to
  // the timeline.
  void flush_frames() {
    while (!pending_frames_.empty() && pending_frames_.front().unclassified == 0) {
      PendingFrame& pf = pending_frames_.front();
      if (!o_.no_video) write_video_frame(pf.image, pf.result);
      state_->append(pf.result, classes_);
      result_.frames.push_back(std::move(pf.result));
      pending_frames_.pop_front();
      ++first_pending_;
      progress_->update(result_.frames.size());
      if (o_.kill_after_frames > 0 && ++finished_here_ == o_.kill_after_frames) std::raise(SIGKILL);
    }
  }

  // A frame a resumed run had finished: nothing is run on it; it is drawn into the video again and its
  // faces' crops are made again where one is the most probable of its class.
  void replay_frame(SampledFrame frame) {
    const AnalyzedFrame& done = done_[replayed_];
    if (frame.index < done.frame) return;  // a frame the first run could not decode either
    ANIMA_CHECK(frame.index == done.frame, "analyze", "--resume: frame ", frame.index, " of '", o_.video,
                "' was not sampled by the run being resumed (it sampled frame ", done.frame, ")");
    ++replayed_;
    for (const AnalyzedFace& face : done.faces)
      consider_best(face, done, [&] {
        return data::masked_face_crop(frame.rgb, io::coco_rle_decode(face.mask), face.box, 256);
      });
    progress_->update(replayed_);
    if (o_.no_video) return;
    RgbImage image;
    image.width = frame.rgb.width;
    image.height = frame.rgb.height;
    image.pixels = std::move(frame.rgb.pixels);
    write_video_frame(image, done);
  }

  // Keeps `face` (of `frame`) as its class's most probable face when it is; make_crop() gives its crop.
  template <class MakeCrop>
  void consider_best(const AnalyzedFace& face, const AnalyzedFrame& frame, MakeCrop make_crop) {
    const std::size_t k =
        static_cast<std::size_t>(std::find(classes_.begin(), classes_.end(), face.class_name) - classes_.begin());
    if (k >= result_.best.size() || !(face.probability > result_.best[k].probability)) return;
    BestFace& best = result_.best[k];
    best.probability = face.probability;
    best.frame = frame.frame;
    best.time = frame.time;
    best.crop = make_crop();
  }

  // The frame with its faces drawn (masks, boxes, "<character> <emotion> <probability>").
  void write_video_frame(RgbImage& image, const AnalyzedFrame& result) {
    StageClock clock(result_.stage_seconds["draw_and_write"]);
    if (!sink_) {
      const double fps = result_.fps > 0 ? result_.fps / o_.every : 1.0;
      sink_ = media_plugin().open_video_sink((std::filesystem::path(o_.out) / "annotated.mp4").string(), fps,
                                             image.width - image.width % 2, image.height - image.height % 2,
                                             "analyze");
    }
    DetectResult drawn;
    for (const AnalyzedFace& face : result.faces) {
      Detection det;
      det.label = face.character + " " + face.emotion;
      det.score = face.probability;
      det.label_id =
          static_cast<std::int64_t>(std::find(classes_.begin(), classes_.end(), face.class_name) - classes_.begin()) + 1;
      det.box = face.box;
      det.mask = face.mask;
      drawn.detections.push_back(std::move(det));
    }
    draw_detections(image, drawn);
    data::ImageU8 frame(image.width - image.width % 2, image.height - image.height % 2, 3);
    for (int y = 0; y < frame.height; ++y)  // H.264 wants even sides: the last odd row / column goes
      std::copy_n(image.pixels.begin() + static_cast<std::ptrdiff_t>(y) * image.width * 3, frame.width * 3,
                  frame.pixels.begin() + static_cast<std::ptrdiff_t>(y) * frame.width * 3);
    sink_->write(frame);
  }

  AnalyzeOptions o_;
  std::unique_ptr<VideoFrames> video_;
  Device device_ = Device::cpu();
  std::string detector_path_, classifier_path_, net_;
  std::shared_ptr<nets::maskrcnn::MaskRCNN> detector_;
  std::vector<std::string> detector_names_;
  DetectOptions detect_options_;
  LoadedClassifier classifier_;
  std::vector<std::string> classes_;
  AnalyzeResult result_;
  std::deque<PendingFrame> pending_frames_;
  std::size_t first_pending_ = 0;  // sequence number of pending_frames_.front()
  std::vector<PendingFace> pending_faces_;
  std::unique_ptr<VideoFrameSink> sink_;
  ProgressLine* progress_ = nullptr;
  std::vector<nlohmann::json> resumed_frames_;  // the state's frames, read before the classes are known
  std::vector<AnalyzedFrame> done_;             // frames a resumed run had finished
  std::size_t replayed_ = 0;                    // of done_, decoded again so far
  std::unique_ptr<AnalyzeStateWriter> state_;
  int finished_here_ = 0;
};

inline int run_analyze(const AnalyzeOptions& o) {
  VideoAnalysis analysis(o);
  const AnalyzeResult r = analysis.run();
  const std::size_t faces = face_count(r);
  std::printf("anima analyze: %zu sampled frames, %zu faces in %.1f s (%.2f frames/s); report: %s\n", r.frames.size(),
              faces, r.seconds, r.seconds > 0 ? static_cast<double>(r.frames.size()) / r.seconds : 0.0,
              (std::filesystem::path(analysis.out_dir()) / "report.html").string().c_str());
  if (faces == 0) std::printf("anima analyze: no faces were found in '%s'\n", r.video.c_str());
  return 0;
}

// Registers `anima analyze`; its exit status goes to `status`.
inline CLI::App* add_analyze_command(CLI::App& app, int& status) {
  auto opts = std::make_shared<AnalyzeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "analyze", "find the characters' faces in a video and their emotions: timeline, subtitles, annotated video, report");
  cmd->add_option("video", opts->video, "the video file");
  cmd->add_option("--out", opts->out, "output folder");
  cmd->add_option("--resume", opts->resume, "continue the analysis that was stopped in this output folder");
  cmd->add_option("--kill-after-frames", opts->kill_after_frames, "testing: end with SIGKILL after this many frames")
      ->group("");
  cmd->add_option("--every", opts->every, "analyse one frame in every N (default 15, as in the paper)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--detector", opts->detector, "Mask R-CNN weights (default: the demo detector)");
  cmd->add_option("--classifier", opts->classifier, "emotion classifier weights (default: the demo classifier)");
  cmd->add_option("--net", opts->net, "the classifier's net when its weights do not say (" + nets::net_names_str() + ")");
  cmd->add_option("--batch", opts->batch, "faces per classifier forward (default 32)")->check(CLI::PositiveNumber);
  cmd->add_option("--square", opts->square,
                  "the detector's letterbox side (default: the side it was trained at, else 1280)");
  cmd->add_option("--score", opts->score, "keep faces with a detection score >= this (default 0.5)");
  cmd->add_option("--mask-threshold", opts->mask_threshold, "mask probability above which a pixel is the face");
  cmd->add_option("--device", opts->device, "cpu or cuda[:N]");
  cmd->add_flag("--no-video", opts->no_video, "do not write annotated.mp4");
  cmd->add_flag("--quiet", opts->quiet, "no progress line");
  cmd->callback([opts, &status] {
    if (opts->resume.empty()) {
      ANIMA_CHECK(!opts->video.empty(), "analyze", "give the VIDEO to analyse (or --resume DIR)");
      ANIMA_CHECK(!opts->out.empty(), "analyze", "--out DIR is required");
    } else {
      ANIMA_CHECK(opts->video.empty() && opts->out.empty(), "analyze",
                  "--resume DIR takes the video, the output folder and the settings from DIR; give nothing else");
    }
    status = run_analyze(*opts);
  });
  return cmd;
}

}  // namespace anima::cli
