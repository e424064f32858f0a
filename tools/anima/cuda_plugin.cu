// tools/anima/cuda_plugin.cu — libanima_cuda.so: the CUDA backend of the anima tool, opened on the
// first CUDA use (tools/anima/cuda_backend.hpp), so that CPU work never loads cudart, cuBLAS or cuDNN.
#include <anima/backends/cuda/backend.cuh>

extern "C" void anima_cuda_plugin_register() { anima::cuda::register_backend(); }
