// tools/anima/devices_command.hpp — `anima devices`: the backends this program can run on.
//
//   anima devices     cpu: threads and the GEMM micro-kernel; cuda: each device, or why there is none
//
// Asking about CUDA opens the CUDA plugin (tools/anima/cuda_backend.hpp); nothing else does.
#pragma once

#include <cstdio>

#include <CLI/CLI.hpp>

#include <anima/core/dispatch.hpp>
#include <anima/core/error.hpp>
#include <anima/core/thread_pool.hpp>
#include <anima/backends/cpu/matmul.hpp>

namespace anima::cli {

inline int run_devices() {
  std::printf("cpu: %d threads, GEMM micro-kernel %s\n", default_thread_pool().size(), cpu_gemm_isa());
  try {
    DeviceRuntime* runtime = ensure_cuda_backend();
    if (runtime == nullptr) {
      std::printf("cuda: not available (%s)\n", kCudaNotRegistered);
      return 0;
    }
    const int count = runtime->device_count();
    std::printf("cuda: backend loaded, %d device(s)\n", count);
    for (int i = 0; i < count; ++i) std::printf("  cuda:%d\n", i);
  } catch (const Error& e) {
    std::printf("cuda: not available (%s)\n", e.what());
  }
  return 0;
}

// Registers `anima devices`; its exit status goes to `status`.
inline CLI::App* add_devices_command(CLI::App& app, int& status) {
  CLI::App* cmd = app.add_subcommand("devices", "list the devices anima can run on (CPU, and CUDA when built with it)");
  cmd->callback([&status] { status = run_devices(); });
  return cmd;
}

}  // namespace anima::cli
