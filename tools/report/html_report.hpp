// tools/report/html_report.hpp — a self-contained HTML page (no network: pictures inline as data:
// URIs, the style in the page) built section by section: headings, paragraphs, tables, PNG pictures
// and a gallery of image files with captions. Text is escaped; html() returns the page.
#pragma once

#include <cstddef>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace anima::report {

inline std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    const char* entity = c == '&'    ? "&amp;"
                         : c == '<'  ? "&lt;"
                         : c == '>'  ? "&gt;"
                         : c == '"'  ? "&quot;"
                         : c == '\'' ? "&#39;"
                                     : nullptr;
    if (entity != nullptr)
      out += entity;
    else
      out += c;
  }
  return out;
}

// RFC 4648 base64 with padding.
inline std::string base64(const unsigned char* data, std::size_t size) {
  static const char* const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (std::size_t i = 0; i < size; i += 3) {
    const unsigned v = static_cast<unsigned>(data[i]) << 16 |
                       (i + 1 < size ? static_cast<unsigned>(data[i + 1]) << 8 : 0u) |
                       (i + 2 < size ? static_cast<unsigned>(data[i + 2]) : 0u);
    out += digits[(v >> 18) & 63];
    out += digits[(v >> 12) & 63];
    out += i + 1 < size ? digits[(v >> 6) & 63] : '=';
    out += i + 2 < size ? digits[v & 63] : '=';
  }
  return out;
}

// The MIME type browsers show for an image file's extension, or "" for one they may not.
inline std::string image_mime_type(const std::string& path) {
  std::string ext = path.substr(path.find_last_of('.') == std::string::npos ? path.size() : path.find_last_of('.'));
  for (char& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".bmp") return "image/bmp";
  if (ext == ".webp") return "image/webp";
  return "";
}

struct GalleryItem {
  std::string path;     // an image file, embedded when the browser can show it and it is small enough
  std::string caption;  // plain text
};

class HtmlReport {
 public:
  explicit HtmlReport(const std::string& title) : title_(title) {}

  void heading(const std::string& text) { body_ += "<h2>" + html_escape(text) + "</h2>\n"; }
  void paragraph(const std::string& text) { body_ += "<p>" + html_escape(text) + "</p>\n"; }

  // A table; the first column is a row header.
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    body_ += "<table>\n<tr>";
    for (const auto& h : header) body_ += "<th>" + html_escape(h) + "</th>";
    body_ += "</tr>\n";
    for (const auto& row : rows) {
      body_ += "<tr>";
      for (std::size_t i = 0; i < row.size(); ++i)
        body_ += (i == 0 ? "<th>" : "<td>") + html_escape(row[i]) + (i == 0 ? "</th>" : "</td>");
      body_ += "</tr>\n";
    }
    body_ += "</table>\n";
  }

  void png(const std::vector<unsigned char>& bytes, const std::string& alt) {
    body_ += "<figure><img alt=\"" + html_escape(alt) + "\" src=\"data:image/png;base64," +
             base64(bytes.data(), bytes.size()) + "\"></figure>\n";
  }

  // Image files side by side with their captions; a file a browser cannot show, or larger than
  // max_bytes, is listed by name only. No items: the paragraph `if_empty`.
  void gallery(const std::vector<GalleryItem>& items, const std::string& if_empty = "None.",
               std::size_t max_bytes = 2u << 20) {
    if (items.empty()) return paragraph(if_empty);
    body_ += "<div class=\"gallery\">\n";
    for (const GalleryItem& item : items) {
      body_ += "<figure>";
      const std::string mime = image_mime_type(item.path);
      std::ifstream in(item.path, std::ios::binary);
      const std::vector<unsigned char> bytes(
          mime.empty() ? std::istreambuf_iterator<char>() : std::istreambuf_iterator<char>(in),
          std::istreambuf_iterator<char>());
      if (!bytes.empty() && bytes.size() <= max_bytes)
        body_ += "<img alt=\"" + html_escape(item.path) + "\" src=\"data:" + mime + ";base64," +
                 base64(bytes.data(), bytes.size()) + "\">";
      body_ += "<figcaption>" + html_escape(item.caption) + "<br><small>" + html_escape(item.path) +
               "</small></figcaption></figure>\n";
    }
    body_ += "</div>\n";
  }

  std::string html() const {
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + html_escape(title_) +
           "</title>\n<style>\n"
           "body{font-family:sans-serif;margin:2em auto;max-width:70em;color:#222}\n"
           "table{border-collapse:collapse;margin:1em 0;display:block;max-width:100%;overflow-x:auto}th,td{border:1px solid #ccc;padding:.3em .7em;"
           "text-align:right}th{background:#f4f4f4}tr th:first-child{text-align:left}\n"
           "figure{display:inline-block;margin:.5em;vertical-align:top}img{max-width:100%}\n"
           ".gallery figure{width:10em}.gallery img{width:10em;height:10em;object-fit:contain;background:#eee}\n"
           "figcaption{font-size:.85em;word-break:break-all}\n"
           "</style>\n</head>\n<body>\n<h1>" +
           html_escape(title_) + "</h1>\n" + body_ + "</body>\n</html>\n";
  }

 private:
  std::string title_;
  std::string body_;
};

}  // namespace anima::report
