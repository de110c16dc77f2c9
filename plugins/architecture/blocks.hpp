// Building blocks shared by the architectures: activations by name (with their Lipschitz
// constants, for layer-wise bounds) and per-block normalisation by kind.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "kant/layers.hpp"

namespace kant::blocks {

/// Element-wise activations by name, plus group_sort (Anil et al. 2019: sorts groups of
/// `group` units; 1-Lipschitz and gradient-norm preserving) and, for the architectures that
/// widen their pre-activations for it (`widening()`), gated (ops.hpp gated_tanh: 2C channels in,
/// C out; not in names(), which lists the width-preserving ones).
class Activation {
 public:
  Activation() = default;
  Activation(std::string name, float negative_slope = 0.2f, int64_t group = 2)
      : name_(std::move(name)), slope_(negative_slope), group_(group) {}

  Tensor operator()(const Tensor& h) const {
    if (name_ == "relu") return relu(h);
    if (name_ == "leaky_relu") return leaky_relu(h, slope_);
    if (name_ == "elu") return elu(h);
    if (name_ == "tanh") return kant::tanh(h);
    if (name_ == "sigmoid") return sigmoid(h);
    if (name_ == "softplus") return softplus(h);
    if (name_ == "group_sort") return group_sort(h, group_);
    if (name_ == "gated") return gated_tanh(h);
    return h;  // "none"
  }

  /// sup |f'|: 1 for relu, elu, tanh, softplus, group_sort, gated (ops.hpp), none; max(1, a)
  /// for leaky relu; ¼ for the sigmoid.
  double lipschitz() const {
    if (name_ == "sigmoid") return 0.25;
    if (name_ == "leaky_relu") return std::max(1.0, double(slope_));
    return 1.0;
  }

  const std::string& name() const { return name_; }
  /// Pre-activation channels per output channel: 2 for gated, else 1.
  int64_t widening() const { return name_ == "gated" ? 2 : 1; }
  static std::vector<std::string> names() {
    return {"relu", "leaky_relu", "elu", "tanh", "sigmoid", "softplus", "group_sort", "none"};
  }

 private:
  std::string name_ = "none";
  float slope_ = 0.2f;
  int64_t group_ = 2;
};

/// Normalisation of one block: "batch", "layer" (over all per-sample axes), "virtual_batch"
/// (its input carries `reference` rows of the reference batch first; virtual_batch.hpp) or
/// "none".
class Norm {
 public:
  Norm() = default;
  Norm(Module& owner, const std::string& kind, const std::string& name, const Shape& per_sample,
       Rng& rng, bool dcgan_init = false, int64_t reference = 0)
      : kind_(kind) {
    if (kind == "batch") batch_ = BatchNorm(owner, name, per_sample[0], rng, dcgan_init);
    if (kind == "layer") layer_ = LayerNorm(owner, name, per_sample);
    if (kind == "virtual_batch")
      virtual_ = VirtualBatchNorm(owner, name, per_sample[0], reference, rng, dcgan_init);
  }
  Tensor operator()(const Tensor& x) {
    if (kind_ == "batch") return batch_(x);
    if (kind_ == "layer") return layer_(x);
    if (kind_ == "virtual_batch") return virtual_(x);
    return x;
  }

 private:
  std::string kind_ = "none";
  BatchNorm batch_;
  LayerNorm layer_;
  VirtualBatchNorm virtual_;
};

}  // namespace kant::blocks
