// Fuzz target: the JSON reader every JSON file goes through (anima/io/json_reader.hpp).
#include "fuzz_input.hpp"

#include <anima/io/json_reader.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  anima::fuzz::refused_or_parsed([&] { anima::io::parse_json(text, "fuzz", "input"); });
  return 0;
}
