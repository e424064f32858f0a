// tools/anima/cuda_backend.hpp — the anima tool's CUDA backend: a loader (anima::set_cuda_backend_loader)
// that opens libanima_cuda.so (tools/anima/cuda_plugin.cu) on the first CUDA use.
#pragma once

#include <anima/core/dispatch.hpp>

#include "plugin.hpp"

namespace anima::cli {

inline void load_cuda_plugin() {
  const Plugin plugin =
      Plugin::open("libanima_cuda.so", "CUDA; it is built when anima is configured with its CUDA backend");
  plugin.symbol<void()>("anima_cuda_plugin_register")();
}

inline void use_cuda_plugin() { set_cuda_backend_loader(&load_cuda_plugin); }

}  // namespace anima::cli
