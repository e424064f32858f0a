// anima/autograd/node.hpp — the dynamic tape: one Node per recorded op output.
//
// When an op runs with grad mode on and any input requires grad, it calls record(): the output gets
// a Node holding (a) one Edge per input — to the input's own Node, or to the input itself when it
// is a leaf that requires grad — and (b) the op's backward rule, a closure that maps the gradient
// of the output, dL/dy, to the gradients of the inputs, dL/dx_i (undefined where not needed).
// Tensors a rule needs are captured by the closure ("saved"); an op that saves its own output
// captures detach(output) so that the output does not own a Node that owns the output (a cycle).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/core/tensor.hpp>

namespace anima {

struct Edge {
  std::shared_ptr<Node> node;        // non-leaf input: continue into its node
  std::shared_ptr<TensorImpl> leaf;  // leaf input that requires grad: accumulate into leaf->grad
  bool active() const { return node != nullptr || leaf != nullptr; }
};

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string name;         // the op, for error messages and debugging
  std::vector<Edge> edges;  // one per op input, in order
  BackwardFn backward;      // grad_output -> one gradient per input
  Shape output_shape;       // the gradient fed in must have this shape
  DType output_dtype = DType::Float32;
  Device output_device;

  // Whether input i needs a gradient (rules may skip work for the others).
  bool needs_grad(std::size_t i) const { return i < edges.size() && edges[i].active(); }
};

// A tensor sharing t's data but outside the tape: no grad_fn, requires_grad false.
inline Tensor detach(const Tensor& t) {
  return Tensor::view_of(t.storage(), t.dtype(), t.shape(), t.strides(), t.offset());
}

inline bool any_requires_grad(const std::vector<Tensor>& inputs) {
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

// Attaches a backward rule to `output` when grad mode is on and an input requires grad.
inline void record(const char* name, Tensor& output, const std::vector<Tensor>& inputs, BackwardFn backward) {
  if (!GradMode::is_enabled() || !any_requires_grad(inputs)) return;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->backward = std::move(backward);
  node->output_shape = output.shape();
  node->output_dtype = output.dtype();
  node->output_device = output.device();
  node->edges.reserve(inputs.size());
  for (const auto& in : inputs) {
    Edge e;
    if (in.defined() && in.requires_grad()) {
      if (in.grad_fn())
        e.node = in.grad_fn();
      else
        e.leaf = in.impl_ptr();
    }
    node->edges.push_back(std::move(e));
  }
  output.impl()->grad_fn = std::move(node);
  output.impl()->requires_grad = true;
}

}  // namespace anima
