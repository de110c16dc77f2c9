// Shared by the gradient-based Lipschitz penalties and the metrics that inspect ∇ₓD: the
// per-sample norm of ∇ₓD at chosen points, differentiable with respect to the critic's
// weights (create_graph); the gradient-norm penalty; the plain gradient; and WGAN-GP's
// random interpolates.
#pragma once
#include <fmt/format.h>

#include <vector>

#include "kant/autodiff.hpp"
#include "kant/components.hpp"
#include "kant/error.hpp"
#include "kant/ops.hpp"

namespace kant::penalties {

/// ‖∇ₓD(x_i)‖² per sample [N], summed over all non-batch dimensions.
inline Tensor squared_grad_norms(Network& critic, const Tensor& points) {
  Tensor x = points.detach().set_requires_grad();
  Tensor g = grad({sum(critic.forward(x))}, {x}, {}, /*create_graph=*/true)[0];
  std::vector<int64_t> axes;
  for (int64_t a = 1; a < g.dim(); ++a) axes.push_back(a);
  return sum(square(g), axes);
}

/// P = λ · mean_i (‖∇D(x̂_i)‖₂ − K)², one-sided P = λ · mean_i max(0, ‖∇D(x̂_i)‖₂ − K)², at
/// points x̂ (WGAN-GP, Gulrajani et al. 2017; one-sided: Petzka et al. 2018). The norm is per
/// sample over all non-batch dimensions, as √(Σg² + eps) so that its derivative exists at zero
/// gradient.
inline Tensor gradient_norm_penalty(Network& critic, const Tensor& points, float lambda,
                                    float target, float eps, bool one_sided = false) {
  Tensor excess = kant::sqrt(squared_grad_norms(critic, points) + eps) - target;
  if (one_sided) excess = relu(excess);
  return mean(square(excess)) * lambda;
}

/// ∇ₓ Σ_i D(x_i) at `points`, without a graph (for measuring, not penalising).
inline Tensor input_gradient(Network& critic, const Tensor& points) {
  Tensor x = points.detach().set_requires_grad();
  return grad({sum(critic.forward(x))}, {x})[0];
}

/// Shape [N, 1, …, 1] of one value per sample, broadcasting over a sample's dimensions.
inline Shape per_sample_shape(const Shape& batch) {
  Shape s(batch.size(), 1);
  s[0] = batch[0];
  return s;
}

/// x̂_i = ε_i x_i + (1 − ε_i) x̃_i with ε_i ~ U[0, 1) per sample (Gulrajani et al. 2017).
inline Tensor random_interpolates(const Tensor& real, const Tensor& fake, Rng& rng) {
  if (fake.shape() != real.shape())
    throw TensorError(fmt::format("random interpolates: real {} and fake {} batches differ",
                                  shape_str(real.shape()), shape_str(fake.shape())));
  Tensor eps = rng.uniform_tensor(per_sample_shape(real.shape()));
  return add(mul(eps, real), mul(1.0f - eps, fake));
}

}  // namespace kant::penalties
