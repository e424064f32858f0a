// anima/nn/layers.hpp — includes every layer header of anima/nn (each also compiles on its own).
#pragma once

#include <anima/nn/activation.hpp>
#include <anima/nn/batch_norm.hpp>
#include <anima/nn/conv.hpp>
#include <anima/nn/dropout.hpp>
#include <anima/nn/flatten.hpp>
#include <anima/nn/init.hpp>
#include <anima/nn/linear.hpp>
#include <anima/nn/module.hpp>
#include <anima/nn/pool.hpp>
#include <anima/nn/sequential.hpp>
#include <anima/nn/size2.hpp>
