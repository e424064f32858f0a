// anima/nets/maskrcnn/image_list.hpp — what flows between Mask R-CNN's stages: the padded image batch
// with each image's size (torchvision's ImageList), and the training targets of one image.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <anima/core/tensor.hpp>

namespace anima::nets::maskrcnn {

using ImageSize = std::array<std::int64_t, 2>;  // (height, width)

struct ImageList {
  Tensor tensors;                      // [N, 3, H, W], zero-padded to a multiple of the size divisor
  std::vector<ImageSize> image_sizes;  // each image's size inside the batch, before padding
};

// The ground truth of one image, in that image's pixel coordinates.
struct DetectionTarget {
  Tensor boxes;   // [G, 4] float (x1, y1, x2, y2)
  Tensor labels;  // [G] int64 in [1, num_classes)
  Tensor masks;   // [G, H, W] (0/1, any dtype; read as the boxes' dtype), or undefined for box-only training
};

}  // namespace anima::nets::maskrcnn
