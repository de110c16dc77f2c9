// Shared by the gradient-norm penalties (dragan, gradient_penalty): at points x̂,
//   P = λ · mean_i (‖∇D(x̂_i)‖₂ − K)²,  one-sided: P = λ · mean_i max(0, ‖∇D(x̂_i)‖₂ − K)²
// with the norm per sample over all non-batch dimensions, as √(Σg² + eps) so that its
// derivative exists at zero gradient.
#pragma once
#include "kant/input_gradient.hpp"

namespace kant::gradient_norm {

inline Tensor penalty(Network& critic, const Tensor& points, float lambda, float target, float eps,
                      bool one_sided = false) {
  Tensor excess = kant::sqrt(penalties::squared_grad_norms(critic, points) + eps) - target;
  if (one_sided) excess = relu(excess);
  return mean(square(excess)) * lambda;
}

}  // namespace kant::gradient_norm
