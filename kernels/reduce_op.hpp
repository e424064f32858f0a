// anima/kernels/reduce_op.hpp — which row reduction a reduce kernel performs (both backends).
#pragma once

namespace anima::kernels {

enum class ReduceOp : int { Sum, Max, Min };

}  // namespace anima::kernels
