// Fuzz target: video files through `anima frames` (tools/anima/frames_extract.hpp: OpenCV's
// VideoCapture with FFmpeg, every frame grabbed, the first one decoded and written as PNG). Slow per
// input (FFmpeg probes the container): run it with a file-based corpus of small videos.
#include "fuzz_input.hpp"

#include "anima/frames_extract.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  anima::fuzz::with_input_file(data, size, ".mp4", [](const std::string& path) {
    anima::cli::FramesOptions o;
    o.video = path;
    o.out = path + ".frames";
    o.every = 1000;
    o.format = "png";
    o.quiet = true;
    anima::cli::extract_frames(o);
  });
  return 0;
}
