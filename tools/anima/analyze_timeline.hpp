// tools/anima/analyze_timeline.hpp — what `anima analyze` found in a video, and the files that say it:
//
//   timeline.json   {"schema": "anima.analyze/1", "video", "complete", "error", "fps", "width", "height",
//                    "frames_announced", "every", "sampled_frames", "faces", "classes": [...],
//                    "characters": {"<character>": {"faces", "seconds", "emotions": {"<emotion>":
//                                   {"faces", "share"}}}},          (the episode rating)
//                    "settings": {...}, "models": {...}, "seconds", "sampled_frames_per_second",
//                    "stage_seconds": {"waiting_for_frames", "detect", "crop", "classify", "draw_and_write"},
//                    "timeline": [{"frame", "time", "faces": [{"character", "emotion", "class",
//                                  "probability", "probabilities": {"<class>": p}, "detected_as",
//                                  "score", "box": [x1, y1, x2, y2], "mask": {"size": [h, w],
//                                  "counts": "<COCO compressed RLE>"}}]}]}
//   timeline.csv    frame,time_s,face,character,emotion,class,probability,detected_as,score,x1,y1,x2,y2,
//                   p_<class>...  (one row per face)
//   subtitles.srt / subtitles.vtt   one cue per run of consecutive sampled frames that say the same
//                   thing ("Tom is angry", a line per character and emotion on screen); a cue starts at
//                   its first frame's time and ends where the frame after its last sampled frame
//                   would be sampled (index + every) / fps, at most the video's end.
// Every face's class is the classifier's most probable class; a class named "<emotion>_<character>"
// (as `anima synth` names them) gives the emotion and the character; another name is the emotion, and
// the detector's label the character. Box: the detector's, in the video's pixels.
// Each file is written to a temporary name and renamed (io::write_file_atomic).
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <anima/data/pil_resize.hpp>
#include <anima/core/error.hpp>
#include <anima/io/atomic_file.hpp>
#include <anima/io/coco_rle.hpp>

namespace anima::cli {

struct AnalyzedFace {
  std::string character, emotion, class_name;
  double probability = 0;             // of class_name
  std::vector<double> probabilities;  // per class
  std::string detected_as;            // the detector's label
  double score = 0;                   // the detector's
  std::array<double, 4> box{};        // x1, y1, x2, y2
  io::CocoRle mask;                   // the binary mask in the frame's pixels
};

struct AnalyzedFrame {
  long long frame = 0;
  double time = 0;
  std::vector<AnalyzedFace> faces;
};

// The most probable face of one class: where it is and its masked crop (what the classifier saw).
struct BestFace {
  double probability = -1;  // < 0: no face of this class
  long long frame = 0;
  double time = 0;
  data::ImageU8 crop;
};

struct AnalyzeResult {
  std::string video;
  bool complete = true;
  std::string error;  // why the video ended early (complete = false)
  double fps = 0;
  int width = 0, height = 0;
  long long frames_announced = 0;
  int every = 15;
  std::vector<std::string> classes;
  std::vector<AnalyzedFrame> frames;
  std::vector<BestFace> best;  // per class
  nlohmann::ordered_json settings = nlohmann::ordered_json::object(), models = nlohmann::ordered_json::object();
  double seconds = 0;  // wall time of the analysis
  // Where it went: "waiting_for_frames" (the reader thread behind), "detect", "crop" (masks, crops,
  // the classifier's transform), "classify", "draw_and_write" (the annotated video).
  std::map<std::string, double> stage_seconds;
};

// "<emotion>_<character>" -> {emotion, character}; another name -> {name, ""}.
inline std::pair<std::string, std::string> split_class_name(const std::string& name) {
  const auto cut = name.rfind('_');
  if (cut == std::string::npos || cut == 0 || cut + 1 == name.size()) return {name, ""};
  return {name.substr(0, cut), name.substr(cut + 1)};
}

// How long one sampled frame stands for (seconds): every / fps, or 0 when the rate is unknown.
inline double sample_seconds(const AnalyzeResult& r) { return r.fps > 0 ? r.every / r.fps : 0.0; }

inline std::size_t face_count(const AnalyzeResult& r) {
  std::size_t n = 0;
  for (const AnalyzedFrame& f : r.frames) n += f.faces.size();
  return n;
}

// The episode rating: per character, its faces and each emotion's share of them (= of its screen time,
// every sampled face standing for the same time).
inline nlohmann::ordered_json episode_rating(const AnalyzeResult& r) {
  std::map<std::string, std::map<std::string, std::size_t>> counts;
  std::set<std::string> emotions;
  for (const std::string& c : r.classes) emotions.insert(split_class_name(c).first);
  for (const AnalyzedFrame& f : r.frames)
    for (const AnalyzedFace& face : f.faces) ++counts[face.character][face.emotion];
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [character, by_emotion] : counts) {
    std::size_t total = 0;
    for (const auto& [e, n] : by_emotion) total += n;
    nlohmann::ordered_json e_json = nlohmann::ordered_json::object();
    for (const std::string& e : emotions) {
      const auto it = by_emotion.find(e);
      const std::size_t n = it == by_emotion.end() ? 0 : it->second;
      e_json[e] = {{"faces", n}, {"share", total > 0 ? static_cast<double>(n) / static_cast<double>(total) : 0.0}};
    }
    out[character] = {{"faces", total},
                      {"seconds", static_cast<double>(total) * sample_seconds(r)},
                      {"emotions", e_json}};
  }
  return out;
}

// One sampled frame as timeline.json holds it.
inline nlohmann::ordered_json frame_json(const AnalyzedFrame& f, const std::vector<std::string>& classes) {
  nlohmann::ordered_json faces = nlohmann::ordered_json::array();
  for (const AnalyzedFace& face : f.faces) {
    nlohmann::ordered_json p = nlohmann::ordered_json::object();
    for (std::size_t k = 0; k < classes.size() && k < face.probabilities.size(); ++k) p[classes[k]] = face.probabilities[k];
    faces.push_back({{"character", face.character},
                     {"emotion", face.emotion},
                     {"class", face.class_name},
                     {"probability", face.probability},
                     {"probabilities", p},
                     {"detected_as", face.detected_as},
                     {"score", face.score},
                     {"box", face.box},
                     {"mask", {{"size", {face.mask.height, face.mask.width}}, {"counts", face.mask.counts}}}});
  }
  return {{"frame", f.frame}, {"time", f.time}, {"faces", faces}};
}

// frame_json read back (what `analyze --resume` reads); a malformed entry is an anima::Error naming `file`.
inline AnalyzedFrame frame_from_json(const nlohmann::json& j, const std::vector<std::string>& classes,
                                     const std::string& file) {
  AnalyzedFrame f;
  try {
    f.frame = j.at("frame").get<long long>();
    f.time = j.at("time").get<double>();
    for (const auto& x : j.at("faces")) {
      AnalyzedFace face;
      face.character = x.at("character").get<std::string>();
      face.emotion = x.at("emotion").get<std::string>();
      face.class_name = x.at("class").get<std::string>();
      face.probability = x.at("probability").get<double>();
      for (const std::string& c : classes) face.probabilities.push_back(x.at("probabilities").at(c).get<double>());
      face.detected_as = x.at("detected_as").get<std::string>();
      face.score = x.at("score").get<double>();
      face.box = x.at("box").get<std::array<double, 4>>();
      const auto& size = x.at("mask").at("size");
      face.mask.height = size.at(0).get<std::int64_t>();
      face.mask.width = size.at(1).get<std::int64_t>();
      face.mask.counts = x.at("mask").at("counts").get<std::string>();
      f.faces.push_back(std::move(face));
    }
  } catch (const nlohmann::json::exception& e) {
    fail("analyze", "'", file, "': a frame entry is malformed: ", e.what());
  }
  return f;
}

inline nlohmann::ordered_json timeline_json(const AnalyzeResult& r) {
  nlohmann::ordered_json out;
  out["schema"] = "anima.analyze/1";
  out["video"] = r.video;
  out["complete"] = r.complete;
  out["error"] = r.complete ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.error);
  out["fps"] = r.fps;
  out["width"] = r.width;
  out["height"] = r.height;
  out["frames_announced"] = r.frames_announced;
  out["every"] = r.every;
  out["sampled_frames"] = r.frames.size();
  out["faces"] = face_count(r);
  out["classes"] = r.classes;
  out["characters"] = episode_rating(r);
  out["settings"] = r.settings;
  out["models"] = r.models;
  out["seconds"] = r.seconds;
  out["sampled_frames_per_second"] = r.seconds > 0 ? static_cast<double>(r.frames.size()) / r.seconds : 0.0;
  out["stage_seconds"] = r.stage_seconds;
  nlohmann::ordered_json frames = nlohmann::ordered_json::array();
  for (const AnalyzedFrame& f : r.frames) frames.push_back(frame_json(f, r.classes));
  out["timeline"] = frames;
  return out;
}

inline std::string timeline_csv(const AnalyzeResult& r) {
  std::string out = "frame,time_s,face,character,emotion,class,probability,detected_as,score,x1,y1,x2,y2";
  for (const std::string& c : r.classes) out += ",p_" + c;
  out += '\n';
  char number[64];
  auto add = [&](double v) {
    std::snprintf(number, sizeof number, ",%.6g", v);
    out += number;
  };
  for (const AnalyzedFrame& f : r.frames)
    for (std::size_t i = 0; i < f.faces.size(); ++i) {
      const AnalyzedFace& face = f.faces[i];
      std::snprintf(number, sizeof number, "%lld,%.6f,%zu", f.frame, f.time, i);
      out += number;
      out += "," + face.character + "," + face.emotion + "," + face.class_name;
      add(face.probability);
      out += "," + face.detected_as;
      add(face.score);
      for (double v : face.box) add(v);
      for (double p : face.probabilities) add(p);
      out += '\n';
    }
  return out;
}

struct SubtitleCue {
  double start = 0, end = 0;
  std::string text;  // lines separated by '\n'
};

// "Tom is angry": the character capitalised, the emotion as an adjective.
inline std::string subtitle_line(const std::string& character, const std::string& emotion) {
  std::string who = character.empty() ? std::string("Someone") : character;
  who[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(who[0])));
  const std::string how = emotion == "surprise" ? std::string("surprised") : emotion;
  return who + " is " + how;
}

inline std::vector<SubtitleCue> subtitle_cues(const AnalyzeResult& r) {
  const double step = sample_seconds(r);
  const double video_end = r.fps > 0 && r.frames_announced > 0 ? static_cast<double>(r.frames_announced) / r.fps : 0.0;
  std::vector<SubtitleCue> cues;
  std::string open_text;
  for (std::size_t i = 0; i < r.frames.size(); ++i) {
    const AnalyzedFrame& f = r.frames[i];
    std::set<std::pair<std::string, std::string>> said;
    for (const AnalyzedFace& face : f.faces) said.insert({face.character, face.emotion});
    std::string text;
    for (const auto& [character, emotion] : said) text += (text.empty() ? "" : "\n") + subtitle_line(character, emotion);
    // Where this frame's cue ends: the next sample's time (or this one's plus the sampling step).
    double end = f.time + step;
    if (step <= 0) end = i + 1 < r.frames.size() ? r.frames[i + 1].time : f.time + 0.5;
    if (video_end > 0) end = std::min(end, video_end);
    end = std::max(end, f.time);
    const bool follows = i > 0 && r.frames[i - 1].frame + r.every == f.frame;  // no sample lost in between
    if (!text.empty() && follows && text == open_text && !cues.empty()) {
      cues.back().end = end;
    } else if (!text.empty()) {
      cues.push_back({f.time, end, text});
    }
    open_text = text;
  }
  return cues;
}

// "HH:MM:SS,mmm" (SRT) or "HH:MM:SS.mmm" (WebVTT).
inline std::string subtitle_time(double seconds, char separator) {
  const long long ms = std::llround(std::max(0.0, seconds) * 1000.0);
  char text[32];
  std::snprintf(text, sizeof text, "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
                separator, ms % 1000);
  return text;
}

inline std::string srt_text(const std::vector<SubtitleCue>& cues) {
  std::string out;
  for (std::size_t i = 0; i < cues.size(); ++i)
    out += std::to_string(i + 1) + "\n" + subtitle_time(cues[i].start, ',') + " --> " +
           subtitle_time(cues[i].end, ',') + "\n" + cues[i].text + "\n\n";
  return out;
}

inline std::string vtt_text(const std::vector<SubtitleCue>& cues) {
  std::string out = "WEBVTT\n\n";
  for (const SubtitleCue& c : cues)
    out += subtitle_time(c.start, '.') + " --> " + subtitle_time(c.end, '.') + "\n" + c.text + "\n\n";
  return out;
}

// timeline.json, timeline.csv, subtitles.srt and subtitles.vtt in `dir`.
inline void write_timeline_files(const AnalyzeResult& r, const std::filesystem::path& dir) {
  const std::string json = timeline_json(r).dump(1) + "\n";
  io::write_file_atomic(dir / "timeline.json", json.data(), json.size(), "analyze");
  const std::string csv = timeline_csv(r);
  io::write_file_atomic(dir / "timeline.csv", csv.data(), csv.size(), "analyze");
  const std::vector<SubtitleCue> cues = subtitle_cues(r);
  const std::string srt = srt_text(cues), vtt = vtt_text(cues);
  io::write_file_atomic(dir / "subtitles.srt", srt.data(), srt.size(), "analyze");
  io::write_file_atomic(dir / "subtitles.vtt", vtt.data(), vtt.size(), "analyze");
}

}  // namespace anima::cli
