// More element-wise ops (ELU, SELU, softsign, GELU, erf, pow), the step mask, where, dropout.
// Forward on oneDNN eltwise where it has the function; backward rules are differentiable ops.
#include <fmt/format.h>

#include <cmath>

#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kant/ops.hpp"
#include "kant/rng.hpp"
#include "kernels/kernels.hpp"

namespace kant {
namespace {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;

Tensor eltwise(const Tensor& x, kernels::Eltwise f, float alpha, float beta) {
  Tensor y = Tensor::empty(x.shape());
  kernels::eltwise(f, alpha, beta, x.data(), y.data(), x.numel());
  return y;
}

constexpr float kSqrt2 = 1.41421356237309504880f;
constexpr float kInvSqrtPi = 0.56418958354775628695f;   // 1/√π
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;  // 1/√(2π)

}  // namespace

Tensor step(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape());
  kernels::step(x.data(), y.data(), x.numel());
  return y;
}

Tensor elu(const Tensor& x, float alpha) {
  return record(eltwise(x, kernels::Eltwise::elu, alpha, 0.0f), "elu", {x},
                [alpha](const Tensor& g, const Tensor& y, const Grads& in, const Needs&) {
                  // elu'(x) = 1 for x > 0, αeˣ = y + α for x ≤ 0
                  return Grads{g * where(step(in[0]), Tensor::ones({}), y + alpha)};
                });
}

Tensor selu(const Tensor& x) {
  constexpr float alpha = 1.6732632423543772f, lambda = 1.0507009873554805f;
  return elu(x, alpha) * lambda;
}

Tensor softsign(const Tensor& x) { return x / (abs(x) + 1.0f); }

Tensor gated_tanh(const Tensor& x) {
  if (x.dim() < 2 || x.size(1) % 2 != 0)
    throw Error(fmt::format("gated_tanh: needs [N, 2C, …] with an even axis 1; got {}",
                            shape_str(x.shape())));
  const int64_t c = x.size(1) / 2;
  return mul(tanh(slice(x, 1, 0, c)), sigmoid(slice(x, 1, c, 2 * c)));
}

Tensor erf(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape());
  kernels::erf(x.data(), y.data(), x.numel());
  return record(y, "erf", {x}, [](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
    return Grads{g * exp(square(in[0]) * -1.0f) * (2.0f * kInvSqrtPi)};  // 2/√π e^{−x²}
  });
}

Tensor gelu(const Tensor& x) {
  return record(eltwise(x, kernels::Eltwise::gelu_erf, 0.0f, 0.0f), "gelu", {x},
                [](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
                  // gelu'(x) = Φ(x) + x·φ(x), Φ(x) = ½(1 + erf(x/√2)), φ(x) = e^{−x²/2}/√(2π)
                  const Tensor& v = in[0];
                  Tensor cdf = (erf(v * (1.0f / kSqrt2)) + 1.0f) * 0.5f;
                  Tensor pdf = exp(square(v) * -0.5f) * kInvSqrt2Pi;
                  return Grads{g * (cdf + v * pdf)};
                });
}

Tensor pow(const Tensor& x, float p) {
  if (p == 1.0f) return x;
  return record(eltwise(x, kernels::Eltwise::pow, 1.0f, p), "pow", {x},
                [p](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{g * pow(in[0], p - 1.0f) * p};
                });
}

Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b) {
  return mask * a + (1.0f - mask) * b;
}

Tensor dropout(const Tensor& x, float p, Rng& rng) {
  if (!(p >= 0.0f && p < 1.0f))
    throw TensorError(fmt::format("dropout: p = {} is outside [0, 1)", p));
  if (p == 0.0f) return x;
  Tensor mask = Tensor::empty(x.shape());
  float* m = mask.data();
  const float keep = 1.0f / (1.0f - p);
  for (int64_t i = 0, n = mask.numel(); i < n; ++i) m[i] = rng.uniform() >= p ? keep : 0.0f;
  return x * mask;
}

}  // namespace kant
