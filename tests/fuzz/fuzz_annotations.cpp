// Fuzz target: VIA and COCO annotation files (anima/data/detection_annotations.hpp), each object's mask
// rasterised or decoded on a 48x64 image as training would (polygons, boxes, RLE).
#include "fuzz_input.hpp"

#include <anima/data/detection_annotations.hpp>

namespace {

void masks_of(const anima::data::DetectionAnnotations& a) {
  for (const auto& im : a.images)
    for (const auto& inst : im.instances)
      anima::fuzz::refused_or_parsed([&] { anima::data::instance_mask(inst, 48, 64, im.file); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  anima::fuzz::with_input_file(data, size, ".json", [](const std::string& path) {
    anima::fuzz::refused_or_parsed([&] { masks_of(anima::data::read_via(path, "images")); });
    anima::fuzz::refused_or_parsed([&] { masks_of(anima::data::read_coco(path, "images")); });
  });
  return 0;
}
