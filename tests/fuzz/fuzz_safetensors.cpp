// Fuzz target: safetensors files (anima/io/safetensors.hpp: the length field, the JSON header, dtypes,
// shapes and offsets, the tensors materialised).
#include "fuzz_input.hpp"

#include <anima/io/safetensors.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  anima::fuzz::with_input_file(data, size, ".safetensors",
                               [](const std::string& path) { anima::io::load_safetensors(path); });
  return 0;
}
