// bench/tensor_on_device.hpp — a benchmark input, drawn on the host, on the device the benchmark
// runs on: the tensor itself for the CPU, a copy for a GPU.
#pragma once

#include <anima/core/copy.hpp>
#include <anima/core/tensor.hpp>

namespace anima::bench {

inline Tensor on_device(const Tensor& t, Device device) { return device.is_cpu() ? t : device_copy(t, device); }

}  // namespace anima::bench
