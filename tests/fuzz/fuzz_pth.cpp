// Fuzz target: PyTorch checkpoints (anima/io/pth.hpp): the zip container (zip64, data descriptors),
// the legacy format, the pickle machine and the state-dict it rebuilds.
#include "fuzz_input.hpp"

#include <anima/io/weights_file.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  anima::fuzz::with_input_file(data, size, ".pth", [](const std::string& path) { anima::io::load_weights(path); });
  return 0;
}
