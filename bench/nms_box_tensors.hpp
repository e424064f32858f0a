// bench/nms_box_tensors.hpp — the boxes and scores of bench/nms_boxes.hpp as the tensors the NMS op
// benchmarks (bench/nms_bench.cpp, bench/cuda_nms_bench.cu) pass to anima::nms: boxes [n, 4] and
// scores [n], float32, on the given device.
#pragma once

#include <cstdint>
#include <vector>

#include <anima/ops/factory.hpp>

#include "nms_boxes.hpp"

namespace anima::bench {

struct NmsBoxTensors {
  Tensor boxes, scores;
};

inline NmsBoxTensors nms_bench_box_tensors(std::int64_t n, Device device) {
  std::vector<float> b, s;
  nms_bench_boxes(n, b, s);
  return {from_vector(b, {n, 4}, device), from_vector(s, {n}, device)};
}

}  // namespace anima::bench
