// Registers the CUDA backend (runtime + kernels) in anima_cuda_tests.
#include <anima/cuda/backend.cuh>
