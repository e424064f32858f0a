// Registers the CUDA backend in the anima CLI (compiled by nvcc only when ANIMA_CUDA is on).
#include <anima/cuda/backend.cuh>
