// anima/io/pickle.hpp — the subset of Python's pickle format that a PyTorch state_dict is written in.
//
// A pickle is a program for a stack machine (Lib/pickletools.py documents every opcode). This reader
// runs the opcodes torch.save emits for a state_dict (protocols 2-5, and Python 2's string opcodes
// that old checkpoints contain) and builds a graph of Values; what a class or a persistent id means is
// left to the caller's Hooks (pth.hpp), so nothing is ever executed:
//   PROTO FRAME STOP MARK POP POP_MARK DUP | NONE NEWTRUE NEWFALSE BININT BININT1 BININT2 LONG1 LONG4
//   BINFLOAT | BINUNICODE SHORT_BINUNICODE BINUNICODE8 BINSTRING SHORT_BINSTRING BINBYTES
//   SHORT_BINBYTES | EMPTY_TUPLE TUPLE TUPLE1 TUPLE2 TUPLE3 EMPTY_LIST APPEND APPENDS LIST EMPTY_DICT
//   DICT SETITEM SETITEMS | BINPUT LONG_BINPUT MEMOIZE BINGET LONG_BINGET | GLOBAL STACK_GLOBAL REDUCE
//   BUILD NEWOBJ BINPERSID
// Any other opcode is an anima::Error naming it in hex and its byte offset.
//
// Safety on hostile bytes: every length is checked against the bytes left before anything is
// allocated; the memo is a map (an index read from the file never sizes a vector); stack and mark
// underflows, wrong operand kinds, and missing memo entries are errors. Values live in an arena owned
// by the Unpickler and refer to each other by pointer, so a pickle that builds a cycle (a list that
// contains itself) neither leaks nor recurses; callers that walk the graph bound their depth.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <anima/core/error.hpp>

namespace anima::io::pickle {

struct Value {
  enum class Kind { None, Bool, Int, BigInt, Float, String, Bytes, Tuple, List, Dict, Global, Object };
  Kind kind = Kind::None;
  bool boolean = false;
  std::int64_t integer = 0;   // Int
  double real = 0;            // Float
  std::string text;           // String (UTF-8 or Python 2 str), Bytes, BigInt (little-endian two's complement)
  std::string module, name;   // Global
  std::vector<Value*> items;  // Tuple, List
  std::vector<std::pair<Value*, Value*>> entries;  // Dict, in insertion order
  int tag = 0;                                     // Object: what the hooks made (their own numbering)
  std::int64_t handle = 0;                         // Object: an index into the hooks' tables

  bool is(Kind k) const { return kind == k; }
  bool is_dict() const { return kind == Kind::Dict; }
  bool is_string() const { return kind == Kind::String; }
  bool is_int() const { return kind == Kind::Int; }
  bool is_tuple() const { return kind == Kind::Tuple; }
  bool is_sequence() const { return kind == Kind::Tuple || kind == Kind::List; }
  // Dict lookup by string key (linear: state_dict pickles hold a few hundred entries).
  Value* get(const std::string& key) const {
    for (const auto& e : entries)
      if (e.first->is_string() && e.first->text == key) return e.second;
    return nullptr;
  }
};

inline const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return "a bool";
    case Value::Kind::Int: return "an int";
    case Value::Kind::BigInt: return "a big int";
    case Value::Kind::Float: return "a float";
    case Value::Kind::String: return "a str";
    case Value::Kind::Bytes: return "bytes";
    case Value::Kind::Tuple: return "a tuple";
    case Value::Kind::List: return "a list";
    case Value::Kind::Dict: return "a dict";
    case Value::Kind::Global: return "a class";
    case Value::Kind::Object: return "an object";
  }
  return "?";
}

// Where the pickle bytes come from: a buffer, or a stretch of a file (the legacy .pth format is
// several pickles back to back followed by raw data).
class Source {
 public:
  virtual ~Source() = default;
  virtual std::uint64_t position() const = 0;
  virtual std::uint64_t remaining() const = 0;
  // Reads exactly n bytes; callers check n <= remaining() first.
  virtual void read(unsigned char* dst, std::uint64_t n) = 0;
};

class BufferSource : public Source {
 public:
  BufferSource(const unsigned char* data, std::uint64_t size) : data_(data), size_(size) {}
  std::uint64_t position() const override { return pos_; }
  std::uint64_t remaining() const override { return size_ - pos_; }
  void read(unsigned char* dst, std::uint64_t n) override {
    if (n > 0) std::memcpy(dst, data_ + pos_, static_cast<std::size_t>(n));
    pos_ += n;
  }

 private:
  const unsigned char* data_;
  std::uint64_t size_;
  std::uint64_t pos_ = 0;
};

class Unpickler;

// What classes, reductions and persistent ids mean. Each returns a Value made with Unpickler::make
// or throws (through Unpickler::error) for anything it does not support.
class Hooks {
 public:
  virtual ~Hooks() = default;
  virtual Value* find_class(Unpickler& u, const std::string& module, const std::string& name) = 0;
  virtual Value* reduce(Unpickler& u, Value* callable, Value* args) = 0;
  virtual Value* persistent_load(Unpickler& u, Value* pid) = 0;
  virtual void build(Unpickler& u, Value* object, Value* state) = 0;
};

class Unpickler {
 public:
  // `op` and `where` (the file, and the entry inside it) prefix every error message.
  Unpickler(Hooks& hooks, const char* op, std::string where) : hooks_(hooks), op_(op), where_(std::move(where)) {}

  // A bound on the values one Unpickler makes: a state_dict pickle makes a few per tensor (ResNet-50:
  // about 5,000); a hostile stream of 1-byte ops must not grow the arena without end.
  static constexpr std::size_t kMaxValues = std::size_t{1} << 22;

  Value* make(Value::Kind k) {
    if (arena_.size() >= kMaxValues) error("more than ", kMaxValues, " values; not a state_dict");
    arena_.emplace_back();
    arena_.back().kind = k;
    return &arena_.back();
  }

  template <class... Args>
  [[noreturn]] void error(Args&&... args) const {
    fail(op_, where_, ": pickle byte ", op_pos_, ": ", std::forward<Args>(args)...);
  }

  // Runs one pickle from `src` up to and including its STOP; returns the value it leaves.
  // Values stay valid as long as this Unpickler lives (several load calls share the arena).
  Value* load(Source& src) {
    src_ = &src;
    stack_.clear();
    marks_.clear();
    memo_.clear();
    for (;;) {
      op_pos_ = src.position();
      const unsigned char code = byte();
      switch (code) {
        case 0x80: {  // PROTO n
          const unsigned char proto = byte();
          if (proto < 2 || proto > 5)
            error("unsupported pickle protocol ", static_cast<int>(proto), " (expected 2 to 5)");
          break;
        }
        case 0x95: skip(8); break;  // FRAME: an 8-byte frame length; frames are transparent here
        case '.': {                 // STOP
          if (stack_.empty()) error("STOP with an empty stack");
          Value* v = stack_.back();
          stack_.clear();
          return v;
        }
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case '0': pop(); break;                            // POP
        case '1': pop_mark(); break;                       // POP_MARK
        case '2': push(top()); break;                      // DUP
        case 'N': push(make(Value::Kind::None)); break;
        case 0x88:
        case 0x89: {  // NEWTRUE, NEWFALSE
          Value* v = make(Value::Kind::Bool);
          v->boolean = code == 0x88;
          push(v);
          break;
        }
        case 'J': push_int(static_cast<std::int32_t>(uint_le(4))); break;  // BININT (signed)
        case 'K': push_int(static_cast<std::int64_t>(uint_le(1))); break;  // BININT1
        case 'M': push_int(static_cast<std::int64_t>(uint_le(2))); break;  // BININT2
        case 0x8a: push_long(uint_le(1)); break;                           // LONG1
        case 0x8b: {                                                       // LONG4
          const std::uint64_t n = uint_le(4);
          if (n & 0x80000000u) error("LONG4 with a negative length");
          push_long(n);
          break;
        }
        case 'G': {  // BINFLOAT: big-endian IEEE double
          unsigned char b[8];
          bytes(b, 8);
          std::uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | b[i];
          Value* v = make(Value::Kind::Float);
          std::memcpy(&v->real, &bits, 8);
          push(v);
          break;
        }
        case 'X': push_text(Value::Kind::String, uint_le(4)); break;   // BINUNICODE
        case 0x8c: push_text(Value::Kind::String, uint_le(1)); break;  // SHORT_BINUNICODE
        case 0x8d: push_text(Value::Kind::String, uint_le(8)); break;  // BINUNICODE8
        case 'T': {                                                    // BINSTRING (Python 2 str)
          const std::uint64_t n = uint_le(4);
          if (n & 0x80000000u) error("BINSTRING with a negative length");
          push_text(Value::Kind::String, n);
          break;
        }
        case 'U': push_text(Value::Kind::String, uint_le(1)); break;  // SHORT_BINSTRING (Python 2 str)
        case 'B': push_text(Value::Kind::Bytes, uint_le(4)); break;   // BINBYTES
        case 'C': push_text(Value::Kind::Bytes, uint_le(1)); break;   // SHORT_BINBYTES
        case ')': push(make(Value::Kind::Tuple)); break;              // EMPTY_TUPLE
        case 't': push_marked_items(Value::Kind::Tuple); break;       // TUPLE
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1, TUPLE2, TUPLE3
          const std::size_t n = static_cast<std::size_t>(code - 0x84);
          if (stack_.size() < n + floor()) error("TUPLE", n, " needs ", n, " items on the stack");
          Value* v = make(Value::Kind::Tuple);
          v->items.assign(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
          stack_.resize(stack_.size() - n);
          push(v);
          break;
        }
        case ']': push(make(Value::Kind::List)); break;         // EMPTY_LIST
        case 'l': push_marked_items(Value::Kind::List); break;  // LIST
        case 'a': {                                             // APPEND
          Value* x = pop();
          expect(top(), Value::Kind::List, "APPEND")->items.push_back(x);
          break;
        }
        case 'e': {  // APPENDS
          std::vector<Value*> xs = pop_mark();
          Value* list = expect(top(), Value::Kind::List, "APPENDS");
          list->items.insert(list->items.end(), xs.begin(), xs.end());
          break;
        }
        case '}': push(make(Value::Kind::Dict)); break;  // EMPTY_DICT
        case 'd': {                                      // DICT
          std::vector<Value*> kv = pop_mark();
          Value* d = make(Value::Kind::Dict);
          set_items(d, kv, "DICT");
          push(d);
          break;
        }
        case 's': {  // SETITEM
          Value* v = pop();
          Value* k = pop();
          expect(top(), Value::Kind::Dict, "SETITEM")->entries.emplace_back(k, v);
          break;
        }
        case 'u': {  // SETITEMS
          std::vector<Value*> kv = pop_mark();
          set_items(expect(top(), Value::Kind::Dict, "SETITEMS"), kv, "SETITEMS");
          break;
        }
        case 'q': memo_[static_cast<std::uint32_t>(uint_le(1))] = top(); break;  // BINPUT
        case 'r': memo_[static_cast<std::uint32_t>(uint_le(4))] = top(); break;  // LONG_BINPUT
        case 0x94: {                                                             // MEMOIZE
          Value* v = top();
          memo_[static_cast<std::uint32_t>(memo_.size())] = v;
          break;
        }
        case 'h': push(memo_get(static_cast<std::uint32_t>(uint_le(1)))); break;  // BINGET
        case 'j': push(memo_get(static_cast<std::uint32_t>(uint_le(4)))); break;  // LONG_BINGET
        case 'c': {                                                               // GLOBAL "module\nname\n"
          const std::string module = line();
          const std::string name = line();
          push(hooks_.find_class(*this, module, name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          Value* name = pop();
          Value* module = pop();
          if (!module->is_string() || !name->is_string()) error("STACK_GLOBAL expects two strings on the stack");
          push(hooks_.find_class(*this, module->text, name->text));
          break;
        }
        case 'R': {  // REDUCE: callable(*args)
          Value* args = pop();
          Value* callable = pop();
          if (!args->is_tuple()) error("REDUCE expects an argument tuple, found ", kind_name(args->kind));
          push(hooks_.reduce(*this, callable, args));
          break;
        }
        case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
          Value* args = pop();
          Value* cls = pop();
          if (!args->is_tuple()) error("NEWOBJ expects an argument tuple, found ", kind_name(args->kind));
          push(hooks_.reduce(*this, cls, args));
          break;
        }
        case 'b': {  // BUILD: obj.__setstate__(state)
          Value* state = pop();
          hooks_.build(*this, top(), state);
          break;
        }
        case 'Q': {  // BINPERSID
          Value* pid = pop();
          push(hooks_.persistent_load(*this, pid));
          break;
        }
        default:
          error("unsupported pickle opcode 0x", hex2(code), describe(code),
                " (anima reads the subset of pickle that torch.save writes for a state_dict)");
      }
    }
  }

 private:
  static std::string hex2(unsigned char c) {
    static const char digits[] = "0123456789abcdef";
    return std::string{digits[c >> 4], digits[c & 0xF]};
  }
  static std::string describe(unsigned char c) {
    if (c >= 0x20 && c < 0x7f) return std::string(" ('") + static_cast<char>(c) + "')";
    return "";
  }

  unsigned char byte() {
    unsigned char c;
    bytes(&c, 1);
    return c;
  }
  void bytes(unsigned char* dst, std::uint64_t n) {
    if (n > src_->remaining())
      error("truncated: expected ", n, " more bytes, ", src_->remaining(), " left (the pickle ends without STOP)");
    src_->read(dst, n);
  }
  void skip(std::uint64_t n) {
    unsigned char buf[8];
    while (n > 0) {
      const std::uint64_t k = n < 8 ? n : 8;
      bytes(buf, k);
      n -= k;
    }
  }
  std::uint64_t uint_le(int n) {
    unsigned char b[8];
    bytes(b, static_cast<std::uint64_t>(n));
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[i];
    return v;
  }
  // GLOBAL operands: printable text up to '\n', at most 256 bytes.
  std::string line() {
    std::string s;
    for (;;) {
      const unsigned char c = byte();
      if (c == '\n') return s;
      if (c < 0x20 || c >= 0x7f) error("GLOBAL: expected a printable module or class name");
      if (s.size() >= 256) error("GLOBAL: a module or class name longer than 256 bytes");
      s += static_cast<char>(c);
    }
  }

  void push(Value* v) { stack_.push_back(v); }
  void push_int(std::int64_t i) {
    Value* v = make(Value::Kind::Int);
    v->integer = i;
    push(v);
  }
  // LONG1/LONG4: n bytes, little-endian two's complement. Up to 8 bytes become an Int.
  void push_long(std::uint64_t n) {
    if (n > src_->remaining()) error("truncated: a long of ", n, " bytes, ", src_->remaining(), " left");
    std::string b(static_cast<std::size_t>(n), '\0');
    if (n > 0) bytes(reinterpret_cast<unsigned char*>(&b[0]), n);
    if (n <= 8) {
      std::uint64_t u = 0;
      for (std::size_t i = b.size(); i-- > 0;) u = (u << 8) | static_cast<unsigned char>(b[i]);
      if (n > 0 && n < 8 && (static_cast<unsigned char>(b.back()) & 0x80)) u |= ~std::uint64_t{0} << (8 * n);  // sign
      std::int64_t i;
      std::memcpy(&i, &u, 8);
      push_int(i);
    } else {
      Value* v = make(Value::Kind::BigInt);
      v->text = std::move(b);
      push(v);
    }
  }
  void push_text(Value::Kind k, std::uint64_t n) {
    if (n > src_->remaining()) error("truncated: a string of ", n, " bytes, ", src_->remaining(), " left");
    Value* v = make(k);
    v->text.resize(static_cast<std::size_t>(n));
    if (n > 0) bytes(reinterpret_cast<unsigned char*>(&v->text[0]), n);
    push(v);
  }

  // The stack below the innermost mark is not visible to ops that pop.
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  Value* pop() {
    if (stack_.size() <= floor()) error("stack underflow");
    Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value* top() {
    if (stack_.size() <= floor()) error("stack underflow");
    return stack_.back();
  }
  std::vector<Value*> pop_mark() {
    if (marks_.empty()) error("no MARK on the stack");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Value*> out(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return out;
  }
  // TUPLE, LIST: a new sequence of kind k holding the items above the innermost mark, replacing them.
  void push_marked_items(Value::Kind k) {
    Value* v = make(k);
    v->items = pop_mark();
    push(v);
  }
  Value* expect(Value* v, Value::Kind k, const char* opname) {
    if (v->kind != k) error(opname, " expects ", kind_name(k), " on the stack, found ", kind_name(v->kind));
    return v;
  }
  void set_items(Value* d, const std::vector<Value*>& kv, const char* opname) {
    if (kv.size() % 2 != 0) error(opname, " expects key/value pairs, found an odd number of items (", kv.size(), ")");
    for (std::size_t i = 0; i < kv.size(); i += 2) d->entries.emplace_back(kv[i], kv[i + 1]);
  }
  Value* memo_get(std::uint32_t i) {
    auto it = memo_.find(i);
    if (it == memo_.end()) error("memo entry ", i, " is used before it is stored");
    return it->second;
  }

  Hooks& hooks_;
  const char* op_;
  std::string where_;
  Source* src_ = nullptr;
  std::uint64_t op_pos_ = 0;
  std::deque<Value> arena_;  // deque: pointers stay valid as it grows
  std::vector<Value*> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint32_t, Value*> memo_;
};

}  // namespace anima::io::pickle
