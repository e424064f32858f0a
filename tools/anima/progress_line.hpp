// tools/anima/progress_line.hpp — progress of long work on stderr: on a terminal one live line
// rewritten in place (at most 10 times a second), e.g.
//   eval  120/480 images  25%  38.2 images/s  ETA 9s
// and when stderr is a file or a pipe plain lines instead, one per 10% (or every 10 s, whichever
// comes first), so logs stay readable. Nothing at all when quiet.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>
#include <utility>

namespace anima::cli {

class ProgressLine {
 public:
  ProgressLine(std::string what, std::size_t total, std::string unit, bool quiet)
      : what_(std::move(what)),
        unit_(std::move(unit)),
        total_(total),
        quiet_(quiet),
        live_(isatty(fileno(stderr)) != 0),
        start_(Clock::now()),
        last_(start_) {}

  ~ProgressLine() {
    if (live_ && printed_) std::fputc('\n', stderr);
  }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // `done` of the total are finished; `detail` (e.g. "loss 0.42") is appended to the line.
  void update(std::size_t done, const std::string& detail = "") {
    if (quiet_) return;
    const auto now = Clock::now();
    const double since_last = seconds(last_, now);
    const bool last = done >= total_;
    if (live_) {
      if (!last && printed_ && since_last < 0.1) return;
    } else {
      const std::size_t step = total_ >= 10 ? total_ / 10 : 1;
      const bool decile = done / step != reported_ / step;
      if (!last && !decile && since_last < 10.0) return;
      if (last && reported_ == done && printed_) return;
    }
    last_ = now;
    reported_ = done;
    printed_ = true;
    const double elapsed = seconds(start_, now);
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
    const int percent =
        total_ > 0 ? static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total_)) : 100;
    char eta[32] = "";
    if (!last && rate > 0) std::snprintf(eta, sizeof eta, "  ETA %.0fs", static_cast<double>(total_ - done) / rate);
    std::fprintf(stderr, "%s%s  %zu/%zu %s  %d%%  %.1f %s/s%s%s%s%s", live_ ? "\r" : "", what_.c_str(), done, total_,
                 unit_.c_str(), percent, rate, unit_.c_str(), eta, detail.empty() ? "" : "  ", detail.c_str(),
                 live_ ? "\033[K" : "\n");
    std::fflush(stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double seconds(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  }

  std::string what_, unit_;
  std::size_t total_;
  bool quiet_, live_;
  Clock::time_point start_, last_;
  std::size_t reported_ = 0;
  bool printed_ = false;
};

}  // namespace anima::cli
