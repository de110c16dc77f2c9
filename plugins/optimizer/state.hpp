// Shared by the optimizer plugins: per-parameter state buffers, allocated on the first step
// and checked against the parameter list on every later one.
#pragma once
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "kant/components.hpp"
#include "kant/error.hpp"
#include "kant/tensor.hpp"

namespace kant::optim {

/// `slots` zero-initialised buffers per parameter.
class State {
 public:
  explicit State(int slots) : slots_(slots) {}

  /// Buffer `slot` of parameter `i`; allocates all buffers on the first call.
  float* buffer(const std::vector<Tensor>& params, size_t i, int slot) {
    if (buffers_.empty()) {
      for (const Tensor& p : params)
        for (int s = 0; s < slots_; ++s) buffers_.push_back(Tensor::zeros(p.shape()));
      shapes_.clear();
      for (const Tensor& p : params) shapes_.push_back(p.shape());
    }
    if (params.size() != shapes_.size() || params[i].shape() != shapes_[i])
      throw Error(
          fmt::format("optimizer: parameter {} changed shape or count since the first "
                      "step",
                      i));
    return buffers_[i * static_cast<size_t>(slots_) + static_cast<size_t>(slot)].data();
  }

  /// Buffers as named tensors "slot<s>.<i>" (empty before the first step).
  std::vector<std::pair<std::string, Tensor>> named() const {
    std::vector<std::pair<std::string, Tensor>> out;
    for (size_t k = 0; k < buffers_.size(); ++k)
      out.emplace_back(fmt::format("slot{}.{}", k % static_cast<size_t>(slots_),
                                   k / static_cast<size_t>(slots_)),
                       buffers_[k]);
    return out;
  }
  /// Restores buffers saved by named() (the shapes come with them).
  void load(const std::vector<std::pair<std::string, Tensor>>& state) {
    std::vector<Tensor> buffers;
    std::vector<Shape> shapes;
    for (size_t k = 0;; ++k) {
      const std::string name = fmt::format("slot{}.{}", k % static_cast<size_t>(slots_),
                                           k / static_cast<size_t>(slots_));
      auto it =
          std::find_if(state.begin(), state.end(), [&](const auto& e) { return e.first == name; });
      if (it == state.end()) break;
      buffers.push_back(it->second.clone());
      if (k % static_cast<size_t>(slots_) == 0) shapes.push_back(it->second.shape());
    }
    if (buffers.size() % static_cast<size_t>(slots_) != 0)
      throw Error("optimizer state: incomplete moment buffers");
    buffers_ = std::move(buffers);
    shapes_ = std::move(shapes);
  }

 private:
  int slots_;
  std::vector<Tensor> buffers_;
  std::vector<Shape> shapes_;
};

/// An optimizer whose state is its moment buffers: checkpoints save and restore them.
class BufferedOptimizer : public Optimizer {
 public:
  explicit BufferedOptimizer(int slots) : state_(slots) {}
  std::vector<Module::NamedTensor> state() const override { return state_.named(); }
  void load_state(const std::vector<Module::NamedTensor>& s) override { state_.load(s); }

 protected:
  State state_;
};

inline void check_sizes(const std::vector<Tensor>& params, const std::vector<Tensor>& grads) {
  if (params.size() != grads.size())
    throw Error(
        fmt::format("optimizer: {} parameters but {} gradients", params.size(), grads.size()));
}

}  // namespace kant::optim
