// anima/io/json_reader.hpp — a small, strict JSON reader for the JSON anima reads: safetensors
// headers, weight manifests, VIA and COCO annotation files.
//
// RFC 8259 JSON: objects, arrays, strings (with \uXXXX escapes and surrogate pairs, written out as
// UTF-8), numbers, true/false/null. Strict: no trailing commas, no comments, no control characters
// or malformed UTF-8 inside strings, no duplicate keys in an object, nothing but whitespace after
// the value, nesting at most kMaxDepth deep. Numbers keep their text; `json_as_uint64` converts a
// non-negative integer with an overflow check (so sizes read from a file are bounded before anything is allocated from
// them).
//
// Errors are anima::Error naming the caller's op and source (a file name), the byte offset with its
// line and column, what was expected and what was found:
//   "anima::load_safetensors: model.safetensors: bad JSON at byte 17 (line 1, column 18): expected ':'
//    after an object key, found ','"
// The library stays dependency-free: this is the only JSON code anima needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <anima/core/error.hpp>

namespace anima::io {

struct JsonValue {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  std::string text;              // String: the decoded UTF-8 text; Number: the number as written.
  std::vector<JsonValue> items;  // Array
  std::vector<std::pair<std::string, JsonValue>> members;  // Object, in file order (keys unique)

  bool is_object() const { return kind == Kind::Object; }
  bool is_array() const { return kind == Kind::Array; }
  bool is_string() const { return kind == Kind::String; }
  bool is_number() const { return kind == Kind::Number; }
  const JsonValue* find(const std::string& key) const {
    for (const auto& m : members)
      if (m.first == key) return &m.second;
    return nullptr;
  }
};

inline const char* json_kind_name(JsonValue::Kind k) {
  switch (k) {
    case JsonValue::Kind::Null: return "null";
    case JsonValue::Kind::Bool: return "a boolean";
    case JsonValue::Kind::Number: return "a number";
    case JsonValue::Kind::String: return "a string";
    case JsonValue::Kind::Array: return "an array";
    case JsonValue::Kind::Object: return "an object";
  }
  return "?";
}

namespace detail {

class JsonParser {
 public:
  static constexpr int kMaxDepth = 64;

  JsonParser(const std::string& text, const char* op, const std::string& source) : s_(text), op_(op), source_(source) {}

  JsonValue parse_document() {
    skip_ws();
    JsonValue v = parse_value(0);
    skip_ws();
    if (pos_ != s_.size()) error("the end of the JSON text");
    return v;
  }

 private:
  [[noreturn]] void error(const char* expected) const {
    std::string found;
    if (pos_ >= s_.size()) {
      found = "the end of the text";
    } else {
      const unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c >= 0x20 && c < 0x7f) {
        found = std::string("'") + static_cast<char>(c) + "'";
      } else {
        static const char* hex = "0123456789abcdef";
        found = std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
      }
    }
    fail(op_, source_, ": bad JSON at ", position(), ": expected ", expected, ", found ", found);
  }

  // "byte N (line L, column C)" of the parser's position.
  std::string position() const {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line, column = 1;
      } else {
        ++column;
      }
    }
    return "byte " + std::to_string(pos_) + " (line " + std::to_string(line) + ", column " + std::to_string(column) +
           ")";
  }

  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }

  JsonValue parse_value(int depth) {
    if (depth > kMaxDepth) error("nesting at most 64 deep");
    if (pos_ >= s_.size()) error("a JSON value");
    const char c = s_[pos_];
    JsonValue v;
    if (c == '{') {
      v.kind = JsonValue::Kind::Object;
      ++pos_;
      parse_items('}', "',' or '}' in an object", [&] {
        if (!peek('"')) error("a string key in an object");
        std::string key = parse_string();
        for (const auto& m : v.members)
          if (m.first == key) fail(op_, source_, ": bad JSON at ", position(), ": duplicate key \"", key, "\"");
        skip_ws();
        if (!peek(':')) error("':' after an object key");
        ++pos_;
        skip_ws();
        JsonValue item = parse_value(depth + 1);
        v.members.emplace_back(std::move(key), std::move(item));
      });
      return v;
    }
    if (c == '[') {
      v.kind = JsonValue::Kind::Array;
      ++pos_;
      parse_items(']', "',' or ']' in an array", [&] { v.items.push_back(parse_value(depth + 1)); });
      return v;
    }
    if (c == '"') {
      v.kind = JsonValue::Kind::String;
      v.text = parse_string();
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = JsonValue::Kind::Number;
      v.text = parse_number();
      return v;
    }
    if (literal("true")) {
      v.kind = JsonValue::Kind::Bool;
      v.boolean = true;
      return v;
    }
    if (literal("false")) {
      v.kind = JsonValue::Kind::Bool;
      v.boolean = false;
      return v;
    }
    if (literal("null")) return v;
    error("a JSON value");
  }

  // The items of an array or object, after its opening bracket up to and including `close`: none, or
  // items separated by commas, each read by parse_item() (which starts at the item, whitespace skipped).
  template <class ParseItem>
  void parse_items(char close, const char* separator_or_close, ParseItem parse_item) {
    skip_ws();
    if (peek(close)) {
      ++pos_;
      return;
    }
    for (;;) {
      skip_ws();
      parse_item();
      skip_ws();
      if (peek(',')) {
        ++pos_;
        continue;
      }
      if (peek(close)) {
        ++pos_;
        return;
      }
      error(separator_or_close);
    }
  }

  bool literal(const char* word) {
    const std::string w(word);
    if (s_.compare(pos_, w.size(), w) != 0) return false;
    pos_ += w.size();
    return true;
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  std::string parse_number() {
    const std::size_t start = pos_;
    if (peek('-')) ++pos_;
    if (peek('0')) {
      ++pos_;
    } else if (pos_ < s_.size() && is_digit(s_[pos_])) {
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    } else {
      error("a digit");
    }
    if (peek('.')) {
      ++pos_;
      if (!(pos_ < s_.size() && is_digit(s_[pos_]))) error("a digit after '.'");
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    }
    if (peek('e') || peek('E')) {
      ++pos_;
      if (peek('+') || peek('-')) ++pos_;
      if (!(pos_ < s_.size() && is_digit(s_[pos_]))) error("a digit in the exponent");
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }

  unsigned hex4() {
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      if (pos_ >= s_.size()) error("4 hex digits after \\u");
      const char c = s_[pos_];
      unsigned d;
      if (c >= '0' && c <= '9')
        d = static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        d = static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        d = static_cast<unsigned>(c - 'A' + 10);
      else
        error("4 hex digits after \\u");
      v = v * 16 + d;
      ++pos_;
    }
    return v;
  }

  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // The length of the well-formed UTF-8 sequence starting at `at` (2 to 4 bytes), or 0 when it is
  // malformed: a stray continuation byte, a truncated sequence, an overlong form, a surrogate, or a
  // code point above U+10FFFF (RFC 3629).
  std::size_t utf8_length(std::size_t at) const {
    const unsigned char c = static_cast<unsigned char>(s_[at]);
    std::size_t n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      cp = c & 0x07u;
    } else
      return 0;
    if (at + n > s_.size()) return 0;
    for (std::size_t i = 1; i < n; ++i) {
      const unsigned char cc = static_cast<unsigned char>(s_[at + i]);
      if ((cc & 0xC0u) != 0x80u) return 0;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) error("a closing '\"'");
      const unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) error("no control characters inside a string (escape them)");
      if (c >= 0x80) {  // a multi-byte UTF-8 sequence, copied after checking it is well formed
        const std::size_t n = utf8_length(pos_);
        if (n == 0) error("valid UTF-8");
        out.append(s_, pos_, n);
        pos_ += n;
        continue;
      }
      if (c != '\\') {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= s_.size()) error("an escape character after '\\'");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!(peek('\\') && pos_ + 1 < s_.size() && s_[pos_ + 1] == 'u')) error("a low surrogate \\uDC00-\\uDFFF");
            pos_ += 2;
            const unsigned lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) error("a low surrogate \\uDC00-\\uDFFF");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            error("a high surrogate before a low surrogate");
          }
          put_utf8(out, cp);
          break;
        }
        default: --pos_; error("an escape: one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u");
      }
    }
  }

  const std::string& s_;
  const char* op_;
  const std::string& source_;
  std::size_t pos_ = 0;
};

}  // namespace detail

// Parses `text` as one JSON value; errors name `op` and `source`.
inline JsonValue parse_json(const std::string& text, const char* op, const std::string& source) {
  return detail::JsonParser(text, op, source).parse_document();
}

// The value of a JSON number that must be a non-negative integer no larger than `max`; `what` names
// the field in the error ("data_offsets[1] of tensor \"w\"").
inline std::uint64_t json_as_uint64(const JsonValue& v, std::uint64_t max, const char* op, const std::string& source,
                                    const std::string& what) {
  if (!v.is_number()) fail(op, source, ": ", what, ": expected a non-negative integer, found ", json_kind_name(v.kind));
  const std::string& t = v.text;
  for (char c : t)
    if (c < '0' || c > '9') fail(op, source, ": ", what, ": expected a non-negative integer, found ", t);
  std::uint64_t n = 0;
  for (char c : t) {
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (n > max / 10 || (n == max / 10 && d > max % 10))
      fail(op, source, ": ", what, ": expected at most ", max, ", found ", t);
    n = n * 10 + d;
  }
  return n;
}

// `s` as a JSON string literal (quotes included), escaping '"', '\\' and control characters.
inline std::string json_quote(const std::string& s) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else
      out += ch;
  }
  return out + "\"";
}

}  // namespace anima::io
