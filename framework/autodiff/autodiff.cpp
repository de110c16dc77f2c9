// Reverse-mode engine: prunes the graph to what the requested inputs need, then applies the
// backward rules in reverse topological order (recording them when create_graph is set).
#include "kant/autodiff.hpp"

#include <fmt/format.h>

#include <unordered_map>
#include <unordered_set>

#include "kant/error.hpp"
#include "kant/ops.hpp"

namespace kant {
namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
GradModeGuard::GradModeGuard(bool enabled) : previous_(g_grad_enabled) { g_grad_enabled = enabled; }
GradModeGuard::~GradModeGuard() { g_grad_enabled = previous_; }

Tensor record(Tensor out, const char* op, std::vector<Tensor> inputs, Node::Backward backward) {
  if (!g_grad_enabled) return out;
  bool any = false;
  for (const Tensor& t : inputs) any = any || t.requires_grad();
  if (!any) return out;
  auto node = std::make_shared<Node>();
  node->op = op;
  node->inputs = std::move(inputs);
  node->output = out.impl_ptr();
  node->backward = std::move(backward);
  out.impl()->grad_fn = std::move(node);
  return out;
}

namespace {

// Which nodes lie on a path from the outputs to a requested input.
class Pruner {
 public:
  explicit Pruner(const std::unordered_set<const TensorImpl*>& targets) : targets_(targets) {}

  bool input_needed(const Tensor& t) {
    if (!t.defined()) return false;
    if (targets_.count(t.impl())) return true;
    return t.impl()->grad_fn && node_needed(t.impl()->grad_fn.get());
  }

  bool node_needed(const Node* n) {
    auto it = memo_.find(n);
    if (it != memo_.end()) return it->second;
    memo_[n] = false;  // graphs are acyclic; this only guards re-entry
    bool needed = false;
    for (const Tensor& in : n->inputs) needed = input_needed(in) || needed;
    memo_[n] = needed;
    return needed;
  }

 private:
  const std::unordered_set<const TensorImpl*>& targets_;
  std::unordered_map<const Node*, bool> memo_;
};

// Reverse post-order of the needed nodes reachable from `roots`: consumers before producers.
std::vector<Node*> topological_order(const std::vector<Node*>& roots, Pruner& pruner) {
  std::vector<Node*> post;
  std::unordered_set<const Node*> seen;
  struct Frame {
    Node* node;
    size_t next;
  };
  std::vector<Frame> stack;
  for (Node* root : roots) {
    if (!root || seen.count(root) || !pruner.node_needed(root)) continue;
    seen.insert(root);
    stack.push_back({root, 0});
    while (!stack.empty()) {
      Frame& f = stack.back();
      if (f.next < f.node->inputs.size()) {
        const Tensor& in = f.node->inputs[f.next++];
        Node* child = in.defined() ? in.impl()->grad_fn.get() : nullptr;
        if (child && !seen.count(child) && pruner.node_needed(child)) {
          seen.insert(child);
          stack.push_back({child, 0});
        }
      } else {
        post.push_back(f.node);
        stack.pop_back();
      }
    }
  }
  return {post.rbegin(), post.rend()};
}

void accumulate(std::unordered_map<const TensorImpl*, Tensor>& grads, const TensorImpl* key,
                const Tensor& g) {
  auto [it, inserted] = grads.try_emplace(key, g);
  if (!inserted) it->second = add(it->second, g);
}

}  // namespace

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool create_graph) {
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
    throw TensorError(
        fmt::format("grad: {} outputs but {} grad_outputs", outputs.size(), grad_outputs.size()));
  std::unordered_set<const TensorImpl*> targets;
  for (const Tensor& in : inputs) {
    if (!in.requires_grad())
      throw TensorError("grad: an input does not require grad (call set_requires_grad())");
    targets.insert(in.impl());
  }

  GradModeGuard mode(create_graph);
  std::unordered_map<const TensorImpl*, Tensor> grads;
  std::vector<Node*> roots;
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Tensor& out = outputs[k];
    Tensor seed;
    if (grad_outputs.empty()) {
      if (out.numel() != 1)
        throw TensorError(
            fmt::format("grad: output {} has shape {}; pass grad_outputs for non-scalar outputs", k,
                        shape_str(out.shape())));
      seed = Tensor::ones(out.shape());
    } else {
      seed = grad_outputs[k];
      if (seed.shape() != out.shape())
        throw TensorError(fmt::format("grad: grad_outputs[{}] has shape {}, output has {}", k,
                                      shape_str(seed.shape()), shape_str(out.shape())));
    }
    accumulate(grads, out.impl(), seed);
    roots.push_back(out.impl()->grad_fn.get());
  }

  Pruner pruner(targets);
  for (Node* node : topological_order(roots, pruner)) {
    std::shared_ptr<TensorImpl> out_impl = node->output.lock();
    if (!out_impl) continue;
    auto it = grads.find(out_impl.get());
    if (it == grads.end()) continue;
    Tensor g_out = it->second;
    // The output's gradient is complete (all consumers ran); free it unless it is requested.
    if (!targets.count(out_impl.get())) grads.erase(it);
    std::vector<bool> needs(node->inputs.size());
    for (size_t i = 0; i < needs.size(); ++i) needs[i] = pruner.input_needed(node->inputs[i]);
    std::vector<Tensor> g_in = node->backward(g_out, Tensor(out_impl), node->inputs, needs);
    for (size_t i = 0; i < g_in.size() && i < needs.size(); ++i)
      if (needs[i] && g_in[i].defined()) accumulate(grads, node->inputs[i].impl(), g_in[i]);
  }

  std::vector<Tensor> result;
  result.reserve(inputs.size());
  for (const Tensor& in : inputs) {
    auto it = grads.find(in.impl());
    result.push_back(it != grads.end() ? it->second : Tensor::zeros(in.shape()));
  }
  return result;
}

}  // namespace kant
