// anima/core/error.hpp — the one exception type of the library and the argument-check macro.
//
// Library code never exits or aborts: it throws anima::Error, whose message names the op (or file)
// and what was expected versus what was found, e.g.
//   "anima::matmul: inner dimensions differ: a is [2, 3], b is [4, 5] (expected a.shape[-1] == b.shape[-2])"
// Only the CLI turns an Error into an exit code.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace anima {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
inline void append_all(std::ostringstream&) {}
template <class First, class... Rest>
void append_all(std::ostringstream& os, First&& first, Rest&&... rest) {
  os << std::forward<First>(first);
  append_all(os, std::forward<Rest>(rest)...);
}
}  // namespace detail

// Concatenates any streamable values into one string.
template <class... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream os;
  detail::append_all(os, std::forward<Args>(args)...);
  return os.str();
}

// Throws Error("anima::<op>: <message parts...>").
template <class... Args>
[[noreturn]] void fail(const char* op, Args&&... args) {
  throw Error(str_cat("anima::", op, ": ", std::forward<Args>(args)...));
}

}  // namespace anima

// ANIMA_CHECK(cond, "op_name", message parts...): throws anima::Error naming the op when cond is false.
#define ANIMA_CHECK(cond, op, ...)               \
  do {                                           \
    if (!(cond)) ::anima::fail(op, __VA_ARGS__); \
  } while (0)
