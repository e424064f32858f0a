// tools/anima/device_option.hpp — the --device option of the commands that run a net: "cpu", "cuda"
// (device 0) or "cuda:N", checked against the CUDA devices present before any work starts.
#pragma once

#include <algorithm>
#include <string>

#include <anima/core/device.hpp>
#include <anima/core/dispatch.hpp>
#include <anima/core/error.hpp>

namespace anima::cli {

// The device a --device value names; `op` (the command) prefixes the error for anything else.
inline Device parse_device_option(const std::string& s, const char* op) {
  if (s == "cpu") return Device::cpu();
  if (s == "cuda") return Device::cuda(0);
  if (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.size() < 9 &&
      std::all_of(s.begin() + 5, s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return Device::cuda(std::stoi(s.substr(5)));
  fail(op, "unknown device '", s, "' (cpu, cuda or cuda:N)");
}

// Loads the CUDA backend for a CUDA device and checks that the device exists (a clear error instead of
// a failure in the first kernel).
inline void require_device(const Device& device, const char* op) {
  if (!device.is_cuda()) return;
  ensure_cuda_backend();
  const int n = cuda_device_count();
  ANIMA_CHECK(device.index < n, op, "--device ", device.str(), ": ", n, " CUDA device(s) present");
}

}  // namespace anima::cli
