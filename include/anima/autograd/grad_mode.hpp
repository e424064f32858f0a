// anima/autograd/grad_mode.hpp — whether ops record the autograd tape on this thread.
//
//   { NoGradGuard guard; y = model(x); }   // inference: nothing recorded, no saved tensors kept
#pragma once

namespace anima {

class GradMode {
 public:
  static bool is_enabled() { return flag(); }
  static void set_enabled(bool enabled) { flag() = enabled; }

 private:
  static bool& flag() {
    thread_local bool enabled = true;
    return enabled;
  }
};

// Disables recording for the current scope (restores the previous mode on exit).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace anima
