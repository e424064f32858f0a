// tools/anima/analyze_report.hpp — the page of `anima analyze` and its pictures, written into DIR:
//   rating.png      the episode rating: per character a bar split by each emotion's share of its screen
//                   time (its sampled faces)
//   timeline.png    per character a strip over the video's time, each sampled frame in the colour of
//                   the emotion of that character's most probable face there (grey: not on screen)
//   faces/<class>.png   the most probable face of each class, as the classifier saw it (masked crop)
//   report.html     self-contained: the video and its completeness, the pictures, the rating as a
//                   table (faces, seconds, shares), the faces, the time per stage, the settings and
//                   the models
// Drawn with cairo (tools/report/), so this runs inside the media plugin. Every file is written to a
// temporary name and renamed.
#pragma once

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <anima/io/atomic_file.hpp>

#include "analyze_timeline.hpp"
#include "report/html_report.hpp"
#include "report/plots.hpp"
#include "synth/image_io.hpp"

namespace anima::cli {

namespace detail {

// The colour of an emotion: fixed for the four the application knows, the plot palette otherwise.
inline report::detail::Rgb emotion_colour(const std::string& emotion, std::size_t fallback) {
  if (emotion == "happy") return {0.96, 0.74, 0.10};
  if (emotion == "sad") return {0.20, 0.42, 0.85};
  if (emotion == "angry") return {0.85, 0.16, 0.16};
  if (emotion == "surprise") return {0.58, 0.32, 0.78};
  return report::detail::palette(fallback);
}

inline std::vector<std::string> report_emotions(const AnalyzeResult& r) {
  std::vector<std::string> out;
  for (const std::string& c : r.classes) {
    const std::string e = split_class_name(c).first;
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  }
  return out;
}

inline std::vector<std::string> report_characters(const AnalyzeResult& r) {
  std::set<std::string> seen;
  for (const AnalyzedFrame& f : r.frames)
    for (const AnalyzedFace& face : f.faces) seen.insert(face.character);
  return {seen.begin(), seen.end()};
}

inline void emotion_legend(cairo_t* cr, const std::vector<std::string>& emotions, double x, double y) {
  for (std::size_t i = 0; i < emotions.size(); ++i) {
    const auto c = emotion_colour(emotions[i], i);
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    cairo_rectangle(cr, x, y - 6, 14, 12);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    report::detail::text_at(cr, emotions[i], x + 20, y, 0.0, 0.5, 12);
    x += 40 + 8.0 * static_cast<double>(emotions[i].size());
  }
}

}  // namespace detail

inline std::vector<unsigned char> rating_png(const AnalyzeResult& r) {
  using report::detail::text_at;
  const std::vector<std::string> emotions = detail::report_emotions(r), characters = detail::report_characters(r);
  const nlohmann::ordered_json rating = episode_rating(r);
  const double left = 110, top = 50, bar = 34, gap = 16, width = 760;
  const int height = static_cast<int>(top + (bar + gap) * static_cast<double>(std::max<std::size_t>(1, characters.size())) + 50);
  report::detail::Canvas canvas(static_cast<int>(width), height);
  cairo_t* cr = canvas.cr();
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  text_at(cr, "Episode rating: each character's screen time by emotion", width / 2, 12, 0.5, 0.0, 16, true);
  const double span = width - left - 30;
  for (std::size_t i = 0; i < characters.size(); ++i) {
    const double y = top + (bar + gap) * static_cast<double>(i);
    const auto& c = rating[characters[i]];
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text_at(cr, characters[i] + " (" + std::to_string(c["faces"].get<std::size_t>()) + ")", left - 8, y + bar / 2, 1.0,
            0.5, 13);
    double x = left;
    for (std::size_t e = 0; e < emotions.size(); ++e) {
      const double share = c["emotions"][emotions[e]]["share"].get<double>();
      if (share <= 0) continue;
      const auto colour = detail::emotion_colour(emotions[e], e);
      cairo_set_source_rgb(cr, colour.r, colour.g, colour.b);
      cairo_rectangle(cr, x, y, span * share, bar);
      cairo_fill(cr);
      if (span * share > 36) {
        char text[16];
        std::snprintf(text, sizeof text, "%.0f%%", 100 * share);
        cairo_set_source_rgb(cr, 1, 1, 1);
        text_at(cr, text, x + span * share / 2, y + bar / 2, 0.5, 0.5, 12, true);
      }
      x += span * share;
    }
  }
  if (characters.empty()) {
    cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
    text_at(cr, "no faces found", width / 2, top + bar / 2, 0.5, 0.5, 14);
  }
  detail::emotion_legend(cr, emotions, left, height - 22);
  return canvas.png();
}

inline std::vector<unsigned char> timeline_png(const AnalyzeResult& r) {
  using report::detail::text_at;
  const std::vector<std::string> emotions = detail::report_emotions(r), characters = detail::report_characters(r);
  const double left = 110, top = 50, row = 30, gap = 12, width = 960;
  const double step = sample_seconds(r);
  double end = r.frames.empty() ? 1.0 : r.frames.back().time + (step > 0 ? step : 0.5);
  if (r.fps > 0 && r.frames_announced > 0) end = std::max(end, static_cast<double>(r.frames_announced) / r.fps);
  const int height =
      static_cast<int>(top + (row + gap) * static_cast<double>(std::max<std::size_t>(1, characters.size())) + 70);
  report::detail::Canvas canvas(static_cast<int>(width), height);
  cairo_t* cr = canvas.cr();
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  text_at(cr, "Emotion timeline", width / 2, 12, 0.5, 0.0, 16, true);
  const double span = width - left - 30;
  auto x_of = [&](double t) { return left + span * std::clamp(t / end, 0.0, 1.0); };
  for (std::size_t i = 0; i < characters.size(); ++i) {
    const double y = top + (row + gap) * static_cast<double>(i);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text_at(cr, characters[i], left - 8, y + row / 2, 1.0, 0.5, 13);
    cairo_set_source_rgb(cr, 0.92, 0.92, 0.92);
    cairo_rectangle(cr, left, y, span, row);
    cairo_fill(cr);
    for (std::size_t k = 0; k < r.frames.size(); ++k) {
      const AnalyzedFrame& f = r.frames[k];
      const AnalyzedFace* best = nullptr;
      for (const AnalyzedFace& face : f.faces)
        if (face.character == characters[i] && (best == nullptr || face.probability > best->probability)) best = &face;
      if (best == nullptr) continue;
      const double t1 = step > 0 ? f.time + step : (k + 1 < r.frames.size() ? r.frames[k + 1].time : f.time + 0.5);
      const std::size_t e = static_cast<std::size_t>(std::find(emotions.begin(), emotions.end(), best->emotion) -
                                                     emotions.begin());
      const auto colour = detail::emotion_colour(best->emotion, e);
      cairo_set_source_rgb(cr, colour.r, colour.g, colour.b);
      cairo_rectangle(cr, x_of(f.time), y, std::max(1.0, x_of(t1) - x_of(f.time)), row);
      cairo_fill(cr);
    }
  }
  const double axis_y = top + (row + gap) * static_cast<double>(std::max<std::size_t>(1, characters.size()));
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 1);
  for (double t : report::detail::nice_ticks(0, end)) {
    if (t < 0 || t > end) continue;
    cairo_move_to(cr, x_of(t), axis_y - 6), cairo_line_to(cr, x_of(t), axis_y), cairo_stroke(cr);
    text_at(cr, report::detail::tick_label(t) + " s", x_of(t), axis_y + 4, 0.5, 0.0, 11);
  }
  if (characters.empty()) text_at(cr, "no faces found", width / 2, top + row / 2, 0.5, 0.5, 14);
  detail::emotion_legend(cr, emotions, left, height - 18);
  return canvas.png();
}

inline std::string format_number(const char* format, double v) {
  char text[64];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

inline void write_analyze_report(const AnalyzeResult& r, const std::string& out_dir) {
  namespace fs = std::filesystem;
  const fs::path out(out_dir);
  auto write_png = [&](const fs::path& path, const std::vector<unsigned char>& bytes) {
    io::write_file_atomic(path.string(), bytes.data(), bytes.size(), "analyze");
    return bytes;
  };
  const auto rating = write_png(out / "rating.png", rating_png(r));
  const auto timeline = write_png(out / "timeline.png", timeline_png(r));
  std::vector<report::GalleryItem> faces;
  for (std::size_t k = 0; k < r.best.size() && k < r.classes.size(); ++k) {
    const BestFace& b = r.best[k];
    if (b.probability < 0 || b.crop.pixels.empty()) continue;
    const fs::path dir = out / "faces";
    synth::make_directories(dir);
    const fs::path file = dir / (r.classes[k] + ".png");
    write_png(file, synth::encode_png(b.crop.pixels.data(), b.crop.width, b.crop.height));
    faces.push_back({file.string(), r.classes[k] + ": p " + format_number("%.3f", b.probability) + ", frame " +
                                        std::to_string(b.frame) + " (" + format_number("%.2f", b.time) + " s)"});
  }

  report::HtmlReport page("anima analyze: " + fs::path(r.video).filename().string());
  const std::size_t n_faces = face_count(r);
  if (!r.complete)
    page.paragraph("INCOMPLETE: the video broke off (" + r.error + "); what follows covers the frames read before.");
  page.paragraph(std::to_string(r.frames.size()) + " sampled frames (1 in " + std::to_string(r.every) + "), " +
                 std::to_string(n_faces) + " faces, analysed in " + format_number("%.1f", r.seconds) + " s (" +
                 format_number("%.2f", r.seconds > 0 ? static_cast<double>(r.frames.size()) / r.seconds : 0.0) +
                 " frames/s).");
  if (n_faces == 0) page.paragraph("No faces were found in this video.");
  page.heading("Episode rating");
  page.png(rating, "each character's screen time by emotion");
  const nlohmann::ordered_json ratings = episode_rating(r);
  const std::vector<std::string> emotions = detail::report_emotions(r);
  std::vector<std::string> header{"character", "faces", "seconds"};
  for (const std::string& e : emotions) header.push_back(e);
  std::vector<std::vector<std::string>> rows;
  for (const auto& [character, c] : ratings.items()) {
    std::vector<std::string> row{character, std::to_string(c["faces"].get<std::size_t>()),
                                 format_number("%.1f", c["seconds"].get<double>())};
    for (const std::string& e : emotions)
      row.push_back(std::to_string(c["emotions"][e]["faces"].get<std::size_t>()) + " (" +
                    format_number("%.0f", 100 * c["emotions"][e]["share"].get<double>()) + "%)");
    rows.push_back(row);
  }
  if (!rows.empty()) page.table(header, rows);
  page.heading("Timeline");
  page.png(timeline, "the emotion of each character over the video");
  page.paragraph("Subtitles: subtitles.srt and subtitles.vtt; every face: timeline.json and timeline.csv" +
                 std::string(fs::exists(out / "annotated.mp4") ? "; the sampled frames drawn: annotated.mp4." : "."));
  page.heading("The most probable face of each class");
  page.gallery(faces, "No faces.");
  page.heading("Video");
  page.table({"", "value"}, {{"file", r.video},
                             {"size", std::to_string(r.width) + "x" + std::to_string(r.height)},
                             {"frame rate", format_number("%.3f", r.fps)},
                             {"frames announced", std::to_string(r.frames_announced)},
                             {"complete", r.complete ? "yes" : "no: " + r.error}});
  if (!r.stage_seconds.empty()) {
    std::vector<std::vector<std::string>> stages;
    for (const auto& [stage, seconds] : r.stage_seconds)
      stages.push_back({stage, format_number("%.2f", seconds),
                        format_number("%.0f%%", r.seconds > 0 ? 100 * seconds / r.seconds : 0.0)});
    page.heading("Where the time went");
    page.table({"stage", "seconds", "share of the run"}, stages);
  }
  page.heading("Settings and models");
  std::vector<std::vector<std::string>> settings;
  for (const auto& [key, value] : r.settings.items())
    settings.push_back({key, value.is_string() ? value.get<std::string>() : value.dump()});
  for (const auto& [key, value] : r.models.items())
    settings.push_back({key, value.is_string() ? value.get<std::string>() : value.dump()});
  page.table({"setting", "value"}, settings);
  const std::string html = page.html();
  io::write_file_atomic((out / "report.html").string(), html.data(), html.size(), "analyze");
}

}  // namespace anima::cli
