// Shared by the gradient-based Lipschitz penalties and the metrics that inspect ∇ₓD: the
// per-sample norm of ∇ₓD at chosen points, differentiable with respect to the critic's
// weights (create_graph); the plain gradient; and WGAN-GP's random interpolates.
#pragma once
#include <vector>

#include "kant/autodiff.hpp"
#include "kant/components.hpp"
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
  Tensor eps = rng.uniform_tensor(per_sample_shape(real.shape()));
  return add(mul(eps, real), mul(1.0f - eps, fake));
}

}  // namespace kant::penalties
