// Modules: named parameters (e.g. "layers.2.weight") and the Network interface of generators
// and critics.
#pragma once
#include <functional>
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

  /// Maps a parameter to the tensor the forward pass uses: spectral normalisation returns
  /// W/σ(W), an unrolled critic returns updated weights. Null: parameters as they are.
  using ParameterTransform = std::function<Tensor(const std::string& name, const Tensor& value)>;
  void set_parameter_transform(ParameterTransform t) { transform_ = std::move(t); }

 protected:
  /// Adds a parameter (marked requires_grad) and returns its index for use().
  size_t register_parameter(std::string name, Tensor value);
  /// Parameter `index` as the forward pass must see it (after the transform, if any).
  /// Architectures read their weights only through this.
  Tensor use(size_t index) const;

 private:
  std::vector<NamedTensor> params_;
  ParameterTransform transform_;
};

/// A generator or critic: a differentiable map from a batch [N, …] to a batch [N, …].
class Network : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  /// True when each output row depends only on its own input row (no batch statistics), so
  /// that several batches may go through one forward pass (one GEMM per layer).
  virtual bool batch_independent() const { return false; }
  Tensor operator()(const Tensor& x) { return forward(x); }
};

}  // namespace kant
