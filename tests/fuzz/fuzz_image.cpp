// Fuzz target: image files through the loader every anima command uses (tools/anima/image_file.hpp:
// the size check, the JPEG end check, stb_image's decoders).
#include "fuzz_input.hpp"

#include "anima/image_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  anima::fuzz::with_input_file(data, size, ".img", [](const std::string& path) { anima::cli::load_rgb(path, "fuzz"); });
  return 0;
}
