// Modules: named parameters (e.g. "layers.2.weight") and the Network interface of generators
// and critics.
#pragma once
#include <functional>
#include <optional>
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
  virtual void set_parameter_transform(ParameterTransform t) { transform_ = std::move(t); }

  /// Adds a parameter (marked requires_grad) and returns its index for use(). Layers
  /// (layers.hpp) call this on the network that owns them.
  size_t register_parameter(std::string name, Tensor value);
  /// Parameter `index` as the forward pass must see it (after the transform, if any).
  /// Architectures read their weights only through this.
  Tensor use(size_t index) const;

  /// Non-trainable state that belongs to the model (batch norm's running statistics):
  /// saved in checkpoints, updated in place by the forward pass in training mode.
  Tensor register_buffer(std::string name, Tensor value);  // returns a handle sharing storage
  const std::vector<NamedTensor>& named_buffers() const { return buffers_; }

  /// Training mode (the default) or evaluation mode (e.g. batch norm's running statistics).
  bool training() const { return training_; }
  virtual void set_training(bool on) { training_ = on; }

 private:
  std::vector<NamedTensor> params_;
  std::vector<NamedTensor> buffers_;
  ParameterTransform transform_;
  bool training_ = true;
};

/// One linear operator of a network — a layer's weight without its bias — for layer-wise
/// Lipschitz bounds: `apply` maps a batch [N, input_shape…] of the layer's inputs.
struct LinearOperator {
  std::string name;
  Shape input_shape;
  std::function<Tensor(const Tensor&)> apply;
};
/// The spectral norm ‖A‖₂ of an operator, as a caller computes it (e.g. by power iteration).
using OperatorNorm = std::function<double(const LinearOperator&)>;

/// A generator or critic: a differentiable map from a batch [N, …] to a batch [N, …].
class Network : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  /// True when each output row depends only on its own input row (no batch statistics), so
  /// that several batches may go through one forward pass (one GEMM per layer).
  virtual bool batch_independent() const { return false; }
  /// An upper bound on forward()'s Lipschitz constant per sample in ‖·‖₂, composed from the
  /// operator norms of its layers: the product along a chain times the activations'
  /// constants, 1 + L(branch) for a residual block. None when the architecture has no such
  /// bound (batch or layer normalisation).
  virtual std::optional<double> lipschitz_upper_bound(const OperatorNorm&) { return std::nullopt; }
  /// Samples a critic judges together (PacGAN packing); batches must be multiples of it.
  virtual int64_t pack() const { return 1; }

  /// While recording is on, forward() keeps each hidden block's output under a name (the
  /// architectures call record_block()), for per-layer gradient statistics. Turning it on or off
  /// drops what was recorded.
  virtual void set_recording(bool on) {
    recording_ = on;
    recorded_.clear();
  }
  virtual std::vector<NamedTensor> recorded() const { return recorded_; }

  Tensor operator()(const Tensor& x) { return forward(x); }

  /// Label classes K the network is conditioned on (concatenation, conditional batch norm,
  /// projection): forward_conditional() takes each sample's label as a one-hot row. 0: it
  /// takes no label (then forward() is the network).
  virtual int64_t label_classes() const { return 0; }
  /// The output for inputs x [N, …] given their labels y [N, K] (one-hot rows); a network
  /// with label_classes() > 0 refuses forward() without them.
  virtual Tensor forward_conditional(const Tensor& x, const Tensor& y);
  /// Classes of an auxiliary classifier head (AC-GAN; 0: none); forward() is then the score
  /// alone, and forward_auxiliary() returns the score [N, 1] and the head's logits [N, K] from
  /// one pass.
  virtual int64_t auxiliary_classes() const { return 0; }
  virtual std::pair<Tensor, Tensor> forward_auxiliary(const Tensor& x);

 protected:
  /// Returns h; while recording, keeps it as "<prefix><index>" (named only then, so the
  /// forward pass pays nothing otherwise).
  Tensor record_block(const char* prefix, size_t index, const Tensor& h) {
    if (!recording_) return h;
    std::string name = prefix;
    name += std::to_string(index);
    recorded_.emplace_back(std::move(name), h);
    return h;
  }

 private:
  bool recording_ = false;
  std::vector<NamedTensor> recorded_;
};

}  // namespace kant
