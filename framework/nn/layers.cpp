// Layers and weight initialisers (see layers.hpp).
#include "kant/layers.hpp"

#include <fmt/format.h>

#include <cmath>
#include <tuple>

#include "kant/error.hpp"

namespace kant {
namespace {

std::pair<double, double> fans(const Shape& shape) {
  if (shape.size() < 2) return {double(shape_numel(shape)), double(shape_numel(shape))};
  double receptive = 1;
  for (size_t i = 2; i < shape.size(); ++i) receptive *= double(shape[i]);
  return {double(shape[1]) * receptive, double(shape[0]) * receptive};
}

// Rows (or columns, whichever are fewer) of a Gaussian matrix made orthonormal by modified
// Gram–Schmidt in double precision.
Tensor orthogonal(const Shape& shape, float gain, Rng& rng) {
  const int64_t rows = shape.empty() ? 1 : shape[0];
  const int64_t cols = shape_numel(shape) / std::max<int64_t>(rows, 1);
  const bool by_rows = rows <= cols;
  const int64_t k = by_rows ? rows : cols, len = by_rows ? cols : rows;
  std::vector<std::vector<double>> v(static_cast<size_t>(k),
                                     std::vector<double>(static_cast<size_t>(len)));
  for (auto& row : v)
    for (double& x : row) x = rng.normal();
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < i; ++j) {
      double d = 0;
      for (int64_t t = 0; t < len; ++t) d += v[i][t] * v[j][t];
      for (int64_t t = 0; t < len; ++t) v[i][t] -= d * v[j][t];
    }
    double n = 0;
    for (double x : v[i]) n += x * x;
    n = std::sqrt(n);
    for (double& x : v[i]) x /= n;
  }
  Tensor t = Tensor::empty(shape);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      t.data()[r * cols + c] = gain * static_cast<float>(by_rows ? v[r][c] : v[c][r]);
  return t;
}

}  // namespace

const std::vector<std::string>& init_kinds() {
  static const std::vector<std::string> kinds{"pytorch",        "normal",     "uniform",
                                              "he_normal",      "he_uniform", "xavier_normal",
                                              "xavier_uniform", "orthogonal"};
  return kinds;
}

Tensor one_hot(const std::vector<int64_t>& labels, int64_t classes) {
  const auto n = static_cast<int64_t>(labels.size());
  Tensor y = Tensor::zeros({n, classes});
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = labels[static_cast<size_t>(i)];
    if (c < 0 || c >= classes)
      throw Error("label " + std::to_string(c) + " is not one of " + std::to_string(classes) +
                  " classes");
    y.data()[i * classes + c] = 1.0f;
  }
  return y;
}

Tensor initialise(const Shape& shape, const Init& init, Rng& rng) {
  const auto [fan_in, fan_out] = fans(shape);
  const std::string& k = init.kind;
  if (k == "normal") return rng.normal_tensor(shape, 0.0f, init.scale);
  if (k == "uniform") return rng.uniform_tensor(shape, -init.scale, init.scale);
  if (k == "he_normal") return rng.normal_tensor(shape, 0.0f, init.gain / float(std::sqrt(fan_in)));
  if (k == "he_uniform") {
    const float b = init.gain * float(std::sqrt(3.0 / fan_in));
    return rng.uniform_tensor(shape, -b, b);
  }
  if (k == "xavier_normal")
    return rng.normal_tensor(shape, 0.0f, init.gain * float(std::sqrt(2.0 / (fan_in + fan_out))));
  if (k == "xavier_uniform") {
    const float b = init.gain * float(std::sqrt(6.0 / (fan_in + fan_out)));
    return rng.uniform_tensor(shape, -b, b);
  }
  if (k == "orthogonal") return orthogonal(shape, init.gain, rng);
  if (k == "pytorch") {
    const float b = float(1.0 / std::sqrt(fan_in));
    return rng.uniform_tensor(shape, -b, b);
  }
  throw Error(fmt::format("unknown initialiser '{}'", k));
}

float init_gain(const std::string& activation, float negative_slope) {
  if (activation == "relu") return std::sqrt(2.0f);
  if (activation == "leaky_relu") return std::sqrt(2.0f / (1.0f + negative_slope * negative_slope));
  if (activation == "tanh") return 5.0f / 3.0f;
  if (activation == "selu") return 0.75f;
  return 1.0f;
}

namespace {

// Bias: PyTorch's U(±1/√fan_in) under its default initialiser, zero otherwise.
Tensor bias_init(int64_t out, double fan_in, const Init& init, Rng& rng) {
  if (init.kind != "pytorch") return Tensor::zeros({out});
  const float b = float(1.0 / std::sqrt(fan_in));
  return rng.uniform_tensor({out}, -b, b);
}

}  // namespace

namespace {

// Registers <name>.weight of `shape` and, if asked, <name>.bias of `out` entries; returns
// their indices (the bias index is unused without a bias).
std::pair<size_t, size_t> add_weight_and_bias(Module& owner, const std::string& name,
                                              const Shape& shape, int64_t out, bool bias,
                                              const Init& init, Rng& rng) {
  const size_t w = owner.register_parameter(name + ".weight", initialise(shape, init, rng));
  if (!bias) return {w, 0};
  return {w,
          owner.register_parameter(name + ".bias", bias_init(out, fans(shape).first, init, rng))};
}

}  // namespace

Linear::Linear(Module& owner, const std::string& name, int64_t in, int64_t out, bool bias,
               const Init& init, Rng& rng)
    : owner_(&owner), has_bias_(bias), in_(in) {
  std::tie(weight_, bias_) = add_weight_and_bias(owner, name, {out, in}, out, bias, init, rng);
}

Tensor Linear::operator()(const Tensor& x) const {
  return linear(x, owner_->use(weight_), has_bias_ ? owner_->use(bias_) : Tensor());
}

LinearOperator Linear::as_operator(const std::string& name) const {
  return {name, {in_}, [owner = owner_, w = weight_](const Tensor& x) {
            return linear(x, owner->use(w), Tensor());
          }};
}

Conv2d::Conv2d(Module& owner, const std::string& name, int64_t in, int64_t out, int64_t kernel,
               const Conv2dOptions& options, bool bias, const Init& init, Rng& rng)
    : owner_(&owner), has_bias_(bias), options_(options) {
  std::tie(weight_, bias_) = add_weight_and_bias(
      owner, name, {out, in / options.groups, kernel, kernel}, out, bias, init, rng);
}

Tensor Conv2d::operator()(const Tensor& x) const {
  return conv2d(x, owner_->use(weight_), has_bias_ ? owner_->use(bias_) : Tensor(), options_);
}

LinearOperator Conv2d::as_operator(const std::string& name, const Shape& input_shape) const {
  return {name, input_shape, [owner = owner_, w = weight_, o = options_](const Tensor& x) {
            return conv2d(x, owner->use(w), Tensor(), o);
          }};
}

ConvTranspose2d::ConvTranspose2d(Module& owner, const std::string& name, int64_t in, int64_t out,
                                 int64_t kernel, const Conv2dOptions& options, bool bias,
                                 const Init& init, Rng& rng, int64_t output_padding)
    : owner_(&owner), has_bias_(bias), options_(options), output_padding_(output_padding) {
  std::tie(weight_, bias_) = add_weight_and_bias(
      owner, name, {in, out / options.groups, kernel, kernel}, out, bias, init, rng);
}

Tensor ConvTranspose2d::operator()(const Tensor& x) const {
  return conv_transpose2d(x, owner_->use(weight_), has_bias_ ? owner_->use(bias_) : Tensor(),
                          options_, output_padding_, output_padding_);
}

BatchNorm::BatchNorm(Module& owner, const std::string& name, int64_t channels, Rng& rng,
                     bool dcgan_init, float momentum, float eps)
    : owner_(&owner), momentum_(momentum), eps_(eps) {
  gamma_ = owner.register_parameter(
      name + ".weight",
      dcgan_init ? rng.normal_tensor({channels}, 1.0f, 0.02f) : Tensor::ones({channels}));
  beta_ = owner.register_parameter(name + ".bias", Tensor::zeros({channels}));
  running_mean_ = owner.register_buffer(name + ".running_mean", Tensor::zeros({channels}));
  running_var_ = owner.register_buffer(name + ".running_var", Tensor::ones({channels}));
}

Tensor BatchNorm::operator()(const Tensor& x) {
  return batch_norm(x, owner_->use(gamma_), owner_->use(beta_), running_mean_, running_var_,
                    owner_->training(), momentum_, eps_);
}

VirtualBatchNorm::VirtualBatchNorm(Module& owner, const std::string& name, int64_t channels,
                                   int64_t reference, Rng& rng, bool dcgan_init, float eps)
    : owner_(&owner), reference_(reference), eps_(eps) {
  gamma_ = owner.register_parameter(
      name + ".weight",
      dcgan_init ? rng.normal_tensor({channels}, 1.0f, 0.02f) : Tensor::ones({channels}));
  beta_ = owner.register_parameter(name + ".bias", Tensor::zeros({channels}));
}

Tensor VirtualBatchNorm::operator()(const Tensor& x) const {
  return virtual_batch_norm(x, reference_, owner_->use(gamma_), owner_->use(beta_), eps_);
}

LayerNorm::LayerNorm(Module& owner, const std::string& name, const Shape& normalized_shape,
                     float eps)
    : owner_(&owner), eps_(eps) {
  gamma_ = owner.register_parameter(name + ".weight", Tensor::ones(normalized_shape));
  beta_ = owner.register_parameter(name + ".bias", Tensor::zeros(normalized_shape));
}

Tensor LayerNorm::operator()(const Tensor& x) const {
  return layer_norm(x, owner_->use(gamma_), owner_->use(beta_), eps_);
}

}  // namespace kant
