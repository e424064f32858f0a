// `anima analyze`'s outputs (tools/anima/analyze_timeline.hpp): the subtitle cues (merging, timing,
// gaps, the SRT and WebVTT formats), the class names split into emotion and character, the episode
// rating and the CSV. The end-to-end runs are the cli_analyze* ctests (tests/synth/cli_analyze.cmake):
// with ANIMA_ANALYZE_FIXTURE_DIR set, AnalyzeCli.WritesFixture writes their inputs there.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <anima/core/copy.hpp>
#include <anima/io/weights_file.hpp>
#include <anima/nets/maskrcnn/mask_rcnn.hpp>
#include <anima/nets/registry.hpp>
#include <anima/nn/deterministic_fill.hpp>

#include "anima/analyze_timeline.hpp"
#include "nets/maskrcnn_golden_model.hpp"
#include "synth/classes.hpp"
#include "synth/video.hpp"

namespace analyze_test {

namespace fs = std::filesystem;
using anima::cli::AnalyzedFace;
using anima::cli::AnalyzedFrame;
using anima::cli::AnalyzeResult;

AnalyzedFace face(const std::string& character, const std::string& emotion) {
  AnalyzedFace f;
  f.character = character;
  f.emotion = emotion;
  f.class_name = emotion + "_" + character;
  f.probability = 0.9;
  f.probabilities = {0.9, 0.1};
  f.detected_as = character;
  f.score = 0.8;
  f.box = {1, 2, 30, 40};
  return f;
}

// Sampled every 12 frames at 24 fps: one sample per half second.
AnalyzeResult result_with(const std::vector<std::vector<AnalyzedFace>>& faces_per_sample) {
  AnalyzeResult r;
  r.fps = 24;
  r.every = 12;
  r.frames_announced = static_cast<long long>(faces_per_sample.size()) * 12;
  r.classes = {"angry_tom", "happy_jerry"};
  for (std::size_t i = 0; i < faces_per_sample.size(); ++i)
    r.frames.push_back({static_cast<long long>(i) * 12, static_cast<double>(i) * 0.5, faces_per_sample[i]});
  return r;
}

TEST(AnalyzeTimeline, ConsecutiveFramesSayingTheSameThingMergeIntoOneCue) {
  const AnalyzeResult r = result_with({{face("tom", "angry")},
                                       {face("tom", "angry")},
                                       {face("tom", "angry"), face("jerry", "happy")},
                                       {},
                                       {face("jerry", "surprise")},
                                       {face("jerry", "surprise"), face("jerry", "surprise")}});
  const auto cues = anima::cli::subtitle_cues(r);
  ASSERT_EQ(cues.size(), 3u);
  EXPECT_EQ(cues[0].text, "Tom is angry");
  EXPECT_DOUBLE_EQ(cues[0].start, 0.0);
  EXPECT_DOUBLE_EQ(cues[0].end, 1.0);  // frames 0 and 12; ends where frame 24 begins
  EXPECT_EQ(cues[1].text, "Jerry is happy\nTom is angry");  // one line per character and emotion, sorted
  EXPECT_DOUBLE_EQ(cues[1].start, 1.0);
  EXPECT_DOUBLE_EQ(cues[1].end, 1.5);
  EXPECT_EQ(cues[2].text, "Jerry is surprised");  // after a frame without faces; two faces, one line
  EXPECT_DOUBLE_EQ(cues[2].start, 2.0);
  EXPECT_DOUBLE_EQ(cues[2].end, 3.0);  // the video's end (72 frames at 24 fps)
  const std::string srt = anima::cli::srt_text(cues);
  EXPECT_EQ(srt.rfind("1\n00:00:00,000 --> 00:00:01,000\nTom is angry\n\n2\n00:00:01,000 --> ", 0), 0u) << srt;
  const std::string vtt = anima::cli::vtt_text(cues);
  EXPECT_EQ(vtt.substr(0, 8), "WEBVTT\n\n");
  EXPECT_NE(vtt.find("00:00:02.000 --> 00:00:03.000\nJerry is surprised\n"), std::string::npos) << vtt;
}

TEST(AnalyzeTimeline, ALostSampleBreaksTheCueAndTimesFormatPastAnHour) {
  AnalyzeResult r = result_with({{face("tom", "sad")}, {face("tom", "sad")}, {face("tom", "sad")}});
  r.frames[2].frame = 48;  // frame 24 was not decoded
  r.frames[2].time = 2.0;
  r.frames_announced = 0;  // unknown: cues end one sampling step after their last frame
  const auto cues = anima::cli::subtitle_cues(r);
  ASSERT_EQ(cues.size(), 2u);
  EXPECT_DOUBLE_EQ(cues[0].end, 1.0);
  EXPECT_DOUBLE_EQ(cues[1].start, 2.0);
  EXPECT_DOUBLE_EQ(cues[1].end, 2.5);
  EXPECT_EQ(anima::cli::subtitle_time(3723.4567, ','), "01:02:03,457");
  EXPECT_EQ(anima::cli::subtitle_time(0.0004, '.'), "00:00:00.000");
  EXPECT_TRUE(anima::cli::subtitle_cues(result_with({{}, {}})).empty());
}

TEST(AnalyzeTimeline, ClassNamesRatingAndCsv) {
  EXPECT_EQ(anima::cli::split_class_name("surprise_jerry"), std::make_pair(std::string("surprise"), std::string("jerry")));
  EXPECT_EQ(anima::cli::split_class_name("happy"), std::make_pair(std::string("happy"), std::string()));
  EXPECT_EQ(anima::cli::split_class_name("_x"), std::make_pair(std::string("_x"), std::string()));
  const AnalyzeResult r =
      result_with({{face("tom", "angry")}, {face("tom", "angry"), face("jerry", "happy")}, {face("tom", "happy")}});
  const nlohmann::ordered_json rating = anima::cli::episode_rating(r);
  EXPECT_EQ(rating["tom"]["faces"], 3);
  EXPECT_DOUBLE_EQ(rating["tom"]["seconds"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(rating["tom"]["emotions"]["angry"]["share"].get<double>(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(rating["tom"]["emotions"]["happy"]["share"].get<double>(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(rating["jerry"]["emotions"]["happy"]["share"].get<double>(), 1.0);
  EXPECT_EQ(rating["jerry"]["emotions"]["angry"]["faces"], 0);
  const std::string csv = anima::cli::timeline_csv(r);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "frame,time_s,face,character,emotion,class,probability,detected_as,score,x1,y1,x2,y2,p_angry_tom,"
            "p_happy_jerry");
  EXPECT_NE(csv.find("\n12,0.500000,1,jerry,happy,happy_jerry,0.9,jerry,0.8,1,2,30,40,0.9,0.1\n"), std::string::npos)
      << csv;
  const nlohmann::ordered_json j = anima::cli::timeline_json(r);
  EXPECT_EQ(j["schema"], "anima.analyze/1");
  EXPECT_EQ(j["faces"], 4);
  EXPECT_EQ(j["timeline"][1]["faces"][1]["probabilities"]["happy_jerry"], 0.1);
}

// ---- the cli_analyze fixture -----------------------------------------------------------------------

void write_fixture(const fs::path& dir) {
  using namespace anima;
  fs::create_directories(dir);
  // The detector: torchvision's architecture with the golden fixture's weights (~100 detections per
  // image above 0.05), and the same with the background logit's bias raised by 100, which finds nothing.
  nets::maskrcnn::MaskRcnnOptions o;
  o.num_classes = 3;
  auto model = std::make_shared<nets::maskrcnn::MaskRCNN>(o);
  const io::StateDict sd = model->state_dict();
  nets::maskrcnn::fixture::golden_fill(sd);
  const std::map<std::string, std::string> labels = {{"labels", R"(["__background__", "tom", "jerry"])"}};
  io::save_weights_safetensors((dir / "detector.safetensors").string(), sd, labels);
  const Tensor* bias = sd.find("roi_heads.box_predictor.cls_score.bias");
  ASSERT_NE(bias, nullptr);
  copy_into(*bias, from_vector<float>({100.0f, 0.0f, 0.0f}, {3}));
  io::save_weights_safetensors((dir / "blind.safetensors").string(), sd, labels);
  // The classifier: MobileNetV2 with 8 classes named as `anima synth` names them, and the net's name.
  std::vector<std::string> classes;
  for (auto c : synth::kCharacters)
    for (auto e : synth::kEmotions) classes.push_back(synth::face_class_name(c, e));
  std::sort(classes.begin(), classes.end());
  auto net = nets::make_net("mobilenet_v2", static_cast<int>(classes.size()));
  nn::deterministic_fill(net->state_dict());
  io::save_weights_safetensors((dir / "classifier.safetensors").string(), net->state_dict(),
                               {{"labels", nlohmann::json(classes).dump()}, {"net", "mobilenet_v2"}});
  // A 2-second synthetic episode at 12 frames/s, 160x96, with its true timeline.
  const synth::VideoSpec v = synth::sample_video(11, 0, 160, 96, 12, 2.0);
  synth::write_video(v, dir / "video.mp4", dir / "video.timeline.json");
  // The same frames as Motion-JPEG AVI cut at 60%: the container announces 24 frames, about 14 decode.
  cv::VideoCapture in((dir / "video.mp4").string(), cv::CAP_FFMPEG);
  ASSERT_TRUE(in.isOpened());
  const fs::path avi = dir / "whole.avi";
  {
    cv::VideoWriter out(avi.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 12, cv::Size(160, 96));
    ASSERT_TRUE(out.isOpened());
    cv::Mat frame;
    while (in.read(frame)) out.write(frame);
  }
  std::string bytes;
  {
    std::ifstream f(avi, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  ASSERT_GT(bytes.size(), 1000u);
  std::ofstream(dir / "truncated.avi", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() * 6 / 10));
  std::ofstream(dir / "not_a_video.mp4") << "this is not a video\n";
}

TEST(AnalyzeCli, WritesFixture) {
  const char* dir = std::getenv("ANIMA_ANALYZE_FIXTURE_DIR");
  if (dir == nullptr || *dir == '\0') GTEST_SKIP() << "ANIMA_ANALYZE_FIXTURE_DIR not set (the cli_analyze setup sets it)";
  write_fixture(dir);
  for (const char* f : {"detector.safetensors", "blind.safetensors", "classifier.safetensors", "video.mp4",
                        "video.timeline.json", "truncated.avi"})
    EXPECT_TRUE(fs::is_regular_file(fs::path(dir) / f)) << f;
}

}  // namespace analyze_test
