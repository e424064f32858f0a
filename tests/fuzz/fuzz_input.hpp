// tests/fuzz/fuzz_input.hpp — what the fuzz targets share. Each target defines the libFuzzer entry
// LLVMFuzzerTestOneInput and feeds the input to one of anima's parsers; an anima::Error is the parser
// refusing the input as it should, anything else (a crash, a sanitizer report, another exception, a
// leak) is a bug. Built two ways (tests/fuzz/CMakeLists.txt): with clang's -fsanitize=fuzzer as a
// fuzzer (tools/fuzz.sh), and with replay_main.cpp as a program that runs the committed corpus once
// (ctest fuzz_replay_<target>).
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include <anima/core/error.hpp>

namespace anima::fuzz {

// Runs fn() and swallows the anima::Error by which a parser refuses bad input.
template <typename Fn>
void refused_or_parsed(Fn&& fn) {
  try {
    fn();
  } catch (const Error&) {
  }
}

// The readers under test take file names: the input goes to a file of this process (in /dev/shm when
// there is one, a RAM disk, else the temporary folder) with the extension `ext`, which fn(path) reads.
template <typename Fn>
void with_input_file(const std::uint8_t* data, std::size_t size, const char* ext, Fn&& fn) {
  static const std::filesystem::path dir = std::filesystem::is_directory("/dev/shm")
                                               ? std::filesystem::path("/dev/shm")
                                               : std::filesystem::temp_directory_path();
  const std::string path = (dir / ("anima_fuzz_" + std::to_string(::getpid()) + ext)).string();
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    if (size > 0) std::fwrite(data, 1, size, f);
    std::fclose(f);
  } else {
    std::perror(path.c_str());
    return;
  }
  refused_or_parsed([&] { fn(path); });
}

}  // namespace anima::fuzz
