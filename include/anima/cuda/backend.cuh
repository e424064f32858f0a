// anima/cuda/backend.cuh — the CUDA backend: include this from exactly one .cu file of a program
// (compiled by nvcc) to register the CUDA runtime and every CUDA kernel with anima's dispatch table
// (anima/core/dispatch.hpp). Including it from several .cu files is harmless (the registrations are
// inline variables: one instance per program).
#pragma once

#include <anima/cuda/activation.cuh>
#include <anima/cuda/batch_norm.cuh>
#include <anima/cuda/conv.cuh>
#include <anima/cuda/copy.cuh>
#include <anima/cuda/elementwise.cuh>
#include <anima/cuda/factory.cuh>
#include <anima/cuda/gemm.cuh>
#include <anima/cuda/index_rows.cuh>
#include <anima/cuda/interpolate.cuh>
#include <anima/cuda/nms.cuh>
#include <anima/cuda/paste_masks.cuh>
#include <anima/cuda/pool.cuh>
#include <anima/cuda/reduce.cuh>
#include <anima/cuda/roi_align.cuh>
#include <anima/cuda/runtime.cuh>
#include <anima/cuda/softmax.cuh>
