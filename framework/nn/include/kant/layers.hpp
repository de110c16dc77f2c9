// Layers for architectures: each registers its named parameters (and buffers) in the network
// that owns it ("block2.conv.weight") and reads them through Module::use(), so Lipschitz
// transforms and checkpoints see every weight. Plus the weight initialisers.
#pragma once
#include <string>

#include "kant/module.hpp"
#include "kant/ops.hpp"
#include "kant/rng.hpp"

namespace kant {

/// A weight initialiser. Fans follow PyTorch: fan_in = shape[1]·receptive field,
/// fan_out = shape[0]·receptive field.
///   normal          N(0, std²)                       (DCGAN: std 0.02)
///   uniform         U(−bound, bound)
///   he_normal       N(0, gain²/fan_in)               (He et al. 2015; gain √2 for ReLU)
///   he_uniform      U(±gain·√(3/fan_in))
///   xavier_normal   N(0, gain²·2/(fan_in + fan_out)) (Glorot & Bengio 2010)
///   xavier_uniform  U(±gain·√(6/(fan_in + fan_out)))
///   orthogonal      gain·Q, Q with orthonormal rows or columns (Saxe et al. 2014)
///   pytorch         U(±1/√fan_in), PyTorch's default for Linear and Conv
struct Init {
  std::string kind = "pytorch";
  float gain = 1.0f;    ///< he_*, xavier_*, orthogonal
  float scale = 0.02f;  ///< std of normal, bound of uniform
};
/// The names Init accepts, for parameter schemas.
const std::vector<std::string>& init_kinds();
Tensor initialise(const Shape& shape, const Init& init, Rng& rng);
/// Gain that keeps activations' scale for a non-linearity: relu √2, leaky_relu √(2/(1+a²)),
/// tanh 5/3, selu 3/4, otherwise 1 (as torch.nn.init.calculate_gain).
float init_gain(const std::string& activation, float negative_slope = 0.2f);

/// One-hot rows [N, classes] of class indices in [0, classes), the label input of conditional
/// networks (an index out of range is an Error).
Tensor one_hot(const std::vector<int64_t>& labels, int64_t classes);

/// y = x Wᵀ + b; W [out, in] named <name>.weight, b [out] named <name>.bias.
class Linear {
 public:
  Linear() = default;
  Linear(Module& owner, const std::string& name, int64_t in, int64_t out, bool bias,
         const Init& init, Rng& rng);
  Tensor operator()(const Tensor& x) const;
  /// x ↦ x Wᵀ on inputs [N, in]: the layer's linear operator for Lipschitz bounds.
  LinearOperator as_operator(const std::string& name) const;

 private:
  const Module* owner_ = nullptr;
  size_t weight_ = 0, bias_ = 0;
  bool has_bias_ = false;
  int64_t in_ = 0;
};

/// conv2d with weight [out, in/groups, k, k] and optional bias [out].
class Conv2d {
 public:
  Conv2d() = default;
  Conv2d(Module& owner, const std::string& name, int64_t in, int64_t out, int64_t kernel,
         const Conv2dOptions& options, bool bias, const Init& init, Rng& rng);
  Tensor operator()(const Tensor& x) const;
  /// x ↦ conv2d(x, W) on inputs [N, in, h, w]: the layer's linear operator.
  LinearOperator as_operator(const std::string& name, const Shape& input_shape) const;

 private:
  const Module* owner_ = nullptr;
  size_t weight_ = 0, bias_ = 0;
  bool has_bias_ = false;
  Conv2dOptions options_;
};

/// conv_transpose2d with weight [in, out/groups, k, k] (PyTorch's layout) and optional bias.
class ConvTranspose2d {
 public:
  ConvTranspose2d() = default;
  ConvTranspose2d(Module& owner, const std::string& name, int64_t in, int64_t out, int64_t kernel,
                  const Conv2dOptions& options, bool bias, const Init& init, Rng& rng,
                  int64_t output_padding = 0);
  Tensor operator()(const Tensor& x) const;

 private:
  const Module* owner_ = nullptr;
  size_t weight_ = 0, bias_ = 0;
  bool has_bias_ = false;
  Conv2dOptions options_;
  int64_t output_padding_ = 0;
};

/// Batch norm over channels (axis 1): γ = <name>.weight (init 1, or N(1, 0.02²) as DCGAN
/// when `dcgan_init`), β = <name>.bias (0), buffers <name>.running_mean and .running_var.
/// Uses batch statistics while the owner is in training mode, running ones otherwise.
class BatchNorm {
 public:
  BatchNorm() = default;
  BatchNorm(Module& owner, const std::string& name, int64_t channels, Rng& rng,
            bool dcgan_init = false, float momentum = 0.1f, float eps = 1e-5f);
  Tensor operator()(const Tensor& x);

 private:
  const Module* owner_ = nullptr;
  size_t gamma_ = 0, beta_ = 0;
  Tensor running_mean_, running_var_;
  float momentum_ = 0.1f, eps_ = 1e-5f;
};

/// Virtual batch norm (virtual_batch_norm in ops.hpp) per channel, with γ (1, or N(1, 0.02²)
/// with dcgan_init, as BatchNorm) and β (0) [C], named <name>.weight and <name>.bias. Its input
/// carries the `reference` rows of the reference batch first.
class VirtualBatchNorm {
 public:
  VirtualBatchNorm() = default;
  VirtualBatchNorm(Module& owner, const std::string& name, int64_t channels, int64_t reference,
                   Rng& rng, bool dcgan_init = false, float eps = 1e-5f);
  Tensor operator()(const Tensor& x) const;

 private:
  const Module* owner_ = nullptr;
  size_t gamma_ = 0, beta_ = 0;
  int64_t reference_ = 0;
  float eps_ = 1e-5f;
};

/// Layer norm over all non-batch axes of a per-sample shape, with element-wise γ (1), β (0).
class LayerNorm {
 public:
  LayerNorm() = default;
  LayerNorm(Module& owner, const std::string& name, const Shape& normalized_shape,
            float eps = 1e-5f);
  Tensor operator()(const Tensor& x) const;

 private:
  const Module* owner_ = nullptr;
  size_t gamma_ = 0, beta_ = 0;
  float eps_ = 1e-5f;
};

}  // namespace kant
