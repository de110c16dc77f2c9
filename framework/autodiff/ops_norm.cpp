// Batch, layer and virtual batch normalisation. The standardisation x̂ = (x − μ)/√(σ² + ε) runs on
// oneDNN's fused kernels; its backward is oneDNN's fused backward when only a first derivative is
// wanted, and the composite formula
//     ∂x = (g − mean(g) − x̂·mean(g·x̂)) / √(σ² + ε)      (means over the statistic's axes)
// written with differentiable ops when a graph of the gradient is being built (create_graph),
// so that gradient penalties through normalised critics get exact second derivatives.
// Virtual batch normalisation is composed of differentiable ops throughout.
#include <fmt/format.h>

#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kant/ops.hpp"
#include "kernels/kernels_conv.hpp"

namespace kant {
namespace {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;

Tensor mean_of(const Tensor& x, const std::vector<int64_t>& axes) { return mean(x, axes, true); }

struct Standardized {
  Tensor y, mean, var;  // var: biased (divided by the count)
};

// Per channel (axis 1, statistics over batch and spatial axes) or per sample (axis 0,
// statistics over all other axes).
Standardized standardize(const Tensor& x, bool per_channel, float eps) {
  const int64_t n = x.size(0);
  const int64_t c = per_channel ? x.size(1) : 1;
  const int64_t s = x.numel() / (n * c);
  Standardized r{Tensor::empty(x.shape()), Tensor::empty({per_channel ? c : n}),
                 Tensor::empty({per_channel ? c : n})};
  if (per_channel)
    kernels::batch_norm_forward(n, c, s, eps, x.data(), r.y.data(), r.mean.data(), r.var.data());
  else
    kernels::layer_norm_forward(n, s, eps, x.data(), r.y.data(), r.mean.data(), r.var.data());
  std::vector<int64_t> axes;
  for (int64_t a = per_channel ? 0 : 1; a < x.dim(); ++a)
    if (!per_channel || a != 1) axes.push_back(a);
  Tensor batch_mean = r.mean, batch_var = r.var;  // kept for the fused backward
  r.y = record(r.y, per_channel ? "batch_standardize" : "layer_standardize", {x},
               [=](const Tensor& g, const Tensor& out, const Grads& in, const Needs&) {
                 if (grad_enabled()) {  // building a graph: differentiable composite rule
                   const Tensor& v = in[0];
                   Tensor sigma = sqrt(mean_of(square(v - mean_of(v, axes)), axes) + eps);
                   return Grads{(g - mean_of(g, axes) - out * mean_of(g * out, axes)) / sigma};
                 }
                 Tensor dx = Tensor::empty(in[0].shape());
                 if (per_channel)
                   kernels::batch_norm_backward(n, c, s, eps, in[0].data(), batch_mean.data(),
                                                batch_var.data(), g.data(), dx.data());
                 else
                   kernels::layer_norm_backward(n, s, eps, in[0].data(), batch_mean.data(),
                                                batch_var.data(), g.data(), dx.data());
                 return Grads{dx};
               });
  return r;
}

// γ and β [C] broadcast over x [N, C, …]: shape [1, C, 1, …].
Shape channel_shape_of(const Tensor& x) {
  Shape shape(static_cast<size_t>(x.dim()), 1);
  shape[1] = x.size(1);
  return shape;
}

void check_channel_parameters(const char* op, const Tensor& x,
                              std::initializer_list<const Tensor*> parameters) {
  for (const Tensor* t : parameters)
    if (t->defined() && t->shape() != Shape{x.size(1)})
      throw TensorError(fmt::format("{}: parameter {} does not fit {} channels", op,
                                    shape_str(t->shape()), x.size(1)));
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                  Tensor& running_var, bool training, float momentum, float eps) {
  if (x.dim() < 2)
    throw TensorError(fmt::format("batch_norm needs [N, C, …], got {}", shape_str(x.shape())));
  const int64_t c = x.size(1);
  check_channel_parameters("batch_norm", x, {&gamma, &beta, &running_mean, &running_var});
  const Shape channel_shape = channel_shape_of(x);
  Tensor y;
  if (training) {
    const int64_t count = x.numel() / c;
    if (count < 2)
      throw TensorError("batch_norm in training needs more than one value per channel");
    Standardized st = standardize(x, true, eps);
    y = st.y;
    if (running_mean.defined() && running_var.defined()) {
      const float unbias = static_cast<float>(count) / static_cast<float>(count - 1);
      float* rm = running_mean.data();
      float* rv = running_var.data();
      const float* m = st.mean.data();
      const float* v = st.var.data();
      for (int64_t i = 0; i < c; ++i) {
        rm[i] = (1 - momentum) * rm[i] + momentum * m[i];
        rv[i] = (1 - momentum) * rv[i] + momentum * v[i] * unbias;
      }
    }
  } else {
    if (!running_mean.defined() || !running_var.defined())
      throw TensorError("batch_norm in evaluation needs running statistics");
    y = (x - reshape(running_mean.detach(), channel_shape)) /
        sqrt(reshape(running_var.detach(), channel_shape) + eps);
  }
  if (gamma.defined()) y = y * reshape(gamma, channel_shape);
  if (beta.defined()) y = y + reshape(beta, channel_shape);
  return y;
}

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps) {
  if (x.dim() < 2)
    throw TensorError(fmt::format("layer_norm needs [N, …], got {}", shape_str(x.shape())));
  Shape param_shape(x.shape().begin() + 1, x.shape().end());
  for (const Tensor* t : {&gamma, &beta})
    if (t->defined() && t->shape() != param_shape)
      throw TensorError(fmt::format("layer_norm: parameter {} does not fit {}",
                                    shape_str(t->shape()), shape_str(param_shape)));
  Tensor y = standardize(x, false, eps).y;
  if (gamma.defined()) y = y * gamma;
  if (beta.defined()) y = y + beta;
  return y;
}

Tensor virtual_batch_norm(const Tensor& x, int64_t reference, const Tensor& gamma,
                          const Tensor& beta, float eps) {
  if (x.dim() < 2)
    throw TensorError(
        fmt::format("virtual_batch_norm needs [R + N, C, …], got {}", shape_str(x.shape())));
  if (reference < 1 || reference >= x.size(0))
    throw TensorError(
        fmt::format("virtual_batch_norm: {} reference rows in a batch of {}; it "
                    "needs at least one reference row and one sample",
                    reference, x.size(0)));
  check_channel_parameters("virtual_batch_norm", x, {&gamma, &beta});
  std::vector<int64_t> spatial;
  for (int64_t a = 2; a < x.dim(); ++a) spatial.push_back(a);
  std::vector<int64_t> reference_axes{0};
  reference_axes.insert(reference_axes.end(), spatial.begin(), spatial.end());
  auto over_space = [&](const Tensor& t) { return spatial.empty() ? t : mean_of(t, spatial); };
  const float r = static_cast<float>(reference), share = 1.0f / (r + 1.0f);

  Tensor ref = slice(x, 0, 0, reference), rows = slice(x, 0, reference, x.size(0));
  Tensor mu_r = mean_of(ref, reference_axes);
  Tensor var_r = mean_of(square(ref - mu_r), reference_axes);
  Tensor mu = (mu_r * r + over_space(rows)) * share;  // [N, C, 1, …]
  Tensor var = ((var_r + square(mu_r - mu)) * r + over_space(square(rows - mu))) * share;
  Tensor y = concat({(ref - mu_r) / sqrt(var_r + eps), (rows - mu) / sqrt(var + eps)}, 0);
  if (gamma.defined()) y = y * reshape(gamma, channel_shape_of(x));
  if (beta.defined()) y = y + reshape(beta, channel_shape_of(x));
  return y;
}

}  // namespace kant
