// tools/anima/plugin.hpp — the anima tool's plugins: shared objects opened with dlopen when a command
// first needs them, so that `anima --help` and CPU work never load what they do not use.
//
//   libanima_cuda.so    the CUDA backend (cudart, cuBLAS, cuDNN), opened on the first CUDA use
//   libanima_media.so   drawing and video (cairo, OpenCV videoio): synth, frames, analyze, reports
//
// A plugin is searched in $ANIMA_PLUGIN_DIR, beside the executable (the build tree) and in
// ../lib/anima relative to it (an installed tree). The executable exports its symbols (ENABLE_EXPORTS),
// so a plugin shares its dispatch table and allocators instead of having copies of its own.
#pragma once

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <anima/core/error.hpp>

namespace anima::cli {

inline std::vector<std::filesystem::path> plugin_dirs() {
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("ANIMA_PLUGIN_DIR"); env != nullptr && *env != '\0') dirs.emplace_back(env);
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path());
    dirs.push_back(exe.parent_path().parent_path() / "lib" / "anima");
  }
  return dirs;
}

// A plugin opened for the life of the program (never closed: its code may be referenced from the
// dispatch table until exit).
class Plugin {
 public:
  // Opens `file` (e.g. "libanima_media.so") from the first plugin folder that has it; `needed_for`
  // says what asked for it in the error when none does.
  static Plugin open(const std::string& file, const std::string& needed_for) {
    std::string tried;
    for (const auto& dir : plugin_dirs()) {
      const std::filesystem::path path = dir / file;
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) {
        tried += (tried.empty() ? "" : ", ") + dir.string();
        continue;
      }
      void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (handle == nullptr)
        fail("plugin", "cannot load ", path.string(), " (needed for ", needed_for, "): ", dlerror());
      return Plugin(handle, path.string());
    }
    fail("plugin", "cannot find ", file, " (needed for ", needed_for, ") in ", tried.empty() ? "no folder" : tried,
         "; set ANIMA_PLUGIN_DIR to the folder that holds it");
  }

  template <class Fn>
  Fn* symbol(const char* name) const {
    void* address = dlsym(handle_, name);
    ANIMA_CHECK(address != nullptr, "plugin", path_, " has no symbol '", name, "'");
    return reinterpret_cast<Fn*>(address);
  }

  const std::string& path() const { return path_; }

 private:
  Plugin(void* handle, std::string path) : handle_(handle), path_(std::move(path)) {}
  void* handle_ = nullptr;
  std::string path_;
};

}  // namespace anima::cli
