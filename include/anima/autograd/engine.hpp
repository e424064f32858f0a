// anima/autograd/engine.hpp — backward(): runs the tape in reverse topological order.
//
// backward(y, g) computes dL/dx for every leaf x that requires grad and that y depends on, where L
// is y when y has one element (g defaults to 1) or <y, g> otherwise, and ADDS it to x.grad()
// (accumulation across calls, as PyTorch; clear with zero_grad()). Each node runs once, after all
// the nodes that feed gradient into it (dependency counts), with the sum of those gradients.
// Backward rules run under NoGradGuard (no higher-order gradients). The graph is kept, so calling
// backward twice accumulates twice.
#pragma once

#include <unordered_map>
#include <vector>

#include <anima/autograd/grad_mode.hpp>
#include <anima/autograd/node.hpp>
#include <anima/core/copy.hpp>
#include <anima/core/tensor.hpp>
#include <anima/backends/cpu/elementwise.hpp>
#include <anima/backends/cpu/factory.hpp>

namespace anima {

namespace detail {

inline void check_grad_matches(const char* where, const std::string& name, const Tensor& g, const Shape& shape,
                               DType dtype, Device device) {
  ANIMA_CHECK(g.shape() == shape, "backward", "the gradient of ", where, " '", name, "' has shape ",
              shape_str(g.shape()), ", expected ", shape_str(shape));
  ANIMA_CHECK(g.dtype() == dtype && g.device() == device, "backward", "the gradient of ", where, " '", name, "' is ",
              dtype_name(g.dtype()), " on ", g.device().str(), ", expected ", dtype_name(dtype), " on ", device.str());
}

// a + b for two gradients of the same shape, dtype and device (a new contiguous tensor).
inline Tensor add_gradients(const Tensor& a, const Tensor& b) {
  ANIMA_CHECK(a.dtype() == b.dtype() && a.device() == b.device(), "backward", "gradients to add are ",
              dtype_name(a.dtype()), " on ", a.device().str(), " and ", dtype_name(b.dtype()), " on ",
              b.device().str());
  Tensor y = Tensor::empty(a.shape(), TensorOptions(a.dtype()).with_device(a.device()));
  if (y.numel() > 0)
    kernel_for<BinaryKernel>(a.device())(a.dtype(), kernels::BinaryOp::Add, a.raw_data(), a.layout(), b.raw_data(),
                                         b.layout_as(a.shape()), y.raw_data(), y.numel());
  return y;
}

inline Tensor accumulate(const Tensor& sum, const Tensor& g) {
  if (!sum.defined()) return g;
  return add_gradients(sum, g);
}

inline void accumulate_into_leaf(const std::shared_ptr<TensorImpl>& leaf, const Tensor& g) {
  Tensor leaf_t(leaf);
  check_grad_matches("leaf", "tensor", g, leaf_t.shape(), leaf_t.dtype(), leaf_t.device());
  // Leaf gradients are always fresh, contiguous tensors the leaf owns (never a view of a graph
  // gradient, which may be broadcast with stride 0 or shared with another leaf).
  Tensor total = leaf->grad ? add_gradients(Tensor(leaf->grad), g) : contiguous_copy(g);
  leaf->grad = total.impl_ptr();
}

}  // namespace detail

inline void backward(const Tensor& root, Tensor grad = Tensor()) {
  ANIMA_CHECK(root.requires_grad(), "backward", "the tensor does not require grad (shape ", shape_str(root.shape()),
              "): no op on its path had an input with requires_grad");
  if (!grad.defined()) {
    ANIMA_CHECK(root.numel() == 1, "backward", "a gradient must be given for a non-scalar output of shape ",
                shape_str(root.shape()));
    grad = Tensor::empty(root.shape(), TensorOptions(root.dtype()).with_device(root.device()));
    kernel_for<FillKernel>(grad.device())(grad.dtype(), grad.raw_data(), grad.numel(), 1.0);
  }
  detail::check_grad_matches("output", "root", grad, root.shape(), root.dtype(), root.device());
  NoGradGuard no_grad;
  if (root.is_leaf()) {
    detail::accumulate_into_leaf(root.impl_ptr(), grad);
    return;
  }
  // Count, for every node, how many edges from other nodes of this graph point at it.
  std::unordered_map<Node*, int> dependencies;
  std::vector<Node*> stack = {root.grad_fn().get()};
  dependencies[root.grad_fn().get()] = 0;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->edges) {
      if (!e.node) continue;
      auto it = dependencies.find(e.node.get());
      if (it == dependencies.end()) {
        dependencies[e.node.get()] = 1;
        stack.push_back(e.node.get());
      } else {
        ++it->second;
      }
    }
  }
  std::unordered_map<Node*, Tensor> pending;
  pending[root.grad_fn().get()] = grad;
  std::vector<Node*> ready = {root.grad_fn().get()};
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    Tensor g = pending[n];
    pending.erase(n);
    std::vector<Tensor> input_grads(n->edges.size());
    if (g.defined()) {  // undefined: no gradient reached this node; it only releases its inputs
      detail::check_grad_matches("node", n->name, g, n->output_shape, n->output_dtype, n->output_device);
      input_grads = n->backward(g);
    }
    ANIMA_CHECK(input_grads.size() == n->edges.size(), "backward", "the rule of '", n->name, "' returned ",
                input_grads.size(), " gradients for ", n->edges.size(), " inputs");
    for (std::size_t i = 0; i < n->edges.size(); ++i) {
      const Edge& e = n->edges[i];
      if (!e.active()) continue;
      const Tensor& gi = input_grads[i];
      if (e.leaf) {
        if (gi.defined()) detail::accumulate_into_leaf(e.leaf, gi);
        continue;
      }
      Node* next = e.node.get();
      if (gi.defined()) pending[next] = detail::accumulate(pending[next], gi);
      if (--dependencies[next] == 0) ready.push_back(next);
    }
  }
}

}  // namespace anima
