// Modules: named parameters (e.g. "layers.2.weight") and the Network interface of generators
// and critics.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "kant/tensor.hpp"

namespace kant {

/// Owner of named, trainable parameters. Names are stable: Lipschitz methods select weights
/// by them and checkpoints store them under them.
class Module {
 public:
  virtual ~Module() = default;
  using NamedTensor = std::pair<std::string, Tensor>;

  const std::vector<NamedTensor>& named_parameters() const { return params_; }
  std::vector<Tensor> parameters() const;
  int64_t parameter_count() const;

 protected:
  /// Adds a parameter (marked requires_grad) and returns it.
  Tensor register_parameter(std::string name, Tensor value);

 private:
  std::vector<NamedTensor> params_;
};

/// A generator or critic: a differentiable map from a batch [N, …] to a batch [N, …].
class Network : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
};

}  // namespace kant
