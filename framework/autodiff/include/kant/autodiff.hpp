// Reverse-mode automatic differentiation: graph nodes, grad mode, and kant::grad().
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "kant/tensor.hpp"

namespace kant {

/// One recorded op application. Its backward rule maps the gradient of the output to the
/// gradients of the inputs using only public, differentiable ops: when grad() is asked to
/// create a graph, the rule's own ops are recorded, and second derivatives follow.
struct Node {
  /// Returns one gradient per input (an undefined Tensor where `needs[i]` is false or the
  /// gradient is identically zero).
  using Backward = std::function<std::vector<Tensor>(const Tensor& grad_out, const Tensor& out,
                                                     const std::vector<Tensor>& inputs,
                                                     const std::vector<bool>& needs)>;

  std::string op;
  std::vector<Tensor> inputs;
  std::weak_ptr<TensorImpl> output;
  Backward backward;
};

/// True when ops record the graph (the default).
bool grad_enabled();

/// Sets grad mode for its lifetime and restores the previous mode afterwards.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled);
  ~GradModeGuard();
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

/// No graph is recorded while one is alive (evaluation, optimizer updates, metrics).
class NoGradGuard : public GradModeGuard {
 public:
  NoGradGuard() : GradModeGuard(false) {}
};

/// Wraps the freshly computed `out` as the result of `op` applied to `inputs`: if grad mode
/// is on and some input needs a gradient, a Node carrying `backward` is attached.
Tensor record(Tensor out, const char* op, std::vector<Tensor> inputs, Node::Backward backward);

/// Gradients of sum_k <grad_outputs[k], outputs[k]> with respect to each of `inputs`.
/// An empty grad_outputs means ones for every (scalar) output. With create_graph the
/// returned gradients are themselves differentiable. An input the outputs do not depend on
/// gets a zero tensor of its shape.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool create_graph = false);

}  // namespace kant
